"""The label judge speaks of the project's own domain (issue 13, point 10): a hotel-booking
project's judge is a hotel-booking checker, the real-estate demo's stays a real-estate one.
What the judge was asked is read from the project's LLM test server as it received it."""

from __future__ import annotations

import pytest

from curation.llm import fake_server
from curation.models import Job, Project, Scene
from curation.services.jobs import job_run_here
from labeling.models import Sample
from labeling.services.generate import label_job_start
from tests.factories import DialogueFactory
from tests.support.corpus import crosswoz

pytestmark = pytest.mark.django_db


@pytest.fixture
def judge_prompts(monkeypatch) -> list[str]:
    """The user message of every judge request the test server answers."""
    seen: list[str] = []
    answer = fake_server.chat_contents

    def recording(request, kind=None, n=1):
        if kind == "judge_label":
            seen.append(request["messages"][-1]["content"])
        return answer(request, kind, n)

    monkeypatch.setattr(fake_server, "chat_contents", recording)
    return seen


def judged(team, labels, count: int) -> list[Sample]:
    job = label_job_start(
        project=team.project,
        count=count,
        endpoint=labels["endpoint"],
        actor=team.lead,
        seed=3,
        dispatch=False,
    )
    job = job_run_here(job_id=job.pk)
    assert job.status == Job.Status.DONE, job.error_summary
    return list(Sample.objects.filter(job=job))


def test_a_hotel_projects_judge_checks_hotel_booking_data(team, labels, judge_prompts):
    project = team.project
    Project.objects.filter(pk=project.pk).update(domain_zh="酒店预订", domain_en="hotel booking")
    project.dialogues.all().delete()
    scene = Scene.objects.get(project=project, key="renting")
    hotels = [r for r in crosswoz() if "酒店" in r["scene"]][:12]
    for record in hotels:
        DialogueFactory(project=project, scene=scene, turns=record["turns"])
    samples = judged(team, labels, count=10)
    assert len(samples) == 10 and all(s.judge_grade for s in samples)
    assert len(judge_prompts) == 10
    for message in judge_prompts:
        judge_words, _, task = message.partition("任务输入：\n")
        assert judge_words.startswith("你是酒店预订领域的数据质检员。")
        assert "房产" not in judge_words and "{domain}" not in message
        # The JSON the judge answers in is shown as is, single braces.
        assert '{"grade": "high|medium|low", "reason": "简要理由"}' in judge_words
        assert "<untrusted_dialogue>" in task and "模型输出：\n" in task
    inputs = {s.rendered_input for s in samples}
    assert all(any(s in m for m in judge_prompts) for s in inputs)  # each sample's own input


def test_the_real_estate_projects_judge_stays_a_real_estate_one(team, labels, judge_prompts):
    Project.objects.filter(pk=team.project.pk).update(
        domain_zh="房产经纪", domain_en="real-estate brokerage"
    )
    judged(team, labels, count=4)
    assert len(judge_prompts) == 4
    assert all(m.startswith("你是房产经纪领域的数据质检员。") for m in judge_prompts)


def test_a_project_without_a_domain_gets_a_neutral_judge(team, labels, judge_prompts):
    judged(team, labels, count=2)
    assert judge_prompts and all(m.startswith("你是客户服务领域的") for m in judge_prompts)
