"""Stage 2 in a real browser, keyboard first: a lead opens the prompt review queue, previews a
prompt with a real dialogue, edits one and approves it with e / Escape / a, rejects another with
a reason and Enter; the counts of what is left follow each decision without a reload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from curation.services.jobs import job_run_here
from evolution.models import Prompt, PromptRevision
from evolution.selectors import prompts_for_labeling
from evolution.services.assembly import assembly_start
from evolution.services.parts import parts_add_starter, parts_from_instructions
from tests.browser.test_instruction_queue import _assert_clean, _is_htmx_post, _wait_for_htmx
from tests.browser.test_job_progress import _log_in
from tests.factories import DialogueFactory, InstructionFactory

pytestmark = pytest.mark.browser

ADDED = "（只依据对话作答）"


def test_lead_reviews_and_approves_prompts_with_the_keyboard(
    live_server, team, page: Page, page_problems, artifacts: Path
):
    base, slug = live_server.url, team.project.slug
    InstructionFactory(project=team.project, text="总结客户对房源的主要顾虑。")
    parts_add_starter(project=team.project, actor=team.lead)
    parts_from_instructions(project=team.project, actor=team.lead)
    job = assembly_start(project=team.project, count=3, seed=2, actor=team.lead, dispatch=False)
    job_run_here(job_id=job.pk)
    first, second, third = Prompt.objects.filter(job=job).order_by("id")
    DialogueFactory(
        project=team.project,
        turns=[{"speaker": "客户", "role": "customer", "text": "这套房子的物业费是多少？"}],
    )

    _log_in(page, base, team.lead)
    # The library lists the parts by kind, the starter output formats with their examples.
    page.goto(f"{base}/p/{slug}/prompts/parts/?kind=output_format")
    expect(page.locator("form.card[id^=part-]")).to_have_count(5)
    page.screenshot(path=artifacts / "template-library.png", full_page=True)

    url = f"{base}/p/{slug}/prompts/"
    page.goto(url)
    _wait_for_htmx(page)
    page.evaluate("window.__noReload = 'still here'")
    counts = page.locator("p.counts")
    expect(counts.locator("strong[data-count=pending]")).to_have_text("3")

    def card(prompt: Prompt):
        return page.locator(f"article#prompt-{prompt.pk}")

    # The preview shows the prompt with a real dialogue in the place of {dialogue}.
    card(first).locator("details.preview summary").click()
    expect(card(first).locator("details.preview pre")).to_contain_text("这套房子的物业费是多少？")

    # The focus is inside the first card (on the preview): k stays on the first card, which it
    # focuses; e edits its text; Escape leaves the textarea; a approves.
    page.keyboard.press("k")
    expect(card(first)).to_be_focused()
    page.keyboard.press("e")
    textarea = card(first).locator("textarea[name=text]")
    expect(textarea).to_be_focused()
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.type(ADDED)
    page.keyboard.press("Escape")
    expect(card(first)).to_be_focused()
    with page.expect_response(_is_htmx_post(f"/p/{slug}/prompts/{first.pk}/")) as approved:
        page.keyboard.press("a")
    assert approved.value.status == 200
    expect(card(first)).to_have_class(re.compile(r"\bstate-approved\b"))
    # The diff against the assembled version shows the edit.
    expect(card(first).locator("details.diff-box ins")).to_have_text(ADDED)
    expect(counts.locator("strong[data-count=approved]")).to_have_text("1")
    expect(counts.locator("strong[data-count=pending]")).to_have_text("2")
    expect(card(second)).to_be_focused()

    # The second is rejected: type a reason, Enter submits the form's first button (reject).
    reason = card(second).locator("input[name=reason]")
    reason.click()
    page.keyboard.type("格式要求重复")
    with page.expect_response(_is_htmx_post(f"/p/{slug}/prompts/{second.pk}/")):
        page.keyboard.press("Enter")
    expect(card(second)).to_have_class(re.compile(r"\bstate-rejected\b"))
    expect(counts.locator("strong[data-count=pending]")).to_have_text("1")
    page.screenshot(path=artifacts / "prompt-review.png", full_page=True)

    assert page.evaluate("window.__noReload") == "still here"
    _assert_clean(page_problems)

    first.refresh_from_db()
    assert first.state == "approved" and first.text.endswith(ADDED)
    assert first.reviewed_by == team.lead
    assert PromptRevision.objects.get(prompt=first).text == first.assembled_text
    assert Prompt.objects.get(pk=second.pk).reason == "格式要求重复"
    assert list(prompts_for_labeling(project=team.project)) == [first]
    assert Prompt.objects.get(pk=third.pk).state == "assembled"
