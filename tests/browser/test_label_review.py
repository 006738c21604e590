"""Label review in a real browser, keyboard only: the annotator's sample is focused when the
page opens; 2 grades it medium, a accepts, and the next sample comes without a reload; a JSON
output that does not parse is refused in place with the typed text kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from curation.models import Job
from curation.services.jobs import job_run_here
from labeling.models import Sample
from labeling.services.generate import label_job_start
from tests.browser.test_instruction_queue import _assert_clean, _wait_for_htmx
from tests.browser.test_job_progress import _log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def samples(team, labels):
    from evolution.models import Prompt

    Prompt.objects.filter(pk=labels["text"].pk).update(state=Prompt.State.REJECTED)
    job = label_job_start(
        project=team.project,
        count=3,
        endpoint=labels["endpoint"],
        actor=team.lead,
        dispatch=False,
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    Sample.objects.update(double=False)
    return list(Sample.objects.filter(job=job).order_by("id"))


def test_annotator_grades_and_accepts_with_the_keyboard(
    live_server, team, page: Page, page_problems, artifacts: Path, samples
):
    base, slug = live_server.url, team.project.slug
    _log_in(page, base, team.annotator)
    page.goto(f"{base}/p/{slug}/labels/review/")
    _wait_for_htmx(page)
    page.evaluate("window.__noReload = 'still here'")
    held = Sample.objects.get(assigned_to=team.annotator)
    panel = page.locator(f"article#sample-{held.pk}")
    expect(panel).to_be_focused()
    expect(page.locator("#review-left")).to_have_text(re.compile("3 samples left to review"))
    expect(panel).to_contain_text(held.dialogue.turns[0]["text"])

    # e edits the output; a broken JSON is refused in place, the typed text kept.
    page.keyboard.press("e")
    output = panel.locator("textarea[name=output]")
    expect(output).to_be_focused()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type('{"结论": 是}')
    page.keyboard.press("Escape")
    page.keyboard.press("2")
    expect(panel.locator("input[name=grade][value=medium]")).to_be_checked()
    page.keyboard.press("a")
    expect(panel.locator(".error[role=alert]")).to_contain_text("not_json")
    expect(panel.locator("textarea[name=output]")).to_have_value('{"结论": 是}')
    page.screenshot(path=artifacts / "label-review-error.png", full_page=True)

    # The grade chosen is kept too. Fixed and accepted: the next sample follows.
    expect(panel.locator("input[name=grade][value=medium]")).to_be_checked()
    panel.locator("textarea[name=output]").fill('{"结论": "是"}')
    panel.focus()
    page.keyboard.press("a")
    expect(page.locator("#review-left")).to_have_text(re.compile("2 samples left to review"))
    following = page.locator("article[data-item]")
    expect(following).not_to_have_id(f"sample-{held.pk}")
    expect(following).to_be_focused()
    page.screenshot(path=artifacts / "label-review.png", full_page=True)

    assert page.evaluate("window.__noReload") == "still here"
    _assert_clean(page_problems)
    held.refresh_from_db()
    assert (held.state, held.grade, held.output) == ("accepted", "medium", '{"结论": "是"}')
    assert held.reviewed_by == team.annotator
