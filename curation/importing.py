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
import unicodedata
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("jsonl", "json", "csv")
CSV_REQUIRED = ("dialogue_id", "speaker", "text")
CSV_COLUMNS = ("dialogue_id", "speaker", "role", "text", "time", "scene", "source", "metadata")
MAX_TURNS = 2000
MAX_TEXT = 20000
BASIC_ROLES = ("agent", "customer")


class FileRefused(ValueError):
    """The whole file is refused (encoding, format, size); the message says why."""


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


def _locate_jsonl(text: str) -> list[Located]:
    found = []
    position = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
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
    decoder = json.JSONDecoder()
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
        try:
            _value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            line = _line_at(text, error.pos, starts)
            return found, [
                Problem(line, f"Invalid JSON: {error.msg}; nothing after this point can be read.")
            ]
        found.append(Located(line=_line_at(text, position, starts), ranges=[(position, end)]))
        position = end


def _locate_csv(text: str) -> tuple[list[Located], list[Problem]]:
    lines = text.splitlines(keepends=True)
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
    columns = [c.strip() for c in next(reader)]
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if missing:
        return [], [Problem(1, f"The CSV header lacks the column(s): {', '.join(missing)}.")]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
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
                Problem(first_line, f"Invalid CSV: {error}; nothing after this point can be read.")
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
    CSV, the dialogue assembled from its rows. Raises ValueError with a reason."""
    if fmt in ("jsonl", "json"):
        try:
            return json.loads(parts[0].rstrip("\r\n"))
        except json.JSONDecodeError as error:
            raise ValueError(f"Invalid JSON: {error.msg} at column {error.colno}.") from None
    if header is None:
        raise ValueError("The CSV header is missing.")
    turns, first = [], None
    for part in parts:
        row = dict(zip(header, next(csv.reader(io.StringIO(part))), strict=True))
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
        try:
            record["metadata"] = json.loads(first["metadata"])
        except json.JSONDecodeError:
            raise ValueError("The metadata column is not valid JSON.") from None
    return record


def csv_header(text: str) -> list[str]:
    first = text.split("\n", 1)[0]
    return [c.strip() for c in next(csv.reader([first]))]


def _text_field(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not {type(value).__name__}.")
    return value.strip()


def clean_record(record: Any) -> CleanDialogue:
    """Check one dialogue against the import schema; ValueError names the first problem."""
    if not isinstance(record, dict):
        raise ValueError(f"A dialogue must be an object, not {type(record).__name__}.")
    external_id = _text_field(record.get("id"), "id")
    if not external_id:
        raise ValueError("The dialogue has no id.")
    if len(external_id) > 200:
        raise ValueError("The id is longer than 200 characters.")
    scene = _text_field(record.get("scene"), "scene") or None
    source = _text_field(record.get("source"), "source") or None
    roles = record.get("roles") or {}
    if not isinstance(roles, dict) or not all(isinstance(v, str) for v in roles.values()):
        raise ValueError('roles must map each speaker to a role, e.g. {"王经理": "agent"}.')
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError("metadata must be an object.")
    extra = {
        k: v
        for k, v in record.items()
        if k not in {"id", "scene", "source", "roles", "turns", "metadata"}
    }
    metadata = {**extra, **metadata}
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
        text = _text_field(turn.get("text"), f"turn {number} text")
        if not speaker:
            raise ValueError(f"Turn {number} has no speaker.")
        if not text:
            raise ValueError(f"Turn {number} has no text.")
        if len(text) > MAX_TEXT:
            raise ValueError(f"Turn {number} is longer than {MAX_TEXT} characters.")
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
