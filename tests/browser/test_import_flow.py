"""A lead imports dialogues in a real browser while a real Celery worker runs the import: log
in, upload a file with planted personal data, watch the progress bar move without reloading,
find one imported dialogue through the htmx filter and see it redacted; and a file with
problems, imported without "store the valid ones", stores nothing and lists its problems."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from playwright.sync_api import Page, expect
from stdnum.cn import ric

from curation.models import Dialogue, Job
from tests.browser.test_job_progress import (
    _PROGRESS_JS,
    _assert_clean,
    _log_in,
    _wait_for_htmx,
)
from tests.support.workers import WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.worker]

# Five chunks of 500 dialogues (curation.services.imports.CHUNK). Two workers take two chunks
# at a time: with three chunks the bar could sit part-way for less than one poll (1 s) and the
# part-way assertion below depended on luck; with five it sits at 2 and 4 for a chunk's time.
COUNT = 2300
CHUNKS = 5
OPENED = 7  # the dialogue the lead looks for and opens
JOB_URL = re.compile(r"/p/beike/jobs/(\d+)/$")


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("imports")


@pytest.fixture(scope="module")
def worker(django_db_setup, tmp_path_factory, upload_dir: Path) -> Iterator[WorkerProcess]:
    """A real worker on the test database, shared by the tests of this module (as in
    test_job_progress.py). The worker reads IMPORT_UPLOAD_DIR from its environment; the live
    server is given the same directory by `same_upload_dir`."""
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: run the suite with `make test`")
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    process = WorkerProcess(
        "browser-import",
        tmp_path_factory.mktemp("worker"),
        queues="default,llm,cpu",
        pool="prefork",
        concurrency=2,
        env={"IMPORT_UPLOAD_DIR": str(upload_dir)},
    ).start()
    yield process
    process.stop()
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(autouse=True)
def same_upload_dir(settings, upload_dir: Path) -> Path:
    settings.IMPORT_UPLOAD_DIR = upload_dir
    return upload_dir


# --------------------------------------------------------------------------------------------
# The file: Chinese renting chats, each with its own planted personal data.

FILLER = [
    ("real-estate-agent", "这套一居室朝南，采光很好，离地铁站步行大概十分钟。"),
    ("customer", "小区环境怎么样？晚上吵不吵？楼下有没有超市和菜市场？"),
    ("real-estate-agent", "小区绿化不错，物业管理也比较规范，楼下就有便利店和生鲜超市。"),
    ("customer", "家具家电都齐全吗？我希望能拎包入住，最好有洗衣机和冰箱。"),
    ("real-estate-agent", "家电齐全，房东刚换了新的空调和热水器，可以随时看房。"),
    ("customer", "押金怎么付？可以押一付三吗？中介费是多少？"),
]
DISTRICTS = ["望京", "回龙观", "天通苑", "亦庄", "通州", "西二旗"]


def _resident_id(n: int) -> str:
    """A valid 18-digit resident ID (Beijing, a real birth date, the right check digit)."""
    body = f"110105{1980 + n % 20}{n % 12 + 1:02d}{n % 28 + 1:02d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _planted(n: int) -> dict[str, str]:
    return {
        "mobile": f"138{n:08d}",
        "mobile_spaced": f"139 {n % 10000:04d} {n * 7 % 10000:04d}",
        "id": _resident_id(n),
        "email": f"wang.li{n}@example.com",
        "password": f"Fang{n}abc",
        "agent": "张先生",
        "customer": "王女士",
        "customer_name": "王丽华",
    }


def _phrase(n: int) -> str:
    """Text that no other dialogue of the file holds (and that makes each one distinct)."""
    return f"预算{3000 + n}元"


def _dialogue(n: int) -> dict:
    p = _planted(n)
    agent, customer = p["agent"], p["customer"]
    district = DISTRICTS[n % len(DISTRICTS)]
    speakers = {"real-estate-agent": agent, "customer": customer}
    return {
        "id": f"imp-{n:04d}",
        "scene": "renting",
        "source": "im-message",
        "turns": [
            {
                "speaker": agent,
                "role": "real-estate-agent",
                "text": f"您好，我是链家的{agent}，请问是{customer}吗？",
                "time": "10:02",
            },
            {
                "speaker": customer,
                "role": "customer",
                "text": f"是的。我想在{district}租一居室，{_phrase(n)}。我的电话{p['mobile']}，"
                f"另一个手机是{p['mobile_spaced']}。",
            },
            *({"speaker": speakers[role], "role": role, "text": text} for role, text in FILLER),
            {"speaker": agent, "role": "real-estate-agent", "text": "签约需要身份证号和邮箱。"},
            {
                "speaker": customer,
                "role": "customer",
                "text": f"身份证号{p['id']}，邮箱{p['email']}，APP登录密码是{p['password']}。"
                f"有房源请打电话{p['mobile']}谢谢",
            },
        ],
        "metadata": {"city": "北京", "customer_name": p["customer_name"]},
    }


def _jsonl(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _raw_values(n: int) -> list[str]:
    p = _planted(n)
    return [
        p["mobile"],
        p["mobile_spaced"],
        p["mobile_spaced"].replace(" ", ""),
        p["id"],
        p["email"],
        p["password"],
        p["agent"],
        p["customer"],
        p["customer_name"],
    ]


# --------------------------------------------------------------------------------------------


def _upload(page: Page, name: str, data: bytes, *, partial: bool = False) -> int:
    """Import a file through the Dialogues screen's form; the browser lands on its job page."""
    form = page.locator("section.card form", has=page.locator("input[name=file]"))
    form.locator("input[name=file]").set_input_files(
        {"name": name, "mimeType": "application/x-ndjson", "buffer": data}
    )
    partial_box = form.get_by_label("Store the valid dialogues even if others are rejected")
    expect(partial_box).not_to_be_checked()
    if partial:
        partial_box.check()
    form.get_by_role("button", name="Import", exact=True).click()
    expect(page).to_have_url(JOB_URL)
    job_id = int(JOB_URL.search(page.url).group(1))
    expect(page.locator("h1 code")).to_have_text("dialogues.import")
    return job_id


def _watch_until_finished(page: Page, timeout: float = 120) -> list[dict]:
    """Samples of the progress bar, every 150 ms, until the job's status is no longer active."""
    samples = []
    deadline = time.monotonic() + timeout
    while True:
        sample = page.evaluate(_PROGRESS_JS)
        samples.append(sample)
        if sample["status"] not in ("queued", "running"):
            return samples
        assert time.monotonic() < deadline, f"import not finished in {timeout} s: {samples[-5:]}"
        page.wait_for_timeout(150)


def _expect_outcome_shown(page: Page, job_id: int, status: str, counts: str) -> None:
    """The page that polled until the job finished shows its final status and the import's
    counts, with no reload: the last poll must already carry them."""
    progress = page.locator("#job-progress")
    try:
        expect(progress.locator(".status")).to_have_text(status)
        expect(progress.locator(".job-result")).to_contain_text(counts, timeout=5000)
    except AssertionError as error:
        job = Job.objects.get(pk=job_id)
        if job.status != status or "imported" not in (job.result or {}):
            raise AssertionError(f"{job.status}: {job.error_summary} {job.result}") from error
        shown = progress.locator(".status").inner_text()
        raise AssertionError(
            f"The job page stopped polling at {shown!r} before the import's outcome was "
            f"written (the job is {job.status!r} with {job.result['imported']} imported by "
            "now): the finished status must not be visible before on_finished has recorded "
            "the outcome (curation/services/jobs.py, _finish_if_complete)."
        ) from error


def _removed(text: str) -> dict[str, int]:
    """{"PHONE": 3600, ...} from "Removed before storage: PHONE × 3600, NAME × 8400"."""
    return {kind: int(n) for kind, n in re.findall(r"([A-Z]+) × (\d+)", text)}


def test_lead_imports_a_file_and_sees_the_dialogues_redacted(
    live_server, team, worker, same_upload_dir, page: Page, page_problems, artifacts: Path
):
    base = live_server.url
    project = team.project
    _log_in(page, base, team.lead)
    page.goto(f"{base}/p/{project.slug}/dialogues/")
    expect(page.get_by_role("heading", name="Import dialogues", exact=True)).to_be_visible()
    expect(page.locator("#dialogue-results")).to_contain_text("No dialogue matches.")
    data = _jsonl(_dialogue(n) for n in range(COUNT))
    page.screenshot(path=artifacts / "import-form.png", full_page=True)

    job_id = _upload(page, "租房对话.jsonl", data)
    _wait_for_htmx(page)
    # Survives only if the page is never reloaded.
    page.evaluate("window.__noReload = 'still here'")
    samples = _watch_until_finished(page)
    _expect_outcome_shown(
        page, job_id, "done", f"{COUNT} imported, 0 duplicates skipped, 0 rejected"
    )

    values = [s["value"] for s in samples]
    assert values == sorted(values), values  # never goes backwards
    assert values[-1] == CHUNKS and samples[-1]["max"] == CHUNKS
    # Seen part-way: the bar moved by itself, not from nothing straight to the end.
    assert any(0 < s["value"] < CHUNKS and s["max"] == CHUNKS for s in samples), samples
    assert any(s["status"] == "running" for s in samples), samples

    progress = page.locator("#job-progress")
    result = progress.locator(".job-result")
    # Still the same page: the counts come with the last poll, not with a reload.
    expect(result).to_contain_text("read as utf-8")
    expect(progress.locator(":scope > .figures")).to_contain_text(
        f"{CHUNKS} done, 0 failed of {CHUNKS}"
    )
    expect(progress.locator(":scope > .figures strong")).to_have_text("100%")
    expect(progress.get_by_role("heading", name="Problems", exact=True)).to_have_count(0)
    expect(progress.get_by_role("heading", name="Failed items", exact=True)).to_have_count(0)
    removed_line = result.locator("p.hint").filter(has_text="Removed before storage:")
    expect(removed_line).to_be_visible()
    removed = _removed(removed_line.inner_text())
    assert page.evaluate("window.__noReload") == "still here"
    page.screenshot(path=artifacts / "import-done.png", full_page=True)

    # What the page says was removed is what the stored dialogues say, and what was planted:
    # three mentions of two phone numbers in every dialogue, one ID, e-mail and password each,
    # and the names (the two speakers in every turn and text, and the customer_name).
    stored = Dialogue.objects.filter(project=project)
    assert stored.count() == COUNT
    assert set(stored.values_list("import_job_id", flat=True)) == {job_id}
    total: Counter[str] = Counter()
    for counts in stored.values_list("redaction_counts", flat=True):
        total.update(counts)
    assert removed == dict(total)
    assert removed["PHONE"] == 3 * COUNT
    assert removed["ID"] == removed["EMAIL"] == removed["PASSWORD"] == COUNT
    assert removed["NAME"] >= 2 * COUNT
    # No raw text outlives the import.
    assert list(same_upload_dir.iterdir()) == []

    # The lead looks for one dialogue by a phrase of its text; the htmx filter swaps the
    # results in and puts the filter in the address bar.
    page.locator("nav.project-nav").get_by_role("link", name="Dialogues", exact=True).click()
    expect(page).to_have_url(f"{base}/p/{project.slug}/dialogues/")
    _wait_for_htmx(page)
    page.evaluate("window.__noReload = 'still here'")
    rows = page.locator("#dialogue-results tbody tr")
    expect(rows).to_have_count(50)
    page.get_by_label("Text search").fill(_phrase(OPENED))
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/dialogues/\?.*q="))
    assert page.evaluate("window.__noReload") == "still here"
    external_id = f"imp-{OPENED:04d}"
    link = rows.get_by_role("link", name=external_id, exact=True)
    expect(link).to_be_visible()
    list_html = page.content()
    page.screenshot(path=artifacts / "import-search.png", full_page=True)

    link.click()
    expect(page.locator("h1")).to_have_text(external_id)
    chat = page.locator("ol.chat")
    turns = chat.locator("li.turn")
    expect(turns).to_have_count(len(_dialogue(OPENED)["turns"]))
    expect(turns.first.locator(".speaker")).to_have_text("[NAME_1]先生 · real-estate-agent · 10:02")
    expect(turns.first.locator("p")).to_have_text(
        "您好，我是链家的[NAME_1]先生，请问是[NAME_2]女士吗？"
    )
    expect(turns.nth(1).locator("p")).to_contain_text(
        f"{_phrase(OPENED)}。我的电话[PHONE_1]，另一个手机是[PHONE_2]。"
    )
    expect(turns.last.locator("p")).to_have_text(
        "身份证号[ID_1]，邮箱[EMAIL_1]，APP登录密码是[PASSWORD_1]。有房源请打电话[PHONE_1]谢谢"
    )
    expect(turns.nth(1)).to_have_class(re.compile(r"\bcustomer\b"))
    expect(page.locator("main")).to_contain_text("Removed before storage:")
    detail_html = page.content()
    page.screenshot(path=artifacts / "import-dialogue-redacted.png", full_page=True)

    for html, where in ((list_html, "the filtered list"), (detail_html, "the dialogue")):
        leaked = [value for value in _raw_values(OPENED) if value in html]
        assert leaked == [], f"{where} shows planted personal data: {leaked}"
    _assert_clean(page_problems)


def test_a_file_with_problems_stores_nothing_and_lists_them(
    live_server, team, worker, same_upload_dir, page: Page, page_problems, artifacts: Path
):
    base = live_server.url
    project = team.project
    good = _dialogue(900)
    # Line 2 breaks off before its closing brackets.
    bad_json = '{"id": "bad-2", "turns": [{"speaker": "客户", "role": "customer", "text": "电话'
    bad_json += '13812345678"}'
    no_turns = {"id": "bad-3", "scene": "renting", "metadata": {"customer_name": "王丽华"}}
    data = (
        json.dumps(good, ensure_ascii=False)
        + "\n"
        + bad_json
        + "\n"
        + json.dumps(no_turns, ensure_ascii=False)
        + "\n"
    ).encode()

    _log_in(page, base, team.lead)
    page.goto(f"{base}/p/{project.slug}/dialogues/")
    job_id = _upload(page, "broken.jsonl", data)
    _wait_for_htmx(page)
    _watch_until_finished(page, timeout=60)
    _expect_outcome_shown(page, job_id, "failed", "0 imported, 0 duplicates skipped, 2 rejected")

    progress = page.locator("#job-progress")
    expect(progress.locator(":scope > p .error")).to_contain_text("nothing was stored")
    expect(progress.locator(":scope > p .error")).to_have_text(
        re.compile(r"^2 problem\(s\) in the file: nothing was stored\.")
    )
    result = progress.locator(".job-result")
    # Nothing was stored, so nothing was "removed before storage" either.
    expect(result).not_to_contain_text("Removed before storage")
    expect(progress.get_by_role("heading", name="Problems", exact=True)).to_be_visible()
    rows = result.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).get_by_role("cell").nth(0)).to_have_text("2")
    expect(rows.nth(0).get_by_role("cell").nth(1)).to_have_text(
        re.compile(r"^Invalid JSON: .+ at column \d+\.$")
    )
    expect(rows.nth(1).get_by_role("cell")).to_have_text(
        ["3", "The dialogue needs a non-empty list of turns."]
    )
    job_html = page.content()
    page.screenshot(path=artifacts / "import-bad-file-failed.png", full_page=True)
    leaked = [v for v in [*_raw_values(900), "13812345678"] if v in job_html]
    assert leaked == [], f"the job page shows planted personal data: {leaked}"

    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.FAILED
    assert job.result["stored"] is False
    assert [p["line"] for p in job.result["problems"]] == [2, 3]
    assert not Dialogue.objects.filter(project=project).exists()
    assert list(same_upload_dir.iterdir()) == []

    # Not even the valid first dialogue was stored.
    page.locator("nav.project-nav").get_by_role("link", name="Dialogues", exact=True).click()
    expect(page).to_have_url(f"{base}/p/{project.slug}/dialogues/")
    expect(page.locator("#dialogue-results tbody tr")).to_have_count(1)
    expect(page.locator("#dialogue-results")).to_contain_text("No dialogue matches.")
    _assert_clean(page_problems)
