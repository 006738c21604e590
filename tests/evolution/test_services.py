import pytest
from django.core.exceptions import ValidationError

from curation.exceptions import ConflictError
from curation.inputs import validated
from curation.llm.fake_server import FakeLLMServer
from curation.models import (
    AuditEvent,
    Job,
    ModelEndpoint,
    Project,
    Scene,
    ServiceRole,
    TaskType,
)
from curation.services.jobs import job_run_here
from evolution.inputs import EvolutionStartInput, InstructionReviewInput, SeedsGenerateInput
from evolution.models import Instruction, InstructionRevision
from evolution.services.instructions import instruction_review, instructions_bulk_review
from evolution.services.seeds import seeds_generate
from tests.factories import DialogueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def fake():
    with FakeLLMServer(latency_ms=0) as server:
        yield server


@pytest.fixture
def endpoint(team, fake):
    return ModelEndpoint.objects.create(
        project=team.project, name="fake", base_url=fake.url, model="fake-chat"
    )


def terms(team):
    project = team.project
    return (
        list(
            TaskType.objects.filter(project=project, key__in=["reasoning", "content-summarization"])
        ),
        list(Scene.objects.filter(project=project, key="renting")),
        list(ServiceRole.objects.filter(project=project, key="rental-cloud-manager")),
    )


def test_seeds_are_drafted_per_combination_from_a_real_dialogue(team, endpoint):
    DialogueFactory(
        project=team.project, scene=Scene.objects.get(project=team.project, key="renting")
    )
    tasks, scenes, roles = terms(team)
    job = seeds_generate(
        project=team.project,
        task_types=tasks,
        scenes=scenes,
        roles=roles,
        per_combination=3,
        endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    job = job_run_here(job_id=job.pk)
    assert job.status == Job.Status.DONE, job.error_summary
    assert job.total == 2  # 2 task types x 1 scene x 1 role
    seeds = Instruction.objects.filter(project=team.project)
    assert seeds.count() == job.result["created"] > 0
    assert job.result["similarity"] == "ROUGE-L > 0.7"
    seed = seeds.first()
    assert seed.state == "draft" and seed.origin == "seed" and seed.generation == 0
    assert seed.endpoint == endpoint and seed.job == job
    prompt = seed.prompt_sent[-1]["content"]
    assert "<untrusted_dialogue>" in prompt and seed.task_type.name_zh in prompt
    assert "租房" in prompt  # the scene, in the dialogue's language


def test_a_rerun_drops_near_duplicates_and_counts_them(team, endpoint):
    tasks, scenes, roles = terms(team)
    args = dict(
        project=team.project,
        task_types=[tasks[0]],
        scenes=[scenes[0]],
        roles=[roles[0]],
        per_combination=3,
        endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    first = job_run_here(job_id=seeds_generate(**args).pk)
    again = job_run_here(job_id=seeds_generate(**args).pk)  # same prompt: cached answer
    assert again.result["created"] == 0
    candidates = first.result["created"] + first.result["near_duplicates"]
    assert again.result["near_duplicates"] == candidates


def test_seed_choices_must_be_the_projects_own(team, endpoint):
    tasks, scenes, roles = terms(team)
    form = {
        "task_types": [tasks[0].pk],
        "scenes": [scenes[0].pk],
        "roles": [roles[0].pk],
        "per_combination": 3,
        "endpoint": endpoint.pk,
    }
    for wrong, field in (
        ({"task_types": [999999]}, "task_types"),
        ({"scenes": []}, "scenes"),
        ({"per_combination": 99}, "per_combination"),
    ):
        with pytest.raises(ValidationError) as error:
            validated(SeedsGenerateInput, {**form, **wrong}, project=team.project)
        assert list(error.value.message_dict) == [field]
    # Another project's scene is refused by the service too, whoever calls it.
    other = Project.objects.get(slug="elsewhere")
    theirs = Scene.objects.create(project=other, key="renting", name_zh="租房", name_en="Renting")
    with pytest.raises(ValidationError) as error:
        seeds_generate(
            project=team.project,
            task_types=[tasks[0]],
            scenes=[theirs],
            roles=[roles[0]],
            per_combination=3,
            endpoint=endpoint,
            actor=team.lead,
        )
    assert list(error.value.message_dict) == ["scenes"]
    assert not Job.objects.exists()


def test_seeds_skip_roles_paired_with_scenes_they_do_not_work_in(team, endpoint):
    project = team.project
    tasks, _scenes, _roles = terms(team)
    scenes = list(Scene.objects.filter(project=project, key__in=["renting", "home-improvement"]))
    roles = list(
        ServiceRole.objects.filter(
            project=project, key__in=["lease-asset-manager", "home-designer"]
        )
    )
    restaurant = Scene.objects.create(
        project=project, key="restaurant", name_zh="餐馆", name_en="Restaurant"
    )
    job = seeds_generate(
        project=project,
        task_types=tasks,
        scenes=[*scenes, restaurant],
        roles=roles,
        per_combination=2,
        endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    # 3 scenes x 2 roles = 6 pairs; only 租房-租赁资管经理 and 家装-家装设计师 belong together.
    assert job.params["pairs"] == 2 and job.params["skipped_pairs"] == 4
    assert job.total == 2 * 2
    pairs = {
        (Scene.objects.get(pk=p["scene"]).key, ServiceRole.objects.get(pk=p["role"]).key)
        for p in job.items.values_list("payload", flat=True)
    }
    assert pairs == {
        ("renting", "lease-asset-manager"),
        ("home-improvement", "home-designer"),
    }
    with pytest.raises(ValidationError) as error:
        seeds_generate(
            project=project,
            task_types=[tasks[0]],
            scenes=[restaurant, Scene.objects.get(project=project, key="buying")],
            roles=roles,
            per_combination=2,
            endpoint=endpoint,
            actor=team.lead,
        )
    assert "None of the chosen roles works" in error.value.message_dict["roles"][0]


def make(team, text="请总结客户的租房需求。") -> Instruction:
    return Instruction.objects.create(
        project=team.project,
        task_type=TaskType.objects.filter(project=team.project).first(),
        text=text,
    )


def test_keep_drop_and_edit_with_revisions(team):
    item = make(team)
    item = instruction_review(
        instruction=item,
        revision=1,
        actor=team.annotator,
        text="请总结客户的租房需求和预算。",
        state="kept",
    )
    assert (item.state, item.revision, item.reviewed_by) == ("kept", 2, team.annotator)
    old = InstructionRevision.objects.get(instruction=item)
    assert old.text == "请总结客户的租房需求。" and old.author == team.annotator
    assert AuditEvent.objects.filter(action="instruction.review").count() == 1


def test_a_stale_review_is_refused(team):
    item = make(team)
    instruction_review(instruction=item, revision=1, actor=team.annotator, state="kept")
    with pytest.raises(ConflictError):
        instruction_review(instruction=item, revision=1, actor=team.lead, state="dropped")
    assert Instruction.objects.get(pk=item.pk).state == "kept"


def test_empty_text_is_refused(team):
    item = make(team)
    with pytest.raises(ValidationError) as error:
        validated(InstructionReviewInput, {"revision": 1, "text": "  "})
    assert error.value.message_dict == {"text": ["An instruction cannot be empty."]}
    assert Instruction.objects.get(pk=item.pk).text == "请总结客户的租房需求。"


def test_bulk_review_touches_only_drafts(team):
    a, b, c = make(team, "一"), make(team, "二"), make(team, "三")
    instruction_review(instruction=c, revision=1, actor=team.annotator, state="kept")
    changed = instructions_bulk_review(
        project=team.project, ids=[a.pk, b.pk, c.pk], state="dropped", actor=team.annotator
    )
    assert changed == 2
    assert Instruction.objects.get(pk=c.pk).state == "kept"


def test_evolution_rounds_keep_lineage_and_the_prompt(team, endpoint):
    from evolution.services.evolve import evolution_start

    seed = make(team, "请总结这段对话中客户的购房需求，包括预算和区域。")
    instruction_review(instruction=seed, revision=1, actor=team.annotator, state="kept")
    job = evolution_start(
        project=team.project,
        instruction_ids=[seed.pk],
        operator_keys=["add-constraints"],
        rounds=2,
        endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    job = job_run_here(job_id=job.pk)
    assert job.status == Job.Status.DONE, job.error_summary
    children = list(Instruction.objects.filter(job=job).order_by("generation"))
    assert [c.generation for c in children] == [1, 2]
    first, second = children
    assert first.parent == seed and second.parent == first
    assert first.root == seed and second.root == seed
    assert first.operator == "add-constraints" and first.endpoint == endpoint
    assert first.state == "evolved" and first.text.startswith(seed.text)
    assert seed.text in first.prompt_sent[-1]["content"]
    assert job.result == {"evolved": 2, "eliminated": 0}
    assert Instruction.objects.get(pk=seed.pk).state == "kept"  # nothing overwritten


def test_an_eliminated_child_is_kept_with_its_reason_and_ends_its_branch(team, endpoint):
    from evolution.models import EvolutionOperator
    from evolution.services.evolve import evolution_start, operators_ensure

    operators_ensure(project=team.project)
    # An operator prompt (editable data) that leads the test server to answer with a refusal.
    EvolutionOperator.objects.filter(project=team.project, key="deepen").update(
        prompt_zh="抱歉。{instruction}", prompt_en="Sorry. {instruction}"
    )
    seed = make(team, "请总结这段对话中客户的购房需求，包括预算和区域。")
    instruction_review(instruction=seed, revision=1, actor=team.annotator, state="kept")
    job = evolution_start(
        project=team.project,
        instruction_ids=[seed.pk],
        operator_keys=["deepen"],
        rounds=3,
        endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    job = job_run_here(job_id=job.pk)
    children = list(Instruction.objects.filter(job=job))
    assert [(c.generation, c.state, c.reason) for c in children] == [
        (1, "eliminated", "the model refused")
    ]
    assert job.result == {"evolved": 0, "eliminated": 1}


def test_evolution_needs_kept_instructions_and_sane_rounds(team, endpoint):
    from evolution.services.evolve import evolution_start

    draft = make(team)
    with pytest.raises(ValidationError) as error:
        evolution_start(
            project=team.project,
            instruction_ids=[draft.pk],
            operator_keys=["deepen"],
            rounds=2,
            endpoint=endpoint,
            actor=team.lead,
        )
    assert "instructions" in error.value.message_dict
    form = {"instructions": [draft.pk], "operators": ["deepen"], "endpoint": endpoint.pk}
    for rounds in (0, 9, "两轮"):
        with pytest.raises(ValidationError) as error:
            validated(EvolutionStartInput, {**form, "rounds": rounds}, project=team.project)
        assert error.value.message_dict == {"rounds": ["Evolve for 1 to 5 rounds."]}
