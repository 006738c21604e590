"""Stage 2 services: the template library, assembly, structure enhancement and review."""

import pytest
from django.core.exceptions import ValidationError

from curation.exceptions import ConflictError
from curation.llm.fake_server import FakeLLMServer
from curation.models import AuditEvent, Job, ModelEndpoint, Scene
from curation.services.jobs import job_run_here
from evolution.models import Prompt, PromptRevision, TemplatePart
from evolution.selectors import preview_dialogues, prompts_for_labeling
from evolution.services.assembly import (
    assembly_start,
    enhancement_start,
    meta_prompt_get,
    meta_prompt_update,
)
from evolution.services.parts import (
    part_create,
    part_update,
    parts_add_starter,
    parts_from_instructions,
)
from evolution.services.prompt_review import prompt_render, prompt_review
from tests.factories import DialogueFactory, InstructionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def fake():
    with FakeLLMServer(latency_ms=0) as server:
        yield server


@pytest.fixture
def library(team):
    """The starter parts and two task narratives from accepted instructions."""
    InstructionFactory(project=team.project, text="总结客户对房源的主要顾虑。")
    InstructionFactory(
        project=team.project,
        text="判断客户是否同意看房。",
        task_type=team.project.task_types.order_by("id")[1],
    )
    parts_add_starter(project=team.project, actor=team.lead)
    parts_from_instructions(project=team.project, actor=team.lead)
    return team.project


def assemble(team, **kwargs) -> Job:
    args = {"project": team.project, "count": 12, "seed": 7, "actor": team.lead, "dispatch": False}
    job = assembly_start(**{**args, **kwargs})
    job = job_run_here(job_id=job.pk)
    assert job.status == Job.Status.DONE, job.error_summary
    return job


# The library -------------------------------------------------------------------------------


def test_an_unknown_placeholder_is_refused_naming_it_and_what_is_allowed(team):
    with pytest.raises(ValidationError) as error:
        part_create(
            project=team.project,
            data={"kind": "scene_background", "text": "场景：{scene}，客户：{customer}"},
            actor=team.lead,
        )
    message = error.value.message_dict["text"][0]
    assert "{customer}" in message and "{scene}" in message
    assert not TemplatePart.objects.exists()


def test_a_dialogue_presentation_needs_dialogue_exactly_once(team):
    for text, expected in (
        ("对话如下。", "{dialogue} is required"),
        ("{dialogue}{dialogue}", "only once"),
    ):
        with pytest.raises(ValidationError) as error:
            part_create(
                project=team.project, data={"kind": "dialogue", "text": text}, actor=team.lead
            )
        assert expected in error.value.message_dict["text"][0]


def test_an_output_format_needs_an_example_and_a_json_one_must_parse(team):
    base = {"kind": "output_format", "text": "以 JSON 输出。", "output_format": "json"}
    with pytest.raises(ValidationError) as error:
        part_create(project=team.project, data=base, actor=team.lead)
    assert "example" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        part_create(project=team.project, data={**base, "example": "{结论: 是"}, actor=team.lead)
    assert "does not parse" in error.value.message_dict["example"][0]
    part = part_create(
        project=team.project, data={**base, "example": '{"结论": "是"}'}, actor=team.lead
    )
    assert part.output_format == "json"


def test_a_task_narrative_comes_from_an_accepted_instruction(team):
    draft = InstructionFactory(project=team.project, state="draft")
    with pytest.raises(ValidationError) as error:
        part_create(
            project=team.project, data={"kind": "task", "instruction": draft.pk}, actor=team.lead
        )
    assert "accepted instruction" in error.value.message_dict["instruction"][0]
    accepted = InstructionFactory(project=team.project)
    part = part_create(
        project=team.project, data={"kind": "task", "instruction": accepted.pk}, actor=team.lead
    )
    assert part.text == accepted.text and part.task_type == accepted.task_type
    # Adding from instructions skips the ones in the library already.
    assert parts_from_instructions(project=team.project, actor=team.lead) == 0


def test_a_stale_part_edit_is_refused_and_changes_nothing(team):
    part = part_create(
        project=team.project,
        data={"kind": "guidelines", "text": "只依据对话作答。"},
        actor=team.lead,
    )
    part_update(part=part, data={"text": "不要编造。"}, revision=1, actor=team.lead)
    with pytest.raises(ConflictError):
        part_update(part=part, data={"text": "覆盖？"}, revision=1, actor=team.admin)
    part.refresh_from_db()
    assert part.text == "不要编造。" and part.revision == 2
    assert AuditEvent.objects.filter(action="part.update").count() == 1


# Assembly ----------------------------------------------------------------------------------


def test_assembly_is_reproducible_and_records_its_parts(team, library):
    first = assemble(team)
    second = assemble(team)

    def texts(job):
        return list(Prompt.objects.filter(job=job).order_by("seq").values_list("text", flat=True))

    assert len(texts(first)) == 12 and texts(first) == texts(second)
    assert first.result == {"prompts": 12}
    other = assemble(team, seed=8)
    assert texts(other) != texts(first)
    prompt = Prompt.objects.filter(job=first).first()
    assert prompt.state == "assembled" and prompt.text == prompt.assembled_text
    used = {p["id"] for p in prompt.parts}
    kinds = set(TemplatePart.objects.filter(pk__in=used).values_list("kind", flat=True))
    assert kinds == set(TemplatePart.Kind.values)
    assert prompt.text.count("{dialogue}") == 1
    assert prompt.tasks[0]["output_format"] in TemplatePart.OutputFormat.values


def test_assembly_spreads_over_formats_and_tasks(team, library):
    job = assemble(team, count=60)
    formats = {p.tasks[0]["output_format"] for p in Prompt.objects.filter(job=job)}
    assert formats == set(TemplatePart.OutputFormat.values)
    assert Prompt.objects.filter(job=job).values("task_type").distinct().count() == 2


def test_multi_task_prompts_carry_one_output_per_task(team, library):
    job = assemble(team, count=5, tasks_per_prompt=2)
    for prompt in Prompt.objects.filter(job=job):
        assert prompt.multi_task and len(prompt.tasks) == 2
        assert "任务1：" in prompt.text and "任务2：" in prompt.text


def test_assembly_names_the_missing_kind_and_bad_counts(team):
    parts_add_starter(project=team.project, actor=team.lead)  # no task narrative yet
    with pytest.raises(ValidationError) as error:
        assembly_start(project=team.project, count=0, seed=1, tasks_per_prompt=4, actor=team.lead)
    errors = error.value.message_dict
    assert "task narrative" in errors["parts"][0]
    assert "count" in errors and "tasks_per_prompt" in errors
    assert not Job.objects.exists()


# Structure enhancement ---------------------------------------------------------------------


def test_enhancement_merges_the_narrative_and_keeps_the_splice(team, library, fake):
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="fake", base_url=fake.url, model="fake-chat"
    )
    assembled = assemble(team, count=3)
    prompts = list(Prompt.objects.filter(job=assembled))
    # A person approves one before the job reaches it: their word stands.
    prompt_review(prompt=prompts[0], revision=1, actor=team.lead, decision="approve")
    job = enhancement_start(
        project=team.project,
        prompt_ids=[p.pk for p in prompts],
        endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    assert job.total == 2  # only the ones still as assembled
    job = job_run_here(job_id=job.pk)
    assert job.status == Job.Status.DONE, job.error_summary
    assert job.result == {"enhanced": 2, "skipped": 0}
    enhanced = Prompt.objects.get(pk=prompts[1].pk)
    assert enhanced.state == "enhanced" and enhanced.endpoint == endpoint
    assert enhanced.text != enhanced.assembled_text
    sections = enhanced.sections
    assert enhanced.text.startswith(sections["background"])
    assert sections["dialogue"] in enhanced.text and enhanced.text.count("{dialogue}") == 1
    assert enhanced.text.endswith(sections["narrative"])
    sent = enhanced.prompt_sent[-1]["content"]
    assert prompts[1].sections["narrative"] in sent  # the task part went to the model
    assert "<untrusted_dialogue>" not in sent  # and no dialogue did


def test_the_meta_prompt_is_editable_and_checked(team):
    meta = meta_prompt_get(project=team.project)
    assert "{tasks}" in meta.prompt_zh
    with pytest.raises(ValidationError) as error:
        meta_prompt_update(
            project=team.project, data={"prompt_en": "Rewrite {task}."}, revision=1, actor=team.lead
        )
    assert "{task}" in error.value.message_dict["prompt_en"][0]
    meta = meta_prompt_update(
        project=team.project, data={"prompt_en": "Merge: {tasks}"}, revision=1, actor=team.lead
    )
    assert meta.prompt_en == "Merge: {tasks}" and meta.revision == 2
    with pytest.raises(ConflictError):
        meta_prompt_update(
            project=team.project, data={"prompt_en": "Old {tasks}"}, revision=1, actor=team.lead
        )


# Review ------------------------------------------------------------------------------------


def test_review_edit_approve_reject_and_only_approved_reach_labeling(team, library):
    job = assemble(team, count=3)
    one, two, three = Prompt.objects.filter(job=job).order_by("seq")
    edited = one.text.replace("{dialogue}", "【对话】\n{dialogue}")
    prompt_review(prompt=one, revision=1, actor=team.lead, decision="save", text=edited)
    assert one.text == edited and one.state == "assembled"
    assert PromptRevision.objects.get(prompt=one).text == one.assembled_text
    prompt_review(prompt=one, revision=2, actor=team.lead, decision="approve")
    with pytest.raises(ValidationError):
        prompt_review(prompt=two, revision=1, actor=team.lead, decision="reject", reason=" ")
    prompt_review(prompt=two, revision=1, actor=team.lead, decision="reject", reason="格式混乱")
    assert list(prompts_for_labeling(project=team.project)) == [one]
    assert three.state == "assembled"


def test_review_refuses_a_prompt_without_its_dialogue_or_with_stray_placeholders(team, library):
    job = assemble(team, count=1)
    prompt = Prompt.objects.get(job=job)
    for text in ("没有对话位置的提示词", prompt.text + "{scene}"):
        with pytest.raises(ValidationError):
            prompt_review(prompt=prompt, revision=1, actor=team.lead, decision="approve", text=text)
    prompt.refresh_from_db()
    assert prompt.state == "assembled" and prompt.revision == 1


def test_two_reviewers_never_overwrite_each_other(team, library):
    job = assemble(team, count=1)
    prompt = Prompt.objects.get(job=job)
    stale = Prompt.objects.get(pk=prompt.pk)
    prompt_review(prompt=prompt, revision=1, actor=team.lead, decision="approve")
    with pytest.raises(ConflictError):
        prompt_review(prompt=stale, revision=1, actor=team.admin, decision="reject", reason="不好")
    prompt.refresh_from_db()
    assert prompt.state == "approved" and prompt.reviewed_by == team.lead


def test_preview_renders_a_real_dialogue_of_the_scene_as_untrusted_data(team, library):
    job = assemble(team, count=4)
    prompts = list(Prompt.objects.filter(job=job))
    for scene in Scene.objects.filter(project=team.project):
        DialogueFactory(
            project=team.project,
            scene=scene,
            turns=[{"speaker": "客户", "role": "customer", "text": f"我在看{scene.name_zh}的房子"}],
        )
    chosen = preview_dialogues(prompts=prompts)
    for prompt in prompts:
        dialogue = chosen[prompt.pk]
        assert dialogue.scene_id == prompt.scene_id
        rendered = prompt_render(text=prompt.text, dialogue=dialogue)
        assert "{dialogue}" not in rendered and "<untrusted_dialogue>" in rendered
        assert dialogue.turns[0]["text"] in rendered
