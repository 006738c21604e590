"""Evaluation screens and API: draw a test set, start runs of two models, read the results laid
out like Table 4, drill down to an item, export, edit the judge prompt."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from curation.models import Job, ModelEndpoint
from curation.services.jobs import job_run_here
from metrics.models import EvalRun, JudgePrompt, TestSet
from tests.metrics.test_services_evaluation import curated  # noqa: F401 - fixture
from tests.metrics.test_services_versions import frozen

pytestmark = pytest.mark.django_db


def url(team, name, *args):
    return reverse(f"metrics:{name}", args=[team.project.slug, *args])


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_test_set_run_results_and_drill_down_on_screens(team, curated, label_llm):  # noqa: F811
    lead = team.client("lead")
    for name, model in (("general", "qwen-general"), ("judge", "judge-large")):
        ModelEndpoint.objects.create(
            project=team.project, name=name, base_url=label_llm.url, model=model
        )
    bad = lead.post(url(team, "testset_new"), {"name": "", "size": "x"})
    assert bad.status_code == 400
    assert "A test set needs a name." in bad.content.decode() and not TestSet.objects.exists()
    drawn = lead.post(
        url(team, "testset_new"),
        {"name": "held-out", "size": 6, "grades": ["high"], "hold_out_prompts": "on",
         "task_reasoning": "1", "task_content-summarization": "1",
         "task_information-extraction": "1"},
    )  # fmt: skip
    test_set = TestSet.objects.get()
    assert drawn["Location"] == url(team, "testset_detail", test_set.pk)
    page = lead.get(drawn["Location"]).content.decode()
    assert (
        "No item shares a dialogue" in page and page.count('class="bar"') == 6
    )  # 3 tasks, 3 formats
    version = frozen(team)
    started = lead.post(
        url(team, "run_new"),
        {"test_set": test_set.pk, "model_endpoint": ModelEndpoint.objects.get(name="general").pk,
         "judge_endpoint": ModelEndpoint.objects.get(name="judge").pk,
         "trained_on": version.pk, "name": "general on held-out"},
    )  # fmt: skip
    run = EvalRun.objects.get()
    assert started["Location"] == url(team, "run_detail", run.pk)
    polled = lead.get(started["Location"], headers={"HX-Request": "true"})
    assert polled.status_code == 200 and 'hx-trigger="every 2s"' in polled.content.decode()
    assert job_run_here(job_id=run.job_id).status == Job.Status.DONE
    polled = lead.get(started["Location"], headers={"HX-Request": "true"})
    assert polled.status_code == 286  # the poll stops
    run.refresh_from_db()
    page = lead.get(started["Location"]).content.decode()
    assert "6 of 6 judged, 0 failed, 0 pending" in page
    assert f"{run.summary['overall']['mean']:.2f}" in page and "data-trained-on" in page
    board = team.client("annotator").get(url(team, "evaluation")).content.decode()
    assert 'id="table4"' in board and f'data-run="{run.pk}"' in board
    answer = run.answers.first()
    detail = lead.get(url(team, "answer_detail", run.pk, answer.pk)).content.decode()
    assert answer.item.reference in detail and answer.reason in detail
    assert f"{answer.score} / 10" in detail
    filtered = lead.get(url(team, "run_detail", run.pk), {"judged": "failed"}).content.decode()
    assert "Nothing here." in filtered

    exported = lead.get(url(team, "run_export", run.pk, "csv"))
    text = b"".join(exported.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 6 and {int(r["score"]) for r in rows} <= set(range(1, 11))
    assert rows[0]["reference"] == run.answers.first().item.reference
    as_json = json.loads(
        b"".join(lead.get(url(team, "run_export", run.pk, "json")).streaming_content)
    )
    assert as_json["summary"]["judged"] == 6 and len(as_json["items"]) == 6
    assert as_json["trained_on"] == version.name
    assert lead.get(url(team, "run_export", run.pk, "xlsx")).status_code == 400


def test_the_judge_prompt_screen_checks_placeholders_and_stale_saves(team):
    lead = team.client("lead")
    page = lead.get(url(team, "judge_prompt")).content.decode()
    assert "{question}" in page and "(default)" in page
    bad = lead.post(url(team, "judge_prompt"),
                    {"language": "en", "template": "Score {answer}", "revision": 0})  # fmt: skip
    assert bad.status_code == 400 and "unknown placeholders: {answer}" in bad.content.decode()
    assert not JudgePrompt.objects.exists()
    strict = {"language": "en", "template": "Be strict. {question}", "revision": 0}
    saved = lead.post(url(team, "judge_prompt"), strict)
    assert saved.status_code == 302
    lenient = {"language": "en", "template": "Lenient. {question}", "revision": 0}
    stale = lead.post(url(team, "judge_prompt"), lenient)
    assert stale.status_code == 409
    assert JudgePrompt.objects.get().template == "Be strict. {question}"
    reader = team.client("annotator")
    assert reader.post(url(team, "judge_prompt"), {"language": "en"}).status_code == 403


def test_the_api_draws_runs_filters_and_refuses_what_is_wrong(team, curated, label_llm):  # noqa: F811
    base = f"/api/projects/{team.project.slug}"
    lead = api(team.lead)
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="m", base_url=label_llm.url, model="qwen"
    )
    bad = lead.post(f"{base}/test-sets/", {"name": "t", "size": 3, "task_shares": {"x": 1}},
                    format="json")  # fmt: skip
    assert bad.status_code == 400 and "task_shares" in bad.json()
    made = lead.post(f"{base}/test-sets/", {"name": "t", "size": 3}, format="json")
    assert made.status_code == 201 and made.json()["item_count"] == 3
    test_set = made.json()["id"]
    assert lead.get(f"{base}/test-sets/{test_set}/items/").json()["count"] == 3
    assert lead.get(f"{base}/test-sets/{test_set}/overlap/").json()["same_prompt"] == 0
    wanted = {"test_set": test_set, "model_endpoint": endpoint.pk, "judge_endpoint": 999999}
    refused = lead.post(f"{base}/eval-runs/", wanted, format="json")
    assert refused.status_code == 400 and "judge_endpoint" in refused.json()
    wanted["judge_endpoint"] = endpoint.pk
    run = lead.post(f"{base}/eval-runs/", wanted, format="json")
    assert run.status_code == 201
    job_run_here(job_id=run.json()["job"]["id"])
    run_id = run.json()["id"]
    answers = lead.get(f"{base}/eval-runs/{run_id}/answers/", {"judged": "done"}).json()
    assert answers["count"] == 3 and all(1 <= a["score"] <= 10 for a in answers["results"])
    assert lead.get(f"{base}/eval-runs/{run_id}/answers/", {"judged": "maybe"}).status_code == 400
    table = lead.get(f"{base}/eval-runs/table/").json()
    assert table["rows"][0]["run"] == run_id and table["rows"][0]["domain"]["n"] == 3
    assert lead.post(f"{base}/eval-runs/{run_id}/retry/").status_code == 400  # nothing failed
    checked = lead.post(f"{base}/eval-runs/{run_id}/reliability/", {"items": 2, "repeats": 2},
                        format="json")  # fmt: skip
    assert checked.status_code == 202
    prompts = lead.get(f"{base}/judge-prompts/").json()
    assert {p["language"] for p in prompts} == {"zh", "en"} and all(p["default"] for p in prompts)
    put = lead.put(f"{base}/judge-prompts/zh/", {"template": "评分 {question}", "revision": 0},
                   format="json")  # fmt: skip
    assert put.status_code == 200 and put.json()["revision"] == 1
    stale = lead.put(f"{base}/judge-prompts/zh/", {"template": "又改 {question}", "revision": 0},
                     format="json")  # fmt: skip
    assert stale.status_code == 409
    assert (
        api(team.annotator).put(f"{base}/judge-prompts/en/", {}, format="json").status_code == 403
    )


def test_the_screen_takes_output_format_shares(team, curated):  # noqa: F811
    drawn = team.client("lead").post(
        url(team, "testset_new"),
        {"name": "json only", "size": 4, "grades": ["high"], "task_reasoning": "1",
         "task_content-summarization": "1", "format_json": "1"},
    )  # fmt: skip
    assert drawn.status_code == 302
    test_set = TestSet.objects.get()
    assert test_set.format_shares == {"json": 1.0}
    assert set(test_set.items.values_list("output_format", flat=True)) == {"json"}
    assert test_set.item_count == 4


def test_a_draft_version_shows_what_test_sets_hold_out(team, curated):  # noqa: F811
    from metrics.services.evaluation import testset_create as draw
    from metrics.services.versions import version_create

    draw(project=team.project, name="held-out", size=3, actor=team.lead)
    version = version_create(project=team.project, name="v", actor=team.lead)
    page = team.client("lead").get(url(team, "version_detail", version.pk)).content.decode()
    # 30 accepted: the three held-out prompts have two samples each.
    assert "<dd data-matching>24</dd>" in page and "<dd data-held-out>6 " in page
