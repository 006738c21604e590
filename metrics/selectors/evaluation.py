"""Reads of the evaluation: test sets, their distributions and overlap with versions, runs with
their results (overall, per task type, per output format, with 95 % intervals), the Table-4
comparison of models, the judge's reliability, and the answers for drill-down and export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import asdict

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import MD5

from curation import dialogue_text
from curation.models import Project
from metrics import eval_prompts, evaluation, quality
from metrics.models import EvalAnswer, EvalRun, JudgePrompt, TestItem, TestSet, VersionItem

J = EvalAnswer.Judged
SCALE = (1.0, 10.0)  # the judge's scores


def test_sets(*, project: Project) -> QuerySet[TestSet]:
    return TestSet.objects.filter(project=project).select_related("created_by")


def test_items(*, test_set: TestSet) -> QuerySet[TestItem]:
    return TestItem.objects.filter(test_set=test_set).order_by("position")


def testset_distribution(*, test_set: TestSet) -> dict[str, list[dict]]:
    """Target and realised shares per task type and per output format (the paper's Fig. 3)."""
    rows = list(test_items(test_set=test_set).values_list("task_type", "output_format"))
    out = {}
    for key, index, target in (
        ("task_types", 0, test_set.task_shares),
        ("output_formats", 1, test_set.format_shares),
    ):
        realised = quality.shares([r[index] for r in rows])
        total = sum(target.values()) or 0
        names = list(realised) + sorted(set(target) - set(realised))
        out[key] = [
            {
                "name": name,
                "target": (target.get(name, 0) / total) if total else None,
                "realised": realised.get(name, 0.0),
                "n": sum(1 for r in rows if r[index] == name),
            }
            for name in names
            if realised.get(name) or (total and target.get(name))
        ]
    return out


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _texts_held(versions: QuerySet[VersionItem], field: str, texts: list[str]) -> set[str]:
    """The md5 of those of `texts` that some version item has as its `field`. The database
    hashes its own texts, so no version's text leaves it (an 80,000-item version holds
    ~160 MB of dialogues)."""
    wanted = list({_md5(t) for t in texts})
    found: set[str] = set()
    for start in range(0, len(wanted), 1000):
        found.update(
            versions.annotate(h=MD5(field))
            .filter(h__in=wanted[start : start + 1000])
            .values_list("h", flat=True)
            .distinct()
        )
    return found


def testset_overlap(*, test_set: TestSet) -> dict[str, int]:
    """Items of the test set that a dataset version of the project also holds: the same
    dialogue or prompt (which the product prevents, unless the test set held out dialogues
    only), or the same dialogue or instruction text under another id (a dialogue imported
    twice, a prompt written twice)."""
    items = test_items(test_set=test_set)
    versions = VersionItem.objects.filter(version__project=test_set.project_id)
    if not versions.exists():
        return dict.fromkeys(
            ("same_dialogue", "same_prompt", "same_dialogue_text", "same_instruction_text"), 0
        )
    same_dialogue = items.filter(dialogue__in=versions.values("sample__dialogue")).count()
    same_prompt = items.filter(prompt__in=versions.values("sample__prompt")).count()
    rows = [
        (dialogue_text.render(item.dialogue.turns), item.instruction)
        for item in items.select_related("dialogue")
        .only("instruction", "dialogue__turns")
        .iterator(chunk_size=500)
    ]
    dialogues = _texts_held(versions, "dialogue", [d for d, _ in rows])
    prompts = _texts_held(versions, "instruction", [p for _, p in rows])
    return {
        "same_dialogue": same_dialogue,
        "same_prompt": same_prompt,
        "same_dialogue_text": sum(_md5(d) in dialogues for d, _ in rows),
        "same_instruction_text": sum(_md5(p) in prompts for _, p in rows),
    }


def judge_templates(*, project: Project) -> dict[str, str]:
    """The project's judge templates by language, the defaults where none was saved."""
    saved = dict(JudgePrompt.objects.filter(project=project).values_list("language", "template"))
    return {lang: saved.get(lang, default) for lang, default in eval_prompts.JUDGE.items()}


def runs(*, project: Project) -> QuerySet[EvalRun]:
    return (
        EvalRun.objects.filter(project=project)
        .select_related("test_set", "trained_on", "job", "created_by")
        .annotate(
            judged_count=Count("answers", filter=Q(answers__judged=J.DONE)),
            failed_count=Count("answers", filter=Q(answers__judged=J.FAILED)),
            answer_count=Count("answers"),
        )
        .order_by("-id")  # Meta.ordering is not applied to a grouped query
    )


def answers(*, run: EvalRun) -> QuerySet[EvalAnswer]:
    return EvalAnswer.objects.filter(run=run).select_related("item").order_by("item__position")


def _summary_dict(summary: evaluation.Summary) -> dict:
    return asdict(summary)


def run_summary(*, run: EvalRun) -> dict:
    """Mean judge score overall, per task type and per output format, each with its number of
    judged items and 95 % interval; failed and pending items counted apart."""
    rows = list(
        answers(run=run).values_list("judged", "score", "item__task_type", "item__output_format")
    )
    judged = [(task, fmt, float(score)) for state, score, task, fmt in rows if state == J.DONE]
    return {
        "overall": _summary_dict(evaluation.summarise([s for _, _, s in judged], SCALE)),
        "task_types": {
            k: _summary_dict(v)
            for k, v in sorted(
                evaluation.summarise_by(((t, s) for t, _, s in judged), SCALE).items()
            )
        },
        "output_formats": {
            k: _summary_dict(v)
            for k, v in sorted(
                evaluation.summarise_by(((f, s) for _, f, s in judged), SCALE).items()
            )
        },
        "items": len(rows),
        "judged": len(judged),
        "failed": sum(1 for r in rows if r[0] == J.FAILED),
        "pending": sum(1 for r in rows if r[0] == J.PENDING),
    }


def run_reliability(*, run: EvalRun) -> dict:
    """The judge's spread on re-judging, the shift when the answer is shown first, and the
    rank correlation of answer length and score."""
    checked = list(answers(run=run).exclude(checks={}).values_list("score", "checks"))
    spread = evaluation.spread(
        [[score, *c.get("repeats", [])] for score, c in checked if score is not None]
    )
    order = evaluation.order_bias(
        [
            (float(score), float(c["swapped"]))
            for score, c in checked
            if c.get("swapped") is not None and score is not None
        ]
    )
    lengths = list(answers(run=run).filter(judged=J.DONE).values_list("answer", "score"))
    length = evaluation.length_bias([len(a) for a, _ in lengths], [float(s) for _, s in lengths])
    return {
        "spread": asdict(spread),
        "order": order,
        "length": length,
        "failed": sum(c.get("failed", 0) for _, c in checked),
    }


def model_table(*, project: Project, test_set: TestSet | None = None) -> dict:
    """The runs as rows of the paper's Table 4: one column per task type, then the domain
    column (the mean over every judged item), each cell the mean with its n and interval."""
    chosen = runs(project=project).exclude(summary={})
    if test_set is not None:
        chosen = chosen.filter(test_set=test_set)
    chosen = list(chosen.order_by("id"))
    tasks = sorted({t for r in chosen for t in r.summary.get("task_types", {})})
    rows = [
        {
            "run": r,
            "cells": [r.summary.get("task_types", {}).get(t) for t in tasks],
            "domain": r.summary.get("overall"),
        }
        for r in chosen
    ]
    return {"tasks": tasks, "rows": rows}


EXPORT_FIELDS = [
    "position",
    "task_type",
    "output_format",
    "judged",
    "score",
    "reason",
    "judge_error",
    "answer_error",
    "instruction",
    "input",
    "reference",
    "answer",
]


def _export_rows(run: EvalRun) -> Iterator[dict]:
    for a in answers(run=run).iterator(chunk_size=500):
        yield {
            "position": a.item.position,
            "task_type": a.item.task_type,
            "output_format": a.item.output_format,
            "judged": a.judged,
            "score": a.score,
            "reason": a.reason,
            "judge_error": a.judge_error,
            "answer_error": a.answer_error,
            "instruction": a.item.instruction,
            "input": a.item.input,
            "reference": a.item.reference,
            "answer": a.answer,
        }


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A cell no spreadsheet program runs: text that starts like a formula gets a leading
    single quote (OWASP's advice); answers and the judge's reasons come from an LLM, and a
    "=HYPERLINK(...)" answer must stay text. Numbers are kept as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def run_export_csv(*, run: EvalRun) -> Iterator[str]:
    """Every answer of the run as CSV rows, streamed, every cell neutralised (csv_cell)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    yield "\ufeff"  # a BOM, so that spreadsheet programs read the Chinese as UTF-8
    writer.writeheader()
    for row in _export_rows(run):
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def run_export_json(*, run: EvalRun) -> Iterator[str]:
    """The run (models, summary, reliability) and every answer as one JSON object, streamed."""
    head = {
        "run": run.name,
        "model": run.model_name,
        "judge": run.judge_model,
        "test_set": run.test_set.name,
        "trained_on": run.trained_on.name if run.trained_on else None,
        "summary": run.summary,
        "reliability": run.reliability,
    }
    yield "{" + ", ".join(
        f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items()
    )
    yield ', "items": ['
    for n, row in enumerate(_export_rows(run)):
        yield ("," if n else "") + json.dumps(row, ensure_ascii=False)
    yield "]}"
