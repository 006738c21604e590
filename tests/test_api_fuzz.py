"""Schema-driven fuzzing of the whole REST API (schemathesis over the OpenAPI schema that
/api/schema/ serves): every operation gets valid and invalid bodies, queries and path values,
as a site admin on a project full of data, and must never answer 5xx (issue 14: bad input is a
400 naming the field, never a 500). Bounded examples per operation keep it to about a minute.

Path values are drawn from the rows that exist (the project's slug, real ids of each kind), so
the fuzzer reaches the views' and services' validation instead of stopping at 404s. Each
request runs in a savepoint rolled back afterwards: one example's writes never change what the
next one sees.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient
from schemathesis.core import NotSet
from schemathesis.generation import GenerationMode

from curation.models import (
    AuditEvent,
    Dialogue,
    Job,
    Membership,
    ModelEndpoint,
    Scene,
    ServiceRole,
    SourceType,
    TaskType,
)
from curation.services.jobs import job_run_here
from evolution.models import EvolutionOperator, Instruction, Prompt, TemplatePart
from evolution.services.evolve import operators_ensure
from evolution.services.parts import parts_add_starter
from labeling.models import Sample
from metrics.models import DatasetVersion, EvalRun, TestSet
from metrics.services.evaluation import evalrun_start
from metrics.services.evaluation import testset_create as draw_test_set
from metrics.services.versions import version_create, version_freeze
from tests.metrics.test_services_versions import labelled  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

EXAMPLES = 6  # per operation and mode (valid, invalid)

# Bodies no schema describes, sent to every write as well: a body of the wrong JSON type,
# bytes that are not UTF-8, JSON nested deeper than any parser should follow.
HOSTILE_BODIES = [
    b'"text"',
    b"5",
    b"[]",
    b"null",
    b"[1, 2]",
    b'{"revision": "x", "ids": 5, "seed": "x", "threshold": "abc", "grades": 5}',
    b"\xcf\x80\xff\xfe",
    b"[" * 20000 + b"]" * 20000,
    b'{"a": ' * 5000 + b"1" + b"}" * 5000,
]
# Writes that take no input at all (anything else must describe its body in the schema).
NO_BODY = {
    ("POST", "/api/projects/{project_slug}/samples/next/"),
    ("POST", "/api/projects/{project_slug}/endpoints/{id}/test/"),
    ("POST", "/api/projects/{project_slug}/jobs/{id}/cancel/"),
    ("POST", "/api/projects/{project_slug}/jobs/{id}/pause/"),
    ("POST", "/api/projects/{project_slug}/jobs/{id}/resume/"),
    ("POST", "/api/projects/{project_slug}/jobs/{id}/retry-failed/"),
    ("POST", "/api/projects/{project_slug}/eval-runs/{id}/retry/"),
    ("POST", "/api/projects/{project_slug}/samples/{id}/regenerate/"),
}

# The model behind each collection's `{id}`.
ROWS = {
    "audit-events": AuditEvent,
    "dialogues": Dialogue,
    "endpoints": ModelEndpoint,
    "eval-runs": EvalRun,
    "instructions": Instruction,
    "jobs": Job,
    "members": Membership,
    "operators": EvolutionOperator,
    "prompts": Prompt,
    "roles": ServiceRole,
    "samples": Sample,
    "scenes": Scene,
    "source-types": SourceType,
    "task-types": TaskType,
    "template-parts": TemplatePart,
    "test-sets": TestSet,
    "versions": DatasetVersion,
}


def _schema() -> dict:
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


SCHEMA = _schema()
OPERATIONS = [
    (method.upper(), path)
    for path, operations in SCHEMA["paths"].items()
    for method in operations
    if method in ("get", "post", "put", "patch", "delete")
]


@pytest.fixture
def world(team, labelled, labels):  # noqa: F811
    """A project with rows of every kind the API names: endpoints, dialogues, instructions,
    parts, prompts, samples, a frozen version, a test set, an evaluation run, jobs."""
    project = team.project
    operators_ensure(project=project)
    parts_add_starter(project=project, actor=team.lead)
    task = TaskType.objects.get(project=project, key="reasoning")
    Instruction.objects.create(project=project, task_type=task, text="判断客户是否愿意看房。")
    version = version_create(project=project, name="fuzz", actor=team.lead)
    job = version_freeze(
        version=version, revision=version.revision, actor=team.lead, dispatch=False
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    Sample.objects.filter(project=project, state="rejected").update(state="accepted")
    test_set = draw_test_set(
        project=project, name="fuzz", size=3, actor=team.lead, hold_out_prompts=False,
        grades=["high", "medium", "low"],
    )  # fmt: skip
    endpoint = labels["endpoint"]
    evalrun_start(
        project=project,
        test_set=test_set,
        model_endpoint=endpoint,
        judge_endpoint=endpoint,
        actor=team.lead,
        dispatch=False,
    )
    return project


def _path_values(path: str, project) -> dict[str, list]:
    values: dict[str, list] = {"project_slug": [project.slug]}
    parts = path.strip("/").split("/")
    if "{id}" in parts:
        collection = parts[parts.index("{id}") - 1]
        if collection == "judge-prompts":
            values["id"] = ["zh", "en"]
        else:
            model = ROWS[collection]
            rows = model.objects.all()
            if hasattr(model, "project"):
                rows = rows.filter(project=project)
            values["id"] = list(rows.order_by("pk").values_list("pk", flat=True)[:5]) or [1]
    return values


def _schema_for(project) -> schemathesis.schemas.BaseSchema:
    """The schema with each path parameter narrowed to the values that exist."""
    raw = json.loads(json.dumps(SCHEMA))
    for path, operations in raw["paths"].items():
        values = _path_values(path, project)
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"] in values:
                    parameter["schema"] = {"enum": values[parameter["name"]]}
    return schemathesis.openapi.from_dict(raw)


def _call(client: APIClient, case) -> int:
    path = case.formatted_path
    if case.query:
        path += "?" + urlencode(case.query, doseq=True)
    if case.method in ("GET", "DELETE"):
        return client.generic(case.method, path).status_code
    if case.media_type and case.media_type.startswith("multipart/"):
        body = {}
        for key, value in (case.body if isinstance(case.body, dict) else {}).items():
            if isinstance(value, bytes):
                body[key or "field"] = SimpleUploadedFile("fuzz.jsonl", value)
            elif value is not None:
                body[key or "field"] = value if isinstance(value, str) else json.dumps(value)
        return getattr(client, case.method.lower())(path, body, format="multipart").status_code
    if isinstance(case.body, NotSet):
        body = ""
    elif isinstance(case.body, bytes):
        body = case.body  # raw bytes under a JSON content type: not JSON at all
    else:
        body = json.dumps(case.body)
    return client.generic(case.method, path, body, content_type="application/json").status_code


def test_no_operation_answers_5xx_on_any_input(world, team):
    schema = _schema_for(world)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(team.site_admin)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS) > 100

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                database=None,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                with transaction.atomic():
                    status = _call(client, case)
                    transaction.set_rollback(True)
                if status >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} query={case.query!r} "
                        f"body={case.body!r:.300} -> {status}"
                    )

            run()
        if operation.method.upper() in ("POST", "PUT", "PATCH"):
            path = operation.path.replace("{project_slug}", world.slug)
            values = _path_values(operation.path, world)
            if "{id}" in path:
                path = path.replace("{id}", str(values["id"][0]))
            for body in HOSTILE_BODIES:
                with transaction.atomic():
                    response = client.generic(
                        operation.method.upper(), path, body, content_type="application/json"
                    )
                    transaction.set_rollback(True)
                if response.status_code >= 500:
                    failures.append(f"{operation.method.upper()} {path} body={body[:40]!r} -> 5xx")
    assert not failures, f"{len(failures)} answers 5xx:\n" + "\n".join(failures[:40])


def test_every_write_describes_its_body_in_the_schema():
    """A write whose body the schema does not describe is fuzzed blind: declare its input
    serializer (`@extend_schema(request=...)`)."""
    undescribed = [
        f"{method} {path}"
        for path, operations in SCHEMA["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch")
        and (method.upper(), path) not in NO_BODY
        and not operation.get("requestBody", {}).get("content")
    ]
    assert not undescribed, "\n".join(undescribed)
