"""The label stage over the API: a lead starts a job, an annotator claims and reviews."""

import pytest
from rest_framework.test import APIClient

from curation.models import Job
from curation.services.jobs import job_run_here
from labeling.models import Sample

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_start_claim_review_and_stats(team, labels):
    base = f"/api/projects/{team.project.slug}/samples"
    refused = api(team.annotator).post(f"{base}/start/", {"count": 3}, format="json")
    assert refused.status_code == 403
    bad = api(team.lead).post(
        f"{base}/start/",
        {"count": 3, "endpoint": labels["endpoint"].pk, "scene_weights": {"renting": "x"}},
        format="json",
    )
    assert bad.status_code == 400 and "scene_weights" in bad.json()
    started = api(team.lead).post(
        f"{base}/start/",
        {"count": 3, "endpoint": labels["endpoint"].pk, "task_weights": {"reasoning": 1}},
        format="json",
    )
    assert started.status_code == 202
    assert job_run_here(job_id=started.json()["id"]).status == Job.Status.DONE
    claimed = api(team.annotator).post(f"{base}/next/").json()
    assert claimed["state"] == "ready" and claimed["output_formats"] == ["json"]
    assert claimed["assigned_to"] == team.annotator.pk
    bad_json = api(team.annotator).post(
        f"{base}/{claimed['id']}/review/",
        {"decision": "accept", "grade": "high", "output": "{x", "revision": claimed["revision"]},
        format="json",
    )
    assert bad_json.status_code == 400 and "not_json" in bad_json.json()["output"][0]
    ok = api(team.annotator).post(
        f"{base}/{claimed['id']}/review/",
        {
            "decision": "accept",
            "grade": "high",
            "output": '{"结论": "是"}',
            "revision": claimed["revision"],
        },
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["grade"] == "high"
    stats = api(team.annotator).get(f"{base}/stats/").json()
    assert stats["states"]["accepted"] == 1 and stats["grades"]["high"]["n"] == 1
    listed = api(team.annotator).get(f"{base}/", {"state": "accepted"}).json()["results"]
    assert [s["id"] for s in listed] == [claimed["id"]]


def test_review_settings_read_by_all_changed_by_leads(team):
    base = f"/api/projects/{team.project.slug}/samples/settings/"
    current = api(team.annotator).get(base).json()
    assert current["double_share"] == 0.1 and current["second_pass"] is False
    assert (
        api(team.annotator)
        .patch(base, {"second_pass": True, "revision": 1}, format="json")
        .status_code
        == 403
    )
    bad = api(team.lead).patch(base, {"double_share": 2, "revision": 1}, format="json")
    assert bad.status_code == 400 and "double_share" in bad.json()
    changed = api(team.lead).patch(base, {"second_pass": True, "revision": 1}, format="json")
    assert changed.json()["second_pass"] is True and changed.json()["revision"] == 2
    assert (
        api(team.lead).patch(base, {"second_pass": False, "revision": 1}, format="json").status_code
        == 409
    )
    assert Sample.objects.count() == 0
