"""Reading dialogue files: encodings, the three formats, and the import schema. No Django here.

The import schema, one dialogue:

    {"id": "d-001",                       # required, text or number, at most 200 characters
     "scene": "buying",                   # optional: a scene of the project (key or name)
     "source": "call-recording",          # optional: a source type of the project (key or name)
     "roles": {"王经理": "agent"},         # optional: speaker -> role, for turns without a role
     "turns": [{"speaker": "王经理", "role": "agent", "text": "您好", "time": "10:02"}, ...],
     "metadata": {...}}                   # optional object; other top-level keys are kept in it

A turn needs a speaker and a non-empty text; its role comes from the turn, else from "roles",
else the speaker itself when that is "agent" or "customer".

Hostile input is refused by line and field, never by a crash ("turn 4 text: contains a NUL
character (U+0000)"): a value nested deeper than MAX_DEPTH levels is found by a scan of the
brackets before any decoding (Python's json module recurses, and 50,000 levels would exhaust the
stack); control characters other than tab and line feed, lone surrogates and noncharacters are
refused; carriage returns are the one thing changed silently (CRLF and CR become LF); a field
longer than its limit is refused; NaN, infinite and 100-digit numbers are not JSON this database
can store. Lines are split at LF only (U+2028 and the other separators are text).

Files: JSON Lines (one dialogue per line), a JSON array of dialogues, or CSV with one row per turn
(columns dialogue_id, speaker, role, text, and optionally time, scene, source, metadata) whose rows
are grouped by dialogue_id in file order. Records are located first (with their line numbers and
byte ranges), so that workers can each read their share of the file.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import hashlib
import io
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("jsonl", "json", "csv")
CSV_REQUIRED = ("dialogue_id", "speaker", "text")
CSV_COLUMNS = ("dialogue_id", "speaker", "role", "text", "time", "scene", "source", "metadata")
MAX_TURNS = 2000
MAX_TEXT = 20000
MAX_SHORT = 200  # id, speaker, role, time, scene, source, a speaker or role of "roles"
MAX_METADATA = 100_000  # characters of the metadata written as JSON
MAX_DEPTH = 32  # levels of nesting of one field's value (metadata)
MAX_DIGITS = 100  # of a JSON number
BASIC_ROLES = ("agent", "customer")


class FileRefused(ValueError):
    """The whole file is refused (encoding, format, size); the message says why."""


class FieldProblem(ValueError):
    """One field of a dialogue is refused: "turn 4 text: contains a NUL character (U+0000)"."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass
class Located:
    """Where one dialogue sits in the file: its first line and byte ranges (CSV: one per row)."""

    line: int
    ranges: list[tuple[int, int]]
    key: str = ""  # CSV: the dialogue id


@dataclass
class Problem:
    line: int
    reason: str


@dataclass
class CleanDialogue:
    external_id: str
    scene: str | None
    source: str | None
    turns: list[dict[str, Any]]
    metadata: dict[str, Any] = field(default_factory=dict)


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read in: UTF-8 (with or without BOM), else GB18030
    (which covers GBK and GB2312), converted to Unicode; anything else is refused."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = error
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRefused("The file is UTF-16; save it as UTF-8.")
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise FileRefused(
            f"The file is neither UTF-8 nor GB18030/GBK: undecodable byte "
            f"0x{data[utf8_error.start]:02x} at byte {utf8_error.start}."
        ) from None


def guess_format(filename: str) -> str:
    name = filename.lower()
    for suffix, fmt in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".csv", "csv"),
    ):
        if name.endswith(suffix):
            return fmt
    raise FileRefused("Cannot tell the format from the file name; choose jsonl, json or csv.")


def locate(text: str, fmt: str) -> tuple[list[Located], list[Problem]]:
    """Find every dialogue of the file; file-level problems (bad JSON array, missing CSV
    columns) come back as problems with their line numbers."""
    if fmt == "jsonl":
        return _locate_jsonl(text), []
    if fmt == "json":
        return _locate_json(text)
    if fmt == "csv":
        return _locate_csv(text)
    raise FileRefused(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")


def _lines(text: str) -> list[str]:
    """The lines of `text` with their ends, split at LF only: str.splitlines also splits at
    U+2028, U+0085, form feed ..., which are text inside a JSON string or a quoted CSV cell."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _locate_jsonl(text: str) -> list[Located]:
    found = []
    position = 0
    for number, line in enumerate(_lines(text), start=1):
        if line.strip():
            found.append(Located(line=number, ranges=[(position, position + len(line))]))
        position += len(line)
    return found


def _line_at(text: str, position: int, starts: list[int]) -> int:
    return bisect.bisect_right(starts, position)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    index = text.find("\n")
    while index != -1:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    return starts


def _locate_json(text: str) -> tuple[list[Located], list[Problem]]:
    decoder = _decoder()
    starts = _line_starts(text)
    position = len(text) - len(text.lstrip())
    if not text[position : position + 1] == "[":
        return [], [
            Problem(
                _line_at(text, position, starts),
                "A JSON file must hold an array [...] of dialogues.",
            )
        ]
    position += 1
    found: list[Located] = []
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text):
            return found, [Problem(len(starts), "The JSON array is not closed with ].")]
        if text[position] == "]":
            return found, []
        end, too_deep = _nesting(text, position) if text[position] in "[{" else (None, None)
        if too_deep is None:
            # Shallow enough for the json module: it checks the syntax here as before.
            try:
                _value, end = decoder.raw_decode(text, position)
            except json.JSONDecodeError as error:
                line = _line_at(text, error.pos, starts)
                return found, [
                    Problem(
                        line, f"Invalid JSON: {error.msg}; nothing after this point can be read."
                    )
                ]
            except ValueError as error:  # a number PostgreSQL cannot store: its line says
                if end is None:
                    return found, [Problem(_line_at(text, position, starts), str(error))]
        elif end is None:
            return found, [Problem(len(starts), "The JSON array is not closed with ].")]
        # A value too deep is located by its brackets; reading it reports the field.
        found.append(Located(line=_line_at(text, position, starts), ranges=[(position, end)]))
        position = end


def _locate_csv(text: str) -> tuple[list[Located], list[Problem]]:
    lines = _lines(text)
    if not lines:
        return [], []
    starts: list[int] = []

    def feed():
        position = 0
        for line in lines:
            starts.append(position)
            position += len(line)
            yield line

    reader = csv.reader(feed(), strict=True)
    try:
        columns = [c.strip() for c in next(reader)]
    except csv.Error as error:
        return [], [Problem(1, f"Invalid CSV header: {printable(str(error))}.")]
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if missing:
        return [], [Problem(1, f"The CSV header lacks the column(s): {', '.join(missing)}.")]
    unknown = [printable(c[:MAX_SHORT]) for c in columns if c not in CSV_COLUMNS]
    if unknown:
        allowed = ", ".join(CSV_COLUMNS)
        return [], [Problem(1, f"Unknown CSV column(s): {', '.join(unknown)}; allowed: {allowed}.")]
    id_index = columns.index("dialogue_id")
    groups: dict[str, Located] = {}
    problems: list[Problem] = []
    read_up_to = reader.line_num
    while True:
        first_line = read_up_to + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(
                Problem(
                    first_line,
                    f"Invalid CSV: {printable(str(error))}; nothing after this point can be read.",
                )
            )
            break
        read_up_to = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problems.append(
                Problem(
                    first_line, f"The row has {len(row)} fields; the header has {len(columns)}."
                )
            )
            continue
        key = row[id_index].strip()
        if not key:
            problems.append(Problem(first_line, "The row has no dialogue_id."))
            continue
        end = starts[read_up_to - 1] + len(lines[read_up_to - 1])
        group = groups.setdefault(key, Located(line=first_line, ranges=[], key=key))
        group.ranges.append((starts[first_line - 1], end))
    return list(groups.values()), problems


def slices(text: str, located: Located) -> list[str]:
    """The text of one located dialogue (CSV: its rows)."""
    return [text[start:end] for start, end in located.ranges]


def parse_record(fmt: str, parts: list[str], header: list[str] | None = None, key: str = "") -> Any:
    """The raw record of one dialogue from its text: the object for the JSON formats; for
    CSV, the dialogue assembled from its rows. Raises ValueError with a reason (FieldProblem
    when one field is to blame)."""
    if fmt in ("jsonl", "json"):
        text = parts[0].rstrip("\r\n")
        if text.lstrip()[:1] == "[":  # never decoded: it may be nested arbitrarily deep
            raise ValueError("A dialogue must be an object, not list.")
        return loads_bounded(text, record=True)
    if header is None:
        raise ValueError("The CSV header is missing.")
    turns, first = [], None
    for part in parts:
        try:
            cells = next(csv.reader(io.StringIO(part)))
        except (csv.Error, StopIteration) as error:
            raise ValueError(f"Invalid CSV: {printable(str(error))}.") from None
        row = dict(zip(header, cells, strict=False))
        first = first or row
        turn = {"speaker": row.get("speaker", ""), "text": row.get("text", "")}
        if row.get("role"):
            turn["role"] = row["role"]
        if row.get("time"):
            turn["time"] = row["time"]
        turns.append(turn)
    record: dict[str, Any] = {"id": key, "turns": turns}
    for column in ("scene", "source"):
        if first and first.get(column):
            record[column] = first[column]
    if first and first.get("metadata"):
        record["metadata"] = loads_bounded(first["metadata"], name="metadata")
    return record


# One token of JSON's structure: a string (a key when a colon follows), a bracket or a comma.
# The string pattern is the "unrolled loop" form, linear on long texts.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[\[\]{},]')


def _nesting(text: str, start: int, limit: int = 1 + MAX_DEPTH) -> tuple[int | None, list | None]:
    """Walk the brackets of the JSON value that opens at `start` without decoding it: where
    it ends (None: it never closes) and, if it nests deeper than `limit` containers, the path
    to the container that went too deep (object keys and list indexes, the first levels only).

    Strings are skipped as the json module reads them, so no bracket hidden in a string counts
    and none the json module would count is missed; invalid JSON may count too deep, never
    too shallow. Linear, no recursion."""
    path: list[Any] = []  # per open container: its current key (object) or index (list)
    kinds: list[str] = []
    too_deep = None
    for match in _TOKENS.finditer(text, start):
        token = match.group()
        char = token[0]
        if char == '"':
            if match.group(1) and kinds and kinds[-1] == "{" and len(kinds) <= 3:
                path[-1] = token[1 : token.rindex('"')]
        elif char == ",":
            if kinds and kinds[-1] == "[":
                path[-1] += 1
        elif char in "[{":
            kinds.append(char)
            path.append(0 if char == "[" else None)
            if too_deep is None and len(kinds) > limit:
                too_deep = path[:-1]
        else:
            if not kinds:
                return match.end(), too_deep
            kinds.pop()
            path.pop()
            if not kinds:
                return match.end(), too_deep
    return None, too_deep


def _path_name(path: list[Any], name: str) -> str:
    """The field a nesting path points into, as a report names it: "metadata", "turn 4 text"."""
    if name:
        return name
    if not path or not isinstance(path[0], str):
        return "the dialogue"
    top = printable(path[0][:MAX_SHORT])
    if top == "turns" and len(path) > 1 and isinstance(path[1], int):
        turn = f"turn {path[1] + 1}"
        if len(path) > 2 and isinstance(path[2], str):
            return f"{turn} {printable(path[2][:MAX_SHORT])}"
        return turn
    return top


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"Invalid JSON: the number {text[:40]} is out of range.")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"Invalid JSON: a number has more than {MAX_DIGITS} digits.")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"Invalid JSON: {name} is not a JSON number.")


def _decoder() -> json.JSONDecoder:
    """json's decoder, refusing what PostgreSQL's JSON cannot store (NaN, Infinity, numbers out
    of range), and reading control characters inside strings (strict=False) so that the field
    check names them rather than a syntax error."""
    return json.JSONDecoder(
        strict=False, parse_float=_finite, parse_int=_integer, parse_constant=_no_constant
    )


def loads_bounded(text: str, *, record: bool = False, name: str = "") -> Any:
    """A JSON value decoded only once its nesting is known to be bounded: a dialogue record
    (`record`: each field's value may nest MAX_DEPTH levels) or one field's value (`name`).
    Raises FieldProblem naming the field that is too deep, ValueError for invalid JSON."""
    start = len(text) - len(text.lstrip())
    if text[start : start + 1] in ("[", "{"):
        _end, too_deep = _nesting(text, start, limit=MAX_DEPTH + (1 if record else 0))
        if too_deep is not None:
            raise FieldProblem(
                _path_name(too_deep, name), f"is nested deeper than {MAX_DEPTH} levels"
            )
    try:
        return _decoder().decode(text)
    except json.JSONDecodeError as error:
        if name:
            raise FieldProblem(name, f"is not valid JSON ({error.msg})") from None
        raise ValueError(f"Invalid JSON: {error.msg} at column {error.colno}.") from None
    except ValueError as error:
        if name:
            raise FieldProblem(name, str(error).removeprefix("Invalid JSON: ")) from None
        raise


def csv_header(text: str) -> list[str]:
    first = text.split("\n", 1)[0]
    return [c.strip() for c in next(csv.reader([first]))]


# Refused anywhere in a dialogue: C0 controls but tab, LF and CR; DEL and the C1 controls; lone
# surrogates (a "\ud800" escape); noncharacters. CR is not refused: line ends become LF.
_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(1, 17))
    + "]"
)
_LINE_END = re.compile(r"\r\n?")


def printable(text: str) -> str:
    """`text` with each refused character written as its code point, for messages."""
    return _REFUSED.sub(lambda m: f"U+{ord(m.group()):04X}", text)


def _character_problem(char: str) -> str:
    code = ord(char)
    if code == 0:
        return "contains a NUL character (U+0000)"
    if 0xD800 <= code <= 0xDFFF:
        return f"contains a lone surrogate (U+{code:04X}), which is not a character"
    if code >= 0xFDD0:
        return f"contains the noncharacter U+{code:04X}"
    return f"contains the control character U+{code:04X}"


def _checked(value: str, name: str, limit: int | None = None) -> str:
    """`value` with its line ends made LF, or FieldProblem naming `name`."""
    if "\r" in value:
        value = _LINE_END.sub("\n", value)
    bad = _REFUSED.search(value)
    if bad:
        raise FieldProblem(name, _character_problem(bad.group()))
    if limit is not None and len(value) > limit:
        raise FieldProblem(name, f"is longer than {limit} characters (it has {len(value)})")
    return value


def _text_field(value: Any, name: str, limit: int = MAX_SHORT) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not {type(value).__name__}.")
    return _checked(_checked(value, name).strip(), name, limit)


def _label(key: str) -> str:
    """A key as a report names it; a key that is itself unprintable is not repeated."""
    return key if key.isprintable() and len(key) <= 60 else "a key"


def _checked_value(value: Any, name: str) -> Any:
    """A metadata value with its strings (keys included) checked, walked without recursion
    (its nesting is bounded, but a list may be long)."""
    root: list[Any] = [value]
    stack: list[tuple[Any, Any, str]] = [(root, 0, name)]
    while stack:
        container, key, where = stack.pop()
        item = container[key]
        if isinstance(item, str):
            container[key] = _checked(item, where, MAX_TEXT)
        elif isinstance(item, list):
            stack.extend((item, index, where) for index in range(len(item)))
        elif isinstance(item, dict):
            checked: dict[str, Any] = {}
            for child_key, child in item.items():
                _checked(child_key, f"{where} (a key)", MAX_SHORT)
                checked[_LINE_END.sub("\n", child_key)] = child
            container[key] = checked
            stack.extend((checked, k, where) for k in checked)
    return root[0]


def clean_record(record: Any) -> CleanDialogue:
    """Check one dialogue against the import schema; ValueError names the first problem
    (FieldProblem: the field and what is wrong with it)."""
    if not isinstance(record, dict):
        raise ValueError(f"A dialogue must be an object, not {type(record).__name__}.")
    external_id = _text_field(record.get("id"), "id")
    if not external_id:
        raise ValueError("The dialogue has no id.")
    scene = _text_field(record.get("scene"), "scene") or None
    source = _text_field(record.get("source"), "source") or None
    roles = record.get("roles") or {}
    if not isinstance(roles, dict) or not all(isinstance(v, str) for v in roles.values()):
        raise ValueError('roles must map each speaker to a role, e.g. {"王经理": "agent"}.')
    roles = {
        _text_field(speaker, "roles (a speaker)"): _text_field(role, "roles (a role)")
        for speaker, role in roles.items()
    }
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError("metadata must be an object.")
    for key in record:
        _checked(key, "a field name", MAX_SHORT)
    metadata = _checked_value(metadata, "metadata")
    extra = {
        k: _checked_value(v, _label(k))
        for k, v in record.items()
        if k not in {"id", "scene", "source", "roles", "turns", "metadata"}
    }
    metadata = {**extra, **metadata}
    size = len(json.dumps(metadata, ensure_ascii=False))
    if size > MAX_METADATA:
        raise FieldProblem(
            "metadata", f"is longer than {MAX_METADATA} characters as JSON (it has {size})"
        )
    turns = record.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ValueError("The dialogue needs a non-empty list of turns.")
    if len(turns) > MAX_TURNS:
        raise ValueError(f"The dialogue has {len(turns)} turns; at most {MAX_TURNS} are accepted.")
    clean_turns = []
    for number, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict):
            raise ValueError(f"Turn {number} must be an object with speaker and text.")
        speaker = _text_field(turn.get("speaker"), f"turn {number} speaker")
        text = _text_field(turn.get("text"), f"turn {number} text", MAX_TEXT)
        if not speaker:
            raise ValueError(f"Turn {number} has no speaker.")
        if not text:
            raise ValueError(f"Turn {number} has no text.")
        role = _text_field(turn.get("role"), f"turn {number} role") or roles.get(speaker, "")
        if not role and speaker.lower() in BASIC_ROLES:
            role = speaker.lower()
        if not role:
            raise ValueError(
                f"Turn {number} has no role: give it one, or map its speaker in roles."
            )
        clean = {"speaker": speaker, "role": role, "text": text}
        time = _text_field(turn.get("time"), f"turn {number} time")
        if time:
            clean["time"] = time
        clean_turns.append(clean)
    return CleanDialogue(external_id, scene, source, clean_turns, metadata)


def content_hash(turns: list[dict[str, Any]]) -> str:
    """Identity of a dialogue's content after normalisation (Unicode NFKC, spacing, case)."""
    digest = hashlib.sha256()
    for turn in turns:
        text = " ".join(unicodedata.normalize("NFKC", turn["text"]).split()).casefold()
        digest.update(f"{turn['role']}\x1f{text}\x1e".encode())
    return digest.hexdigest()
