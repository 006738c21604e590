"""Near-duplicate instructions, as Self-Instruct judges them. No Django here.

ROUGE-L F1 between two instructions: the longest common subsequence of their tokens, where a
token is one Chinese character or one latin word (lower-cased) or number. Self-Instruct drops a
generated instruction whose ROUGE-L with an existing one is above 0.7; so do we.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

THRESHOLD = 0.7
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z]+|\d+")


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _lcs(a: list[str], b: list[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(a: str, b: str) -> float:
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    common = _lcs(ta, tb)
    if not common:
        return 0.0
    precision, recall = common / len(ta), common / len(tb)
    return 2 * precision * recall / (precision + recall)


def near_duplicate(text: str, existing: Iterable[str], threshold: float = THRESHOLD) -> bool:
    """True if `text` is above the threshold with any existing instruction."""
    mine = tokens(text)
    if not mine:
        return False
    for other in existing:
        theirs = tokens(other)
        # ROUGE-L cannot exceed 2*min/(len_a+len_b): skip pairs too different in length.
        if theirs and 2 * min(len(mine), len(theirs)) / (len(mine) + len(theirs)) <= threshold:
            continue
        if rouge_l(text, other) > threshold:
            return True
    return False
