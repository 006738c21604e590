"""Hostile import files: every bad dialogue is reported by its line and field, never as an
internal error, the valid ones around it can still be stored, and no path leaves the upload or
its chunk files behind. Valid lines are real CrossWOZ sessions (tests/support/corpus.py)."""

from __future__ import annotations

import contextlib
import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from curation import importing, job_kinds
from curation.models import Dialogue, DialogueStage, Job
from curation.services import imports
from curation.services.imports import KIND, import_cleanup, import_start
from curation.services.jobs import job_cancel, job_run_here
from tests.support.corpus import crosswoz

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


def real(n: int) -> dict:
    """The n-th CrossWOZ session in the import schema (its other fields kept as metadata)."""
    record = crosswoz()[n]
    return {
        "id": record["id"],
        "turns": [dict(t) for t in record["turns"]],
        "metadata": {"source_dataset": record["source_dataset"], "license": record["license"]},
    }


def line(record) -> str:
    return json.dumps(record, ensure_ascii=False)


def nested(depth: int, leaf: str = '"底"') -> str:
    return "[" * depth + leaf + "]" * depth


def run(team, data: bytes, filename: str = "calls.jsonl", **options) -> Job:
    job = import_start(
        project=team.project,
        data=data,
        filename=filename,
        actor=team.lead,
        dispatch=False,
        **options,
    )
    return job_run_here(job_id=job.pk)


def reported(job: Job) -> list[tuple[int, str]]:
    return [(p["line"], p["reason"]) for p in job.result["problems"]]


def test_a_value_nested_50000_levels_is_named_by_line_and_field(team, upload_dir):
    lines = [line(real(n)) for n in range(11)]
    deep = real(11)
    del deep["metadata"]
    lines.append(line(deep)[:-1] + ', "metadata": {"trace": ' + nested(50_000) + "}}")
    lines.append(line(real(12)))
    job = run(team, "\n".join(lines).encode(), partial=True)
    assert job.status == Job.Status.DONE, job.error_summary
    assert reported(job) == [(12, "metadata: is nested deeper than 32 levels")]
    assert job.result["problems"][0]["field"] == "metadata"
    assert "RecursionError" not in json.dumps(job.result)
    assert job.result["imported"] == 12
    assert list(upload_dir.iterdir()) == []


def test_32_levels_are_kept_and_33_refused(team):
    ok, too_deep = real(0), real(1)
    ok["metadata"]["path"] = json.loads(nested(31))  # the metadata object is level 1
    text = "\n".join([line(ok), line(too_deep)[:-1] + ', "tags": ' + nested(33) + "}"])
    job = run(team, text.encode(), partial=True)
    assert reported(job) == [(2, "tags: is nested deeper than 32 levels")]
    stored = Dialogue.objects.get(external_id=ok["id"]).metadata["path"]
    assert json.dumps(stored).count("[") == 31


def test_deep_values_in_a_turn_a_json_array_and_a_csv_column_are_named(team):
    turn_deep = real(2)
    text = line(turn_deep).replace('"text": "', '"text": ' + nested(40_000) + ', "x": "', 1)
    job = run(team, text.encode())
    assert reported(job) == [(1, "turn 1 text: is nested deeper than 32 levels")]

    array = "[\n" + line(real(3)) + ",\n" + nested(50_000, "{}") + ",\n" + line(real(4)) + "\n]"
    job = run(team, array.encode(), filename="calls.json", partial=True)
    assert reported(job) == [(3, "A dialogue must be an object, not list.")]
    assert job.result["imported"] == 2

    deep_cell = json.dumps({"k": json.loads(nested(20))})[:-1] + ', "z": ' + nested(9_000) + "}"
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["dialogue_id", "speaker", "role", "text", "metadata"])
    writer.writerow(["c-1", "客户", "customer", "想订北京的酒店", deep_cell])
    writer.writerow(["c-2", "客户", "customer", "有没有便宜的餐馆", ""])
    job = run(team, rows.getvalue().encode(), filename="turns.csv", partial=True)
    assert reported(job) == [(2, "metadata: is nested deeper than 32 levels")]
    assert job.result["imported"] == 1


def test_nul_bytes_are_named_by_line_turn_and_field(team, upload_dir):
    records = [real(5), real(6), real(7)]
    records[2]["turns"][3]["text"] = "我想订\x00一间双人房"
    data = "\n".join(line(r) for r in records).encode()
    assert b"\\u0000" in data  # JSON writes it escaped; a raw NUL byte is checked below
    job = run(team, data)
    assert job.status == Job.Status.FAILED
    assert reported(job) == [(3, "turn 4 text: contains a NUL character (U+0000)")]
    assert job.result["problems"][0]["field"] == "turn 4 text"
    assert not Dialogue.objects.exists()

    raw = data.replace(b"\\u0000", b"\x00")
    assert b"\x00" in raw
    job = run(team, raw)
    assert reported(job) == [(3, "turn 4 text: contains a NUL character (U+0000)")]

    path = upload_dir.parent / "calls.jsonl"
    path.write_bytes(raw)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_dialogues", str(path), project=team.project.slug, stdout=io.StringIO(),
            stderr=err,
        )  # fmt: skip
    assert "line 3, turn 4 text: contains a NUL character (U+0000)" in err.getvalue()
    assert list(upload_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("where", "value", "reason"),
    [
        ("speaker", "客户\x1b[31m", "turn 2 speaker: contains the control character U+001B"),
        ("text", "房间\x7f有窗户吗", "turn 2 text: contains the control character U+007F"),
        ("text", "价格\x85是多少", "turn 2 text: contains the control character U+0085"),
        (
            "text",
            "\ud83d半个表情",
            "turn 2 text: contains a lone surrogate (U+D83D), which is not a character",
        ),  # fmt: skip
        ("time", "10:02\ufffe", "turn 2 time: contains the noncharacter U+FFFE"),
        ("role", "c" * 201, "turn 2 role: is longer than 200 characters (it has 201)"),
        ("text", "长" * 20_001, "turn 2 text: is longer than 20000 characters (it has 20001)"),
    ],
)
def test_control_characters_surrogates_and_long_fields_are_refused(team, where, value, reason):
    record = real(8)
    record["turns"][1][where] = value
    job = run(team, json.dumps(record).encode())  # escaped: a lone surrogate has no UTF-8
    assert reported(job) == [(1, reason)]
    assert not Dialogue.objects.exists()


def test_ids_metadata_and_keys_are_checked_too(team):
    records = [real(n) for n in range(9, 14)]
    records[0]["id"] = "id-\x00-1"
    records[1]["metadata"]["note"] = ["正常", "\x07响铃"]
    records[2]["metadata"]["城\x01市"] = "北京"
    records[3]["metadata"]["blob"] = "长" * 100_001
    records[4]["id"] = "i" * 201
    job = run(team, "\n".join(line(r) for r in records).encode())
    assert reported(job) == [
        (1, "id: contains a NUL character (U+0000)"),
        (2, "metadata: contains the control character U+0007"),
        (3, "metadata (a key): contains the control character U+0001"),
        (4, "metadata: is longer than 20000 characters (it has 100001)"),
        (5, "id: is longer than 200 characters (it has 201)"),
    ]


def test_carriage_returns_become_line_feeds_and_tabs_and_separators_are_kept(team):
    record = real(14)
    record["turns"][0]["text"] = "第一行\r\n第二行\r第三行\t带制表符\u2028分隔符"
    record["turns"][1]["speaker"] = "agent\r\n"
    job = run(team, line(record).encode("utf-8"))
    assert job.status == Job.Status.DONE, job.result
    stored = Dialogue.objects.get()
    assert stored.turns[0]["text"] == "第一行\n第二行\n第三行\t带制表符\u2028分隔符"
    assert stored.turns[1]["speaker"] == "agent"

    # A raw U+2028 in a JSON Lines file is text, not a line break: line numbers stay right.
    separated = real(15)
    separated["turns"][0]["text"] += "\u2028下一段"
    raw = line(separated) + "\n" + line({"id": "x", "turns": []})
    assert "\u2028" in raw  # json.dumps leaves it raw
    job = run(team, raw.encode(), partial=True)
    assert reported(job) == [(2, "The dialogue needs a non-empty list of turns.")]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("NaN", "Invalid JSON: NaN is not a JSON number."),
        ("-Infinity", "Invalid JSON: -Infinity is not a JSON number."),
        ("1e400", "Invalid JSON: the number 1e400 is out of range."),
        ("9" * 101, "Invalid JSON: a number has more than 100 digits."),
    ],
)
def test_numbers_the_database_cannot_store_are_refused(team, value, reason):
    text = line(real(16))[:-1] + f', "score": {value}}}'
    job = run(team, (text + "\n" + line(real(17))).encode(), partial=True)
    assert reported(job) == [(1, reason)]
    assert job.result["imported"] == 1


def test_wrong_types_and_non_objects_are_still_named(team):
    bad_turn = real(18)
    bad_turn["turns"][2]["text"] = {"内容": "对象"}
    text = "\n".join(
        ['"just text"', line(bad_turn), nested(60_000), "[1, 2]", line({"id": ["x"], "turns": []})]
    )
    job = run(team, text.encode())
    assert reported(job) == [
        (1, "A dialogue must be an object, not str."),
        (2, "turn 3 text must be text, not dict."),
        (3, "A dialogue must be an object, not list."),
        (4, "A dialogue must be an object, not list."),
        (5, "id must be text, not list."),
    ]


def test_a_csv_with_nul_and_unprintable_columns_is_reported_storably(team):
    rows = "dialogue_id,speaker,role,text\nc-1,客户,customer,房间\x00多少钱\n"
    job = run(team, rows.encode(), filename="turns.csv")
    assert reported(job) == [(2, "turn 1 text: contains a NUL character (U+0000)")]
    header = "dialogue_id,speaker,text,ex\x00tra\nc-1,客户,你好,x\n"
    job = run(team, header.encode(), filename="turns.csv")
    assert "Unknown CSV column(s): exU+0000tra" in job.result["problems"][0]["reason"]


# --- every path ends with the files deleted ---------------------------------------------------


def started(team, data: bytes) -> Job:
    return import_start(
        project=team.project, data=data, filename="calls.jsonl", actor=team.lead, dispatch=False
    )


def test_files_are_deleted_when_preparing_crashes(team, upload_dir, monkeypatch):
    def broken(text, fmt):
        raise MemoryError("as if the file were too big for the worker")

    monkeypatch.setattr(importing, "locate", broken)
    job = started(team, line(real(19)).encode())
    assert len(list(upload_dir.iterdir())) == 1
    with contextlib.suppress(MemoryError):
        job_run_here(job_id=job.pk)
    assert list(upload_dir.iterdir()) == []


def test_files_are_deleted_when_a_chunk_or_the_publishing_crashes(team, upload_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("redaction bug")

    monkeypatch.setattr(imports, "redact_dialogue", broken)
    job = run(team, line(real(20)).encode())
    assert job.status == Job.Status.FAILED
    assert "could not be read: Internal error (RuntimeError)" in reported(job)[0][1]
    assert list(upload_dir.iterdir()) == []
    monkeypatch.undo()

    def failing_publish(job):
        raise RuntimeError("database went away")

    monkeypatch.setattr(imports, "_publish", failing_publish)
    with contextlib.suppress(RuntimeError):
        run(team, line(real(21)).encode())
    assert list(upload_dir.iterdir()) == []


def test_cleanup_deletes_a_cancelled_import_and_is_idempotent(team, upload_dir):
    job = started(team, line(real(22)).encode())
    chunks = upload_dir / job.params["upload"].replace(".upload", ".chunks")
    chunks.mkdir()
    (chunks / "000000.json").write_text("{}")
    DialogueStage.objects.create(
        job=job, line=1, external_id="staged", turns=[], content_hash="h", search_text=""
    )
    job_cancel(job=job, actor=team.lead)
    import_cleanup(job)
    assert list(upload_dir.iterdir()) == []
    assert not DialogueStage.objects.filter(job=job).exists()
    import_cleanup(job)  # twice, and on a job whose files never existed
    import_cleanup(Job.objects.create(project=team.project, kind=KIND, params={"upload": "x"}))


def test_the_engine_hook_is_the_imports_cleanup():
    kind = job_kinds.get(KIND)
    if not hasattr(kind, "cleanup"):
        pytest.skip("the job engine has no cleanup hook yet (issue 14, job engine)")
    assert kind.cleanup is import_cleanup
