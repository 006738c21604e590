"""Judge prompts are data (issue 14, point 6): placeholders are names alone, filled in one
pass, never by str.format. A format spec such as `{question:>1000000000}` would make a
gigabyte string in a worker: it is refused when saved and, in a template saved before the
check or copied into a run, when filled (the run's items fail with the reason, no call is
spent). Templates written for str.format, with `{{` / `}}` for a literal brace, still work."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from curation.llm import fake_server
from curation.models import JobItem
from curation.services.jobs import job_run_here
from metrics import eval_prompts
from metrics.models import EvalAnswer, EvalRun, JudgePrompt
from metrics.services import evaluation as services  # (testset_create would pass for a test)
from metrics.services.evaluation import evalrun_check_reliability, evalrun_start
from tests.metrics.test_services_evaluation import curated, endpoints, run_here  # noqa: F401

HOSTILE = [
    "{question:>1000000000}",
    "{question:{domain}}",
    "{question!r}",
    "{question!s:>99999999}",
    "{question.__class__}",
    "{question[0]}",
    "{domain.__class__.__mro__}",
    "{0}",
    "{}",
]


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """The kind of every chat request the LLM test server answers."""
    seen: list[str] = []
    answer = fake_server.chat_contents

    def recording(request, kind=None, n=1):
        seen.append(kind or "")
        return answer(request, kind, n)

    monkeypatch.setattr(fake_server, "chat_contents", recording)
    return seen


# --- filling, without Django -------------------------------------------------------------


def test_templates_written_for_str_format_fill_the_same_by_name():
    values = {"question": "客户问：这套房子{能}便宜吗？", "domain": "房产经纪"}
    for template in (*eval_prompts.JUDGE.values(), "任务：{question}（{domain}）{{不是占位符}}"):
        assert eval_prompts.fill(template, values) == template.format(**values)
    # A doubled brace is a literal brace, also around a name; a filled value is never read
    # again, so a question that says "{domain}" keeps saying it.
    assert eval_prompts.fill("{{question}} {question}", {"question": "Q"}) == "{question} Q"
    assert eval_prompts.fill("{{{question}}}", {"question": "Q"}) == "{Q}"
    assert eval_prompts.fill("{question}", {"question": "{domain} {{x}}", "domain": "D"}) == (
        "{domain} {{x}}"
    )
    message = eval_prompts.judge_message(
        eval_prompts.JUDGE["zh"], "zh", question="{reference}", reference="参考{answer}",
        answer="回答{question}",
    )  # fmt: skip
    assert '{"score": 1 到 10 的整数' in message
    assert (
        "任务：\n{reference}\n\n参考答案：\n参考{answer}\n\n待评回答：\n回答{question}" in message
    )


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_template_is_refused_when_filled_and_never_allocates(hostile):
    template = f"请严格评分。任务：{{question}} {hostile}"
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(eval_prompts.TemplateError) as error:
        eval_prompts.judge_message(
            template, "zh", question="问" * 10_000, reference="参考", answer="回答"
        )
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000 and time.perf_counter() - started < 1
    assert hostile.split("}")[0][:9] in str(error.value)
    assert eval_prompts.placeholders_check(template)  # the save check agrees


def test_attributes_indexes_and_stray_braces_are_named():
    assert (
        "unknown placeholders: {question.__class__}"
        in eval_prompts.placeholders_check("{question} {question.__class__}")[0]
    )
    assert "bad braces" in eval_prompts.placeholders_check("{question} }")[0]
    with pytest.raises(eval_prompts.TemplateError, match="bad braces"):
        eval_prompts.fill("{question} {", {"question": "Q"})
    with pytest.raises(eval_prompts.TemplateError, match=r"\{question\} is missing"):
        eval_prompts.fill("只评分，不看任务。", {"question": "Q"})


# --- saving ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_hostile_templates_are_refused_when_saved_on_the_screen_and_in_the_api(team):
    client = team.client("lead")
    api = APIClient()
    api.force_authenticate(team.lead)
    screen = reverse("metrics:judge_prompt", args=[team.project.slug])
    for hostile in HOSTILE:
        template = f"任务：{{question}} {hostile}"
        page = client.post(screen, {"language": "zh", "template": template, "revision": 0})
        assert page.status_code == 400, hostile
        put = api.put(
            f"/api/projects/{team.project.slug}/judge-prompts/zh/",
            {"template": template, "revision": 0},
            format="json",
        )
        assert put.status_code == 400 and "template" in put.json(), hostile
    assert not JudgePrompt.objects.exists()
    # Escaped braces are accepted, as before.
    kept = client.post(
        screen,
        {
            "language": "zh",
            "template": '以 JSON 输出：{{"score": 1}}\n任务：{question}',
            "revision": 0,
        },
    )
    assert kept.status_code == 302 and JudgePrompt.objects.get().revision == 1


# --- running -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_run_whose_copied_template_is_hostile_fails_its_items_with_the_reason(
    team,
    curated,  # noqa: F811
    label_llm,
    calls,
):
    general, _, judge = endpoints(team, label_llm.url)
    test_set = services.testset_create(
        project=team.project, name="held-out", size=3, actor=team.lead
    )
    run = evalrun_start(project=team.project, test_set=test_set, model_endpoint=general,
                        judge_endpoint=judge, actor=team.lead, dispatch=False)  # fmt: skip
    # Copied into the run before templates were checked.
    EvalRun.objects.filter(pk=run.pk).update(
        judge_templates={"zh": "任务：{question:>1000000000}", "en": eval_prompts.JUDGE["en"]}
    )
    started = time.perf_counter()
    run = run_here(run)
    assert time.perf_counter() - started < 30
    answers = list(EvalAnswer.objects.filter(run=run))
    assert len(answers) == 3 and {a.judged for a in answers} == {"failed"}
    assert all("no format or conversion" in a.judge_error for a in answers)
    assert all(a.score is None for a in answers)
    items = JobItem.objects.filter(job_id=run.job_id)
    assert {i.status for i in items} == {JobItem.Status.FAILED}
    assert all("The judge prompt of this run cannot be used" in i.error for i in items)
    assert calls == []  # neither the model nor the judge was asked
    assert run.summary["overall"]["n"] == 0  # failed judgements count nowhere


@pytest.mark.django_db
def test_the_reliability_check_of_such_a_run_fails_with_the_reason(
    team,
    curated,  # noqa: F811
    label_llm,
    calls,
):
    general, _, judge = endpoints(team, label_llm.url)
    test_set = services.testset_create(
        project=team.project, name="held-out", size=2, actor=team.lead
    )
    run = run_here(
        evalrun_start(project=team.project, test_set=test_set, model_endpoint=general,
                      judge_endpoint=judge, actor=team.lead, dispatch=False)
    )  # fmt: skip
    asked = len(calls)
    EvalRun.objects.filter(pk=run.pk).update(judge_templates={"zh": "{question!r}"})
    run.refresh_from_db()
    job = evalrun_check_reliability(run=run, actor=team.lead, items=2, repeats=2, dispatch=False)
    job_run_here(job_id=job.pk)
    errors = list(JobItem.objects.filter(job=job).values_list("status", "error"))
    assert errors and all(s == JobItem.Status.FAILED and "{question!r}" in e for s, e in errors)
    assert len(calls) == asked


@pytest.mark.django_db
def test_a_run_is_not_started_on_a_hostile_saved_prompt(team, curated, label_llm):  # noqa: F811
    general, _, judge = endpoints(team, label_llm.url)
    test_set = services.testset_create(
        project=team.project, name="held-out", size=2, actor=team.lead
    )
    # Saved before the check existed.
    JudgePrompt.objects.create(project=team.project, language="en", template="{question:>99}")
    with pytest.raises(ValidationError) as error:
        evalrun_start(project=team.project, test_set=test_set, model_endpoint=general,
                      judge_endpoint=judge, actor=team.lead, dispatch=False)  # fmt: skip
    assert "en: placeholders take no format" in error.value.message_dict["judge_prompt"][0]
    api = APIClient()
    api.force_authenticate(team.lead)
    refused = api.post(
        f"/api/projects/{team.project.slug}/eval-runs/",
        {"test_set": test_set.pk, "model_endpoint": general.pk, "judge_endpoint": judge.pk},
        format="json",
    )
    assert refused.status_code == 400 and "judge_prompt" in refused.json()
    assert not EvalRun.objects.exists()
