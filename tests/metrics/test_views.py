"""Version screens: compose, freeze, submit, approve, export; compare; the dashboard."""

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from curation.models import Job, Membership, Role
from curation.services.jobs import job_run_here
from metrics.models import DatasetVersion, VersionItem
from tests.factories import UserFactory
from tests.metrics.test_services_versions import (  # noqa: F401 - fixtures
    approve,
    frozen,
    labelled,
    long_samples,
)

pytestmark = pytest.mark.django_db


def url(team, name, *args):
    return reverse(f"metrics:{name}", args=[team.project.slug, *args])


def test_compose_freeze_submit_approve_and_export_on_screens(team, labelled):  # noqa: F811
    lead = team.client("lead")
    bad = lead.post(url(team, "version_list"), {"name": "", "states": ["accepted"]})
    assert bad.status_code == 400 and "A version needs a name." in bad.content.decode()
    created = lead.post(
        url(team, "version_list"), {"name": "v1.0", "states": ["accepted"], "grades": ["high"]}
    )
    version = DatasetVersion.objects.get(name="v1.0")
    assert created["Location"] == url(team, "version_detail", version.pk)
    page = lead.get(url(team, "version_detail", version.pk)).content.decode()
    assert "<dd data-matching>3</dd>" in page
    frozen = lead.post(url(team, "version_act", version.pk), {"freeze": "", "revision": 1})
    job = Job.objects.get(kind="versions.freeze")
    assert frozen["Location"].endswith(f"/jobs/{job.pk}/")
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    version.refresh_from_db()
    lead.post(url(team, "version_act", version.pk), {"submit": "", "revision": version.revision})
    version.refresh_from_db()
    # The submitter cannot approve; another lead can.
    mine = lead.post(
        url(team, "version_act", version.pk),
        {"approve": "", "revision": version.revision},
        follow=True,
    )
    assert "Another lead" in mine.content.decode()  # whoever submitted it cannot decide
    second = UserFactory(username="lead-two")
    Membership.objects.create(project=team.project, user=second, role=Role.LEAD)
    lead.force_login(second)
    lead.post(url(team, "version_act", version.pk), {"approve": "", "revision": version.revision})
    version.refresh_from_db()
    assert version.state == "approved" and version.decided_by == second
    page = lead.get(url(team, "version_detail", version.pk)).content.decode()
    assert 'id="table3"' in page and 'id="exports"' in page and 'id="export-note"' in page
    # What the complexity columns counted is said beside them.
    assert "whole prompt without its dialogue (background, role, presentation" in page
    assert "1/3 dialogue tokens (whole dialogue) + 2/3 prompt tokens" in page
    download = lead.get(url(team, "version_download", version.pk, "openai"))
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["messages"][0]["role"] == "user"
    manifest = lead.get(url(team, "version_download", version.pk, "alpaca"), {"manifest": 1})
    assert manifest.json()["content_hash"] == version.content_hash
    # The manifest names the file the export is saved as.
    alpaca = lead.get(url(team, "version_download", version.pk, "alpaca"))
    saved_as = alpaca["Content-Disposition"].split('filename="')[1].rstrip('"')
    assert saved_as == manifest.json()["file"] == "beike-v1.0.alpaca.json"
    assert manifest["Content-Disposition"].endswith('"beike-v1.0.alpaca.json.manifest.json"')


def test_annotators_read_versions_but_cannot_approve(team, labelled):  # noqa: F811
    version = DatasetVersion.objects.create(project=team.project, name="v", state="submitted")
    annotator = team.client("annotator")
    assert annotator.get(url(team, "version_detail", version.pk)).status_code == 200
    response = annotator.post(url(team, "version_act", version.pk), {"approve": "", "revision": 1})
    assert response.status_code == 403
    assert DatasetVersion.objects.get(pk=version.pk).state == "submitted"


def test_compare_and_dashboard_show_table3_rows(team):
    for name, richness in (("v0.5", 0.0156), ("v1.0", 0.6974)):
        DatasetVersion.objects.create(
            project=team.project,
            name=name,
            state="approved",
            metrics={
                "samples": 40000,
                "richness": richness,
                "redundancy": 1 - richness,
                "input_complexity": 1078.2,
                "prompt_complexity": 273,
                "label_quality": {"high": 0.97, "medium": 0.03, "low": 0.0},
                "task_types": {"reasoning": 0.6, "summary": 0.4},
                "output_formats": {"json": 1.0},
                "communities": 10,
                "threshold": 0.82,
                "embedding": "tokens",
            },
        )
    ids = list(DatasetVersion.objects.values_list("pk", flat=True))
    page = team.client("annotator").get(url(team, "version_compare"), {"v": ids}).content.decode()
    assert page.count("<tr data-version=") == 2 and "0.6974" in page and "0.0156" in page
    board = team.client("lead").get(url(team, "dashboard")).content.decode()
    assert 'id="table3"' in board and 'id="quality-bars"' in board
    assert 'id="trend"' in board and "reasoning" in board
    # One point per version, oldest first, at the height of its value (0 at y=110, 1 at y=10).
    assert '<polyline points="40,108.4 120,40.3"' in board
    assert '<polyline points="40,13.0 120,13.0"' in board  # the share graded high
    assert team.client("annotator").get(url(team, "dashboard")).status_code == 403


EXPORTS = {
    "openai": "application/jsonl; charset=utf-8",
    "sharegpt": "application/json; charset=utf-8",
    "alpaca": "application/json; charset=utf-8",
    "llamafactory": "application/json; charset=utf-8",
}


def test_the_api_exports_every_format_under_its_manifest_file_name(team, long_samples):  # noqa: F811
    version = approve(team, frozen(team, name="v1.0"))
    last_turns = [
        i.sample.dialogue.turns[-1]["text"]
        for i in VersionItem.objects.filter(version=version).select_related("sample__dialogue")
    ]
    base = f"/api/projects/{team.project.slug}/versions/{version.pk}"
    lead = APIClient()
    lead.force_authenticate(team.lead)
    names = set()
    for fmt, content_type in EXPORTS.items():
        manifest = lead.get(f"{base}/manifest/", {"fmt": fmt})
        assert manifest.status_code == 200, fmt
        manifest = json.loads(manifest.content)
        assert manifest["format"] == fmt and manifest["content_hash"] == version.content_hash
        exported = lead.get(f"{base}/export/", {"fmt": fmt})
        assert exported.status_code == 200, fmt
        assert exported["Content-Type"] == content_type
        assert exported["Content-Disposition"] == f'attachment; filename="{manifest["file"]}"'
        body = b"".join(exported.streaming_content).decode()
        rows = (
            [json.loads(line) for line in body.splitlines()]
            if fmt == "openai"
            else json.loads(body)
        )
        assert len(rows) == version.sample_count == 6
        assert all(turn in body for turn in last_turns), fmt  # the whole dialogues
        names.add(manifest["file"])
    assert names == {
        "beike-v1.0.jsonl",
        "beike-v1.0.sharegpt.json",
        "beike-v1.0.alpaca.json",
        "beike-v1.0.llamafactory.json",
    }
    info = json.loads(lead.get(f"{base}/manifest/", {"fmt": "llamafactory"}).content)
    assert info["dataset_info"]["beike-v1.0"]["file_name"] == "beike-v1.0.llamafactory.json"
    refused = lead.get(f"{base}/export/", {"fmt": "csv"})
    assert refused.status_code == 400 and "fmt" in refused.json()
    reader = APIClient()
    reader.force_authenticate(team.annotator)
    assert reader.get(f"{base}/export/", {"fmt": "openai"}).status_code == 403
