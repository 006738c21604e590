"""The evaluation judge speaks of the project's own domain (issue 13, point 10), and its
editable template takes {domain} but no format spec or conversion."""

from __future__ import annotations

import pytest

from curation.llm import fake_server
from curation.models import Project
from metrics import eval_prompts
from metrics.services import evaluation as services
from metrics.services.evaluation import evalrun_start
from tests.metrics.test_services_evaluation import curated, endpoints, run_here  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def judge_messages(monkeypatch) -> list[str]:
    """The user message of every evaluation-judge request the test server answers."""
    seen: list[str] = []
    answer = fake_server.chat_contents

    def recording(request, kind=None, n=1):
        if kind == "judge_eval":
            seen.append(request["messages"][-1]["content"])
        return answer(request, kind, n)

    monkeypatch.setattr(fake_server, "chat_contents", recording)
    return seen


@pytest.mark.parametrize(
    ("domain_zh", "domain_en", "opening"),
    [
        ("酒店预订", "hotel booking", "你是酒店预订领域的评测员。"),
        ("房产经纪", "real-estate brokerage", "你是房产经纪领域的评测员。"),
        ("", "", "你是客户服务领域的评测员。"),
    ],
)
def test_the_judge_names_the_projects_domain(
    team,
    curated,  # noqa: F811
    label_llm,
    judge_messages,
    domain_zh,
    domain_en,
    opening,
):
    Project.objects.filter(pk=team.project.pk).update(domain_zh=domain_zh, domain_en=domain_en)
    general, _, judge = endpoints(team, label_llm.url)
    test_set = services.testset_create(
        project=team.project, name="held-out", size=6, actor=team.lead
    )
    run = run_here(
        evalrun_start(project=team.project, test_set=test_set, model_endpoint=general,
                      judge_endpoint=judge, actor=team.lead, dispatch=False)
    )  # fmt: skip
    assert all(a.judged == "done" for a in run.answers.all())
    assert len(judge_messages) == 6
    for message in judge_messages:
        judge_words = message.partition("任务：\n")[0]
        assert judge_words.startswith(opening) and "{domain}" not in message
        if domain_zh != "房产经纪":
            assert "房产" not in judge_words
    assert "{domain}" in run.judge_templates["zh"]  # the run keeps the template it used


def test_judge_templates_take_the_domain_but_no_format_spec():
    assert eval_prompts.placeholders_check("评测{domain}的回答。任务：{question}") == []
    for bad in ("{question:>1000000000}", "{question!r}", "{question:{domain}}"):
        problems = eval_prompts.placeholders_check(f"任务：{bad}")
        assert problems and "no format or conversion" in problems[0], bad
    assert (
        "unknown placeholders: {question.x}"
        in eval_prompts.placeholders_check("{question} {question.x}")[0]
    )
    assert (
        "unknown placeholders: {question[0]}"
        in eval_prompts.placeholders_check("{question} {question[0]}")[0]
    )
    for language in ("zh", "en"):
        assert eval_prompts.placeholders_check(eval_prompts.JUDGE[language]) == []
        assert "房产" not in eval_prompts.JUDGE[language]
        assert "real-estate" not in eval_prompts.JUDGE[language]
    message = eval_prompts.judge_message(
        eval_prompts.JUDGE["en"], "en", question="Q?", reference="R", answer="A",
        domain="hotel booking",
    )  # fmt: skip
    assert message.startswith("You evaluate answers in customer service for hotel booking.")
