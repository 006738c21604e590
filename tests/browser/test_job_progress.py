"""A job's page in a real browser while a real Celery worker runs the job against the project's
LLM test server: the progress bar moves by itself through htmx polling and polling stops once
the job is done; failed items show their reason and can be retried; and an endpoint's "Test
connection" button runs a job whose outcome the endpoints screen shows."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, Request, expect

from curation.llm.fake_server import FakeLLMServer
from curation.models import Job, JobItem, ModelEndpoint
from tests.factories import PASSWORD, UserFactory
from tests.support.jobs import chat_job
from tests.support.workers import WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(latency_ms=300) as server:
        yield server


@pytest.fixture(scope="module")
def worker(django_db_setup, tmp_path_factory) -> Iterator[WorkerProcess]:
    """A real worker on the test database, started once it is set up, shared by the tests of
    this module (each test's rows are committed, as in every live-server test).

    Redis is emptied before the worker starts, never while it runs: the worker declares the
    bindings of its queues in Redis when it starts, and without them messages go nowhere.
    """
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: run the suite with `make test`")
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    process = WorkerProcess(
        "browser", tmp_path_factory.mktemp("worker"), pool="prefork", concurrency=2
    ).start()
    yield process
    process.stop()
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def _log_in(page: Page, base_url: str, user) -> None:
    page.goto(base_url + "/accounts/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(base_url + "/p/")


def _job_url(base_url: str, job: Job) -> str:
    return f"{base_url}/p/{job.project.slug}/jobs/{job.pk}/"


def _wait_for_htmx(page: Page) -> None:
    # htmx is loaded deferred; the polling starts once it has processed the page.
    page.wait_for_function("() => window.htmx !== undefined")


def _assert_clean(problems) -> None:
    assert problems.csp_violations() == []
    assert problems.page_errors == []
    assert problems.failed_responses == []
    assert problems.console_errors == []


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _endpoint(project, fake: FakeLLMServer, **fields) -> ModelEndpoint:
    return ModelEndpoint.objects.create(
        project=project,
        name=fields.pop("name", "fake"),
        base_url=fake.url,
        model="fake-chat",
        max_concurrency=8,
        **fields,
    )


# The table of failed items (the job's result may add a table of its own).
_FAILED_ITEMS = "h2:text-is('Failed items') + table"

_PROGRESS_JS = """() => {
  const bar = document.querySelector("#job-progress progress");
  return {
    value: bar ? Number(bar.getAttribute("value")) : null,
    max: bar ? Number(bar.getAttribute("max")) : null,
    status: document.querySelector("#job-progress .status")?.textContent.trim(),
  };
}"""


def test_progress_moves_live_and_polling_stops_when_done(
    live_server, team, fake, worker, page: Page, page_problems, artifacts: Path
):
    base = live_server.url
    _log_in(page, base, team.lead)
    endpoint = _endpoint(team.project, fake)
    job = chat_job(project=team.project, endpoint=endpoint, creator=team.lead, n=30)
    url = _job_url(base, job)

    polls: list[float] = []

    def on_request(request: Request) -> None:
        if request.url == url and request.headers.get("hx-request") == "true":
            polls.append(time.monotonic())

    page.on("request", on_request)
    page.goto(url)
    _wait_for_htmx(page)
    # Survives only if the page is never reloaded.
    page.evaluate("window.__noReload = 'still here'")

    samples = []
    deadline = time.monotonic() + 60
    while True:
        sample = page.evaluate(_PROGRESS_JS)
        samples.append(sample)
        if sample["status"] == "done":
            polls_when_done = len(polls)
            break
        assert time.monotonic() < deadline, f"job not done in 60 s: {samples[-5:]}"
        page.wait_for_timeout(150)
        if len(samples) == 10:
            page.screenshot(path=artifacts / "job-progress-running.png", full_page=True)

    values = [s["value"] for s in samples]
    assert values == sorted(values), values  # never goes backwards
    assert values[-1] == 30
    assert {s["max"] for s in samples} == {30}
    # Seen mid-way at several distinct points, not just jumping from the start to the end.
    assert len({v for v in values if 0 < v < 30}) >= 3, values
    assert any(s["status"] == "running" for s in samples), samples

    progress = page.locator("#job-progress")
    expect(progress.locator(":scope > .figures strong")).to_have_text("100%")
    expect(progress.locator(":scope > .figures")).to_contain_text("30 done, 0 failed of 30")
    expect(progress.locator(":scope > .figures")).to_contain_text("items/s")
    expect(progress.locator(":scope > .figures")).not_to_contain_text("left")
    expect(progress.locator(".status")).to_have_text("done")
    expect(progress.locator("progress")).to_have_attribute("value", "30")
    expect(progress).not_to_have_attribute("hx-get", re.compile(".*"))
    assert page.evaluate("window.__noReload") == "still here"
    assert page.url == url

    # The page polled while the job ran, and stopped with the answer that showed "done" (htmx
    # sends no poll while one is in flight): no request at all in the next 3 seconds.
    assert len(polls) >= 3, polls
    page.wait_for_timeout(3000)
    assert len(polls) == polls_when_done, f"{len(polls) - polls_when_done} polls after done"

    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert job.done_count == 30
    page.screenshot(path=artifacts / "job-progress-done.png", full_page=True)
    _assert_clean(page_problems)


def test_failed_items_show_their_reason_and_can_be_retried(
    live_server, team, fake, worker, page: Page, page_problems, artifacts: Path
):
    base = live_server.url
    _log_in(page, base, team.lead)
    # The provider refuses the key on every call (an error that is not worth retrying).
    fake.errors = ("401",)
    fake.error_rate = 1.0
    endpoint = _endpoint(team.project, fake)
    job = chat_job(project=team.project, endpoint=endpoint, creator=team.lead, n=6)
    _wait_for(lambda: Job.objects.get(pk=job.pk).finished, 30, "the job to finish")
    url = _job_url(base, job)

    page.goto(url)
    progress = page.locator("#job-progress")
    expect(progress.locator(".status")).to_have_text("failed")
    expect(progress.locator(":scope > p .error")).to_have_text("6 of 6 items failed.")
    expect(progress.locator(":scope > .figures")).to_contain_text("0 done, 6 failed of 6")
    expect(progress.locator(":scope > .figures strong")).to_have_text("100%")
    expect(progress.get_by_role("heading", name="Failed items", exact=True)).to_be_visible()
    rows = progress.locator(_FAILED_ITEMS).locator("tbody tr")
    expect(rows).to_have_count(6)
    reason = "the endpoint refused the API key (HTTP 401)"
    for seq in range(6):
        expect(rows.nth(seq).get_by_role("cell")).to_have_text([str(seq), reason, "1"])
    page.screenshot(path=artifacts / "job-failed-items.png", full_page=True)

    # The key is fixed on the provider's side; the lead sends the failed items through again.
    fake.error_rate = 0.0
    with page.expect_navigation(url=url):
        page.get_by_role("button", name="Retry failed items", exact=True).click()
    _wait_for_htmx(page)
    expect(progress.locator(".status")).to_have_text("done", timeout=20_000)
    expect(progress.locator(":scope > .figures")).to_contain_text("6 done, 0 failed of 6")
    expect(progress.locator(":scope > .figures strong")).to_have_text("100%")
    expect(progress.locator(_FAILED_ITEMS)).to_have_count(0)
    expect(progress.locator(":scope > p .error")).to_have_count(0)

    items = JobItem.objects.filter(job=job)
    assert items.filter(status=JobItem.Status.DONE).count() == 6
    assert sorted(item.attempts for item in items) == [2] * 6
    assert fake.stats()["completions"] == 6
    page.screenshot(path=artifacts / "job-failed-items-retried.png", full_page=True)
    _assert_clean(page_problems)


def test_site_admin_tests_an_endpoint_connection(
    live_server, team, fake, worker, page: Page, page_problems, artifacts: Path
):
    base = live_server.url
    # A site admin who is no member of the project: site admins see every project.
    admin = UserFactory(username="site-admin", is_superuser=True, is_staff=True)
    endpoint = _endpoint(team.project, fake, name="Fake gateway")
    _log_in(page, base, admin)

    page.goto(f"{base}/p/{team.project.slug}/endpoints/")
    row = page.locator("table.grid tbody tr").filter(
        has=page.get_by_role("cell", name="Fake gateway", exact=True)
    )
    last_test_column = page.locator("table.grid thead th").all_inner_texts().index("Last test")
    expect(row.get_by_role("cell").nth(last_test_column)).to_have_text("—")
    row.get_by_role("button", name="Test connection", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/p/{team.project.slug}/jobs/\d+/$"))
    job = Job.objects.get(project=team.project, kind="endpoint.test")
    assert page.url == _job_url(base, job)
    expect(page.locator("h1 code")).to_have_text("endpoint.test")
    _wait_for_htmx(page)
    progress = page.locator("#job-progress")
    expect(progress.locator(".status")).to_have_text("done", timeout=20_000)
    expect(progress.locator(":scope > .figures")).to_contain_text("1 done, 0 failed of 1")

    page.locator("nav.project-nav").get_by_role("link", name="Endpoints", exact=True).click()
    expect(page).to_have_url(f"{base}/p/{team.project.slug}/endpoints/")
    last_test = row.get_by_role("cell").nth(last_test_column)
    expect(last_test.locator(".ok")).to_have_text("OK")
    expect(last_test).to_have_text(re.compile(r"^OK: Answered in \d+ ms\.$"))

    endpoint.refresh_from_db()
    assert endpoint.last_test_ok is True
    assert endpoint.last_test_message.startswith("Answered in ")
    assert fake.stats()["completions"] == 1
    page.screenshot(path=artifacts / "endpoint-test-ok.png", full_page=True)
    _assert_clean(page_problems)


def test_back_to_a_polled_job_page_shows_the_whole_page(live_server, team, page: Page):
    base = live_server.url
    _log_in(page, base, team.lead)
    # A running job that no worker is sent: its page polls for as long as it is open.
    job = Job.objects.create(
        project=team.project,
        kind="llm.chat",
        status=Job.Status.RUNNING,
        total=1,
        created_by=team.lead,
        started_at=timezone.now(),
    )
    url = _job_url(base, job)

    page.goto(url)
    _wait_for_htmx(page)
    with page.expect_response(
        lambda response: response.url == url and response.request.headers.get("hx-request")
    ):
        pass
    page.locator("nav.project-nav").get_by_role("link", name="Endpoints", exact=True).click()
    expect(page).to_have_url(f"{base}/p/{team.project.slug}/endpoints/")

    page.go_back()
    expect(page).to_have_url(url)
    expect(page.locator("nav.project-nav")).to_be_visible(timeout=1000)
    expect(page.locator("h1")).to_contain_text(f"Job #{job.pk}", timeout=1000)
