"""A site admin's first steps in a real browser: log in, create a project, look at the paper's
taxonomy, edit a weight in place with htmx under the strict CSP, and read it all in Chinese."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from curation.models import Membership, Project, Role, Scene
from curation.services.projects import project_create
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def _site_admin(username: str = "site-admin"):
    return UserFactory(username=username, is_staff=True, is_superuser=True)


def _log_in(page: Page, base_url: str, user) -> None:
    page.goto(base_url + "/accounts/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(base_url + "/p/")


def _taxonomy_url(base_url: str, project: Project) -> str:
    return f"{base_url}/p/{project.slug}/taxonomy/"


def _open_taxonomy(page: Page, base_url: str, project: Project) -> None:
    page.goto(_taxonomy_url(base_url, project))
    # htmx is loaded deferred; be sure it has processed the page before clicking its links.
    page.wait_for_function("() => window.htmx !== undefined")


def _assert_clean(problems) -> None:
    assert problems.csp_violations() == []
    assert problems.page_errors == []
    assert problems.failed_responses == []
    assert problems.console_errors == []


def test_site_admin_creates_project_and_sees_paper_taxonomy(
    live_server, page: Page, page_problems, artifacts: Path
):
    admin = _site_admin()
    base = live_server.url

    _log_in(page, base, admin)
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()

    form = page.locator("form", has=page.locator("input[name=name]"))
    form.locator("input[name=name]").fill("Beike browser demo")
    form.locator("button[type=submit]").click()

    expect(page).to_have_url(base + "/p/beike-browser-demo/")
    expect(page.locator("h1")).to_have_text("Beike browser demo")
    project = Project.objects.get(slug="beike-browser-demo")
    assert Membership.objects.get(project=project, user=admin).role == Role.ADMIN

    page.locator("nav.project-nav").get_by_role("link", name="Taxonomy", exact=True).click()

    expect(page).to_have_url(_taxonomy_url(base, project))
    for scene in ("Buying a home", "Selling a home", "Renting", "Home improvement"):
        expect(page.locator("#scenes").get_by_role("cell", name=scene, exact=True)).to_be_visible()
    expect(
        page.locator("#source-types").get_by_role("cell", name="Smart-badge recordings", exact=True)
    ).to_be_visible()
    extraction = page.locator("#task-types tbody tr").filter(
        has=page.get_by_role("cell", name="Information extraction", exact=True)
    )
    expect(extraction).to_be_visible()
    expect(
        extraction.get_by_role("listitem").filter(has_text="The customer's emotion")
    ).to_be_visible()

    page.screenshot(path=artifacts / "project-flow-taxonomy-en.png", full_page=True)
    _assert_clean(page_problems)


def test_lead_edits_a_weight_in_place_with_htmx(live_server, page: Page, page_problems, artifacts):
    admin = _site_admin()
    project = project_create(name="Inline edit", creator=admin)
    renting = Scene.objects.get(project=project, key="renting")
    base = live_server.url

    _log_in(page, base, admin)
    _open_taxonomy(page, base, project)
    # Survives only if the page is never reloaded.
    page.evaluate("window.__noReload = 'still here'")

    row = page.locator("#scenes tbody tr").filter(
        has=page.get_by_role("cell", name="Renting", exact=True)
    )
    expect(row.locator("td.num")).to_have_text("1")
    with page.expect_response(re.compile(rf"/scenes/{renting.pk}/edit/$")) as edit:
        row.get_by_role("link", name="Edit", exact=True).click()
    assert edit.value.request.headers.get("hx-request") == "true"

    # The row is swapped for the inline form, in place.
    editing = page.locator(f"tr#term-scenes-{renting.pk}.editing")
    expect(editing).to_be_visible()
    editing.locator("input[name=weight]").fill("2.5")
    page.screenshot(path=artifacts / "taxonomy-inline-edit-form.png", full_page=True)
    with page.expect_response(re.compile(rf"/scenes/{renting.pk}/edit/$")) as save:
        editing.get_by_role("button", name="Save", exact=True).click()
    assert save.value.request.method == "POST"
    assert save.value.status == 200

    saved = page.locator(f"tr#term-scenes-{renting.pk}")
    expect(saved).not_to_have_class(re.compile(r"\bediting\b"))
    expect(saved.locator("td.num")).to_have_text("2.5")
    expect(saved.get_by_role("cell", name="Renting", exact=True)).to_be_visible()
    assert page.evaluate("window.__noReload") == "still here"
    assert page.url == _taxonomy_url(base, project)

    renting.refresh_from_db()
    assert renting.weight == Decimal("2.5")
    assert renting.revision == 2

    page.screenshot(path=artifacts / "taxonomy-inline-edit-saved.png", full_page=True)
    _assert_clean(page_problems)


def test_taxonomy_in_chinese(live_server, page: Page, page_problems, artifacts):
    admin = _site_admin()
    project = project_create(name="Chinese view", creator=admin)
    base = live_server.url

    _log_in(page, base, admin)
    _open_taxonomy(page, base, project)
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.locator("header form.lang").get_by_role("button", name="中文", exact=True).click()

    # set_language sends the user back to the page they were on.
    expect(page).to_have_url(_taxonomy_url(base, project))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("button", name="中文", exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    expect(page.locator("#scenes").get_by_role("cell", name="买房", exact=True)).to_be_visible()
    # Task-type requirements follow the language: data, not a translated UI string.
    extraction = page.locator("#task-types tbody tr").filter(
        has=page.get_by_role("cell", name="信息抽取", exact=True)
    )
    expect(extraction.get_by_role("listitem").filter(has_text="客户情绪")).to_be_visible()

    page.screenshot(path=artifacts / "taxonomy-zh.png", full_page=True)
    _assert_clean(page_problems)
