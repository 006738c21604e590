"""Word-level diff of two instructions, character-level for Chinese. No Django here."""

from __future__ import annotations

import difflib
import re

_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z0-9']+|\s+|[^\sA-Za-z0-9'\u3400-\u9fff]")


def diff(old: str, new: str) -> list[tuple[str, str]]:
    """Segments ("equal" | "insert" | "delete", text) that turn old into new."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    segments: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(("equal", "".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            segments.append(("delete", "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            segments.append(("insert", "".join(b[j1:j2])))
    return segments
