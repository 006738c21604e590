"""A dataset version in a real browser: a lead composes it, freezes it (the job runs), submits
it; another lead approves it and downloads the export; the dashboard's charts render with no
script errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from curation.models import Job, Membership, Role
from curation.services.jobs import job_run_here
from metrics.models import DatasetVersion
from tests.browser.test_instruction_queue import _assert_clean
from tests.browser.test_job_progress import _log_in
from tests.factories import UserFactory
from tests.metrics.test_services_versions import labelled  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def test_compose_freeze_submit_approve_export(
    live_server,
    team,
    page: Page,
    page_problems,
    artifacts: Path,
    labelled,  # noqa: F811
):
    base, slug = live_server.url, team.project.slug
    _log_in(page, base, team.lead)
    page.goto(f"{base}/p/{slug}/versions/")
    form = page.locator("form#compose")
    form.locator("input[name=name]").fill("v1.0")
    form.locator("input[name=grades][value=high]").check()
    form.locator("input[name=grades][value=medium]").check()
    with page.expect_navigation():
        form.get_by_role("button", name="Compose").click()
    expect(page.locator("[data-matching]")).to_have_text("6")

    with page.expect_navigation():
        page.get_by_role("button", name="Freeze").click()
    job = Job.objects.get(kind="versions.freeze")
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE  # the worker's part
    version = DatasetVersion.objects.get(name="v1.0")
    page.goto(f"{base}/p/{slug}/versions/{version.pk}/")
    expect(page.locator("#table3 tbody tr")).to_have_count(1)
    expect(page.locator("[data-hash]")).to_have_text(version.content_hash)
    with page.expect_navigation():
        page.get_by_role("button", name="Submit for approval").click()

    second = UserFactory(username="lead-two")
    Membership.objects.create(project=team.project, user=second, role=Role.LEAD)
    page.context.clear_cookies()
    _log_in(page, base, second)
    page.goto(f"{base}/p/{slug}/versions/{version.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve").click()
    expect(page.locator("h1 .status")).to_have_text("approved")
    with page.expect_download() as download:
        page.locator("#exports a", has_text="openai").first.click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6 and json.loads(lines[0])["messages"][1]["role"] == "assistant"
    page.screenshot(path=artifacts / "version.png", full_page=True)

    page.goto(f"{base}/p/{slug}/dashboard/")
    expect(page.locator("#table3 tbody tr")).to_have_count(1)
    expect(page.locator("svg#quality-bars rect")).to_have_count(3)
    expect(page.locator("svg.chart").first).to_be_visible()
    page.screenshot(path=artifacts / "dashboard.png", full_page=True)
    _assert_clean(page_problems)
    version.refresh_from_db()
    assert version.state == "approved" and version.decided_by == second
