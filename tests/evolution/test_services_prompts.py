"""Stage 2 services: the template library, assembly, structure enhancement and review."""

import pytest
from django.core.exceptions import ValidationError

from curation.exceptions import ConflictError
from curation.inputs import validated
from curation.llm.fake_server import FakeLLMServer
from curation.models import AuditEvent, Job, ModelEndpoint, Scene, ServiceRole, SourceType, TaskType
from curation.services.jobs import job_run_here
from curation.taxonomy_seed import MULTI_TASK
from evolution import formats
from evolution.inputs import AssemblyStartInput, PromptReviewInput
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
from labeling.models import Sample
from labeling.output_check import check_output
from labeling.services.generate import label_job_start
from tests.factories import DialogueFactory, InstructionFactory
from tests.support.corpus import long_session

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
            kind="scene_background",
            text="场景：{scene}，客户：{customer}",
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
            part_create(project=team.project, kind="dialogue", text=text, actor=team.lead)
        assert expected in error.value.message_dict["text"][0]


def test_an_output_format_needs_an_example_and_a_json_one_must_parse(team):
    base = {"kind": "output_format", "text": "以 JSON 输出。", "output_format": "json"}
    with pytest.raises(ValidationError) as error:
        part_create(project=team.project, **base, actor=team.lead)
    assert "example" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        part_create(project=team.project, **{**base, "example": "{结论: 是"}, actor=team.lead)
    assert "does not parse" in error.value.message_dict["example"][0]
    part = part_create(
        project=team.project, **{**base, "example": '{"结论": "是"}'}, actor=team.lead
    )
    assert part.output_format == "json"


def test_a_task_narrative_comes_from_an_accepted_instruction(team):
    draft = InstructionFactory(project=team.project, state="draft")
    with pytest.raises(ValidationError) as error:
        part_create(project=team.project, kind="task", instruction=draft, actor=team.lead)
    assert "accepted instruction" in error.value.message_dict["instruction"][0]
    accepted = InstructionFactory(project=team.project)
    part = part_create(project=team.project, kind="task", instruction=accepted, actor=team.lead)
    assert part.text == accepted.text and part.task_type == accepted.task_type
    # Adding from instructions skips the ones in the library already.
    assert parts_from_instructions(project=team.project, actor=team.lead) == 0


def test_a_stale_part_edit_is_refused_and_changes_nothing(team):
    part = part_create(
        project=team.project,
        kind="guidelines",
        text="只依据对话作答。",
        actor=team.lead,
    )
    part_update(part=part, changes={"text": "不要编造。"}, revision=1, actor=team.lead)
    with pytest.raises(ConflictError):
        part_update(part=part, changes={"text": "覆盖？"}, revision=1, actor=team.admin)
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
        assembly_start(project=team.project, count=2, seed=1, tasks_per_prompt=1, actor=team.lead)
    assert "task narrative" in error.value.message_dict["parts"][0]
    with pytest.raises(ValidationError) as error:
        validated(AssemblyStartInput, {"count": 0, "seed": 1, "tasks_per_prompt": 4})
    assert error.value.message_dict == {
        "count": ["Assemble 1 to 20000 prompts."],
        "tasks_per_prompt": ["A prompt has 1 to 3 tasks."],
    }
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
    assert job.result == {"enhanced": 2, "refused": 0, "skipped": 0}
    for prompt in Prompt.objects.filter(pk__in=[p.pk for p in prompts[1:]]):
        # The rewrite still asks for exactly the format its task has.
        wanted = [t["output_format"] for t in prompt.tasks]
        assert formats.mismatch(prompt.text, wanted) is None, prompt.text
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
            project=team.project, prompt_en="Rewrite {task}.", revision=1, actor=team.lead
        )
    assert "{task}" in error.value.message_dict["prompt_en"][0]
    meta = meta_prompt_update(
        project=team.project, prompt_en="Merge: {tasks}", revision=1, actor=team.lead
    )
    assert meta.prompt_en == "Merge: {tasks}" and meta.revision == 2
    with pytest.raises(ConflictError):
        meta_prompt_update(
            project=team.project, prompt_en="Old {tasks}", revision=1, actor=team.lead
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
    with pytest.raises(ValidationError) as error:  # a rejection names its reason
        validated(PromptReviewInput, {"revision": 1, "decision": "reject", "reason": " "})
    assert error.value.message_dict == {"reason": ["Say why it is rejected."]}
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


# What the words ask for --------------------------------------------------------------------

BULLETS = "请以要点形式列出客户的三项核心诉求。"
TABLE_PART = "请以 Markdown 表格输出，每行一项。"
LIST_PART = "请以编号列表输出，每条一句话。"


@pytest.fixture
def worded(team):
    """The starter parts and stage-1 narratives of four task types, two of which say how the
    answer is laid out (bullet points, a table)."""
    types = list(team.project.task_types.exclude(key=MULTI_TASK).order_by("id"))
    for task_type, text in zip(
        types,
        (
            BULLETS,
            "请分点说明经纪人在带看过程中可以改进的地方。",
            "用表格对比客户看过的两套房源的价格、面积和楼层。",
            "判断客户是否同意周末看房，并给出依据。",
        ),
        strict=False,
    ):
        InstructionFactory(project=team.project, text=text, task_type=task_type)
    parts_add_starter(project=team.project, actor=team.lead)
    parts_from_instructions(project=team.project, actor=team.lead)
    return team.project


def narrative_of(prompt: Prompt, n: int = 0) -> str:
    return TemplatePart.objects.get(pk=prompt.tasks[n]["part"]).text


def long_dialogues(project, count: int) -> None:
    """Long real sessions (4,000+ characters each, joined from CrossWOZ) in the renting scene."""
    scene = Scene.objects.get(project=project, key="renting")
    source = SourceType.objects.filter(project=project).first()
    for n in range(count):
        DialogueFactory(
            project=project, scene=scene, source=source, turns=long_session(4000, start=n * 25)
        )


def test_a_narrative_asking_for_bullet_points_is_never_assembled_with_a_table(team, worded):
    job = assemble(team, count=150, seed=11)
    prompts = list(Prompt.objects.filter(job=job))
    bullets = [p for p in prompts if narrative_of(p) == BULLETS]
    assert len(bullets) > 10
    for prompt in bullets:
        assert prompt.tasks[0]["output_format"] == "list"
        assert TABLE_PART not in prompt.text and LIST_PART in prompt.text
    for prompt in prompts:
        # Every prompt asks, in its words, for exactly the format the output check will want.
        assert formats.mismatch(prompt.text, [prompt.tasks[0]["output_format"]]) is None
    # The narrative that does not say how to answer still meets every format.
    free = {p.tasks[0]["output_format"] for p in prompts if "周末看房" in narrative_of(p)}
    assert free == set(TemplatePart.OutputFormat.values)


def test_a_narrative_whose_format_no_part_has_is_not_drawn_and_none_left_is_refused(team, worded):
    TemplatePart.objects.filter(kind="output_format", output_format="list").update(active=False)
    job = assemble(team, count=60)
    drawn = {narrative_of(p) for p in Prompt.objects.filter(job=job)}
    assert BULLETS not in drawn and "请分点说明经纪人在带看过程中可以改进的地方。" not in drawn
    TemplatePart.objects.filter(kind="task").exclude(text__contains="分点").exclude(
        text=BULLETS
    ).update(active=False)
    with pytest.raises(ValidationError) as error:
        assembly_start(project=team.project, count=5, seed=1, actor=team.lead, dispatch=False)
    assert "no task narrative can be drawn" in error.value.message_dict["parts"][0]


def test_an_enhancement_that_drops_the_format_is_refused_and_the_assembled_text_kept(
    team, library, fake
):
    # A meta-prompt that hands the model only the first paragraph of the task part: like a
    # model that forgets the format, the rewrite keeps the directive and loses "表格", "JSON"…
    meta_prompt_update(
        project=team.project,
        prompt_zh="请把下面的任务说明改写得更简洁、连贯。\n原始指令：{tasks}",
        revision=1,
        actor=team.lead,
    )
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="fake", base_url=fake.url, model="fake-chat"
    )
    assembled = assemble(team, count=20, seed=3)
    prompts = list(Prompt.objects.filter(job=assembled))
    structured = [p for p in prompts if p.tasks[0]["output_format"] != "free_text"]
    assert any(p.tasks[0]["output_format"] == "table" for p in structured)
    job = enhancement_start(
        project=team.project,
        prompt_ids=[p.pk for p in prompts],
        endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    job = job_run_here(job_id=job.pk)
    assert job.status == Job.Status.DONE, job.error_summary
    assert job.result == {
        "enhanced": len(prompts) - len(structured),
        "refused": len(structured),
        "skipped": 0,
    }
    for before in structured:
        prompt = Prompt.objects.get(pk=before.pk)
        assert prompt.state == "assembled" and prompt.revision == before.revision
        assert prompt.text == prompt.assembled_text == before.text
        label = str(TemplatePart.OutputFormat(before.tasks[0]["output_format"]).label)
        assert f"it no longer asks for {label}" in prompt.reason
        assert "The assembled text is kept." in prompt.reason
        assert prompt.enhance_job == job  # the attempt is on record
    # A refused prompt can still be reviewed as assembled.
    refused = Prompt.objects.get(pk=structured[0].pk)
    prompt_review(prompt=refused, revision=refused.revision, actor=team.lead, decision="approve")
    assert refused.state == "approved" and refused.reason == ""


def test_approving_an_edit_that_asks_for_a_list_makes_the_label_check_enforce_a_list(
    team, library, label_llm
):
    job = assemble(team, count=40)
    prompt = next(
        p for p in Prompt.objects.filter(job=job) if p.tasks[0]["output_format"] == "table"
    )
    example = prompt.tasks[0]["example"]
    edited = prompt.text.replace(TABLE_PART, LIST_PART).replace(
        example, "1. 客户关注房源价格\n2. 客户希望本周内看房"
    )
    prompt = prompt_review(
        prompt=prompt, revision=prompt.revision, actor=team.lead, decision="approve", text=edited
    )
    assert prompt.state == "approved" and prompt.tasks[0]["output_format"] == "list"
    assert prompt.tasks[0]["part"] and prompt.tasks[0]["task_type"]  # the rest is kept
    assert AuditEvent.objects.get(action="prompt.approve").after["formats"] == ["list"]

    long_dialogues(team.project, 3)
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="fake", base_url=label_llm.url, model="fake-chat"
    )
    labels = label_job_start(
        project=team.project,
        count=3,
        endpoint=endpoint,
        actor=team.lead,
        prompt_ids=[prompt.pk],
        judge=False,
        dispatch=False,
    )
    labels = job_run_here(job_id=labels.pk)
    assert labels.status == Job.Status.DONE, labels.error_summary
    samples = list(Sample.objects.filter(job=labels))
    assert len(samples) == 3
    for sample in samples:
        assert sample.formats == ["list"]
        assert sample.output_check == "", sample.output  # the model answered with a list
    table = "| 诉求 | 说明 |\n| --- | --- |\n| 看房 | 客户希望周末看房 |"
    problems = check_output(table, samples[0].formats)
    assert problems and problems[0].startswith("bad_format: expected a list")


def test_a_single_task_prompt_asking_for_a_table_and_json_cannot_be_approved(team, library):
    job = assemble(team, count=40)
    prompt = next(
        p for p in Prompt.objects.filter(job=job) if p.tasks[0]["output_format"] == "table"
    )
    torn = prompt.text.replace(TABLE_PART, TABLE_PART + "最后再以 JSON 格式输出结论。")
    with pytest.raises(ValidationError) as error:
        prompt_review(
            prompt=prompt, revision=prompt.revision, actor=team.lead, decision="approve", text=torn
        )
    message = error.value.message_dict["text"][0]
    assert "JSON, table" in message and "one output format" in message
    prompt.refresh_from_db()
    assert prompt.state == "assembled" and prompt.tasks[0]["output_format"] == "table"
    assert prompt.text == prompt.assembled_text and not PromptRevision.objects.exists()


def test_a_multi_task_prompt_must_still_ask_for_each_tasks_format(team, worded):
    job = assemble(team, count=30, tasks_per_prompt=2)
    prompt = next(
        p
        for p in Prompt.objects.filter(job=job)
        if p.tasks[0]["output_format"] != p.tasks[1]["output_format"]
        and "table" in {t["output_format"] for t in p.tasks}
        and "用表格对比" not in p.text  # only the output part says "表格"
    )
    dropped = prompt.text.replace(TABLE_PART, "")
    with pytest.raises(ValidationError) as error:
        prompt_review(
            prompt=prompt,
            revision=prompt.revision,
            actor=team.lead,
            decision="approve",
            text=dropped,
        )
    assert "it no longer asks for table" in error.value.message_dict["text"][0]
    before = [t["output_format"] for t in prompt.tasks]
    prompt_review(prompt=prompt, revision=prompt.revision, actor=team.lead, decision="approve")
    assert [t["output_format"] for t in prompt.tasks] == before


def test_a_two_task_prompt_is_a_multi_task_integration_and_keeps_its_sub_tasks(
    team, library, label_llm
):
    multi = TaskType.objects.get(project=team.project, key=MULTI_TASK)
    kinds = set(InstructionFactory._meta.model.objects.values_list("task_type", flat=True))
    job = assemble(team, count=6, tasks_per_prompt=2)
    prompts = list(Prompt.objects.filter(job=job))
    for prompt in prompts:
        assert prompt.task_type == multi and prompt.multi_task
        assert {t["task_type"] for t in prompt.tasks} == kinds  # both sub-task types kept
        for task in prompt.tasks:
            assert task["instruction"] and task["output_format"] in formats.FORMATS
    single = Prompt.objects.get(job=assemble(team, count=1, seed=9))
    assert single.task_type_id in kinds and not single.multi_task
    for prompt in (prompts[0], single):
        prompt_review(prompt=prompt, revision=prompt.revision, actor=team.lead, decision="approve")

    # Label sampling by task type treats the multi-task prompt as one of its own type.
    long_dialogues(team.project, 10)
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="fake", base_url=label_llm.url, model="fake-chat"
    )
    labels = label_job_start(
        project=team.project,
        count=10,
        endpoint=endpoint,
        actor=team.lead,
        task_weights={MULTI_TASK: 1, single.task_type.key: 1},
        judge=False,
        dispatch=False,
    )
    labels = job_run_here(job_id=labels.pk)
    assert labels.status == Job.Status.DONE, labels.error_summary
    samples = list(Sample.objects.filter(job=labels).select_related("prompt", "task_type"))
    by_prompt = {s.prompt_id: s.task_type for s in samples}
    assert by_prompt == {prompts[0].pk: multi, single.pk: single.task_type}
    assert sum(s.task_type == multi for s in samples) == 5
    rows = {r["name"]: r for r in labels.result["distribution"]["task_type"]}
    assert rows[MULTI_TASK]["count"] == 5
    assert all(s.output_check == "" for s in samples), [s.output_check_detail for s in samples]


def test_several_tasks_need_the_multi_task_type(team, library):
    TaskType.objects.filter(project=team.project, key=MULTI_TASK).update(active=False)
    with pytest.raises(ValidationError) as error:
        assembly_start(project=team.project, count=3, seed=1, tasks_per_prompt=2, actor=team.lead)
    assert MULTI_TASK in error.value.message_dict["tasks_per_prompt"][0]
    assemble(team, count=1)  # one task per prompt needs no such type


def test_roles_are_paired_only_with_scenes_they_work_in(team, library):
    project = team.project
    restaurant = Scene.objects.create(
        project=project, key="restaurant", name_zh="餐馆", name_en="Restaurant"
    )
    lease = ServiceRole.objects.get(project=project, key="lease-asset-manager")
    job = assemble(team, count=120, seed=21)
    prompts = list(Prompt.objects.filter(job=job).select_related("scene", "service_role"))
    assert any(p.scene == restaurant for p in prompts)
    for prompt in prompts:
        if prompt.scene == restaurant:
            assert prompt.service_role is None and not prompt.sections["role"]
            assert "岗位" not in prompt.text
        else:
            assert prompt.scene.roles.filter(pk=prompt.service_role_id).exists()
            assert prompt.service_role.name_zh in prompt.text
        if prompt.service_role == lease:
            assert prompt.scene.key == "renting"
        assert "{role}" not in prompt.text


def test_the_projects_domain_fills_the_parts(team, library):
    team.project.domain_zh = "房产经纪"
    team.project.save()
    job = assemble(team, count=5)
    for prompt in Prompt.objects.filter(job=job):
        assert "{domain}" not in prompt.text
        assert "来自房产经纪业务的客服对话" in prompt.text
