"""Seed prompts show the dialogue as context: a long session is cut between turns and marked
as an excerpt, and nothing after stage 1 ever sees that excerpt."""

import pytest

from curation.llm.fake_server import FakeLLMServer
from curation.models import Job, ModelEndpoint, Scene, ServiceRole, TaskType
from curation.services.jobs import job_run_here
from evolution.models import Instruction
from evolution.services.seeds import seeds_generate
from tests.factories import DialogueFactory
from tests.support.corpus import long_session

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def fake():
    with FakeLLMServer(latency_ms=0) as server:
        yield server


def test_a_seed_prompt_carries_a_marked_excerpt_cut_between_turns(team, fake):
    project = team.project
    renting = Scene.objects.get(project=project, key="renting")
    turns = long_session(4500, start=11)
    DialogueFactory(project=project, scene=renting, turns=turns)
    endpoint = ModelEndpoint.objects.create(
        project=project, name="fake", base_url=fake.url, model="fake-chat"
    )
    job = seeds_generate(
        project=project,
        task_types=[TaskType.objects.get(project=project, key="reasoning")],
        scenes=[renting],
        roles=[ServiceRole.objects.get(project=project, key="rental-cloud-manager")],
        per_combination=3,
        endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    prompt = Instruction.objects.filter(job=job).first().prompt_sent[-1]["content"]
    inside = prompt.split("<untrusted_dialogue>\n")[1].split("\n</untrusted_dialogue>")[0]
    *lines, note = inside.splitlines()
    assert note == f"（节选：共 {len(turns)} 轮对话，此处为前 {len(lines)} 轮）"
    assert 0 < len(lines) < len(turns)
    # Whole turns only: each shown line is a turn as the dialogue has it, in order.
    for line, turn in zip(lines, turns, strict=False):
        assert line.endswith("：" + turn["text"])
    assert turns[-1]["text"] not in prompt
