"""Hostile values for every field of a write (issue 14: a wrong value is a 400 naming the field,
never a 500): strings for numbers, numbers for lists, null, nested objects, huge numbers,
digits Python's int() does not read, non-finite floats, NUL bytes PostgreSQL cannot hold."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import transaction

# JSON bodies: each replaces one field at a time.
JSON_VALUES = [
    "abc",
    "",
    None,
    5,
    -1,
    10**30,
    1.5,
    True,
    {"a": 1},
    {"renting": {"x": 1}},
    [1, 2],
    ["x", None],
    [[1]],
    "²",
    "nan",
    "1e400",
    "９",
    "re\x00nting",
    ["re\x00nting"],
    {"re\x00nting": 1},
]

# Form posts: what a browser (or a hand-made request) can send.
FORM_VALUES = ["abc", "", "²", "-1", "9" * 40, "nan", "1e400", "1.5", "９", "{}", "0", "a\x00b"]


def _replaced(base: dict, field: str, value):
    body = json.loads(json.dumps(base))
    if "." in field:
        outer, inner = field.split(".", 1)
        if not isinstance(body.get(outer), dict):
            body[outer] = {}
        body[outer][inner] = value
    else:
        body[field] = value
    return body


def sweep_json(client, method: str, url: str, base: dict, fields: Iterable[str]) -> list[str]:
    """Each field of `base` (dotted: a key inside an object) replaced by each hostile value, and
    the body itself replaced by a list, a string and null; what answered 5xx."""
    failures = []
    bodies = [_replaced(base, f, v) for f in fields for v in JSON_VALUES]
    bodies += [[base], "abc", None, 5]
    for body in bodies:
        with transaction.atomic():
            response = client.generic(
                method, url, json.dumps(body), content_type="application/json"
            )
            transaction.set_rollback(True)
        if response.status_code >= 500:
            failures.append(f"{method} {url} {json.dumps(body, ensure_ascii=False)[:200]}")
    return failures


def sweep_form(client, url: str, base: dict, fields: Iterable[str]) -> list[str]:
    """Each form field of `base` replaced by each hostile value (and left out); what answered
    5xx."""
    failures = []
    for field in fields:
        for value in [*FORM_VALUES, None]:
            data = {k: v for k, v in base.items() if k != field}
            if value is not None:
                data[field] = value
            with transaction.atomic():
                response = client.post(url, data)
                transaction.set_rollback(True)
            if response.status_code >= 500:
                failures.append(f"POST {url} {field}={value!r}")
    return failures
