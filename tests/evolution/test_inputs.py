"""The one input layer of stage 1 and stage 2 (issue 14 point 3): every write route, in the API
and on a screen, refuses hostile bodies (a string where a number goes, a number where a list
goes, null, huge numbers, nested objects, NUL characters) with a 400 naming the field, or, on a
screen, the form again with the message, and writes nothing. Never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from curation.models import AuditEvent, Job, ModelEndpoint, Scene, ServiceRole, TaskType
from curation.services.jobs import job_run_here
from evolution.models import (
    EvolutionOperator,
    Instruction,
    InstructionRevision,
    MetaPrompt,
    Prompt,
    PromptRevision,
    TemplatePart,
)
from evolution.services.assembly import assembly_start, meta_prompt_get
from evolution.services.evolve import operators_ensure
from evolution.services.parts import parts_add_starter, parts_from_instructions
from tests.factories import DialogueFactory, InstructionFactory
from tests.support.corpus import long_session

pytestmark = pytest.mark.django_db

HUGE = 10**30  # past any database integer
NUL = "请总结客户的需求\x00并给出依据。"  # PostgreSQL text cannot hold a NUL character


@pytest.fixture
def world(team):
    """A project at the end of both stages: an endpoint, drafts, a kept seed with an evolved
    child, the starter parts and a task narrative, assembled prompts, operators, meta-prompt."""
    project = team.project
    task = TaskType.objects.get(project=project, key="reasoning")
    endpoint = ModelEndpoint.objects.create(
        project=project, name="e", base_url="http://127.0.0.1:9/v1", model="m"
    )
    draft = Instruction.objects.create(
        project=project, task_type=task, text="请判断客户是否愿意在本周末看房，并说明依据。"
    )
    kept = Instruction.objects.create(
        project=project, task_type=task, text="请预测客户是否会流失。", state="kept"
    )
    evolved = Instruction.objects.create(
        project=project,
        task_type=task,
        text="请分三步预测客户是否会流失，并给出每一步的依据。",
        state="evolved",
        origin="evolved",
        parent=kept,
        root=kept,
        generation=1,
        operator="reasoning-steps",
    )
    InstructionFactory(project=project, text="总结客户对房源的主要顾虑。")
    operators_ensure(project=project)
    parts_add_starter(project=project, actor=team.lead)
    parts_from_instructions(project=project, actor=team.lead)
    job = assembly_start(project=project, count=2, seed=1, actor=team.lead, dispatch=False)
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    DialogueFactory(project=project, turns=long_session(2000))
    meta_prompt_get(project=project)
    return {
        "endpoint": endpoint,
        "draft": draft,
        "kept": kept,
        "evolved": evolved,
        "prompt": Prompt.objects.filter(project=project).order_by("id").first(),
        "operator": EvolutionOperator.objects.get(project=project, key="deepen"),
        "part": TemplatePart.objects.filter(project=project, kind="guidelines").first(),
    }


def snapshot() -> dict:
    """Everything a write could change: row counts, and each editable row's revision, state
    and text."""
    return {
        "jobs": Job.objects.count(),
        "audit": AuditEvent.objects.count(),
        "revisions": (InstructionRevision.objects.count(), PromptRevision.objects.count()),
        "instructions": list(
            Instruction.objects.order_by("pk").values_list("pk", "revision", "state", "text")
        ),
        "prompts": list(Prompt.objects.order_by("pk").values_list("pk", "revision", "state")),
        "parts": list(TemplatePart.objects.order_by("pk").values_list("pk", "revision", "text")),
        "operators": list(
            EvolutionOperator.objects.order_by("pk").values_list("pk", "revision", "active")
        ),
        "meta": list(MetaPrompt.objects.values_list("pk", "revision")),
    }


def api(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


# The API -----------------------------------------------------------------------------------

# (route name, method, body, the field the 400 names). Route names are resolved by `route`.
API_CASES = [
    # Curation of drafts: keep / drop / edit with the revision read.
    ("review", "post", {"revision": "x", "state": "kept"}, "revision"),
    ("review", "post", {"revision": None, "state": "kept"}, "revision"),
    ("review", "post", {"revision": HUGE, "state": "kept"}, "revision"),
    ("review", "post", {"revision": True, "state": "kept"}, "revision"),
    ("review", "post", {"revision": 1, "state": 5}, "state"),
    ("review", "post", {"revision": 1, "state": ["kept"]}, "state"),
    ("review", "post", {"revision": 1, "state": "accepted"}, "state"),
    ("review", "post", {"revision": 1, "text": {"text": "改写"}}, "text"),
    ("review", "post", {"revision": 1, "text": ["改写"]}, "text"),
    ("review", "post", {"revision": 1, "text": NUL}, "text"),
    ("review", "post", {"revision": 1, "text": "长" * 4001}, "text"),
    ("review", "post", {"revision": 1, "text": "   "}, "text"),
    # Bulk keep / drop.
    ("bulk", "post", {"ids": 5, "state": "kept"}, "ids"),
    ("bulk", "post", {"ids": "12", "state": "kept"}, "ids"),
    ("bulk", "post", {"ids": None, "state": "kept"}, "ids"),
    ("bulk", "post", {"ids": [{"id": 1}], "state": "kept"}, "ids"),
    ("bulk", "post", {"ids": [HUGE], "state": "kept"}, "ids"),
    ("bulk", "post", {"ids": ["draft"], "state": "dropped"}, "ids"),
    ("bulk", "post", {"ids": "DRAFT_IDS", "state": 5}, "state"),
    ("bulk", "post", {"ids": "DRAFT_IDS", "state": "draft"}, "state"),
    # Screening of evolved instructions.
    ("screen", "post", {"revision": "1; drop", "decision": "accept"}, "revision"),
    ("screen", "post", {"revision": 1, "decision": ["accept"]}, "decision"),
    ("screen", "post", {"revision": 1, "decision": None}, "decision"),
    ("screen", "post", {"revision": 1, "decision": "reject", "reason": {"why": "偏题"}}, "reason"),
    ("screen", "post", {"revision": 1, "decision": "reject", "reason": None}, "reason"),
    ("screen", "post", {"revision": 1, "decision": "rewrite", "text": None}, "text"),
    ("screen", "post", {"revision": 1, "decision": "rewrite", "text": 42}, "text"),
    ("screen", "post", {"revision": 1, "decision": "rewrite", "text": NUL}, "text"),
    # Seeding.
    ("seed", "post", {"SEED": True, "per_combination": "x"}, "per_combination"),
    ("seed", "post", {"SEED": True, "per_combination": None}, "per_combination"),
    ("seed", "post", {"SEED": True, "per_combination": HUGE}, "per_combination"),
    ("seed", "post", {"SEED": True, "per_combination": 2.5}, "per_combination"),
    ("seed", "post", {"SEED": True, "task_types": 5}, "task_types"),
    ("seed", "post", {"SEED": True, "task_types": "reasoning"}, "task_types"),
    ("seed", "post", {"SEED": True, "scenes": [HUGE]}, "scenes"),
    ("seed", "post", {"SEED": True, "roles": [{"id": 1}]}, "roles"),
    ("seed", "post", {"SEED": True, "roles": None}, "roles"),
    ("seed", "post", {"SEED": True, "endpoint": "x"}, "endpoint"),
    ("seed", "post", {"SEED": True, "endpoint": {"id": 1}}, "endpoint"),
    ("seed", "post", {"SEED": True, "endpoint": HUGE}, "endpoint"),
    ("seed", "post", {"SEED": True, "endpoint": [1]}, "endpoint"),
    # Evolution.
    ("evolve", "post", {"EVOLVE": True, "rounds": "x"}, "rounds"),
    ("evolve", "post", {"EVOLVE": True, "rounds": None}, "rounds"),
    ("evolve", "post", {"EVOLVE": True, "rounds": HUGE}, "rounds"),
    ("evolve", "post", {"EVOLVE": True, "rounds": True}, "rounds"),
    ("evolve", "post", {"EVOLVE": True, "seed": "x"}, "seed"),
    ("evolve", "post", {"EVOLVE": True, "seed": HUGE}, "seed"),
    ("evolve", "post", {"EVOLVE": True, "seed": {"n": 1}}, "seed"),
    ("evolve", "post", {"EVOLVE": True, "instructions": 5}, "instructions"),
    ("evolve", "post", {"EVOLVE": True, "instructions": [HUGE]}, "instructions"),
    ("evolve", "post", {"EVOLVE": True, "instructions": [[1]]}, "instructions"),
    ("evolve", "post", {"EVOLVE": True, "operators": 5}, "operators"),
    ("evolve", "post", {"EVOLVE": True, "operators": "deepen"}, "operators"),
    ("evolve", "post", {"EVOLVE": True, "operators": [{"key": "deepen"}]}, "operators"),
    ("evolve", "post", {"EVOLVE": True, "operators": ["nope"]}, "operators"),
    ("evolve", "post", {"EVOLVE": True, "endpoint": "x"}, "endpoint"),
    ("evolve", "post", {"EVOLVE": True, "endpoint": HUGE}, "endpoint"),
    # Operators.
    ("operator", "patch", {"revision": "x", "name_en": "Deeper"}, "revision"),
    ("operator", "patch", {"revision": HUGE, "name_en": "Deeper"}, "revision"),
    ("operator", "patch", {"revision": 1, "name_en": {"en": "Deeper"}}, "name_en"),
    ("operator", "patch", {"revision": 1, "name_zh": None}, "name_zh"),
    ("operator", "patch", {"revision": 1, "name_en": "D" * 101}, "name_en"),
    ("operator", "patch", {"revision": 1, "active": "maybe"}, "active"),
    ("operator", "patch", {"revision": 1, "active": [True]}, "active"),
    (
        "operator",
        "patch",
        {"revision": 1, "prompt_en": ["{instruction}", "{dialogue}"]},
        "prompt_en",
    ),
    ("operator", "put", {"revision": 1, "prompt_zh": None}, "prompt_zh"),
    (
        "operator",
        "patch",
        {"revision": 1, "prompt_zh": "改写{instruction}\x00{dialogue}"},
        "prompt_zh",
    ),
    # Template parts.
    ("parts", "post", {"kind": ["guidelines"], "text": "不要编造。"}, "kind"),
    ("parts", "post", {"kind": None, "text": "不要编造。"}, "kind"),
    ("parts", "post", {"kind": "guidelines", "text": {"zh": "不要编造。"}}, "text"),
    ("parts", "post", {"kind": "guidelines", "text": NUL}, "text"),
    ("parts", "post", {"kind": "guidelines", "text": "不要编造。", "scene": HUGE}, "scene"),
    ("parts", "post", {"kind": "guidelines", "text": "不要编造。", "scene": {"k": 1}}, "scene"),
    ("parts", "post", {"kind": "guidelines", "text": "不要编造。", "task_type": [1]}, "task_type"),
    (
        "parts",
        "post",
        {"kind": "guidelines", "text": "不要编造。", "service_role": "nope"},
        "service_role",
    ),
    ("parts", "post", {"kind": "guidelines", "text": "不要编造。", "active": "maybe"}, "active"),
    ("parts", "post", {"kind": "task", "instruction": "x"}, "instruction"),
    ("parts", "post", {"kind": "task", "instruction": HUGE}, "instruction"),
    ("parts", "post", {"kind": "task", "instruction": [1]}, "instruction"),
    (
        "parts",
        "post",
        {
            "kind": "output_format",
            "text": "以 JSON 输出",
            "output_format": ["json"],
            "example": "{}",
        },
        "output_format",
    ),
    (
        "parts",
        "post",
        {"kind": "output_format", "text": "以 JSON 输出", "output_format": "json", "example": 5},
        "example",
    ),
    ("part", "patch", {"revision": "x", "text": "不要编造。"}, "revision"),
    ("part", "patch", {"revision": HUGE, "text": "不要编造。"}, "revision"),
    ("part", "patch", {"revision": 1, "text": None}, "text"),
    ("part", "patch", {"revision": 1, "scene": HUGE}, "scene"),
    ("part", "patch", {"revision": 1, "name": {"n": 1}}, "name"),
    ("part", "patch", {"revision": 1, "active": "maybe"}, "active"),
    # Prompt review.
    ("prompt_review", "post", {"revision": 1, "decision": 5}, "decision"),
    ("prompt_review", "post", {"revision": "x", "decision": "approve"}, "revision"),
    ("prompt_review", "post", {"revision": HUGE, "decision": "approve"}, "revision"),
    ("prompt_review", "post", {"revision": 1, "decision": "save", "text": {"t": 1}}, "text"),
    ("prompt_review", "post", {"revision": 1, "decision": "save", "text": 5}, "text"),
    (
        "prompt_review",
        "post",
        {"revision": 1, "decision": "save", "text": "{dialogue}\x00"},
        "text",
    ),
    ("prompt_review", "post", {"revision": 1, "decision": "reject", "reason": None}, "reason"),
    ("prompt_review", "post", {"revision": 1, "decision": "reject", "reason": ["太长"]}, "reason"),
    # Assembly.
    ("assemble", "post", {"count": "many"}, "count"),
    ("assemble", "post", {"count": None}, "count"),
    ("assemble", "post", {"count": True}, "count"),
    ("assemble", "post", {"count": 1.5}, "count"),
    ("assemble", "post", {"count": HUGE}, "count"),
    ("assemble", "post", {"count": [2]}, "count"),
    ("assemble", "post", {"count": 2, "seed": "x"}, "seed"),
    ("assemble", "post", {"count": 2, "seed": HUGE}, "seed"),
    ("assemble", "post", {"count": 2, "seed": {"s": 1}}, "seed"),
    ("assemble", "post", {"count": 2, "tasks_per_prompt": "x"}, "tasks_per_prompt"),
    ("assemble", "post", {"count": 2, "tasks_per_prompt": HUGE}, "tasks_per_prompt"),
    # Enhancement.
    ("enhance", "post", {"ENHANCE": True, "prompts": 5}, "prompts"),
    ("enhance", "post", {"ENHANCE": True, "prompts": "12"}, "prompts"),
    ("enhance", "post", {"ENHANCE": True, "prompts": [HUGE]}, "prompts"),
    ("enhance", "post", {"ENHANCE": True, "prompts": [{"id": 1}]}, "prompts"),
    ("enhance", "post", {"ENHANCE": True, "endpoint": HUGE}, "endpoint"),
    ("enhance", "post", {"ENHANCE": True, "endpoint": {"id": 1}}, "endpoint"),
    ("enhance", "post", {"ENHANCE": True, "endpoint": None}, "endpoint"),
    # The meta-prompt.
    ("meta", "patch", {"revision": "x", "prompt_en": "Merge {tasks}"}, "revision"),
    ("meta", "patch", {"revision": HUGE, "prompt_en": "Merge {tasks}"}, "revision"),
    ("meta", "patch", {"revision": 1, "prompt_en": {"text": "Merge {tasks}"}}, "prompt_en"),
    ("meta", "patch", {"revision": 1, "prompt_zh": None}, "prompt_zh"),
    ("meta", "patch", {"revision": 1, "prompt_zh": "合并{tasks}\x00"}, "prompt_zh"),
]


def route(team, world, name: str) -> str:
    base = f"/api/projects/{team.project.slug}"
    return {
        "review": f"{base}/instructions/{world['draft'].pk}/review/",
        "bulk": f"{base}/instructions/bulk/",
        "screen": f"{base}/instructions/{world['evolved'].pk}/screen/",
        "seed": f"{base}/instructions/seed/",
        "evolve": f"{base}/instructions/evolve/",
        "operator": f"{base}/operators/{world['operator'].pk}/",
        "parts": f"{base}/template-parts/",
        "part": f"{base}/template-parts/{world['part'].pk}/",
        "prompt_review": f"{base}/prompts/{world['prompt'].pk}/review/",
        "assemble": f"{base}/prompts/assemble/",
        "enhance": f"{base}/prompts/enhance/",
        "meta": f"{base}/prompts/meta-prompt/",
    }[name]


def complete(team, world, body: dict) -> dict:
    """A hostile value inside an otherwise valid body, so the value alone is refused."""
    body = dict(body)
    project = team.project
    if body.pop("SEED", False):
        body = {
            "task_types": [TaskType.objects.get(project=project, key="reasoning").pk],
            "scenes": [Scene.objects.get(project=project, key="renting").pk],
            "roles": [ServiceRole.objects.get(project=project, key="rental-cloud-manager").pk],
            "per_combination": 2,
            "endpoint": world["endpoint"].pk,
            **body,
        }
    if body.pop("EVOLVE", False):
        body = {
            "instructions": [world["kept"].pk],
            "operators": ["deepen"],
            "rounds": 2,
            "endpoint": world["endpoint"].pk,
            **body,
        }
    if body.pop("ENHANCE", False):
        assembled = list(Prompt.objects.filter(project=project).values_list("pk", flat=True))
        body = {"prompts": assembled, "endpoint": world["endpoint"].pk, **body}
    if body.get("ids") == "DRAFT_IDS":
        body["ids"] = [world["draft"].pk]
    return body


@pytest.mark.parametrize(
    ("name", "method", "body", "field"),
    API_CASES,
    ids=[f"{n}-{f}-{i}" for i, (n, _m, _b, f) in enumerate(API_CASES)],
)
def test_a_hostile_api_body_is_a_400_naming_the_field_and_writes_nothing(
    team, world, redis_flushed, name, method, body, field
):
    before = snapshot()
    response = getattr(api(team.lead), method)(
        route(team, world, name), complete(team, world, body), format="json"
    )
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert field in response.json(), response.json()
    assert snapshot() == before


def test_a_bulk_body_that_is_not_an_object_is_a_400(team, world):
    before = snapshot()
    for url in ("instructions/bulk/", "instructions/seed/", "prompts/assemble/"):
        response = api(team.lead).post(
            f"/api/projects/{team.project.slug}/{url}",
            "[1, 2]",
            content_type="application/json",
        )
        assert response.status_code == 400, (url, response.content[:200])
    assert snapshot() == before


def test_the_valid_bodies_of_the_hostile_cases_still_work(team, world, redis_flushed):
    """The bodies the hostile cases are built on are accepted: each refusal above is the
    hostile value's doing."""
    client = api(team.lead)
    for name, body in (
        ("seed", {"SEED": True}),
        ("evolve", {"EVOLVE": True, "seed": 7}),
        ("assemble", {"count": 2, "seed": 3, "tasks_per_prompt": 1}),
        ("enhance", {"ENHANCE": True}),
    ):
        response = client.post(route(team, world, name), complete(team, world, body), format="json")
        assert response.status_code == 202, (name, response.json())
    evolve = Job.objects.get(kind="instructions.evolve")
    assert evolve.params["rounds"] == 2 and evolve.params["seed"] == 7
    bulk = client.post(
        route(team, world, "bulk"), {"ids": [world["draft"].pk], "state": "kept"}, format="json"
    )
    assert bulk.json() == {"changed": 1}
    part = world["part"]
    changed = client.patch(
        route(team, world, "part"),
        {"revision": part.revision, "scene": "renting", "active": False},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["scene"] == Scene.objects.get(project=team.project, key="renting").pk
    assert changed.json()["active"] is False and changed.json()["text"] == part.text


def test_the_schema_describes_each_write_body(team):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    base = "/api/projects/{project_slug}"

    def body(path: str, method: str) -> dict:
        content = schema["paths"][base + path][method]["requestBody"]["content"]
        ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        return schema["components"]["schemas"][ref]

    assert body("/instructions/evolve/", "post")["properties"]["rounds"]["maximum"] == 5
    assert body("/instructions/bulk/", "post")["properties"]["ids"]["type"] == "array"
    assert "revision" in body("/instructions/{id}/review/", "post")["required"]
    assert body("/prompts/assemble/", "post")["properties"]["count"]["type"] == "integer"
    assert "decision" in body("/prompts/{id}/review/", "post")["properties"]
    assert "prompt_zh" in body("/prompts/meta-prompt/", "patch")["properties"]
    assert "kind" in body("/template-parts/", "post")["required"]
    assert "revision" in body("/operators/{id}/", "patch")["properties"]


# The screens -------------------------------------------------------------------------------


def url(team, name: str, *args) -> str:
    return reverse(f"evolution:{name}", args=[team.project.slug, *args])


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"keep": "", "revision": "x", "text": "{text}"}, "revision"),
        ({"keep": "", "revision": str(HUGE), "text": "{text}"}, "revision"),
        ({"save": "", "revision": "1", "text": NUL}, "Null characters are not allowed."),
        ({"save": "", "revision": "1", "text": "长" * 4001}, "At most 4000 characters."),
        ({"save": "", "revision": "1", "text": "  "}, "An instruction cannot be empty."),
    ],
)
def test_the_instruction_form_names_a_wrong_value(team, world, body, message):
    item = world["draft"]
    body = {k: v.replace("{text}", item.text) for k, v in body.items()}
    before = snapshot()
    client = team.client("annotator")
    htmx = client.post(url(team, "instruction_act", item.pk), body, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200
    page = htmx.content.decode()
    assert page.lstrip().startswith(
        f'<article class="queue-item card state-draft" id="instruction-{item.pk}"'
    )
    assert 'class="error" role="alert"' in page and message in page
    plain = client.post(url(team, "instruction_act", item.pk), body, follow=True)
    assert plain.status_code == 200 and message in messages_of(plain)
    assert snapshot() == before


@pytest.mark.parametrize(
    "ids", [["x"], [str(HUGE)], ["-3"], ["1.5"]], ids=["word", "huge", "negative", "fraction"]
)
def test_bulk_with_a_wrong_id_says_so_and_changes_nothing(team, world, ids):
    before = snapshot()
    response = team.client("annotator").post(
        url(team, "instructions_bulk"), {"ids": [world["draft"].pk, *ids], "keep": ""}, follow=True
    )
    assert response.status_code == 200
    assert "ids" in messages_of(response)
    assert snapshot() == before


def test_bulk_without_a_button_or_a_tick_says_what_to_do(team, world):
    before = snapshot()
    client = team.client("annotator")
    for body in ({"ids": [world["draft"].pk]}, {"keep": ""}):
        response = client.post(url(team, "instructions_bulk"), body, follow=True)
        assert "Tick instructions, then keep or drop them." in messages_of(response)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("seeds_start", {"per_combination": "x"}, "per_combination"),
        ("seeds_start", {"per_combination": str(HUGE)}, "per_combination"),
        ("seeds_start", {"roles": [str(HUGE)]}, "roles"),
        ("seeds_start", {"scenes": ["renting"]}, "scenes"),
        ("seeds_start", {"endpoint": "x"}, "endpoint"),
        ("seeds_start", {"endpoint": str(HUGE)}, "endpoint"),
        ("evolution_launch", {"rounds": "x"}, "rounds"),
        ("evolution_launch", {"rounds": str(HUGE)}, "rounds"),
        ("evolution_launch", {"operators": []}, "operators"),
        ("evolution_launch", {"endpoint": str(HUGE)}, "endpoint"),
        ("prompts_assemble", {"count": "x"}, "count"),
        ("prompts_assemble", {"count": str(HUGE)}, "count"),
        ("prompts_assemble", {"seed": "x"}, "seed"),
        ("prompts_assemble", {"seed": str(HUGE)}, "seed"),
        ("prompts_assemble", {"tasks_per_prompt": "two"}, "tasks_per_prompt"),
        ("prompts_enhance", {"endpoint": "x"}, "endpoint"),
        ("prompts_enhance", {"endpoint": str(HUGE)}, "endpoint"),
    ],
)
def test_a_job_form_goes_back_naming_the_wrong_field(team, world, name, body, field):
    project = team.project
    valid = {
        "seeds_start": {
            "task_types": [TaskType.objects.get(project=project, key="reasoning").pk],
            "scenes": [Scene.objects.get(project=project, key="renting").pk],
            "roles": [ServiceRole.objects.get(project=project, key="rental-cloud-manager").pk],
            "per_combination": "2",
            "endpoint": world["endpoint"].pk,
        },
        "evolution_launch": {
            "operators": ["deepen"],
            "rounds": "2",
            "endpoint": world["endpoint"].pk,
        },
        "prompts_assemble": {"count": "2", "seed": "0", "tasks_per_prompt": "1"},
        "prompts_enhance": {"endpoint": world["endpoint"].pk},
    }[name]
    before = snapshot()
    client = team.client("lead")
    response = client.post(url(team, name), {**valid, **body})
    assert response.status_code == 302
    assert "/jobs/" not in response["Location"]
    shown = client.get(response["Location"])
    assert f"{field}:" in " ".join(str(m) for m in shown.context["messages"])
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"accept": "", "revision": "x"}, "revision"),
        ({"reject": "", "revision": "1", "reason": "原因" * 200}, "At most 300 characters."),
        ({"rewrite": "", "revision": "1", "text": NUL}, "Null characters are not allowed."),
        ({"reject": "", "revision": "1", "reason": ""}, "Say why it is rejected."),
        ({"revision": "1"}, "Accept, reject or rewrite."),
    ],
)
def test_the_screening_form_names_a_wrong_value(team, world, body, message):
    item = world["evolved"]
    before = snapshot()
    client = team.client("annotator")
    htmx = client.post(url(team, "screening_act", item.pk), body, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and message in htmx.content.decode()
    plain = client.post(url(team, "screening_act", item.pk), body, follow=True)
    assert message in messages_of(plain)
    assert snapshot() == before


def test_the_operator_form_keeps_what_was_typed_and_names_the_field(team, world):
    op = world["operator"]
    before = snapshot()
    typed = "改写{instruction}\x00{dialogue}"
    response = team.client("lead").post(
        url(team, "operator_list"),
        {
            "operator": op.pk,
            "revision": op.revision,
            "name_en": "D" * 101,
            "name_zh": op.name_zh,
            "prompt_zh": typed,
            "prompt_en": op.prompt_en,
            "active": "on",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Null characters are not allowed." in page
    assert "Ensure this field has no more than 100 characters." in page
    assert "D" * 101 in page  # what was typed stays in the form
    wrong = team.client("lead").post(
        url(team, "operator_list"), {"operator": op.pk, "revision": "x", "name_en": "X"}
    )
    assert wrong.status_code == 400
    assert "revision: Send the revision you read" in wrong.content.decode()
    for unknown in ("x", str(HUGE)):
        missing = team.client("lead").post(
            url(team, "operator_list"), {"operator": unknown, "revision": "1"}
        )
        assert missing.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "guidelines", "text": "不要编造。", "scene": str(HUGE)}, "scene"),
        ({"kind": "guidelines", "text": "不要编造。", "task_type": "x" * 300}, "task_type"),
        ({"kind": "guidelines", "text": NUL}, "Null characters are not allowed."),
        ({"kind": "spam", "text": "不要编造。"}, "kind"),
        ({"kind": "task", "instruction": str(HUGE)}, "instruction"),
        ({"kind": "task", "instruction": "x"}, "instruction"),
    ],
)
def test_the_new_part_form_is_shown_again_with_the_message(team, world, body, message):
    before = snapshot()
    response = team.client("lead").post(url(team, "part_list"), body)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="error" role="alert"' in page
    assert message in page or message in str(response.context["new_errors"])
    assert snapshot() == before


def test_the_part_edit_form_names_a_wrong_value_and_an_unknown_part_is_404(team, world):
    part = world["part"]
    before = snapshot()
    client = team.client("lead")
    response = client.post(
        url(team, "part_list"),
        {"part": part.pk, "revision": "x", "text": "不要编造。", "scene": str(HUGE)},
    )
    assert response.status_code == 400
    failed = next(row for row in response.context["rows"] if row["part"].pk == part.pk)
    assert "is not one of this project's" in failed["errors"]["scene"][0]
    # The form shows no revision: its message goes on top, named.
    assert failed["errors"]["general"][0].startswith("revision: Send the revision you read")
    page = response.content.decode()
    assert "revision: Send the revision you read" in page
    for unknown in ("x", str(HUGE)):
        assert client.post(url(team, "part_list"), {"part": unknown}).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"approve": "", "revision": "x"}, "revision"),
        (
            {"save": "", "revision": "1", "text": "{dialogue}\x00"},
            "Null characters are not allowed.",
        ),
        ({"reject": "", "revision": "1", "reason": "原因" * 200}, "At most 300 characters."),
        ({"revision": "1"}, "Approve, reject or save."),
    ],
)
def test_the_prompt_card_names_a_wrong_value(team, world, body, message):
    prompt = world["prompt"]
    before = snapshot()
    client = team.client("lead")
    htmx = client.post(url(team, "prompt_act", prompt.pk), body, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and message in htmx.content.decode()
    plain = client.post(url(team, "prompt_act", prompt.pk), body, follow=True)
    assert message in messages_of(plain)
    assert snapshot() == before


def test_the_meta_prompt_form_names_a_wrong_value(team, world):
    before = snapshot()
    client = team.client("lead")
    for body, message in (
        (
            {"revision": "x", "prompt_zh": "合并{tasks}", "prompt_en": "{tasks}"},
            "revision: Send the revision",
        ),
        (
            {"revision": "1", "prompt_zh": "合并{tasks}\x00", "prompt_en": "{tasks}"},
            "Null characters",
        ),
    ):
        response = client.post(url(team, "meta_prompt"), body)
        assert response.status_code == 400 and message in response.content.decode()
        assert "合并{tasks}" in response.content.decode()  # kept in the form
    assert snapshot() == before


# Reads: the queues' filters ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [{"after": str(HUGE)}, {"after": "1" * 5000}, {"task_type": "租房\x00"}, {"state": "\x00"}],
    ids=["huge", "5000-digits", "nul-key", "nul-state"],
)
def test_a_queue_with_a_wrong_filter_says_so_and_never_fails(team, world, query):
    client = team.client("lead")
    name = next(iter(query))
    for screen in ("instruction_queue", "screening_queue", "prompt_queue"):
        response = client.get(url(team, screen), query)
        assert response.status_code == 400, screen
        assert f"{name}:" in messages_of(response)
        assert "data-item" in response.content.decode()  # the queue stays usable
    base = f"/api/projects/{team.project.slug}"
    for path in ("instructions", "prompts", "template-parts"):
        response = api(team.lead).get(f"{base}/{path}/", query)
        assert response.status_code == 400 and name in response.json()


# Defects the input layer fixed besides the 500s ----------------------------------------------


def test_a_part_added_on_the_screen_is_active(team, world):
    response = team.client("lead").post(
        url(team, "part_list"), {"kind": "guidelines", "name": "准则", "text": "只依据对话作答。"}
    )
    assert response.status_code == 302
    assert TemplatePart.objects.get(project=team.project, name="准则").active


def test_keeping_an_instruction_posted_with_browser_line_ends_is_no_edit(team, world):
    item = world["draft"]
    Instruction.objects.filter(pk=item.pk).update(
        text="第一行：客户想租两居室。\n第二行：预算五千。"
    )
    response = team.client("annotator").post(
        url(team, "instruction_act", item.pk),
        {"keep": "", "revision": "1", "text": "第一行：客户想租两居室。\r\n第二行：预算五千。"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == "kept" and item.text == "第一行：客户想租两居室。\n第二行：预算五千。"
    assert not InstructionRevision.objects.filter(instruction=item).exists()


def test_an_unticked_box_on_the_api_form_body_leaves_active_alone(team, world):
    """A form-encoded PATCH that does not send `active` does not switch an operator off."""
    op = world["operator"]
    response = api(team.lead).patch(
        route(team, world, "operator"), {"revision": op.revision, "name_en": "Deeper"}
    )
    assert response.status_code == 200, response.json()
    op.refresh_from_db()
    assert op.active and op.name_en == "Deeper"
