"""Fixtures of the label stage: a project with approved prompts (JSON and free text) and
dialogues in two scenes. Registered for every test by tests/conftest.py."""

from __future__ import annotations

import pytest

from curation.llm.fake_server import FakeLLMServer
from curation.models import ModelEndpoint, Scene, SourceType, TaskType
from evolution.models import Prompt
from tests.factories import DialogueFactory


@pytest.fixture(scope="module")
def label_llm():
    with FakeLLMServer(latency_ms=0) as server:
        yield server


def approved_prompt(project, task_key: str, output_format: str, text: str) -> Prompt:
    task = TaskType.objects.get(project=project, key=task_key)
    return Prompt.objects.create(
        project=project,
        task_type=task,
        tasks=[{"task_type": task.pk, "output_format": output_format}],
        sections={"narrative": text},
        assembled_text=f"对话：\n{{dialogue}}\n\n{text}",
        text=f"对话：\n{{dialogue}}\n\n{text}",
        state=Prompt.State.APPROVED,
    )


@pytest.fixture
def labels(team, label_llm):
    """The team's project with two approved prompts, 40 dialogues (30 renting, 10 buying) and
    an endpoint on the LLM test server."""
    project = team.project
    json_prompt = approved_prompt(
        project, "reasoning", "json", '判断客户是否愿意看房，以 JSON 输出：{"结论": "是或否"}'
    )
    text_prompt = approved_prompt(project, "content-summarization", "free_text", "总结客户的需求。")
    renting = Scene.objects.get(project=project, key="renting")
    buying = Scene.objects.get(project=project, key="buying")
    source = SourceType.objects.filter(project=project).first()
    for n in range(40):
        DialogueFactory(
            project=project,
            scene=renting if n < 30 else buying,
            source=source,
            turns=[
                {"speaker": "经纪人", "role": "agent", "text": f"您好，第{n}套房源周末可以看。"},
                {"speaker": "客户", "role": "customer", "text": "好的，周六上午可以。"},
            ],
        )
    endpoint = ModelEndpoint.objects.create(
        project=project, name="fake", base_url=label_llm.url, model="fake-chat"
    )
    return {"endpoint": endpoint, "json": json_prompt, "text": text_prompt}
