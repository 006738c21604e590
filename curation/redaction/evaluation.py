"""Recall and precision per type over a corpus of sentences with planted personal data.

A corpus line: {"text": ..., "spans": [{"type": "PHONE", "value": "138 1234 5678"}, ...]}, the
spans listing exactly what must be found (sentences without spans: nothing may be found).

* recall: a planted value (each of its occurrences in the text) counts as found when
  detections of its type cover every one of its characters;
* precision: a detection counts as right when it overlaps a planted value of its type. A
  detection of the wrong type is wrong for its type and a miss for the planted one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .detectors import TYPES, find_spans
from .normalize import normalize


@dataclass
class Score:
    planted: int = 0
    found: int = 0
    detected: int = 0
    right: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.detected if self.detected else 1.0


@dataclass
class Report:
    scores: dict[str, Score] = field(default_factory=dict)
    misses: list[tuple[int, str, str]] = field(default_factory=list)  # (line, type, value)
    false_positives: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def overall(self) -> Score:
        total = Score()
        for score in self.scores.values():
            total.planted += score.planted
            total.found += score.found
            total.detected += score.detected
            total.right += score.right
        return total

    def table(self) -> str:
        lines = [
            "| type | planted | found | recall | detections | right | precision |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        rows = [(t, self.scores[t]) for t in TYPES if t in self.scores]
        rows.append(("all", self.overall))
        for name, s in rows:
            lines.append(
                f"| {name} | {s.planted} | {s.found} | {s.recall:.3f} | {s.detected} | "
                f"{s.right} | {s.precision:.3f} |"
            )
        return "\n".join(lines)


def _occurrences(text: str, value: str) -> list[tuple[int, int]]:
    found, start = [], text.find(value)
    while start >= 0:
        found.append((start, start + len(value)))
        start = text.find(value, start + len(value))
    return found


def evaluate(rows: Iterable[dict]) -> Report:
    report = Report(scores={t: Score() for t in TYPES})
    for line, row in enumerate(rows, start=1):
        text = normalize(row["text"])
        detections = find_spans(text)
        planted: list[tuple[str, int, int]] = []
        for span in row["spans"]:
            value = normalize(span["value"])
            places = _occurrences(text, value)
            if not places:
                raise ValueError(f"line {line}: planted {span['type']} value not in the text")
            planted.extend((span["type"], start, end) for start, end in places)
        for type_, start, end in planted:
            score = report.scores[type_]
            score.planted += 1
            covered = set()
            for d in detections:
                if d.type == type_:
                    covered.update(range(max(start, d.start), min(end, d.end)))
            if len(covered) == end - start:
                score.found += 1
            else:
                report.misses.append((line, type_, text[start:end]))
        for d in detections:
            score = report.scores[d.type]
            score.detected += 1
            if any(t == d.type and s < d.end and d.start < e for t, s, e in planted):
                score.right += 1
            else:
                report.false_positives.append((line, d.type, text[d.start : d.end]))
    return report


def read_corpus(path: str | Path, part: str | None = None) -> list[dict]:
    """The corpus lines; `part`: only those of that "set" ("dev", "holdout")."""
    with open(path, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [row for row in rows if part is None or row.get("set") == part]


def evaluate_file(path: str | Path, part: str | None = None) -> Report:
    return evaluate(read_corpus(path, part))
