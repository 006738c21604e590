"""Evaluation: a held-out test set drawn to target shares, runs of two models scored by a judge
on the project's own LLM test server (real HTTP), failed judgements marked and retried, the
judge's reliability, and versions that never take a held-out item."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from curation.exceptions import ConflictError
from curation.llm.fake_server import FakeLLMServer
from curation.models import Job, ModelEndpoint
from curation.services.jobs import job_run_here
from labeling.models import Sample
from metrics.models import DatasetVersion, EvalAnswer, EvalRun, TestItem
from metrics.selectors import evaluation as reads
from metrics.services import evaluation as services  # (testset_create would pass for a test)
from metrics.services.evaluation import (
    evalrun_check_reliability,
    evalrun_retry_failed,
    evalrun_start,
    judge_prompt_update,
)
from metrics.services.versions import version_samples
from tests.factories import DialogueFactory, ProjectFactory
from tests.metrics.test_services_versions import frozen
from tests.support.labels import approved_prompt

pytestmark = pytest.mark.django_db

TASKS = (
    ("reasoning", "json", "判断客户是否愿意周末看房，以 JSON 输出结论。"),
    ("content-summarization", "free_text", "总结客户对房源的主要顾虑。"),
    ("information-extraction", "table", "以表格列出客户的预算和意向区域。"),
)


@pytest.fixture
def curated(team):
    """30 accepted samples graded high: 10 per task type over 5 prompts, each sample with a
    dialogue of its own."""
    project = team.project
    samples = []
    for key, fmt, text in TASKS:
        prompts = [approved_prompt(project, key, fmt, f"{text}（第{p}版）") for p in range(5)]
        for n in range(10):
            prompt = prompts[n % 5]
            said = f"{key}：第{n}套房子周末能看吗？"
            dialogue = DialogueFactory(
                project=project, turns=[{"speaker": "客户", "role": "customer", "text": said}]
            )
            samples.append(
                Sample.objects.create(
                    project=project,
                    dialogue=dialogue,
                    prompt=prompt,
                    task_type=prompt.task_type,
                    instruction=prompt.sections["narrative"],
                    rendered_input=f"对话：{said}\n\n{prompt.sections['narrative']}",
                    output=f"参考答案 {key} {n}",
                    state="accepted",
                    grade="high",
                )
            )
    return samples


@pytest.fixture(scope="module")
def broken_judge():
    """A judge whose every answer is cut in the middle (not JSON), even when asked to repair
    it."""
    with FakeLLMServer(latency_ms=0, error_rate=1.0, errors=("truncated",)) as server:
        yield server


def endpoints(team, url: str, broken_url: str | None = None):
    project = team.project
    general = ModelEndpoint.objects.create(
        project=project, name="general", base_url=url, model="qwen-general"
    )
    tuned = ModelEndpoint.objects.create(
        project=project, name="tuned", base_url=url, model="qwen-dialinsight"
    )
    judge = ModelEndpoint.objects.create(
        project=project, name="judge", base_url=broken_url or url, model="judge-large"
    )
    return general, tuned, judge


def run_here(run: EvalRun) -> EvalRun:
    assert job_run_here(job_id=run.job_id).status in (Job.Status.DONE, Job.Status.FAILED)
    run.refresh_from_db()
    return run


def test_a_test_set_meets_its_shares_keeps_the_curated_labels_and_is_reproducible(team, curated):
    test_set = services.testset_create(
        project=team.project, name="held-out", size=12, actor=team.lead, seed=5,
        task_shares={"reasoning": 2, "content-summarization": 1, "information-extraction": 1},
    )  # fmt: skip
    items = list(test_set.items.all())
    assert test_set.item_count == 12 == len(items)
    assert [i.task_type for i in items].count("reasoning") == 6
    assert [i.task_type for i in items].count("content-summarization") == 3
    sample = Sample.objects.get(pk=items[0].sample_id)
    assert items[0].reference == sample.output and items[0].input == sample.rendered_input
    distribution = reads.testset_distribution(test_set=test_set)
    reasoning = next(r for r in distribution["task_types"] if r["name"] == "reasoning")
    assert reasoning == {"name": "reasoning", "target": 0.5, "realised": 0.5, "n": 6}
    again = services.testset_create(
        project=team.project, name="again", size=12, actor=team.lead, seed=5,
        task_shares={"reasoning": 2, "content-summarization": 1, "information-extraction": 1},
    )  # fmt: skip
    assert [i.sample_id for i in again.items.all()] == [i.sample_id for i in items]


def test_bad_test_sets_are_named_and_nothing_is_stored(team, curated):
    with pytest.raises(ValidationError) as error:
        services.testset_create(project=team.project, name="", size=0, actor=team.lead,
                       task_shares={"nope": 1}, grades=["great"])  # fmt: skip
    assert set(error.value.message_dict) == {"name", "size", "task_shares", "grades"}
    services.testset_create(project=team.project, name="t", size=3, actor=team.lead)
    with pytest.raises(ValidationError) as error:
        services.testset_create(project=team.project, name="t", size=3, actor=team.lead)
    assert "exists" in error.value.message_dict["name"][0]
    assert TestItem.objects.filter(test_set__name="t").count() == 3


def test_held_out_items_never_reach_a_version_and_versions_never_reach_a_test_set(team, curated):
    test_set = services.testset_create(
        project=team.project, name="held-out", size=3, actor=team.lead
    )
    held_dialogues = set(test_set.items.values_list("dialogue", flat=True))
    held_prompts = set(test_set.items.values_list("prompt", flat=True))
    assert len(held_dialogues) == 3 and len(held_prompts) == 3
    left = version_samples(project=team.project, filters={"states": ["accepted"]})
    assert not held_dialogues & set(left.values_list("dialogue", flat=True))
    assert not held_prompts & set(left.values_list("prompt", flat=True))
    assert left.count() == 30 - 3 * 2  # the three held-out prompts' six samples
    version = frozen(team)
    assert version.sample_count == 24
    # What a version holds is never drawn: a second test set can only take the six samples of
    # the held-out prompts (test sets may share items), and a third test set nothing new.
    second = services.testset_create(project=team.project, name="second", size=10, actor=team.lead)
    assert second.item_count == 6
    assert set(second.items.values_list("prompt", flat=True)) == held_prompts
    Sample.objects.filter(prompt__in=held_prompts).update(state="rejected")
    with pytest.raises(ValidationError) as error:
        services.testset_create(project=team.project, name="third", size=3, actor=team.lead)
    assert "outside every dataset version" in error.value.message_dict["size"][0]
    test_set.refresh_from_db()  # worked out again by the freeze
    assert test_set.overlap == {
        "same_dialogue": 0, "same_prompt": 0, "same_dialogue_text": 0, "same_instruction_text": 0,
    }  # fmt: skip


def test_a_test_set_may_hold_out_its_dialogues_only(team, curated):
    test_set = services.testset_create(
        project=team.project, name="dialogues only", size=3, actor=team.lead,
        hold_out_prompts=False,
    )  # fmt: skip
    left = version_samples(project=team.project, filters={"states": ["accepted"]})
    assert left.count() == 27
    frozen(team)
    # Its prompts are in the version now: the overlap says so.
    assert test_set.overlap["same_prompt"] == 0  # when it was drawn, no version held any
    test_set.refresh_from_db()
    assert test_set.overlap["same_prompt"] == 3


def test_overlap_by_text_is_warned(team, curated):
    test_set = services.testset_create(
        project=team.project, name="held-out", size=3, actor=team.lead
    )
    item = test_set.items.first()
    # The same dialogue text imported again, under another id, sampled and put in a version.
    twin = DialogueFactory(project=team.project, turns=item.dialogue.turns)
    Sample.objects.filter(pk=next(s.pk for s in curated if s.pk not in set(
        test_set.items.values_list("sample", flat=True)) and s.prompt_id not in set(
        test_set.items.values_list("prompt", flat=True)))).update(dialogue=twin)  # fmt: skip
    frozen(team)
    test_set.refresh_from_db()
    overlap = test_set.overlap
    assert overlap["same_dialogue_text"] == 1 and overlap["same_dialogue"] == 0


def test_two_models_are_answered_judged_and_laid_out_like_table_4(team, curated, label_llm):
    general, tuned, judge = endpoints(team, label_llm.url)
    test_set = services.testset_create(
        project=team.project, name="held-out", size=9, actor=team.lead
    )
    version = frozen(team)
    runs = [
        run_here(evalrun_start(project=team.project, test_set=test_set, model_endpoint=m,
                               judge_endpoint=judge, actor=team.lead, trained_on=v,
                               dispatch=False))
        for m, v in ((general, None), (tuned, version))
    ]  # fmt: skip
    for run in runs:
        answers = list(run.answers.all())
        assert len(answers) == 9 and all(a.judged == "done" and 1 <= a.score <= 10 for a in answers)
        assert all(a.answer and a.reason for a in answers)
        scores = [a.score for a in answers]
        assert run.summary["overall"]["n"] == 9
        assert run.summary["overall"]["mean"] == pytest.approx(sum(scores) / 9)
        assert sum(s["n"] for s in run.summary["task_types"].values()) == 9
    # Another model answers otherwise.
    assert [a.answer for a in runs[0].answers.all()] != [a.answer for a in runs[1].answers.all()]
    table = reads.model_table(project=team.project)
    assert [row["run"].pk for row in table["rows"]] == [r.pk for r in runs]
    assert table["rows"][1]["run"].trained_on == version
    assert table["tasks"] == sorted(runs[0].summary["task_types"])
    assert table["rows"][0]["domain"]["mean"] == runs[0].summary["overall"]["mean"]


def test_failed_judgements_are_marked_never_zero_and_retried(
    team, curated, label_llm, broken_judge
):
    general, _, judge = endpoints(team, label_llm.url, broken_url=broken_judge.url)
    test_set = services.testset_create(
        project=team.project, name="held-out", size=4, actor=team.lead
    )
    run = run_here(
        evalrun_start(project=team.project, test_set=test_set, model_endpoint=general,
                      judge_endpoint=judge, actor=team.lead, dispatch=False)
    )  # fmt: skip
    answers = list(run.answers.all())
    assert all(a.judged == "failed" and a.score is None and a.judge_error for a in answers)
    assert all(a.answer for a in answers)  # the model's answers are kept
    assert run.summary["overall"] == {"n": 0, "mean": None, "low": None, "high": None, "sd": None}
    assert run.summary["failed"] == 4
    # The judge is mended; a retry judges the four and keeps the answers.
    ModelEndpoint.objects.filter(pk=judge.pk).update(base_url=label_llm.url)
    from curation.services import llm

    llm._endpoints.clear()  # the workers' endpoint cache; a real worker re-reads within seconds
    job = evalrun_retry_failed(run=run, actor=team.lead, dispatch=False)
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    run.refresh_from_db()
    assert [a.answer for a in run.answers.all()] == [a.answer for a in answers]
    assert run.summary["judged"] == 4 and run.summary["failed"] == 0
    with pytest.raises(ValidationError):
        evalrun_retry_failed(run=run, actor=team.lead)


def test_reliability_rejudges_with_new_seeds_and_the_answer_first(team, curated, label_llm):
    general, _, judge = endpoints(team, label_llm.url)
    test_set = services.testset_create(
        project=team.project, name="held-out", size=9, actor=team.lead
    )
    run = run_here(
        evalrun_start(project=team.project, test_set=test_set, model_endpoint=general,
                      judge_endpoint=judge, actor=team.lead, dispatch=False)
    )  # fmt: skip
    job = evalrun_check_reliability(run=run, actor=team.lead, items=5, repeats=3, dispatch=False)
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    run.refresh_from_db()
    checked = [a for a in run.answers.all() if a.checks]
    assert len(checked) == 5
    assert all(len(a.checks["repeats"]) == 3 and a.checks["swapped"] is not None for a in checked)
    spread = run.reliability["spread"]
    assert spread["items"] == 5 and spread["judgements"] == 20
    # The test server's judge varies with the seed, as a real one at temperature > 0 does.
    assert spread["identical"] < 1
    assert run.reliability["order"]["items"] == 5
    assert run.reliability["length"]["items"] == 9
    with pytest.raises(ValidationError):
        evalrun_check_reliability(run=run, actor=team.lead, items=0)


def test_the_judge_prompt_is_data_checked_and_kept_by_each_run(team, curated, label_llm):
    with pytest.raises(ValidationError) as error:
        judge_prompt_update(project=team.project, language="zh", template="评分：{answer}",
                            revision=0, actor=team.lead)  # fmt: skip
    assert "unknown placeholders: {answer}" in error.value.message_dict["template"][0]
    saved = judge_prompt_update(
        project=team.project, language="zh", template="严格评分。任务：{question}",
        revision=0, actor=team.lead,
    )  # fmt: skip
    with pytest.raises(ConflictError):
        judge_prompt_update(project=team.project, language="zh", template="x {question}",
                            revision=0, actor=team.lead)  # fmt: skip
    general, _, judge = endpoints(team, label_llm.url)
    test_set = services.testset_create(
        project=team.project, name="held-out", size=2, actor=team.lead
    )
    run = evalrun_start(project=team.project, test_set=test_set, model_endpoint=general,
                        judge_endpoint=judge, actor=team.lead, dispatch=False)  # fmt: skip
    judge_prompt_update(project=team.project, language="zh", template="改过了 {question}",
                        revision=saved.revision, actor=team.lead)  # fmt: skip
    assert run.judge_templates["zh"] == "严格评分。任务：{question}"


def test_runs_refuse_other_projects_things(team, curated, label_llm):
    general, _, judge = endpoints(team, label_llm.url)
    elsewhere = ProjectFactory(slug="other-project")
    theirs = ModelEndpoint.objects.create(
        project=elsewhere, name="theirs", base_url=label_llm.url, model="m"
    )
    their_version = DatasetVersion.objects.create(project=elsewhere, name="v")
    with pytest.raises(ValidationError) as error:
        evalrun_start(project=team.project, test_set=None, model_endpoint=theirs,
                      judge_endpoint=judge, actor=team.lead, trained_on=their_version)  # fmt: skip
    assert set(error.value.message_dict) == {"test_set", "model_endpoint", "trained_on"}
    assert not EvalRun.objects.exists() and not EvalAnswer.objects.exists()
