"""A dialogue as text: whole, or as a marked excerpt. Pure Python, no Django.

Two renderings, never mixed up:

* `render(turns)`: the whole redacted dialogue, one line per turn. Everything a model is
  trained or graded on uses it: label input, review, second pass, versions, test sets,
  evaluation, exports, metrics. Nothing is ever cut here.
* `excerpt(turns, max_chars, language)`: for seed and evolution prompts only, where the
  dialogue is context and a long session would crowd the instruction out. It is cut at a turn
  boundary and says that it is an excerpt and how much of the dialogue it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EXCERPT_CHARS = 800

_EXCERPT_NOTE = {
    "zh": "（节选：共 {total} 轮对话，此处为前 {shown} 轮）",
    "en": "(excerpt: the first {shown} of {total} turns)",
}
_CUT_TURN = {"zh": "……（本轮较长，此处截断）", "en": " … (turn cut short here)"}
NO_DIALOGUE = "(no dialogue in the project yet)"


def turn_line(turn: dict[str, Any]) -> str:
    speaker = str(turn.get("speaker") or "")
    role = str(turn.get("role") or "")
    who = f"{speaker}（{role}）" if role and role != speaker else speaker
    return f"{who}：{turn.get('text') or ''}"


def render(turns: Sequence[dict[str, Any]]) -> str:
    """The whole dialogue, one line per turn."""
    return "\n".join(turn_line(t) for t in turns)


def excerpt(
    turns: Sequence[dict[str, Any]], *, max_chars: int = EXCERPT_CHARS, language: str = "zh"
) -> str:
    """The first turns that fit in `max_chars`, cut between turns and marked as an excerpt.

    A dialogue that fits is returned whole and unmarked. When even the first turn is longer
    than `max_chars`, that turn is shown cut short, and says so: an excerpt is never empty.
    """
    words = "zh" if language.startswith("zh") else "en"
    lines = [turn_line(t) for t in turns]
    whole = "\n".join(lines)
    if len(whole) <= max_chars:
        return whole
    shown: list[str] = []
    used = 0
    for line in lines:
        extra = len(line) + (1 if shown else 0)
        if used + extra > max_chars:
            break
        shown.append(line)
        used += extra
    if not shown:
        shown = [lines[0][:max_chars].rstrip() + _CUT_TURN[words]]
    note = _EXCERPT_NOTE[words].format(total=len(lines), shown=len(shown))
    return "\n".join([*shown, note])
