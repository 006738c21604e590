"""Placeholders in template parts and prompts: `{name}` with a lower-case identifier.

Only that shape is a placeholder, so the braces of a JSON example (`{"intent": ...}`) are plain
text and need no escaping. Pure Python, no Django: the checks and the filling are the same in
services, the assembly job and the tests.
"""

from __future__ import annotations

import re
from typing import NamedTuple

PATTERN = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def names(text: str) -> list[str]:
    """The placeholders in the text, in order of appearance, repeats included."""
    return PATTERN.findall(text)


class Problem(NamedTuple):
    """One thing wrong: `kind` is "unknown", "missing" or "repeated"; `names` the placeholders."""

    kind: str
    names: tuple[str, ...]


def problems(
    text: str,
    *,
    allowed: set[str],
    required: frozenset[str] | set[str] = frozenset(),
    once: frozenset[str] | set[str] = frozenset(),
) -> list[Problem]:
    """What is wrong with the placeholders of `text`; empty when all is well. The caller words
    the message (in the user's language)."""
    found = names(text)
    out = []
    unknown = tuple(sorted(set(found) - allowed))
    if unknown:
        out.append(Problem("unknown", unknown))
    missing = tuple(sorted(set(required) - set(found)))
    if missing:
        out.append(Problem("missing", missing))
    repeated = tuple(sorted(n for n in once if found.count(n) > 1))
    if repeated:
        out.append(Problem("repeated", repeated))
    return out


def braced(names_: tuple[str, ...] | set[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(names_))


def fill(text: str, values: dict[str, str]) -> str:
    """Replace the placeholders named in `values`; others stay as they are. One pass, so a value
    that itself contains `{dialogue}` is never filled again."""
    return PATTERN.sub(lambda m: values.get(m.group(1), m.group(0)), text)
