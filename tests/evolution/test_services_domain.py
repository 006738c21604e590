"""Stage 1 and the starter parts follow the project's domain, and every evolution operator
works under the control of a real dialogue: each shows the model a marked excerpt of one, cut
at a turn boundary (issue 13, points 5 and 10)."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from curation import dialogue_text
from curation.llm.fake_server import FakeLLMServer
from curation.models import Job, ModelEndpoint, Project, Scene, ServiceRole, TaskType
from curation.services.demo import demo_seed
from curation.services.jobs import job_run_here
from evolution import placeholders, prompt_parts, prompts
from evolution.models import EvolutionOperator, Instruction, TemplatePart
from evolution.services.evolve import evolution_start, operators_ensure
from evolution.services.operators import _check_prompt
from evolution.services.parts import ALLOWED, part_create, parts_add_starter
from evolution.services.seeds import seeds_generate
from tests.factories import DialogueFactory, InstructionFactory
from tests.support.corpus import crosswoz, long_session

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("evolution.migrations.0006_operators_dialogue_context")
INDUSTRY = re.compile(r"房产|经纪|real[- ]estate|看房|购房|房源", re.I)
EXCERPT_NOTE = re.compile(r"（节选：共 (\d+) 轮对话，此处为前 (\d+) 轮）")

# Two operators as projects have them from the earlier defaults, and one a lead edited: none
# shows the dialogue, except the context operator, which did already.
OLD_OPERATORS = {
    "deepen": (
        "请改写下面的任务指令，加深其探究的深度和广度，使其要求更透彻的分析。"
        "新增内容不超过 20 个字。只输出改写后的指令。\n原指令：{instruction}",
        "Rewrite the task instruction below so that it asks for a deeper and broader analysis, "
        "at most 20 words more. Output only the rewritten instruction.\nInstruction: "
        "{instruction}",
    ),
    "complicate-context": (
        "请参考下面的对话语境，改写任务指令。只输出改写后的指令。\n原指令：{instruction}\n"
        "对话语境：{dialogue}",
        "Using the dialogue context below, rewrite the task instruction. Output only the "
        "rewritten instruction.\nInstruction: {instruction}\nContext: {dialogue}",
    ),
    "breadth": ("我们自己的说法：{instruction}\n\n", "Our own wording: {instruction}"),
}


@pytest.fixture(scope="module")
def fake():
    with FakeLLMServer(latency_ms=0) as server:
        yield server


@pytest.fixture
def endpoint(team, fake):
    return ModelEndpoint.objects.create(
        project=team.project, name="fake", base_url=fake.url, model="fake-chat"
    )


def hotel(project: Project) -> Project:
    Project.objects.filter(pk=project.pk).update(domain_zh="酒店预订", domain_en="hotel booking")
    project.refresh_from_db()
    return project


def sent(instruction: Instruction) -> str:
    return instruction.prompt_sent[-1]["content"]


def evolve(team, endpoint, parent: Instruction, key: str) -> Instruction:
    job = evolution_start(
        project=team.project,
        instruction_ids=[parent.pk],
        operator_keys=[key],
        rounds=1,
        endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    job = job_run_here(job_id=job.pk)
    assert job.status == Job.Status.DONE, job.error_summary
    return Instruction.objects.get(job=job)


def test_every_default_operator_shows_the_dialogue_and_names_no_industry():
    assert len(prompts.OPERATORS) == 6
    for key, (_kind, _zh_name, _en_name, prompt_zh, prompt_en) in prompts.OPERATORS.items():
        for field, text in (("prompt_zh", prompt_zh), ("prompt_en", prompt_en)):
            found = placeholders.names(text)
            assert found.count("dialogue") == 1 and found.count("instruction") == 1, key
            assert "domain" in found, key
            assert _check_prompt(text, field) == text.strip()
            assert not INDUSTRY.search(text), (key, text)


def test_the_migration_gives_existing_operators_the_dialogue_and_keeps_their_wording(team):
    other = Project.objects.create(name="Older", slug="older")
    for project in (team.project, other):
        EvolutionOperator.objects.bulk_create(
            EvolutionOperator(
                project=project, key=key, kind="depth", name_zh=key, name_en=key,
                prompt_zh=zh, prompt_en=en,
            )
            for key, (zh, en) in OLD_OPERATORS.items()
        )  # fmt: skip
    MIGRATION.operators_add_dialogue(apps, None)
    operators = list(EvolutionOperator.objects.all())
    assert len(operators) == 6
    for op in operators:
        old_zh, old_en = OLD_OPERATORS[op.key]
        for field, old in (("prompt_zh", old_zh), ("prompt_en", old_en)):
            text = getattr(op, field)
            assert placeholders.names(text).count("dialogue") == 1, (op.key, text)
            assert _check_prompt(text, field)  # a lead can save it as it stands
            if "{dialogue}" in old:
                assert text == old and op.revision == 1  # left alone
            else:
                assert text.startswith(old.rstrip()) and text.endswith(MIGRATION.LINES[field])
                assert op.revision == 2  # a form opened before the migration is stale
    assert EvolutionOperator.objects.get(project=other, key="deepen").prompt_zh.endswith(
        "原指令：{instruction}\n对话语境（节选）：{dialogue}"
    )
    MIGRATION.operators_add_dialogue(apps, None)  # run twice: nothing appended twice
    assert [op.prompt_en for op in EvolutionOperator.objects.all()] == [
        op.prompt_en for op in operators
    ]
    MIGRATION.operators_remove_dialogue(apps, None)
    for op in EvolutionOperator.objects.all():
        assert (op.prompt_zh, op.prompt_en) == (
            OLD_OPERATORS[op.key][0].rstrip() if op.key == "breadth" else OLD_OPERATORS[op.key][0],
            OLD_OPERATORS[op.key][1],
        )


def test_every_operator_evolves_under_a_marked_excerpt_of_a_long_real_dialogue(team, endpoint):
    turns = long_session(4000, start=7)
    assert len(dialogue_text.render(turns)) > 4000
    scene = Scene.objects.get(project=team.project, key="renting")
    DialogueFactory(project=team.project, scene=scene, turns=turns)
    lines = [dialogue_text.turn_line(t) for t in turns]
    operators_ensure(project=team.project)
    keys = list(
        EvolutionOperator.objects.filter(project=team.project).values_list("key", flat=True)
    )
    assert len(keys) == 6
    for key in keys:
        parent = InstructionFactory(
            project=team.project,
            scene=scene,
            state="kept",
            text=f"请总结这段对话中客户的全部需求，并说明客服是如何逐一回应的（{key}）。",
        )
        child = evolve(team, endpoint, parent, key)
        assert child.operator == key and child.parent == parent
        prompt = sent(child)
        assert parent.text in prompt
        inside = re.search(r"<untrusted_dialogue>\n(.*?)\n</untrusted_dialogue>", prompt, re.S)
        assert inside, (key, prompt)
        shown = inside.group(1).split("\n")
        note = EXCERPT_NOTE.fullmatch(shown[-1])
        assert note, (key, shown[-1])  # says it is an excerpt, and how much it shows
        total, count = int(note.group(1)), int(note.group(2))
        assert total == len(lines) and 0 < count < total
        assert shown[:-1] == lines[:count]  # whole turns, cut between two of them
        assert turns[-1]["text"] not in prompt  # the rest of the session is not sent
        assert "酒店预订" not in prompt and "客户服务" in prompt  # no domain set: neutral


def test_an_operator_edit_must_keep_the_dialogue(team):
    from evolution.services.operators import operator_update

    operators_ensure(project=team.project)
    op = EvolutionOperator.objects.get(project=team.project, key="breadth")
    for bad in ("换个任务：{instruction}", "换个任务：{instruction:>1000000000}\n{dialogue}"):
        with pytest.raises(ValidationError) as error:
            operator_update(operator=op, prompt_zh=bad, revision=1, actor=team.lead)
        assert list(error.value.message_dict) == ["prompt_zh"]
    assert EvolutionOperator.objects.get(pk=op.pk).prompt_zh == op.prompt_zh


def test_a_hotel_project_gets_hotel_seed_and_evolution_prompts(team, endpoint):
    project = hotel(team.project)
    session = next(r for r in crosswoz() if "酒店" in r["scene"])
    scene = Scene.objects.get(project=project, key="renting")
    DialogueFactory(project=project, scene=scene, turns=session["turns"])
    job = seeds_generate(
        project=project,
        task_types=[TaskType.objects.get(project=project, key="content-summarization")],
        scenes=[scene],
        roles=[ServiceRole.objects.get(project=project, key="rental-cloud-manager")],
        per_combination=3,
        endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    seed = Instruction.objects.filter(job=job).first()
    prompt = sent(seed)
    assert prompt.startswith("你是酒店预订领域的数据标注专家。")
    assert "{" + "domain}" not in prompt and "房产" not in prompt
    assert session["turns"][0]["text"] in prompt
    operators_ensure(project=project)
    for key in prompts.OPERATORS:
        parent = InstructionFactory(
            project=project, scene=scene, state="kept",
            text=f"请总结客户预订酒店时提出的全部要求，包括价格和入住日期（{key}）。",
        )  # fmt: skip
        prompt = sent(evolve(team, endpoint, parent, key))
        assert "酒店预订业务" in prompt, key
        assert "{domain}" not in prompt and "房产" not in prompt, key


def test_the_demo_project_still_speaks_of_real_estate_brokerage(fake):
    project = demo_seed(password="demo-password-1234", llm_url=fake.url)
    assert (project.domain("zh"), project.domain("en")) == ("房产经纪", "real-estate brokerage")
    endpoint = ModelEndpoint.objects.get(project=project)
    lead = project.memberships.get(role="lead").user
    scene = Scene.objects.get(project=project, key="buying")
    job = seeds_generate(
        project=project,
        task_types=[TaskType.objects.get(project=project, key="reasoning")],
        scenes=[scene],
        roles=[ServiceRole.objects.get(project=project, key="real-estate-agent")],
        per_combination=2,
        endpoint=endpoint,
        actor=lead,
        dispatch=False,
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    seed = Instruction.objects.filter(job=job).first()
    # The demo holds Chinese and English dialogues; the seed prompt speaks the one it drew.
    assert sent(seed).startswith(
        (
            "你是房产经纪领域的数据标注专家。",
            "You are an expert data annotator for real-estate brokerage.",
        )
    )
    seed.state = "kept"
    seed.save(update_fields=["state"])
    job = evolution_start(
        project=project, instruction_ids=[seed.pk], operator_keys=["concretize"], rounds=1,
        endpoint=endpoint, actor=lead, dispatch=False,
    )  # fmt: skip
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    evolved = sent(Instruction.objects.get(job=job))
    assert "换成房产经纪业务中" in evolved or "real-estate brokerage" in evolved


def test_starter_parts_name_no_industry_and_take_the_projects_domain(team):
    project = hotel(team.project)
    assert parts_add_starter(project=project, actor=team.lead) == len(prompt_parts.STARTER_PARTS)
    parts = list(TemplatePart.objects.filter(project=project))
    for part in parts:
        assert not INDUSTRY.search(part.text + part.example), (part.name, part.text, part.example)
    by_kind = {part.kind: part for part in parts}
    for kind in ("scene_background", "role"):
        text = by_kind[kind].text
        assert "{domain}" in text
        filled = placeholders.fill(
            text, {"domain": project.domain("zh"), "scene": "x", "role": "y"}
        )
        assert "酒店预订" in filled and "房产" not in filled
    # Every kind of part may name the domain; a lead's own parts can too.
    assert all("domain" in allowed for allowed in ALLOWED.values())
    part = part_create(
        project=project,
        kind="guidelines",
        text="只回答与{domain}有关的内容。",
        name="范围",
        actor=team.lead,
    )
    assert part.text == "只回答与{domain}有关的内容。"
