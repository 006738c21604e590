"""Checks of a model's (or a person's) output against the output formats of a prompt.

Pure Python (no Django). `check_output(text, formats)` returns problems as "code: message"
strings; `problem_kind` gives the first code. Codes:

* empty     - nothing but whitespace;
* refused   - starts like a refusal ("抱歉，我无法…", "作为一个AI…", "I'm sorry, but I can't…");
* not_json  - a JSON task whose output does not parse (with the line and column of the error);
* bad_format - a table without a |---| separator row, or a list without a list item.

`formats` has one entry per task of the prompt. With one task the whole output is that task's
answer and is checked strictly; with several, the answers share one text whose layout is not
fixed, so only "is there a JSON object somewhere" is asked of JSON tasks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

FORMATS = ("json", "table", "markdown", "list", "free_text")

# A whole output wrapped in ``` or ```json ... ```: models add it even when told not to.
_FENCE_RE = re.compile(r"\A\s*```[ \t]*[A-Za-z0-9_-]*[ \t]*\n(?P<body>.*?)\n?[ \t]*```\s*\Z", re.S)

# Refusals are recognised at the start only: further in, the same words are usually part of
# the answer (a customer-service reply saying "抱歉，我无法为您办理" is content, not a refusal).
# This still misfires on an answer that is itself such a reply; it is a hint for review.
_REFUSAL_RE = re.compile(
    "|".join(
        [
            r"(?:很|非常|十分)?(?:抱歉|对不起|不好意思)[，,。！!、\s]*(?:但是?|不过)?[，,\s]*"
            r"我(?:目前|暂时)?(?:无法|不能|没法|没办法|不可以)",
            r"作为(?:一个|一名|一款)?(?:AI|人工智能|语言模型|大语言模型)",
            r"我(?:无法|不能)(?:满足|协助|帮助|帮你|帮您|回答|完成|提供|处理|执行)",
            r"(?:(?:I'm|I am) )?sorry[ ,]*(?:but )?I (?:can't|cannot|can not|am unable|won't)",
            r"I (?:can't|cannot|can not|am unable to|am not able to|won't) "
            r"(?:help|assist|comply|provide|fulfil|fulfill|complete)",
            r"As an AI\b",
        ]
    ),
    re.IGNORECASE,
)
# Emphasis, quotes and heading marks a model may put before the refusal itself.
_LEADING_DECORATION = " \t\r\n*_>#\"'“‘「"

# Separator row cells of a Markdown table: ---, :---, ---:, :---:.
_SEPARATOR_CELL_RE = re.compile(r":?-+:?")

# List items: 1. 1、 1) 1）, - item, * item, + item, •, ①, 一、, （一） / (1).
# "-" and "*" need a space after them so that "-5度" and "**加粗**" are not items; "1." must not
# be followed by a digit so that "3.5元" is not one either.
_LIST_ITEM_RE = re.compile(
    r"\s*(?:\d+[.、)）](?!\d)|[-*+]\s|•|[\u2460-\u2473]|[一二三四五六七八九十]+、"
    r"|[（(][一二三四五六七八九十\d]+[）)])"
)


def extract_json(text: str) -> object:
    """Parse `text` as JSON, first removing a ``` / ```json fence around the whole of it.

    Raises json.JSONDecodeError; its position (pos, lineno, colno) refers to `text` itself, fence
    included, so it points at the right place in what the user sees.
    """
    match = _FENCE_RE.match(text)
    if match is None:
        return json.loads(text)
    try:
        return json.loads(match.group("body"))
    except json.JSONDecodeError as error:
        raise json.JSONDecodeError(error.msg, text, match.start("body") + error.pos) from None


def _contains_json_object(text: str) -> bool:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            decoder.raw_decode(text, start)
            return True
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
    return False


def _is_refusal(text: str) -> bool:
    # Curly apostrophes (I’m, can’t) are as common as straight ones.
    start = text.lstrip(_LEADING_DECORATION).replace("\u2019", "'")
    return _REFUSAL_RE.match(start) is not None


def _has_table(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if "|" not in stripped:
            continue
        cells = stripped.strip("|").split("|")
        if all(_SEPARATOR_CELL_RE.fullmatch(cell.strip()) for cell in cells):
            return True
    return False


def _has_list(text: str) -> bool:
    return any(_LIST_ITEM_RE.match(line) for line in text.splitlines())


def check_output(text: str, formats: Sequence[str]) -> list[str]:
    """Problems of `text` as the answer to a prompt whose tasks have `formats` (one per task,
    each one of FORMATS); [] when none is found. Unknown formats raise ValueError."""
    for output_format in formats:
        if output_format not in FORMATS:
            raise ValueError(f"unknown output format {output_format!r}; expected one of {FORMATS}")

    if not text.strip():
        return ["empty: the output is empty"]
    if _is_refusal(text):
        return ["refused: the model refused"]

    if len(formats) == 1:
        output_format = formats[0]
        if output_format == "json":
            try:
                extract_json(text)
            except json.JSONDecodeError as error:
                return [
                    f"not_json: the output is not valid JSON ({error.msg}) "
                    f"at line {error.lineno} column {error.colno}"
                ]
        elif output_format == "table" and not _has_table(text):
            return ["bad_format: expected a table, but there is no |---| separator row"]
        elif output_format == "list" and not _has_list(text):
            return ["bad_format: expected a list, but no line starts with 1. - * • or 一、"]
        return []

    problems: list[str] = []
    if "json" in formats and not _contains_json_object(text):
        for number, output_format in enumerate(formats, start=1):
            if output_format == "json":
                problems.append(
                    f"not_json: task {number} expects JSON, but the output has no JSON object"
                )
    return problems


def problem_kind(problems: Sequence[str]) -> str | None:
    """The code of the first problem ("empty", "refused", "not_json", "bad_format"), or None."""
    if not problems:
        return None
    return problems[0].split(":", 1)[0]
