"""Evaluation in a real browser: a lead draws a test set, starts a run (its job runs), reads the
models laid out like Table 4, drills down to an item; the pages show no script errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from curation.models import ModelEndpoint
from curation.services.jobs import job_run_here
from metrics.models import EvalRun
from tests.browser.test_instruction_queue import _assert_clean
from tests.browser.test_job_progress import _log_in
from tests.metrics.test_services_evaluation import curated  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def test_draw_a_test_set_run_a_model_and_read_table_4(
    live_server,
    team,
    page: Page,
    page_problems,
    artifacts: Path,
    curated,  # noqa: F811
    label_llm,
):
    for name, model in (("tuned", "qwen-dialinsight"), ("judge", "judge-large")):
        ModelEndpoint.objects.create(
            project=team.project, name=name, base_url=label_llm.url, model=model
        )
    base, slug = live_server.url, team.project.slug
    _log_in(page, base, team.lead)
    page.goto(f"{base}/p/{slug}/evaluation/")
    form = page.locator("form#new-testset")
    form.locator("input[name=name]").fill("领域测试集")
    form.locator("input[name=size]").fill("6")
    with page.expect_navigation():
        form.get_by_role("button", name="Draw the test set").click()
    expect(page.locator("h1")).to_have_text("领域测试集")
    expect(page.locator("svg.chart").first).to_be_visible()
    page.screenshot(path=artifacts / "testset.png", full_page=True)

    page.goto(f"{base}/p/{slug}/evaluation/")
    run_form = page.locator("form#new-run")
    run_form.locator("select[name=model_endpoint]").select_option(label="tuned · qwen-dialinsight")
    run_form.locator("select[name=judge_endpoint]").select_option(label="judge · judge-large")
    with page.expect_navigation():
        run_form.get_by_role("button", name="Start the run").click()
    run = EvalRun.objects.get()
    job_run_here(job_id=run.job_id)  # the worker's part
    page.reload()
    expect(page.locator("#overall")).to_contain_text("6 of 6 judged")
    page.screenshot(path=artifacts / "run.png", full_page=True)
    page.locator("#answers tbody tr a").first.click()
    expect(page.locator("#score")).to_contain_text("/ 10")
    page.goto(f"{base}/p/{slug}/evaluation/")
    expect(page.locator("#table4 tbody tr")).to_have_count(1)
    page.screenshot(path=artifacts / "evaluation.png", full_page=True)
    _assert_clean(page_problems)
