"""Fixtures of the browser tests: Debian's Chromium driven by Playwright's sync API.

Playwright cannot download its own browser here, so the tests launch /usr/bin/chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
# Screenshots for humans to look at; git-ignored.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Records every Content-Security-Policy violation of a page in window.__cspViolations. An init
# script is injected by the browser itself, so the page's own CSP does not block it.
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${where}`
  );
});
"""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last.

    While Playwright's sync API is alive it marks an asyncio loop as running in the main thread,
    so Django refuses ORM calls there unless DJANGO_ALLOW_ASYNC_UNSAFE is set (see `playwright`).
    The browser lives for the session; run after it, the other tests would do without Django's
    async-safety check.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    # Between its calls, Playwright's sync API leaves its event loop marked as running in this
    # thread for as long as it lives, and Django's async_unsafe guard then refuses every ORM
    # call of the test code, of factories and of the database fixtures' teardown. The tests
    # themselves are plain synchronous code, so allow it for exactly Playwright's lifetime.
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as pw:
            yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def live_server(live_server):
    """pytest-django's live server, serving static files the way production does.

    pytest-django wraps the server in Django's StaticFilesHandler, which looks files up through
    the finders in static/. With DEBUG=false the pages name the hashed files of the manifest
    storage (js/app.<hash>.js), which only exist in STATIC_ROOT after collectstatic, so that
    handler would answer 404 for every script and stylesheet. Unwrapped, static requests reach
    WhiteNoise, as in production.
    """
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    if isinstance(app, StaticFilesHandler):
        httpd.set_app(app.application)
    return live_server


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # English to start with, whatever the machine's locale: the server negotiates the language
    # from Accept-Language until the user picks one.
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.add_init_script(_CSP_LISTENER)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    yield page
    page.close()


@dataclass
class PageProblems:
    """What went wrong in a page that its user would not necessarily see."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        """Violations the page reported, plus those Chromium logged to the console."""
        reported = self.page.evaluate("window.__cspViolations || []")
        logged = [m for m in self.console_errors if "Content Security Policy" in m]
        return reported + logged


@pytest.fixture
def page_problems(page: Page) -> PageProblems:
    """Console errors, uncaught exceptions and failed responses of `page` from now on."""
    problems = PageProblems(page)

    def on_console(message: ConsoleMessage) -> None:
        # The app has no favicon; Chromium's own request for it is no fault of the page.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.console_errors.append(f"{message.text} {message.location}")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            problems.failed_responses.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    page.on("response", on_response)
    return problems


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
