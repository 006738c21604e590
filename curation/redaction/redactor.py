"""Redaction of one dialogue: typed placeholders, consistent within the dialogue.

    redactor = DialogueRedactor(known_names=["王建国"])
    redactor.redact("王建国的电话是13812345678，再说一遍13812345678")
    # -> "[NAME_1]的电话是[PHONE_1]，再说一遍[PHONE_1]"
    redactor.counts  # Counter({"PHONE": 2, "NAME": 1})

The text is normalised first (normalize.py) and the normalised, redacted text is what is kept.
After replacing, the text is scanned again, and again replaced if the scan finds anything (a
name the segmenter only sees once its neighbour is gone), at most three times; so
`residual_findings` of a redacted text is empty.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from . import lexicon
from .detectors import (
    NUMBERED_PLACEHOLDER_RE,
    PLACEHOLDER_RE,
    TYPES,
    Span,
    find_spans,
    known_names_pattern,
)
from .normalize import normalize

MAX_PASSES = 3
_HAN_NAME = re.compile(r"[\u4e00-\u9fff·]{2,6}")
_TITLE_ONLY = re.compile(
    "(?:"
    + "|".join(lexicon.COMPOUND_SURNAMES)
    + "|["
    + "".join(lexicon.SURNAMES)
    + "])(?:"
    + "|".join(lexicon.TITLES)
    + ")"
)
_LATIN_NAME = re.compile(r"[A-Z][a-z]+(?:[ .'-]+[A-Z][a-z]+){0,3}")
_NAME_PARTS = re.compile(r"[ .'-]+")
# Metadata keys whose short text values are names (customer_name, 经纪人, contact ...).
_NAME_KEY = re.compile(
    r"name|姓名|名字|昵称|联系人|经纪人|业主|房东|租客|签约人|"
    r"^(?:agent|customer|contact|owner|tenant|landlord|speaker|person|客户|顾问|置业顾问)$",
    re.IGNORECASE,
)


def looks_like_name(value: str) -> bool:
    """Whether a speaker or a metadata value is a person's name (not a role such as "agent",
    "客服", "置业顾问", nor an id such as "坐席1")."""
    value = value.strip()
    if not value or value.casefold() in lexicon.ROLE_WORDS or value in lexicon.ROLE_WORDS:
        return False
    if _HAN_NAME.fullmatch(value):
        surname = 2 if value[:2] in lexicon.COMPOUND_SURNAMES else 1
        if surname == 1 and value[0] not in lexicon.SURNAMES:
            return False
        if value in lexicon.NOT_NAMES or value.endswith(lexicon.PLACE_SUFFIXES):
            return _TITLE_ONLY.fullmatch(value) is not None
        return len(value) - surname <= 2 or _TITLE_ONLY.fullmatch(value) is not None
    if _LATIN_NAME.fullmatch(value):
        return not any(
            part in lexicon.ENGLISH_NOT_NAMES or part.casefold() in lexicon.ROLE_WORDS
            for part in _NAME_PARTS.split(value)
        )
    return False


class DialogueRedactor:
    """Redacts the texts of one dialogue; one placeholder per value ([PHONE_1] each time the
    same number comes back, whatever its spelling), numbered by type in order of appearance.

    `known_names`: names of the people in the dialogue (speakers, metadata); they are redacted
    wherever they occur, beside the names the detectors find."""

    def __init__(self, *, known_names: Iterable[str] = ()) -> None:
        self.counts: Counter[str] = Counter()
        self._placeholders: dict[tuple[str, str], str] = {}
        self._next: Counter[str] = Counter()
        self._known: list[str] = []
        self._known_re: re.Pattern[str] | None = None
        # Normalised texts in which the detectors found nothing (with the names known now):
        # speakers ("客服", "customer") and short replies come back in every turn.
        self._clean: set[str] = set()
        self.add_known_names(known_names)

    def add_known_names(self, names: Iterable[str]) -> None:
        normalised = (normalize(n) for n in names if n)
        added = [n.strip() for n in normalised if looks_like_name(n)]
        if added:
            self._known = sorted(set(self._known) | set(added))
            self._known_re = known_names_pattern(self._known)
            self._clean.clear()

    def reserve(self, text: str) -> None:
        """Numbered placeholders already in `text` ([PHONE_3]) are not given out again."""
        for kind, number in NUMBERED_PLACEHOLDER_RE.findall(text):
            self._next[kind] = max(self._next[kind], int(number))

    def placeholder(self, type_: str, key: str) -> str:
        slot = (type_, key)
        if slot not in self._placeholders:
            self._next[type_] += 1
            self._placeholders[slot] = f"[{type_}_{self._next[type_]}]"
        return self._placeholders[slot]

    def spans(self, text: str) -> list[Span]:
        """What would be redacted in normalised `text` (no placeholders given out)."""
        return find_spans(text, self._known_re)

    def redact(self, text: str) -> str:
        text = normalize(text)
        self.reserve(text)
        if text in self._clean:
            return text
        for attempt in range(MAX_PASSES):
            spans = self.spans(text)
            if not spans:
                if not attempt:
                    self._clean.add(text)
                break
            parts = []
            position = 0
            for span in spans:
                parts.append(text[position : span.cut_start])
                parts.append(self.placeholder(span.type, span.key))
                position = span.cut_end
                self.counts[span.type] += 1
            parts.append(text[position:])
            text = "".join(parts)
        return text

    def redact_value(self, value: Any) -> Any:
        """Strings redacted; lists and objects walked; numbers redacted as text when that
        changes them (a phone number stored as a number); the rest kept."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            redacted = self.redact(str(value))
            return value if redacted == str(value) else redacted
        if isinstance(value, list):
            return [self.redact_value(item) for item in value]
        if isinstance(value, dict):
            return {key: self.redact_value(item) for key, item in value.items()}
        return value


def residual_findings(text: str, *, known_names: Iterable[str] = ()) -> list[Span]:
    """The second scan: what the detectors still find in `text` (empty after redaction)."""
    redactor = DialogueRedactor(known_names=known_names)
    return redactor.spans(normalize(text))


def _name_values(metadata: Any) -> list[str]:
    """Short text values of name-like keys, anywhere in the metadata."""
    found: list[str] = []
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            if isinstance(value, str) and _NAME_KEY.search(str(key)) and len(value) <= 40:
                found.append(value)
            else:
                found.extend(_name_values(value))
    elif isinstance(metadata, list):
        for item in metadata:
            found.extend(_name_values(item))
    return found


def _redact_metadata(redactor: DialogueRedactor, metadata: Any) -> Any:
    if isinstance(metadata, dict):
        out = {}
        for key, value in metadata.items():
            redacted = _redact_metadata(redactor, value)
            if (
                isinstance(value, str)
                and _NAME_KEY.search(str(key))
                and redacted == normalize(value)
                and looks_like_name(normalize(value))
            ):
                redacted = redactor.placeholder("NAME", normalize(value).strip())
                redactor.counts["NAME"] += 1
            out[key] = redacted
        return out
    if isinstance(metadata, list):
        return [_redact_metadata(redactor, item) for item in metadata]
    return redactor.redact_value(metadata)


KEPT = ("id", "scene", "source")


def redact_dialogue(
    dialogue: dict[str, Any], *, redact_id: bool = False
) -> tuple[dict[str, Any], Counter[str]]:
    """A redacted copy of a dialogue in the import schema, and what was redacted, by type.

    Redacted: every turn's text and speaker (and other turn fields but its role), the speakers
    in "roles", "metadata" and any other top-level field; kept as they are: scene, source, the
    turns' roles, and the id unless `redact_id` (the import's: "13812345678-张伟-0412" becomes
    "[PHONE_1]-[NAME_1]-0412", with the placeholders of the texts). Speakers and metadata names
    (customer_name, 经纪人 ...) that look like person names are redacted wherever they occur in
    the texts."""
    turns = dialogue.get("turns") or []
    roles = dialogue.get("roles") or {}
    metadata = dialogue.get("metadata")
    names: list[str] = []
    for turn in turns:
        if isinstance(turn, dict) and isinstance(turn.get("speaker"), str):
            names.append(turn["speaker"])
    if isinstance(roles, dict):
        names.extend(k for k in roles if isinstance(k, str))
    names.extend(_name_values(metadata))
    names.extend(
        _name_values({k: v for k, v in dialogue.items() if k not in (*KEPT, "turns", "roles")})
    )
    redactor = DialogueRedactor(known_names=names)
    for text in _strings(dialogue):
        if "[" in text or "［" in text:  # a numbered placeholder needs one (after normalising)
            redactor.reserve(normalize(text))

    out: dict[str, Any] = {}
    if redact_id and isinstance(dialogue.get("id"), str | int):
        # First, so that its placeholders are numbered from the id alone: the same id gets the
        # same redacted id in any dialogue, and the texts then share its placeholders.
        out["id"] = redactor.redact_value(dialogue["id"])
    for key, value in dialogue.items():
        if key in out:
            continue
        if key in KEPT:
            plain = isinstance(value, str | int | float | None)
            out[key] = value if plain else copy.deepcopy(value)
        elif key == "turns" and isinstance(value, list):
            out[key] = [_redact_turn(redactor, turn) for turn in value]
        elif key == "roles" and isinstance(value, dict):
            out[key] = {
                (redactor.redact(k) if isinstance(k, str) else k): v for k, v in value.items()
            }
        else:
            out[key] = _redact_metadata(redactor, value)
    return out, Counter({k: v for k, v in redactor.counts.items() if v})


def _redact_turn(redactor: DialogueRedactor, turn: Any) -> Any:
    if not isinstance(turn, dict):
        return redactor.redact_value(turn)
    return {
        key: (value if key == "role" else redactor.redact_value(value))
        for key, value in turn.items()
    }


def _strings(value: Any) -> list[str]:
    """Every string value inside `value` (not the keys), in no particular order."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


__all__ = [
    "TYPES",
    "DialogueRedactor",
    "PLACEHOLDER_RE",
    "looks_like_name",
    "redact_dialogue",
    "residual_findings",
]
