"""Every project-scoped screen and API route, walked as each kind of person.

EXPECTED names the least role each route and method needs. A new project route that is not
listed here fails `test_every_project_route_declares_its_roles`, so no route escapes the matrix.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from curation.models import AuditEvent, Job, Membership, ModelEndpoint, Role, Scene
from tests.factories import DialogueFactory

A, L, P = Role.ANNOTATOR, Role.LEAD, Role.ADMIN

EXPECTED: dict[str, dict[str, Role]] = {
    # screens
    "curation:project_detail": {"GET": A},
    "curation:project_settings": {"GET": P, "POST": P},
    "curation:member_list": {"GET": A},
    "curation:member_add": {"POST": P},
    "curation:member_update": {"POST": P},
    "curation:taxonomy": {"GET": A},
    "curation:taxonomy_term": {"GET": A},
    "curation:taxonomy_term_add": {"GET": L, "POST": L},
    "curation:taxonomy_term_edit": {"GET": L, "POST": L},
    "curation:taxonomy_term_delete": {"POST": L},
    "curation:audit_log": {"GET": L},
    "curation:dialogue_list": {"GET": A},
    "curation:dialogue_detail": {"GET": A},
    "curation:dialogue_import": {"POST": L},
    "curation:job_list": {"GET": A},
    "curation:job_detail": {"GET": A},
    "curation:job_action": {"POST": L},
    "curation:endpoint_list": {"GET": A},
    "curation:endpoint_create": {"POST": P},
    "curation:endpoint_edit": {"GET": P, "POST": P},
    "curation:endpoint_test": {"POST": L},
    "evolution:instruction_queue": {"GET": A},
    "evolution:instruction_act": {"POST": A},
    "evolution:instructions_bulk": {"POST": A},
    "evolution:seeds_start": {"POST": L},
    "evolution:evolution_launch": {"POST": L},
    "evolution:operator_list": {"GET": L, "POST": L},
    "evolution:screening_queue": {"GET": A},
    "evolution:screening_act": {"POST": A},
    "evolution:instruction_lineage": {"GET": A},
    "evolution:part_list": {"GET": L, "POST": L},
    "evolution:parts_add": {"POST": L},
    "evolution:prompt_queue": {"GET": L},
    "evolution:prompt_act": {"POST": L},
    "evolution:prompts_assemble": {"POST": L},
    "evolution:prompts_enhance": {"POST": L},
    "evolution:meta_prompt": {"GET": L, "POST": L},
    "labeling:label_home": {"GET": A},
    "labeling:label_start": {"POST": L},
    "labeling:label_settings": {"POST": L},
    "labeling:review_queue": {"GET": A},
    "labeling:sample_list": {"GET": A},
    "labeling:review_act": {"POST": A},
    "labeling:sample_regenerate": {"POST": A},
    "labeling:verify_queue": {"GET": L},
    "labeling:verify_act": {"POST": L},
    "metrics:version_list": {"GET": A, "POST": L},
    "metrics:version_compare": {"GET": A},
    "metrics:version_detail": {"GET": A},
    "metrics:version_act": {"POST": L},
    "metrics:version_download": {"GET": L},
    "metrics:dashboard": {"GET": L},
    "metrics:evaluation": {"GET": A},
    "metrics:testset_new": {"POST": L},
    "metrics:testset_detail": {"GET": A},
    "metrics:run_new": {"POST": L},
    "metrics:run_detail": {"GET": A},
    "metrics:run_act": {"POST": L},
    "metrics:answer_detail": {"GET": A},
    "metrics:run_export": {"GET": A},
    "metrics:judge_prompt": {"GET": A, "POST": L},
    # API
    "project-detail": {"GET": A, "PUT": P, "PATCH": P},
    "membership-list": {"GET": A, "POST": P},
    "membership-detail": {"GET": A, "PATCH": P, "DELETE": P},
    "auditevent-list": {"GET": L},
    "auditevent-detail": {"GET": L},
    "dialogue-list": {"GET": A},
    "dialogue-detail": {"GET": A},
    "dialogue-import-file": {"POST": L},
    "endpoint-list": {"GET": A, "POST": P},
    "endpoint-detail": {"GET": A, "PATCH": P},
    "endpoint-test": {"POST": L},
    "endpoint-usage": {"GET": A},
    "job-list": {"GET": A},
    "job-detail": {"GET": A},
    "job-items": {"GET": A},
    "job-cancel": {"POST": L},
    "job-pause": {"POST": L},
    "job-resume": {"POST": L},
    "job-retry-failed": {"POST": L},
    "instruction-list": {"GET": A},
    "instruction-detail": {"GET": A},
    "instruction-lineage": {"GET": A},
    "instruction-review": {"POST": A},
    "instruction-screen": {"POST": A},
    "instruction-bulk": {"POST": A},
    "instruction-seed": {"POST": L},
    "instruction-evolve": {"POST": L},
    "operator-list": {"GET": L},
    "operator-detail": {"GET": L, "PUT": L, "PATCH": L},
    "templatepart-list": {"GET": L, "POST": L},
    "templatepart-detail": {"GET": L, "PATCH": L},
    "prompt-list": {"GET": L},
    "prompt-detail": {"GET": L},
    "prompt-review": {"POST": L},
    "prompt-preview": {"GET": L},
    "prompt-assemble": {"POST": L},
    "prompt-enhance": {"POST": L},
    "prompt-meta-prompt": {"GET": L, "PATCH": L},
    "sample-list": {"GET": A},
    "sample-detail": {"GET": A},
    "sample-next": {"POST": A},
    "sample-review": {"POST": A},
    "sample-regenerate": {"POST": A},
    "sample-verify": {"POST": L},
    "sample-start": {"POST": L},
    "sample-stats": {"GET": A},
    "sample-review-settings": {"GET": A, "PATCH": L},
    "version-list": {"GET": A, "POST": L},
    "version-detail": {"GET": A},
    "version-freeze": {"POST": L},
    "version-submit": {"POST": L},
    "version-decide": {"POST": L},
    "version-export": {"GET": L},
    "version-manifest": {"GET": L},
    "testset-list": {"GET": A, "POST": L},
    "testset-detail": {"GET": A},
    "testset-distribution": {"GET": A},
    "testset-overlap": {"GET": A},
    "testset-items": {"GET": A},
    "evalrun-list": {"GET": A, "POST": L},
    "evalrun-detail": {"GET": A},
    "evalrun-table": {"GET": A},
    "evalrun-answers": {"GET": A},
    "evalrun-retry": {"POST": L},
    "evalrun-reliability": {"POST": L},
    "evalrun-export": {"GET": A},
    "judgeprompt-list": {"GET": A},
    "judgeprompt-detail": {"PUT": L},
}
for _kind in ("scene", "sourcetype", "servicerole", "tasktype"):
    EXPECTED[f"{_kind}-list"] = {"GET": A, "POST": L}
    EXPECTED[f"{_kind}-detail"] = {"GET": A, "PATCH": L, "DELETE": L}

PROJECT_KWARGS = {"slug", "project_slug"}


def _walk(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            regex = entry.pattern.regex
            yield f"{namespace}{entry.name}", set(regex.groupindex)


def project_routes() -> dict[str, set[str]]:
    """Project-scoped route names with their URL kwargs (format-suffix twins left out)."""
    routes: dict[str, set[str]] = {}
    for name, kwargs in _walk(get_resolver().url_patterns):
        if kwargs & PROJECT_KWARGS and "format" not in kwargs:
            routes[name] = kwargs
    return routes


def url_for(name: str, kwargs: set[str], project, pk=999999) -> str:
    values = {}
    for key in kwargs:
        if key in PROJECT_KWARGS:
            values[key] = project.slug
        elif key == "kind":
            values[key] = "scenes"
        elif key == "fmt":
            values[key] = "csv" if name == "metrics:run_export" else "openai"
        elif key == "pk" and name == "judgeprompt-detail":
            values[key] = "zh"
        elif key == "pk":
            values[key] = pk[0] if isinstance(pk, tuple) else pk
        elif key == "answer_pk":
            values[key] = pk[1] if isinstance(pk, tuple) else pk
        else:
            raise AssertionError(f"{name}: no test value for URL kwarg {key}")
    return reverse(name, kwargs=values)


def _call(client, method: str, url: str):
    if url.startswith("/api/"):
        return getattr(client, method.lower())(url, data={}, content_type="application/json")
    return getattr(client, method.lower())(url)


def test_every_project_route_declares_its_roles():
    assert set(project_routes()) == set(EXPECTED)


@pytest.mark.django_db
def test_outsiders_get_404_everywhere(team):
    client = team.client("outsider")
    for name, kwargs in project_routes().items():
        url = url_for(name, kwargs, team.project)
        for method in EXPECTED[name]:
            response = _call(client, method, url)
            assert response.status_code == 404, (method, url, response.status_code)


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client, team):
    for name, kwargs in project_routes().items():
        url = url_for(name, kwargs, team.project)
        for method in EXPECTED[name]:
            response = _call(client, method, url)
            if url.startswith("/api/"):
                assert response.status_code in (401, 403), (method, url)
            else:
                assert response.status_code == 302, (method, url)
                assert response.url.startswith(reverse("login")), (method, url)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["annotator", "lead"])
def test_members_below_the_required_role_get_403(team, who):
    client = team.client(who)
    held = Role.ANNOTATOR if who == "annotator" else Role.LEAD
    checked = 0
    for name, kwargs in project_routes().items():
        url = url_for(name, kwargs, team.project)
        for method, required in EXPECTED[name].items():
            if held.allows(required):
                continue
            response = _call(client, method, url)
            assert response.status_code == 403, (who, method, url, response.status_code)
            checked += 1
    assert checked > 0


@pytest.mark.django_db
def test_annotators_can_read_what_annotators_may_read(team):
    """The other side of the matrix: the role check does not lock members out of their own reads."""
    dialogue = DialogueFactory(project=team.project)
    job = Job.objects.create(project=team.project, kind="llm.chat")
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="local", base_url="http://127.0.0.1:9/v1", model="m"
    )
    from evolution.models import Instruction

    instruction = Instruction.objects.create(
        project=team.project, task_type=team.project.task_types.first(), text="指令"
    )
    from evolution.models import Prompt
    from labeling.models import Sample

    prompt = Prompt.objects.create(
        project=team.project,
        task_type=instruction.task_type,
        assembled_text="{dialogue}",
        text="{dialogue}",
        state="approved",
    )
    sample = Sample.objects.create(
        project=team.project, dialogue=dialogue, prompt=prompt, task_type=prompt.task_type
    )
    from metrics.models import DatasetVersion

    version = DatasetVersion.objects.create(project=team.project, name="v")
    from metrics.models import EvalAnswer, EvalRun, TestItem, TestSet

    test_set = TestSet.objects.create(project=team.project, name="t", size=1, item_count=1)
    item = TestItem.objects.create(
        test_set=test_set, position=0, sample=sample, dialogue=dialogue, prompt=prompt,
        task_type="reasoning", instruction="指令", input="输入", reference="参考",
    )  # fmt: skip
    run = EvalRun.objects.create(project=team.project, test_set=test_set, name="r")
    answer = EvalAnswer.objects.create(run=run, item=item, judged="done", score=7)
    pks = {
        "metrics:testset_detail": test_set.pk,
        "testset-detail": test_set.pk,
        "testset-distribution": test_set.pk,
        "testset-overlap": test_set.pk,
        "testset-items": test_set.pk,
        "metrics:run_detail": run.pk,
        "metrics:run_export": run.pk,
        "metrics:answer_detail": (run.pk, answer.pk),
        "evalrun-detail": run.pk,
        "evalrun-answers": run.pk,
        "evalrun-export": run.pk,
        "metrics:version_detail": version.pk,
        "version-detail": version.pk,
        "sample-detail": sample.pk,
        "evolution:instruction_lineage": instruction.pk,
        "instruction-detail": instruction.pk,
        "instruction-lineage": instruction.pk,
        "curation:job_detail": job.pk,
        "job-detail": job.pk,
        "job-items": job.pk,
        "endpoint-detail": endpoint.pk,
        "endpoint-usage": endpoint.pk,
        "curation:taxonomy_term": Scene.objects.filter(project=team.project).first().pk,
        "curation:dialogue_detail": dialogue.pk,
        "dialogue-detail": dialogue.pk,
        "membership-detail": Membership.objects.filter(project=team.project).first().pk,
    }
    for kind, related in (
        ("scene", "scenes"),
        ("sourcetype", "source_types"),
        ("servicerole", "service_roles"),
        ("tasktype", "task_types"),
    ):
        pks[f"{kind}-detail"] = getattr(team.project, related).first().pk
    client = team.client("annotator")
    for name, kwargs in project_routes().items():
        if EXPECTED[name].get("GET") != Role.ANNOTATOR:
            continue
        url = url_for(name, kwargs, team.project, pk=pks.get(name, 999999))
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)


@pytest.mark.django_db
def test_site_admins_see_every_project(team):
    client = team.client("site_admin")
    assert client.get(reverse("curation:audit_log", args=[team.project.slug])).status_code == 200
    assert not AuditEvent.objects.filter(actor=team.site_admin).exists()
