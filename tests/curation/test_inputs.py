"""The one input layer of the curation app (issue 14 point 3): every write is read by one input
serializer (curation/inputs.py), so a wrongly typed value is a 400 naming the field (API) or
the form shown again with the message beside the field (screen, status 400), and nothing is
written. Each value here answered 500 before, or was stored as garbage ("None", "['x']")."""

import base64

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from curation.models import (
    AuditEvent,
    Job,
    Membership,
    ModelEndpoint,
    Project,
    Scene,
    ServiceRole,
    TaskType,
)
from tests.factories import DialogueFactory

pytestmark = pytest.mark.django_db

NUL = "\x00"
HUGE = 10**30


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def rows(team):
    """An endpoint, a scene, a role and a task type of the project, and the API's URLs."""
    project = team.project
    endpoint = ModelEndpoint.objects.create(
        project=project, name="qwen", base_url="http://127.0.0.1:9/v1", model="qwen-max"
    )
    scene = Scene.objects.get(project=project, key="renting")
    role = ServiceRole.objects.get(project=project, key="home-designer")
    task = TaskType.objects.get(project=project, key="information-extraction")
    base = f"/api/projects/{project.slug}"
    return {
        "endpoint": endpoint,
        "scene": scene,
        "role": role,
        "task": task,
        "members": f"{base}/members/",
        "scenes": f"{base}/scenes/",
        "scene_detail": f"{base}/scenes/{scene.pk}/",
        "role_detail": f"{base}/roles/{role.pk}/",
        "tasks": f"{base}/task-types/",
        "task_detail": f"{base}/task-types/{task.pk}/",
        "endpoints": f"{base}/endpoints/",
        "endpoint_detail": f"{base}/endpoints/{endpoint.pk}/",
    }


def snapshot(rows) -> tuple:
    """What a refused write must leave as it was."""
    endpoint = ModelEndpoint.objects.get(pk=rows["endpoint"].pk)
    return (
        AuditEvent.objects.count(),
        Membership.objects.count(),
        Scene.objects.count(),
        TaskType.objects.count(),
        ModelEndpoint.objects.count(),
        Scene.objects.get(pk=rows["scene"].pk).revision,
        ServiceRole.objects.get(pk=rows["role"].pk).revision,
        TaskType.objects.get(pk=rows["task"].pk).revision,
        (endpoint.revision, endpoint.name, endpoint.model),
    )


NEW_ENDPOINT = {"name": "deepseek", "base_url": "http://127.0.0.1:9/v1", "model": "deepseek-chat"}
NEW_TASK = {"key": "compliance", "name_en": "Compliance", "name_zh": "合规检查"}
NEW_SCENE = {"key": "office", "name_en": "Office", "name_zh": "写字楼"}
MEMBER = {"username": "outsider", "role": "lead"}
EDIT = {"revision": 1}

# (method, url, who, body the hostile value goes into, field, hostile value)
API_CASES = {
    "username with NUL": ("post", "members", "admin", MEMBER, "username", f"王{NUL}"),
    "role as a list": ("post", "members", "admin", MEMBER, "role", ["lead"]),
    "key too long": ("post", "scenes", "lead", NEW_SCENE, "key", "k" * 80),
    "name with NUL": ("post", "scenes", "lead", NEW_SCENE, "name_en", f"Off{NUL}ice"),
    "term name null": ("post", "scenes", "lead", NEW_SCENE, "name_en", None),
    "position 10**30": ("patch", "scene_detail", "lead", EDIT, "position", HUGE),
    "scene revision '²'": ("patch", "scene_detail", "lead", {"weight": 2}, "revision", "²"),
    "Chinese name as a list": ("patch", "scene_detail", "lead", EDIT, "name_zh", ["租房"]),
    "role revision '²'": ("patch", "role_detail", "lead", {"scenes": []}, "revision", "²"),
    "scenes as an object": ("patch", "role_detail", "lead", EDIT, "scenes", {"renting": True}),
    "requirement with NUL": (
        "post", "tasks", "lead", NEW_TASK, "requirements_zh", [f"不得承诺{NUL}收益"]
    ),
    "task revision '²'": ("patch", "task_detail", "lead", {"active": False}, "revision", "²"),
    "endpoint name of 5000": ("post", "endpoints", "site_admin", NEW_ENDPOINT, "name", "n" * 5000),
    "model with NUL": ("post", "endpoints", "site_admin", NEW_ENDPOINT, "model", f"qwen{NUL}"),
    "model as a list": ("post", "endpoints", "site_admin", NEW_ENDPOINT, "model", ["qwen-max"]),
    "price NaN": (
        "post", "endpoints", "site_admin", NEW_ENDPOINT, "price_prompt_per_million", "NaN"
    ),
    "broken IPv6 URL": ("post", "endpoints", "site_admin", NEW_ENDPOINT, "base_url", "http://[::1/v"),
    "port out of range": (
        "post", "endpoints", "site_admin", NEW_ENDPOINT, "base_url", "http://127.0.0.1:99999/v1"
    ),
    "port not a number": (
        "post", "endpoints", "site_admin", NEW_ENDPOINT, "base_url", "http://localhost:80a/v1"
    ),
    "endpoint revision '²'": ("patch", "endpoint_detail", "admin", {}, "revision", "²"),
    "price sNaN": (
        "patch", "endpoint_detail", "admin", EDIT, "price_completion_per_million", "sNaN"
    ),
    "endpoint name null": ("patch", "endpoint_detail", "admin", EDIT, "name", None),
    "name of 101": ("patch", "endpoint_detail", "site_admin", EDIT, "name", "n" * 101),
    "temperature true": ("patch", "endpoint_detail", "admin", EDIT, "temperature", True),
}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "url", "who", "body", "field", "value"),
    list(API_CASES.values()),
    ids=list(API_CASES),
)
def test_the_api_answers_a_wrong_value_with_a_400_naming_the_field(
    team, rows, method, url, who, body, field, value
):
    body = {**body, field: value}
    if method == "patch":
        body.setdefault("revision", 1)
    before = snapshot(rows)
    response = getattr(api(getattr(team, who)), method)(rows[url], body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert snapshot(rows) == before


@pytest.mark.parametrize("body", ["null", "1", '"一段文本"', "[]"])
@pytest.mark.parametrize(
    ("method", "url", "who"),
    [
        ("post", "members", "admin"),
        ("post", "scenes", "lead"),
        ("patch", "scene_detail", "lead"),
        ("patch", "role_detail", "lead"),
        ("post", "tasks", "lead"),
        ("post", "endpoints", "site_admin"),
        ("patch", "endpoint_detail", "admin"),
        ("post", "/api/projects/", "site_admin"),
        ("patch", "/api/projects/beike/", "admin"),
    ],
)
def test_a_body_that_is_not_an_object_is_a_400(team, rows, method, url, who, body):
    before = snapshot(rows)
    response = api(getattr(team, who)).generic(
        method.upper(), rows.get(url, url), body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert snapshot(rows) == before


def test_unknown_fields_are_named_and_a_typed_edit_goes_through(team, rows):
    client = api(team.lead)
    scene = rows["scene"]
    refused = client.patch(
        rows["scene_detail"], {"wieght": 3, "revision": scene.revision}, format="json"
    )
    assert refused.status_code == 400 and "wieght" in str(refused.json())
    saved = client.patch(
        rows["scene_detail"],
        {"weight": "2.5", "name_zh": " 整租 ", "position": "3", "revision": scene.revision},
        format="json",
    )
    assert saved.status_code == 200, saved.json()
    scene.refresh_from_db()
    assert (str(scene.weight), scene.name_zh, scene.position) == ("2.500", "整租", 3)


def test_a_multipart_edit_leaves_out_what_it_does_not_name(team, rows):
    """A form-encoded PATCH that names neither `active` nor `scenes` changes neither (an HTML
    form's unticked box is the screen's business, not the API's)."""
    role = rows["role"]
    response = api(team.lead).patch(
        rows["role_detail"], {"weight": "2", "revision": role.revision}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    role.refresh_from_db()
    assert role.active and list(role.scenes.values_list("key", flat=True)) == ["home-improvement"]


def test_endpoint_values_are_typed_and_bounded(team, rows):
    client = api(team.site_admin)
    created = client.post(
        rows["endpoints"],
        {**NEW_ENDPOINT, "context_tokens": "", "price_prompt_per_million": "0.27"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["context_tokens"] is None
    assert created.json()["price_prompt_per_million"] == "0.2700"
    endpoint = rows["endpoint"]
    for field, value in (
        ("temperature", 2.5),
        ("max_tokens", 200001),
        ("context_tokens", 255),
        ("max_concurrency", 0),
        ("requests_per_minute", HUGE),
        ("json_mode", "yaml"),
        ("api_key_env", "sk-live-abc"),
    ):
        response = client.patch(
            rows["endpoint_detail"], {field: value, "revision": endpoint.revision}, format="json"
        )
        assert response.status_code == 400 and field in response.json(), (field, response.json())
    assert ModelEndpoint.objects.get(pk=endpoint.pk).revision == endpoint.revision


def test_dialogue_filters_and_cursor_are_checked(team):
    DialogueFactory(project=team.project)
    client = api(team.annotator)
    url = f"/api/projects/{team.project.slug}/dialogues/"
    for field in ("q", "scene", "source", "role"):
        response = client.get(url, {field: f"租{NUL}房"})
        assert response.status_code == 400 and field in response.json(), field
    crafted = base64.b64encode(b"p=abc").decode()
    assert client.get(url, {"cursor": crafted}).status_code == 404
    assert len(client.get(url, {"q": "租"}).json()["results"]) <= 1


def test_the_schema_describes_each_curation_write(team):
    schema = api(team.lead).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = schema.json()
    components = schema["components"]["schemas"]

    def body(path, method):
        content = schema["paths"][path][method]["requestBody"]["content"]
        return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]

    base = "/api/projects/{project_slug}"
    created = components[body(f"{base}/endpoints/", "post")]["properties"]
    assert created["temperature"]["maximum"] == 2 and created["max_tokens"]["maximum"] == 200000
    edited = components[body(f"{base}/endpoints/{{id}}/", "patch")]["properties"]
    assert {"revision", "base_url", "price_prompt_per_million"} <= set(edited)
    assert "scenes" in components[body(f"{base}/roles/", "post")]["properties"]
    assert (
        "requirements_zh" in components[body(f"{base}/task-types/{{id}}/", "patch")]["properties"]
    )
    assert "scenes" not in components[body(f"{base}/scenes/", "post")]["properties"]
    assert body(f"{base}/members/", "post") == "MembershipAddInput"
    query = {p["name"] for p in schema["paths"][f"{base}/dialogues/"]["get"]["parameters"]}
    assert {"scene", "source", "role", "q"} <= query


# --- screens ---------------------------------------------------------------------------------


def test_a_new_project_with_a_long_name_or_a_bad_value(team):
    client = team.client("site_admin")
    url = reverse("curation:project_create")
    too_long = client.post(url, {"name": "长" * 201, "domain_zh": "房产经纪"})
    assert too_long.status_code == 400
    assert "At most 200 characters." in too_long.content.decode()
    nul = client.post(url, {"name": f"上海{NUL}租房"})
    assert nul.status_code == 400 and "Null characters are not allowed." in nul.content.decode()
    domain = client.post(url, {"name": "上海租房", "domain_en": "d" * 101})
    assert domain.status_code == 400 and "At most 100 characters." in domain.content.decode()
    assert not Project.objects.filter(name__startswith="上海").exists()
    # A long latin name makes a slug cut to its column, not a database error.
    name = "Shanghai Pudong long-stay rental apartments, customer service calls and chats 2024"
    created = client.post(url, {"name": name * 2})
    assert created.status_code == 302
    assert len(Project.objects.get(name=(name * 2)).slug) <= 80


def test_project_settings_show_the_problem_beside_the_field(team):
    client = team.client("admin")
    url = reverse("curation:project_settings", args=[team.project.slug])
    form = {
        "name": "贝壳演示",
        "description": "租房、买房对话",
        "domain_zh": "房产经纪",
        "domain_en": "real-estate brokerage",
        "training_system_prompt": "你是一名房产经纪助手。",
        "revision": team.project.revision,
    }
    for field, value, message in (
        ("name", f"贝壳{NUL}", "Null characters are not allowed."),
        ("name", "名" * 201, "At most 200 characters."),
        ("domain_zh", f"房产{NUL}经纪", "Null characters are not allowed."),
        ("training_system_prompt", "长" * 4001, "At most 4000 characters."),
        ("revision", "²", "A valid integer is required."),
    ):
        response = client.post(url, {**form, field: value})
        assert response.status_code == 400, field
        assert message in response.content.decode(), field
    project = Project.objects.get(pk=team.project.pk)
    assert (project.name, project.revision) == ("Beike demo", team.project.revision)
    assert client.post(url, form).status_code == 302
    assert Project.objects.get(pk=team.project.pk).domain_zh == "房产经纪"


def test_a_member_with_a_hostile_username_or_role_is_refused_on_screen(team):
    client = team.client("admin")
    url = reverse("curation:member_add", args=[team.project.slug])
    nul = client.post(url, {"username": f"outsider{NUL}", "role": "lead"})
    assert nul.status_code == 400 and "Null characters are not allowed." in nul.content.decode()
    boss = client.post(url, {"username": "outsider", "role": "boss"})
    assert boss.status_code == 400 and "“boss” is not a role" in boss.content.decode()
    membership = Membership.objects.get(project=team.project, user=team.annotator)
    update = reverse("curation:member_update", args=[team.project.slug, membership.pk])
    assert client.post(update, {"role": "owner", "set_role": ""}).status_code == 400
    assert not Membership.objects.filter(project=team.project, user=team.outsider).exists()
    assert Membership.objects.get(pk=membership.pk).role == "annotator"


def test_taxonomy_forms_show_the_problem_and_keep_the_term(team):
    client = team.client("lead")
    slug = team.project.slug
    add = reverse("curation:taxonomy_term_add", args=[slug, "scenes"])
    form = {
        "key": "office",
        "name_en": "Office",
        "name_zh": "写字楼",
        "weight": "1",
        "position": "9",
    }
    for field, value, message in (
        ("key", "k" * 80, "At most 60 characters."),
        ("position", str(HUGE), "less than or equal to 2147483647"),
        ("name_zh", f"写字{NUL}楼", "Null characters are not allowed."),
        ("weight", "NaN", "A weight is a number from 0 to 99999."),
    ):
        response = client.post(add, {**form, field: value})
        assert response.status_code == 400, field
        assert message in response.content.decode(), field
    assert not Scene.objects.filter(project=team.project, key="office").exists()
    task = TaskType.objects.get(project=team.project, key="information-extraction")
    edit = reverse("curation:taxonomy_term_edit", args=[slug, "task-types", task.pk])
    response = client.post(
        edit,
        {
            "key": task.key,
            "name_en": task.name_en,
            "name_zh": task.name_zh,
            "weight": "1",
            "position": "0",
            "active": "on",
            "requirements_en": "\n".join(task.requirements_en),
            "requirements_zh": f"客户情绪\n不得承诺{NUL}收益",
            "revision": task.revision,
        },
    )
    assert response.status_code == 400
    assert "Line 2: Null characters are not allowed." in response.content.decode()
    assert TaskType.objects.get(pk=task.pk).revision == task.revision
    assert not AuditEvent.objects.exists()


def test_endpoint_forms_show_the_problem_beside_the_field(team):
    client = team.client("site_admin")
    add = reverse("curation:endpoint_create", args=[team.project.slug])
    form = {"name": "vllm", "base_url": "http://127.0.0.1:8000/v1", "model": "Qwen2.5-14B"}
    for field, value, message in (
        ("price_prompt_per_million", "NaN", "Give a number from 0 to 1000000."),
        ("name", "n" * 101, "At most 100 characters."),
        ("model", f"qwen{NUL}", "Null characters are not allowed."),
        ("base_url", "http://[::1/v1", "Give a URL like https://api.example.com/v1."),
        ("json_mode", "yaml", "Use one of json_object, json_schema, prompt."),
        ("temperature", "", "Give a number from 0 to 2."),
    ):
        response = client.post(add, {**form, field: value})
        assert response.status_code == 400, field
        assert message in response.content.decode(), field
        assert f'value="{value}"' in response.content.decode() or field == "json_mode"
    assert not ModelEndpoint.objects.exists()
    assert client.post(add, {**form, "context_tokens": ""}).status_code == 302
    endpoint = ModelEndpoint.objects.get(name="vllm")
    edit = reverse("curation:endpoint_edit", args=[team.project.slug, endpoint.pk])
    for field, value in (("price_completion_per_million", "sNaN"), ("revision", "²")):
        response = team.client("admin").post(
            edit, {**form, "revision": endpoint.revision, field: value}
        )
        assert response.status_code == 400, field
    assert ModelEndpoint.objects.get(pk=endpoint.pk).revision == endpoint.revision


def test_a_job_action_that_is_not_one_is_shown_and_changes_nothing(team):
    job = Job.objects.create(project=team.project, kind="llm.chat", status=Job.Status.RUNNING)
    url = reverse("curation:job_action", args=[team.project.slug, job.pk])
    response = team.client("lead").post(url, {"action": "explode"})
    assert response.status_code == 400
    assert "Choose cancel, pause, resume or retry." in response.content.decode()
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING


def test_the_dialogue_screen_refuses_a_hostile_filter(team):
    DialogueFactory(project=team.project)
    url = reverse("curation:dialogue_list", args=[team.project.slug])
    client = team.client("annotator")
    for query in ({"before": "²"}, {"before": str(HUGE)}, {"q": f"租{NUL}房"}, {"scene": NUL}):
        response = client.get(url, query)
        assert response.status_code == 400, query
        assert 'role="alert"' in response.content.decode(), query
    assert client.get(url, {"before": "", "q": "想"}).status_code == 200


def test_the_audit_log_refuses_a_hostile_filter(team):
    url = reverse("curation:audit_log", args=[team.project.slug])
    response = team.client("lead").get(url, {"action": f"taxonomy{NUL}"})
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
