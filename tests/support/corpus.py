"""Real public dialogues for tests: CrossWOZ sessions from ../shared/corpora (read in place,
never copied into the project), and long sessions made by joining consecutive ones, as the
issue reports were reproduced on."""

from __future__ import annotations

import functools
import json
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "crosswoz"
DIALOGUES = CORPUS / "crosswoz_test_300.jsonl"


@functools.cache
def crosswoz() -> tuple[dict, ...]:
    """The 300 CrossWOZ dialogues, turns with speaker, role and text."""
    if not DIALOGUES.is_file():
        raise FileNotFoundError(f"the shared corpus is missing: {DIALOGUES}")
    rows = []
    for line in DIALOGUES.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record["turns"] = [
            {"speaker": t["speaker"], "role": t["speaker"], "text": t["text"]}
            for t in record["turns"]
        ]
        rows.append(record)
    return tuple(rows)


def long_session(min_chars: int = 4000, start: int = 0) -> list[dict]:
    """Turns of consecutive CrossWOZ dialogues from `start`, joined until the text reaches
    `min_chars` characters: one long customer-service session. Its last turn is unique to it."""
    turns: list[dict] = []
    size = 0
    for record in crosswoz()[start:] + crosswoz()[:start]:
        for turn in record["turns"]:
            turns.append(dict(turn))
            size += len(turn["text"])
        if size >= min_chars:
            break
    turns.append(
        {
            "speaker": "agent",
            "role": "agent",
            "text": f"本次会话第{start}号到此结束，祝您生活愉快。",
        }
    )
    return turns


def text_size(turns: list[dict]) -> int:
    return sum(len(t["text"]) for t in turns)
