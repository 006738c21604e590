"""One long session (4,000+ characters of real CrossWOZ dialogue joined into one) followed in
a real browser from the import screen to the export files: its last turn is on the review
screen, and in the training prompt of every export format (OpenAI, ShareGPT, Alpaca,
LLaMA-Factory), with no internal marker around it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from curation.models import Dialogue, Job, Membership, Role
from curation.services.jobs import job_run_here
from metrics.models import DatasetVersion
from tests.browser.test_instruction_queue import _assert_clean
from tests.browser.test_job_progress import _log_in
from tests.factories import UserFactory
from tests.support.corpus import long_session, text_size

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path) -> Path:
    settings.IMPORT_UPLOAD_DIR = tmp_path
    return tmp_path


def _run(kind: str) -> Job:
    """The worker's part of the newest job of `kind`, run here."""
    job = Job.objects.filter(kind=kind).latest("id")
    job = job_run_here(job_id=job.pk)
    assert job.status == Job.Status.DONE, job.error_summary
    return job


def _training_texts(fmt: str, path: Path, info: dict | None) -> list[tuple[str, str]]:
    """(user text, assistant text) of each sample, read the way the format's consumers do."""
    text = path.read_text(encoding="utf-8")
    if fmt == "openai":
        rows = [json.loads(line)["messages"] for line in text.splitlines()]
        return [(m[-2]["content"], m[-1]["content"]) for m in rows]
    if fmt == "alpaca":
        rows = json.loads(text)
        return [
            ("\n".join(p for p in (r["instruction"], r["input"]) if p), r["output"]) for r in rows
        ]
    key = "conversations"
    if fmt == "llamafactory":
        (entry,) = info.values()
        assert entry["file_name"] == path.name
        key = entry["columns"]["messages"]
    rows = json.loads(text)
    return [(r[key][0]["value"], r[key][1]["value"]) for r in rows]


def test_a_long_session_from_import_to_every_export(
    live_server, team, labels, page: Page, page_problems, artifacts: Path, tmp_path: Path
):
    base, slug = live_server.url, team.project.slug
    team.project.dialogues.all().delete()  # the labels fixture's short ones: only ours is drawn
    turns = long_session(4500, start=42)
    assert text_size(turns) >= 4500
    last = turns[-1]["text"]
    record = {"id": "long-42", "scene": "renting", "source": "call-recording", "turns": turns}
    upload = tmp_path / "long.jsonl"
    upload.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")

    # Import on the Dialogues screen.
    _log_in(page, base, team.lead)
    page.goto(f"{base}/p/{slug}/dialogues/")
    page.locator("input[type=file][name=file]").set_input_files(str(upload))
    with page.expect_navigation():
        page.get_by_role("button", name="Import").click()
    _run("dialogues.import")
    dialogue = Dialogue.objects.get(project=team.project, external_id="long-42")
    assert dialogue.turns[-1]["text"] == last

    # A label job on the Labels screen, free-text prompt only (its answer passes the check).
    labels["json"].state = "rejected"
    labels["json"].save()
    page.goto(f"{base}/p/{slug}/labels/")
    job_form = page.locator("form#label-job")
    job_form.locator("input[name=count]").fill("1")
    job_form.locator("input[name=judge]").uncheck()
    with page.expect_navigation():
        job_form.get_by_role("button", name="Start").click()
    _run("labels.generate")

    # The reviewer sees the whole session, its last turn included, and accepts the label.
    page.goto(f"{base}/p/{slug}/labels/review/")
    dialogue_pane = page.locator("#review-panel pre").first
    expect(dialogue_pane).to_contain_text(last)
    expect(dialogue_pane).to_contain_text(turns[0]["text"])
    page.locator("input[name=grade][value=high]").check()
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#review-left")).to_contain_text("accepted")
    page.screenshot(path=artifacts / "long-dialogue-review.png", full_page=True)

    # A version of it, frozen, submitted, approved by another lead.
    page.goto(f"{base}/p/{slug}/versions/")
    compose = page.locator("form#compose")
    compose.locator("input[name=name]").fill("long-sessions")
    with page.expect_navigation():
        compose.get_by_role("button", name="Compose").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Freeze").click()
    _run("versions.freeze")
    version = DatasetVersion.objects.get(name="long-sessions")
    assert version.sample_count == 1
    page.goto(f"{base}/p/{slug}/versions/{version.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Submit for approval").click()
    second = UserFactory(username="lead-two")
    Membership.objects.create(project=team.project, user=second, role=Role.LEAD)
    page.context.clear_cookies()
    _log_in(page, base, second)
    page.goto(f"{base}/p/{slug}/versions/{version.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve").click()

    # Every export format: the last turn is in the training prompt, never a marker.
    for fmt in ("openai", "sharegpt", "alpaca", "llamafactory"):
        link = page.locator(f"#exports a[data-format={fmt}]")
        with page.expect_download() as download:
            link.click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        manifest_link = page.locator(f"#exports a[data-manifest={fmt}]")
        with page.expect_download() as manifest_download:
            manifest_link.click()
        manifest = json.loads(Path(manifest_download.value.path()).read_text(encoding="utf-8"))
        assert manifest["file"] == path.name
        raw = path.read_text(encoding="utf-8")
        assert "untrusted_dialogue" not in raw.lower(), fmt
        ((user, assistant),) = _training_texts(fmt, path, manifest.get("dataset_info"))
        assert last in user, fmt
        assert user.count(turns[0]["text"]) >= 1 and assistant, fmt
    _assert_clean(page_problems)
