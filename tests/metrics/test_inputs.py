"""Versions and evaluation through the one input layer: every write, on a screen and in the API,
is read by one input serializer; a wrong value is a 400 naming the field (the form again with
its message on a screen), never a 500."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from curation.models import Job, ModelEndpoint
from curation.services.jobs import job_run_here
from metrics.models import DatasetVersion, TestSet
from metrics.services.evaluation import evalrun_start
from metrics.services.evaluation import testset_create as draw_test_set
from metrics.services.versions import version_create, version_freeze
from tests.labeling.hostile import sweep_form, sweep_json
from tests.metrics.test_services_evaluation import curated  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def screen(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def url(team, name, *args):
    return reverse(f"metrics:{name}", args=[team.project.slug, *args])


@pytest.fixture
def world(team, curated, label_llm):  # noqa: F811
    """A test set, a run judged to the end, a frozen version and a draft."""
    project = team.project
    test_set = draw_test_set(project=project, name="held-out", size=3, actor=team.lead)
    endpoint = ModelEndpoint.objects.create(
        project=project, name="m", base_url=label_llm.url, model="qwen"
    )
    run = evalrun_start(
        project=project, test_set=test_set, model_endpoint=endpoint, judge_endpoint=endpoint,
        actor=team.lead, dispatch=False,
    )  # fmt: skip
    assert job_run_here(job_id=run.job_id).status == Job.Status.DONE
    frozen = version_create(project=project, name="v1", actor=team.lead)
    job = version_freeze(version=frozen, revision=1, actor=team.lead, dispatch=False)
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    frozen.refresh_from_db()
    draft = version_create(project=project, name="draft", actor=team.lead)
    return {"test_set": test_set, "endpoint": endpoint, "run": run, "frozen": frozen,
            "draft": draft}  # fmt: skip


FILTERS = ["states", "grades", "task_types", "scenes", "since", "until"]


def test_no_write_of_the_versions_and_evaluation_api_answers_5xx(team, world):
    base = f"/api/projects/{team.project.slug}"
    lead = api(team.lead)
    frozen, draft, run = world["frozen"], world["draft"], world["run"]
    failures = sweep_json(
        lead,
        "POST",
        f"{base}/versions/",
        {
            "name": "v2",
            "description": "第二版",
            "filters": {
                "states": ["accepted"],
                "grades": ["high"],
                "task_types": ["reasoning"],
                "scenes": ["renting"],
                "since": "2024-01-01",
                "until": "2030-01-01",
            },
            "top_n": 2,
            "embedding": "tokens",
            "threshold": 0.8,
        },  # fmt: skip
        ["name", "description", "filters", "top_n", "embedding", "threshold"]
        + [f"filters.{f}" for f in FILTERS],
    )
    for action in ("freeze", "submit"):
        version = draft if action == "freeze" else frozen
        failures += sweep_json(
            lead, "POST", f"{base}/versions/{version.pk}/{action}/",
            {"revision": version.revision}, ["revision"],
        )  # fmt: skip
    DatasetVersion.objects.filter(pk=frozen.pk).update(state="submitted")
    failures += sweep_json(
        api(team.admin), "POST", f"{base}/versions/{frozen.pk}/decide/",
        {"revision": frozen.revision, "decision": "reject", "note": "太少"},
        ["revision", "decision", "note"],
    )  # fmt: skip
    failures += sweep_json(
        lead,
        "POST",
        f"{base}/test-sets/",
        {
            "name": "t2",
            "description": "",
            "size": 2,
            "seed": 1,
            "task_shares": {"reasoning": 1},
            "format_shares": {"json": 1},
            "grades": ["high"],
            "hold_out_prompts": False,
        },
        ["name", "description", "size", "seed", "task_shares", "format_shares", "grades",
         "hold_out_prompts", "task_shares.reasoning", "format_shares.json"],
    )  # fmt: skip
    endpoint = world["endpoint"].pk
    failures += sweep_json(
        lead,
        "POST",
        f"{base}/eval-runs/",
        {"test_set": world["test_set"].pk, "model_endpoint": endpoint, "judge_endpoint": endpoint,
         "trained_on": frozen.pk, "name": "二号"},
        ["test_set", "model_endpoint", "judge_endpoint", "trained_on", "name"],
    )  # fmt: skip
    failures += sweep_json(
        lead, "POST", f"{base}/eval-runs/{run.pk}/reliability/", {"items": 2, "repeats": 2},
        ["items", "repeats"],
    )  # fmt: skip
    failures += sweep_json(lead, "POST", f"{base}/eval-runs/{run.pk}/retry/", {}, [])
    failures += sweep_json(
        lead, "PUT", f"{base}/judge-prompts/zh/", {"template": "评分：{question}", "revision": 0},
        ["template", "revision"],
    )  # fmt: skip
    for path in (f"versions/{frozen.pk}/export/", f"versions/{frozen.pk}/manifest/",
                 f"eval-runs/{run.pk}/export/"):  # fmt: skip
        for value in ("²", "", "csv", "openai", "x" * 300):
            response = lead.get(f"{base}/{path}", {"fmt": value})
            if response.status_code >= 500:
                failures.append(f"GET {path}?fmt={value}")
    assert not failures, "\n".join(failures)


def test_no_version_or_evaluation_screen_answers_5xx(team, world):
    lead = screen(team.lead)
    frozen, draft, run = world["frozen"], world["draft"], world["run"]
    failures = sweep_form(
        lead,
        url(team, "version_list"),
        {"name": "v2", "description": "", "states": "accepted", "grades": "high",
         "task_types": "reasoning", "scenes": "renting", "since": "2024-01-01",
         "until": "", "top_n": "2", "embedding": "tokens"},
        ["name", "states", "grades", "task_types", "scenes", "since", "until", "top_n",
         "embedding"],
    )  # fmt: skip
    failures += sweep_form(
        lead, url(team, "version_act", draft.pk), {"freeze": "", "revision": "1"}, ["revision"]
    )
    DatasetVersion.objects.filter(pk=frozen.pk).update(state="submitted")
    failures += sweep_form(
        screen(team.admin), url(team, "version_act", frozen.pk),
        {"reject": "", "revision": str(frozen.revision), "note": "太少"}, ["revision", "note"],
    )  # fmt: skip
    failures += sweep_form(
        lead,
        url(team, "testset_new"),
        {"name": "t2", "size": "2", "seed": "1", "grades": "high", "task_reasoning": "1",
         "format_json": "1"},
        ["name", "size", "seed", "grades", "task_reasoning", "format_json", "hold_out_prompts"],
    )  # fmt: skip
    endpoint = str(world["endpoint"].pk)
    failures += sweep_form(
        lead,
        url(team, "run_new"),
        {"test_set": str(world["test_set"].pk), "model_endpoint": endpoint,
         "judge_endpoint": endpoint, "trained_on": str(frozen.pk), "name": ""},
        ["test_set", "model_endpoint", "judge_endpoint", "trained_on"],
    )  # fmt: skip
    failures += sweep_form(
        lead, url(team, "run_act", run.pk), {"reliability": "", "items": "2", "repeats": "2"},
        ["items", "repeats"],
    )  # fmt: skip
    failures += sweep_form(
        lead, url(team, "judge_prompt"),
        {"language": "zh", "template": "评分：{question}", "revision": "0"},
        ["language", "template", "revision"],
    )  # fmt: skip
    for value in ("²", "9" * 40, "-1", "abc"):
        response = lead.get(url(team, "version_compare"), {"v": [value, str(frozen.pk)]})
        if response.status_code >= 500:
            failures.append(f"GET compare v={value!r}")
    assert not failures, "\n".join(failures)


def test_the_known_500s_are_400s_naming_the_field(team, world):
    base = f"/api/projects/{team.project.slug}"
    lead = api(team.lead)
    versions = DatasetVersion.objects.count()
    for body, field in (
        ({"name": "v3", "threshold": "abc"}, "threshold"),
        ({"name": "v3", "top_n": "²"}, "top_n"),
        ({"name": "v3", "filters": {"task_types": [1, 2]}}, "filters"),
        ({"name": "v3", "filters": {"grades": 5, "since": "yesterday"}}, "filters"),
        ({"name": "v3", "filters": ["accepted"]}, "filters"),
    ):
        response = lead.post(f"{base}/versions/", body, format="json")
        assert response.status_code == 400 and field in response.json(), body
    nested = lead.post(
        f"{base}/versions/",
        {"name": "v3", "filters": {"scenes": ["火星"], "since": "yesterday", "grades": ["great"]}},
        format="json",
    ).json()["filters"]
    assert "火星" in str(nested["scenes"]) and set(nested) == {"scenes", "since", "grades"}
    assert DatasetVersion.objects.count() == versions
    for body, field in (
        ({"name": "t3", "size": 2, "grades": 5}, "grades"),
        ({"name": "t3", "size": 2, "seed": 10**30}, "seed"),
        ({"name": "t3", "size": 2, "task_shares": {"reasoning": "nan"}}, "task_shares"),
        ({"name": "t3", "size": "2x"}, "size"),
    ):
        response = lead.post(f"{base}/test-sets/", body, format="json")
        assert response.status_code == 400 and field in response.json(), body
    assert TestSet.objects.count() == 1
    run = world["run"]
    refused = lead.post(f"{base}/eval-runs/{run.pk}/reliability/", {"items": "x"}, format="json")
    assert refused.status_code == 400 and "items" in refused.json()
    stale_type = lead.put(
        f"{base}/judge-prompts/zh/", {"template": "评分 {question}", "revision": "²"}, format="json"
    )
    assert stale_type.status_code == 400 and "revision" in stale_type.json()
    frozen = world["frozen"]
    decide = api(team.admin).post(
        f"{base}/versions/{frozen.pk}/decide/", {"decision": "maybe", "revision": 2}, format="json"
    )
    assert decide.status_code == 400 and decide.json()["decision"] == ["Approve or reject."]
    export = lead.get(f"{base}/versions/{frozen.pk}/export/", {"fmt": "xlsx"})
    assert export.status_code == 400 and "fmt" in export.json()


def test_a_version_composed_on_the_screen_stores_typed_filters(team, world):
    client = team.client("lead")
    composed = client.post(
        url(team, "version_list"),
        {"name": "v2", "states": ["accepted", "rejected"], "grades": "high",
         "task_types": "reasoning", "since": "2024-01-31", "until": "", "top_n": "",
         "embedding": ""},
    )  # fmt: skip
    version = DatasetVersion.objects.get(name="v2")
    assert composed.status_code == 302
    assert version.filters == {
        "states": ["accepted", "rejected"], "grades": ["high"], "task_types": ["reasoning"],
        "scenes": [], "since": "2024-01-31", "until": "",
    }  # fmt: skip
    assert (version.top_n, version.embedding, version.threshold) == (None, "tokens", None)
    refused = client.post(
        url(team, "version_list"),
        {"name": "v3", "since": "yesterday", "top_n": "²", "scenes": "火星"},
    )
    body = refused.content.decode()
    assert refused.status_code == 400 and not DatasetVersion.objects.filter(name="v3").exists()
    assert "Date has wrong format." in body and "A valid integer is required." in body
    assert "scenes.0: Object with key=火星 does not exist." in body


def test_the_test_set_screen_reads_its_checkbox_and_names_wrong_numbers(team, world):
    client = team.client("lead")
    refused = client.post(
        url(team, "testset_new"),
        {"name": "t2", "size": "2", "seed": "9" * 40, "task_reasoning": "nan"},
    )
    assert refused.status_code == 400 and TestSet.objects.count() == 1
    assert "A valid number is required." in refused.content.decode()
    drawn = client.post(
        url(team, "testset_new"),
        {"name": "t2", "size": "2", "seed": "", "task_reasoning": "1", "format_json": ""},
    )
    assert drawn.status_code == 302
    test_set = TestSet.objects.get(name="t2")
    # The box unticked: only the dialogues are held out; a blank share is no share.
    assert test_set.hold_out_prompts is False and test_set.format_shares == {}
    assert test_set.task_shares == {"reasoning": 1.0} and test_set.seed == 0


def test_compare_names_a_wrong_id_instead_of_failing(team, world):
    page = team.client("annotator").get(url(team, "version_compare"), {"v": ["²"]})
    assert page.status_code == 200 and "A valid integer is required." in page.content.decode()
    frozen = world["frozen"].pk
    many = team.client("annotator").get(url(team, "version_compare"), {"v": [frozen] * 6})
    assert many.status_code == 200 and many.content.decode().count("<tr data-version=") == 1
