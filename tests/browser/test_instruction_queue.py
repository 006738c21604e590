"""Stage 1 curation in a real browser, keyboard first: an annotator keeps, drops and edits
instructions of the queue with j / a / d / e / s (htmx swaps each item in place and the focus
moves on), drops a selection in bulk, then screens evolved instructions beside their parents
and follows one to its lineage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from curation.models import TaskType
from evolution.models import Instruction, InstructionRevision
from tests.browser.test_job_progress import _log_in

pytestmark = pytest.mark.browser

S = Instruction.State

DRAFTS = [
    "请总结客户在通话中提到的购房需求。",
    "判断客户对经纪人推荐的房源是否满意，并说明理由。",
    "列出客户关心的三个问题。",
    "客户最终是否同意看房？",
]
# Typed with the keyboard into the third item's textarea: its Latin letters include the
# queue's shortcut keys (a, d, s, e, j, k, x), which must type, not act, inside a text field.
EDITED = "请提取客户提到的预算 (budget) 和 area。"

SEED_A = "请总结客户的购房需求。"
EVOLVED_A = "请总结客户的购房需求，并列出预算和区域。"
SEED_B = "客户对房源满意吗？"
EVOLVED_B = "客户对房源满意吗？请引用原话。"
# Typed key by key into the reason field: it contains a, r, s, d, j, e, k and x.
REASON = "Adds nothing: just asks for a quote, the task stays the same"


def _reasoning(team) -> TaskType:
    return TaskType.objects.get(project=team.project, key="reasoning")


def _wait_for_htmx(page: Page) -> None:
    # htmx and queue.js are deferred; be sure htmx has processed the page before acting.
    page.wait_for_function("() => window.htmx !== undefined")


def _assert_clean(problems) -> None:
    assert problems.csp_violations() == []
    assert problems.page_errors == []
    assert problems.failed_responses == []
    assert problems.console_errors == []


def _is_htmx_post(url_path: str):
    def check(response) -> bool:
        request = response.request
        return (
            request.method == "POST"
            and response.url.endswith(url_path)
            and request.headers.get("hx-request") == "true"
        )

    return check


def _state(item: Instruction) -> str:
    return Instruction.objects.get(pk=item.pk).state


def test_annotator_curates_the_queue_with_the_keyboard(
    live_server, team, page: Page, page_problems, artifacts: Path
):
    base = live_server.url
    slug = team.project.slug
    task_type = _reasoning(team)
    first, second, third, fourth = (
        Instruction.objects.create(project=team.project, task_type=task_type, text=text)
        for text in DRAFTS
    )
    annotator = team.annotator

    _log_in(page, base, annotator)
    url = f"{base}/p/{slug}/instructions/"
    page.goto(url)
    _wait_for_htmx(page)
    page.evaluate("window.__noReload = 'still here'")

    counts = page.locator("p.counts")
    expect(counts.locator("strong[data-count=draft]")).to_have_text("4")
    expect(counts.locator("strong[data-count=kept]")).to_have_text("0")
    articles = page.locator("[data-queue] article[data-item]")
    expect(articles).to_have_count(4)

    def article(item: Instruction):
        return page.locator(f"article#instruction-{item.pk}")

    # j: the first item.
    page.keyboard.press("j")
    expect(article(first)).to_be_focused()

    # a: keep it, in place; then the focus moves on to the next item.
    act = f"/p/{slug}/instructions/{first.pk}/"
    with page.expect_response(_is_htmx_post(act)) as kept:
        page.keyboard.press("a")
    assert kept.value.status == 200
    expect(article(first)).to_have_class(re.compile(r"\bstate-kept\b"))
    expect(article(first).locator(".status")).to_have_text("kept")
    expect(article(second)).to_be_focused()

    # d: drop the second; the focus moves on to the third.
    with page.expect_response(_is_htmx_post(f"/p/{slug}/instructions/{second.pk}/")):
        page.keyboard.press("d")
    expect(article(second)).to_have_class(re.compile(r"\bstate-dropped\b"))
    expect(article(third)).to_be_focused()

    # e: edit the third's text; Escape leaves the textarea for its item; s saves the edit.
    page.keyboard.press("e")
    textarea = article(third).locator("textarea[name=text]")
    expect(textarea).to_be_focused()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(EDITED)
    expect(textarea).to_have_value(EDITED)
    # Typing shortcut letters inside the textarea did nothing else.
    expect(article(third)).to_have_class(re.compile(r"\bstate-draft\b"))
    page.keyboard.press("Escape")
    expect(article(third)).to_be_focused()
    page.screenshot(path=artifacts / "instruction-queue-editing.png", full_page=True)
    with page.expect_response(_is_htmx_post(f"/p/{slug}/instructions/{third.pk}/")):
        page.keyboard.press("s")
    expect(article(fourth)).to_be_focused()
    expect(article(third)).to_have_class(re.compile(r"\bstate-draft\b"))
    expect(article(third).locator("textarea[name=text]")).to_have_value(EDITED)
    expect(article(third).locator("input[name=revision]")).to_have_value("2")
    expect(article(third).locator(".error")).to_have_count(0)

    assert page.evaluate("window.__noReload") == "still here"
    assert page.url == url

    assert _state(first) == S.KEPT
    assert _state(second) == S.DROPPED
    third.refresh_from_db()
    assert (third.state, third.text, third.revision) == (S.DRAFT, EDITED, 2)
    assert third.reviewed_by == annotator
    revision = InstructionRevision.objects.get(instruction=third)
    assert (revision.number, revision.text, revision.author) == (1, DRAFTS[2], annotator)
    assert _state(fourth) == S.DRAFT
    assert {i.pk: i.revision for i in Instruction.objects.filter(pk__in=[first.pk, second.pk])} == {
        first.pk: 2,
        second.pk: 2,
    }

    # x ticks the focused item (the fourth), k goes back to the third and x ticks it too.
    page.keyboard.press("x")
    page.keyboard.press("k")
    expect(article(third)).to_be_focused()
    page.keyboard.press("x")
    expect(article(third).locator("input[type=checkbox][name=ids]")).to_be_checked()
    expect(article(fourth).locator("input[type=checkbox][name=ids]")).to_be_checked()
    # Kept and dropped items offer no checkbox any more.
    expect(article(first).locator("input[type=checkbox]")).to_have_count(0)
    expect(article(second).locator("input[type=checkbox]")).to_have_count(0)
    page.screenshot(path=artifacts / "instruction-queue-selected.png", full_page=True)

    # "Drop selected" is a plain form post: the queue comes back with its counts.
    with page.expect_navigation():
        page.locator("form#bulk").get_by_role("button", name="Drop selected", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/p/{slug}/instructions/\?.*state=draft"))
    expect(page.locator("ul.messages li.success")).to_have_text("2 instructions changed.")
    expect(counts.locator("strong[data-count=draft]")).to_have_text("0")
    expect(counts.locator("strong[data-count=kept]")).to_have_text("1")
    expect(counts.locator("strong[data-count=dropped]")).to_have_text("3")
    expect(articles).to_have_count(0)
    expect(page.locator("[data-queue]")).to_have_text("Nothing left in this queue.")

    assert _state(third) == S.DROPPED
    assert _state(fourth) == S.DROPPED
    page.screenshot(path=artifacts / "instruction-queue-bulk-dropped.png", full_page=True)
    _assert_clean(page_problems)


def _family(team, seed_text: str, evolved_text: str) -> tuple[Instruction, Instruction]:
    task_type = _reasoning(team)
    seed = Instruction.objects.create(
        project=team.project, task_type=task_type, text=seed_text, state=S.KEPT
    )
    seed.root = seed
    seed.save(update_fields=["root"])
    child = Instruction.objects.create(
        project=team.project,
        task_type=task_type,
        text=evolved_text,
        state=S.EVOLVED,
        origin=Instruction.Origin.EVOLVED,
        parent=seed,
        root=seed,
        generation=1,
        operator="add_constraints",
    )
    return seed, child


def test_annotator_screens_evolved_instructions_and_follows_the_lineage(
    live_server, team, page: Page, page_problems, artifacts: Path
):
    base = live_server.url
    slug = team.project.slug
    seed_a, evolved_a = _family(team, SEED_A, EVOLVED_A)
    seed_b, evolved_b = _family(team, SEED_B, EVOLVED_B)

    _log_in(page, base, team.annotator)
    url = f"{base}/p/{slug}/instructions/screen/"
    page.goto(url)
    _wait_for_htmx(page)
    page.evaluate("window.__noReload = 'still here'")
    expect(page.locator("p.counts")).to_have_text("2 left to screen")

    def article(item: Instruction):
        return page.locator(f"article#screen-{item.pk}")

    expect(page.locator("article[data-item]")).to_have_count(2)
    first = article(evolved_a)
    expect(first.locator(".side-by-side > div").first.locator("p")).to_have_text(SEED_A)
    diff = first.locator("p.diff")
    expect(diff).to_have_text(EVOLVED_A)
    expect(diff.locator("ins")).to_have_text(["，并列出预算和区域"])
    expect(diff.locator("del")).to_have_count(0)
    expect(article(evolved_b).locator("p.diff ins")).to_have_text(["请引用原话。"])
    page.screenshot(path=artifacts / "screening-queue.png", full_page=True)

    # j then a: accept the first; the focus moves on to the second.
    page.keyboard.press("j")
    expect(first).to_be_focused()
    with page.expect_response(_is_htmx_post(f"/p/{slug}/instructions/screen/{evolved_a.pk}/")):
        page.keyboard.press("a")
    expect(first).to_have_class(re.compile(r"\bstate-accepted\b"))
    expect(first.locator(".status")).to_have_text("accepted")
    expect(article(evolved_b)).to_be_focused()

    # The reason is typed key by key; its letters must not act. Escape, then r rejects.
    second = article(evolved_b)
    reason = second.locator("input[name=reason]")
    reason.click()
    page.keyboard.type(REASON)
    expect(reason).to_have_value(REASON)
    expect(second).to_have_class(re.compile(r"\bstate-evolved\b"))
    page.keyboard.press("Escape")
    expect(second).to_be_focused()
    with page.expect_response(_is_htmx_post(f"/p/{slug}/instructions/screen/{evolved_b.pk}/")):
        page.keyboard.press("r")
    expect(second).to_have_class(re.compile(r"\bstate-rejected\b"))
    expect(second.locator(".status")).to_have_text("rejected")
    expect(second.get_by_text(f"Reason: {REASON}", exact=True)).to_be_visible()
    expect(second.locator(".error")).to_have_count(0)
    assert page.evaluate("window.__noReload") == "still here"
    assert page.url == url
    page.screenshot(path=artifacts / "screening-decided.png", full_page=True)

    evolved_a.refresh_from_db()
    evolved_b.refresh_from_db()
    assert (evolved_a.state, evolved_a.text, evolved_a.reason) == (S.ACCEPTED, EVOLVED_A, "")
    assert evolved_a.reviewed_by == team.annotator
    assert (evolved_b.state, evolved_b.reason) == (S.REJECTED, REASON)
    assert evolved_b.reviewed_by == team.annotator
    assert not InstructionRevision.objects.exists()

    # The lineage of the accepted one: its seed at the top, itself as the seed's child.
    first.get_by_role("link", name="Lineage", exact=True).click()
    expect(page).to_have_url(f"{base}/p/{slug}/instructions/{evolved_a.pk}/lineage/")
    expect(page.locator("h1")).to_have_text("Lineage")
    top = page.locator("ul.lineage > li")
    expect(top).to_have_count(1)
    expect(top.locator(":scope > p")).to_have_text(SEED_A)
    expect(top.locator(":scope > .status")).to_have_text("kept")
    expect(top.locator(":scope > .hint")).to_have_text(f"#{seed_a.pk}")
    children = top.locator(":scope > ul > li")
    expect(children).to_have_count(1)
    child = children.first
    expect(child).to_have_class("focus")
    expect(child.locator(":scope > p")).to_have_text(EVOLVED_A)
    expect(child.locator(":scope > .status")).to_have_text("accepted")
    expect(child.locator(":scope > .hint")).to_have_text(
        f"#{evolved_a.pk} · generation 1 · add_constraints"
    )
    # The other family is not in this tree.
    expect(page.get_by_text(SEED_B)).to_have_count(0)
    page.screenshot(path=artifacts / "screening-lineage.png", full_page=True)
    _assert_clean(page_problems)
