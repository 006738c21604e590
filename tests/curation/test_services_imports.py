"""Dialogue imports, run in this process (the worker tests cover the Celery path)."""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from curation.models import Dialogue, DialogueStage, Job, JobItem
from curation.services.imports import import_start
from curation.services.jobs import job_run_here

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


def dialogue(n: int, **extra) -> dict:
    return {
        "id": f"d-{n}",
        "scene": "buying",
        "source": "call-recording",
        "turns": [
            {
                "speaker": "王经理",
                "role": "real-estate-agent",
                "text": f"您好，这里是第{n}号房源的经纪人。",
            },
            {
                "speaker": "客户",
                "role": "customer",
                "text": f"我的电话是{PHONE}，想看第{n}套两居室。",
            },
        ],
        **extra,
    }


def jsonl(*records) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()


def run(team, data: bytes, filename="dialogues.jsonl", **options) -> Job:
    job = import_start(
        project=team.project,
        data=data,
        filename=filename,
        actor=team.lead,
        dispatch=False,
        **options,
    )
    return job_run_here(job_id=job.pk)


def test_a_clean_file_is_imported_redacted_and_counted(team, settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path
    job = run(team, jsonl(dialogue(1), dialogue(2), dialogue(3)))
    assert job.status == Job.Status.DONE, job.error_summary
    assert job.result["imported"] == 3 and job.result["rejected"] == 0
    assert job.result["redacted"]["PHONE"] == 3
    stored = Dialogue.objects.get(external_id="d-2")
    assert stored.scene.key == "buying" and stored.source.key == "call-recording"
    assert stored.service_role.key == "real-estate-agent"
    assert "[PHONE_1]" in stored.turns[1]["text"]
    assert stored.redaction_counts["PHONE"] == 1
    # The raw number survives nowhere: not in dialogues, staging, job rows or files.
    for row in Dialogue.objects.values_list("turns", "search_text", "metadata"):
        assert PHONE not in json.dumps(row, ensure_ascii=False)
    assert not DialogueStage.objects.exists()
    for item in JobItem.objects.filter(job=job):
        assert PHONE not in json.dumps([item.payload, item.result], ensure_ascii=False)
    assert list(tmp_path.iterdir()) == []


def test_a_bad_line_stores_nothing_and_is_reported(team):
    broken = jsonl(dialogue(1), {"id": "d-2", "turns": []}, dialogue(3)) + b'\n{"id": "d-4", '
    job = run(team, broken)
    assert job.status == Job.Status.FAILED
    assert "nothing was stored" in job.error_summary
    assert [(p["line"], p["reason"]) for p in job.result["problems"]] == [
        (2, "The dialogue needs a non-empty list of turns."),
        (4, "Invalid JSON: Expecting property name enclosed in double quotes at column 15."),
    ]
    assert not Dialogue.objects.exists()


def test_partial_stores_the_valid_dialogues(team):
    job = run(team, jsonl(dialogue(1), dialogue(2, scene="castle")), partial=True)
    assert job.status == Job.Status.DONE
    assert job.result["imported"] == 1 and job.result["rejected"] == 1
    assert job.result["problems"][0]["reason"].startswith("Unknown scene: use a key or name")
    assert "castle" not in json.dumps(job.result)
    assert list(Dialogue.objects.values_list("external_id", flat=True)) == ["d-1"]


def test_a_json_array_reports_line_numbers(team):
    text = json.dumps(
        [dialogue(1), {"id": "d-2", "turns": [{"speaker": "x", "text": "hi"}]}], indent=2
    )
    job = run(team, text.encode(), filename="dialogues.json")
    problem = job.result["problems"][0]
    assert problem["reason"] == "Turn 1 has no role: give it one, or map its speaker in roles."
    element_starts = [n for n, line in enumerate(text.splitlines(), start=1) if line == "  {"]
    assert problem["line"] == element_starts[1]


def test_csv_rows_are_grouped_by_dialogue_id(team):
    rows = (
        "dialogue_id,speaker,role,text,scene\n"
        "a,经纪人,agent,您好,renting\n"
        'b,经纪人,agent,"你好，\n请问租房吗",renting\n'
        "a,客户,customer,想租一居室,renting\n"
    )
    job = run(team, rows.encode(), filename="turns.csv")
    assert job.result["imported"] == 2
    a = Dialogue.objects.get(external_id="a")
    assert [t["text"] for t in a.turns] == ["您好", "想租一居室"]
    assert Dialogue.objects.get(external_id="b").turns[0]["text"] == "你好，\n请问租房吗"


def test_gb18030_is_converted_and_a_bom_is_read(team):
    job = run(team, jsonl(dialogue(1)).decode().encode("gb18030"))
    assert job.result["encoding"] == "gb18030" and job.result["imported"] == 1
    job = run(team, b"\xef\xbb\xbf" + jsonl(dialogue(2)))
    assert job.result["encoding"] == "utf-8" and job.result["imported"] == 1


def test_an_undecodable_file_is_refused_with_the_reason(team):
    job = run(team, b"\xff\xfe\x00\x00garbage\x81")
    assert job.status == Job.Status.FAILED
    assert "UTF-16" in job.error_summary or "neither UTF-8 nor GB18030" in job.error_summary
    assert not Dialogue.objects.exists()


def test_exact_duplicates_are_skipped_and_counted(team):
    run(team, jsonl(dialogue(1)))
    same_content = dialogue(1, id="d-1-copy")
    spaced = dialogue(2)  # the same after normalisation: spacing and full-width digits
    spaced["turns"][0]["text"] = "  " + spaced["turns"][0]["text"].replace("2", "２") + " "
    job = run(team, jsonl(same_content, dialogue(2), spaced))
    assert job.result["imported"] == 1 and job.result["duplicates"] == 2


def test_a_taken_id_with_other_content_is_refused(team):
    run(team, jsonl(dialogue(1)))
    other = dialogue(9, id="d-1")
    job = run(team, jsonl(other, dialogue(5)))
    assert job.status == Job.Status.FAILED
    assert "already taken" in job.result["problems"][0]["reason"]
    assert Dialogue.objects.count() == 1


def test_size_limit_and_format_are_checked_at_once(team, settings):
    settings.IMPORT_MAX_BYTES = 10
    with pytest.raises(ValidationError) as error:
        import_start(
            project=team.project, data=jsonl(dialogue(1)), filename="x.jsonl", actor=team.lead
        )
    assert "limit is 10" in str(error.value)
    settings.IMPORT_MAX_BYTES = 10**6
    with pytest.raises(ValidationError):
        import_start(project=team.project, data=b"x", filename="x.txt", actor=team.lead)
    assert not Job.objects.exists()


def test_the_import_command_prints_counts_and_fails_on_errors(team, tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl(dialogue(1), dialogue(1, id="again")))
    out = io.StringIO()
    call_command("import_dialogues", str(good), project=team.project.slug, stdout=out)
    assert "imported=1 duplicate=1 rejected=0" in out.getvalue()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(jsonl(dialogue(3), {"id": "x"}))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_dialogues",
            str(bad),
            project=team.project.slug,
            stdout=io.StringIO(),
            stderr=err,
        )
    assert "line 2: The dialogue needs a non-empty list of turns." in err.getvalue()
    with pytest.raises(CommandError, match="No project"):
        call_command("import_dialogues", str(good), project="nope")


def test_the_import_screen_starts_a_job(team, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.IMPORT_UPLOAD_DIR = tmp_path
    client = team.client("lead")
    url = f"/p/{team.project.slug}/dialogues/import/"
    upload = SimpleUploadedFile("calls.jsonl", jsonl(dialogue(1)))
    response = client.post(url, {"file": upload, "partial": "on"})
    job = Job.objects.get(kind="dialogues.import")
    assert response.status_code == 302 and response.url.endswith(f"/jobs/{job.pk}/")
    assert job.params["partial"] is True and job.params["filename"] == "calls.jsonl"
    empty = client.post(url, {"file": SimpleUploadedFile("e.jsonl", b"")})
    assert empty.status_code == 400 and "The file is empty." in empty.content.decode()
    assert team.client("annotator").post(url, {"file": upload}).status_code == 403


def test_a_csv_without_its_columns_is_refused_with_the_reason(team):
    job = run(team, b"id,who,what\n1,a,b\n", filename="turns.csv")
    assert job.status == Job.Status.FAILED
    assert job.result["problems"][0]["line"] == 1
    assert "lacks the column(s): dialogue_id, speaker, text" in job.result["problems"][0]["reason"]
    assert "nothing was stored" in job.error_summary


def test_invalid_json_points_at_the_column(team):
    job = run(team, jsonl(dialogue(1)) + b'\n{"id": "d-2", "turns": [}')
    assert job.result["problems"][0]["reason"].endswith("at column 25.")


# --- ids are redacted like the texts ---------------------------------------------------------


def test_an_id_holding_personal_data_is_stored_redacted_and_kept_apart(team, settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path
    legacy = Dialogue.objects.create(  # stored before ids were redacted: never rewritten
        project=team.project, external_id="13900000000-李雷-0101", turns=[], content_hash="old"
    )
    first = dialogue(1, id="13812345678-张伟-0412")
    first["turns"][0]["speaker"] = "张伟"
    first["turns"][0]["text"] = "我是张伟，手机13812345678，想看房。"
    second = dialogue(2, id="13987654321-王芳-0412")  # redacts to the same text as first's
    second["turns"] = [
        {"speaker": "客服", "role": "real-estate-agent", "text": "您好，请问有什么可以帮您？"},
        {"speaker": "客户", "role": "customer", "text": "想看第2套两居室。"},
    ]
    plain = dialogue(3, id="CALL-20240412-0001")  # nothing personal: kept as it is
    job = run(team, jsonl(first, second, plain))
    assert job.status == Job.Status.DONE, job.result
    ids = {d.external_id for d in Dialogue.objects.exclude(pk=legacy.pk)}
    assert "CALL-20240412-0001" in ids
    redacted = sorted(i for i in ids if i.startswith("[PHONE_1]-[NAME_1]-0412~"))
    assert len(redacted) == 2 and all(
        len(i) == len("[PHONE_1]-[NAME_1]-0412~") + 10 for i in redacted
    )
    stored = Dialogue.objects.get(turns__0__speaker="[NAME_1]")
    # The id's placeholders are the texts' placeholders.
    assert stored.turns[0]["text"] == "我是[NAME_1]，手机[PHONE_1]，想看房。"
    for raw in ("13812345678", "张伟", "13987654321", "王芳"):
        assert raw not in json.dumps(
            [list(Dialogue.objects.exclude(pk=legacy.pk).values()), job.result],
            ensure_ascii=False,
            default=str,
        )
    assert Dialogue.objects.get(pk=legacy.pk).external_id == "13900000000-李雷-0101"

    # The same id again gets the same stored id: other content under it is refused, by the
    # redacted id only.
    again = dialogue(7, id="13812345678-张伟-0412")
    job = run(team, jsonl(again))
    assert job.status == Job.Status.FAILED
    reason = job.result["problems"][0]["reason"]
    assert "already taken" in reason and "[PHONE_1]-[NAME_1]-0412~" in reason
    assert "13812345678" not in reason


def test_a_redacted_id_fits_the_column_and_keeps_whole_placeholders():
    from curation.services.imports import stored_id

    raw = "张伟" * 100
    redacted = "[NAME_1]" * 100
    stored = stored_id(raw=raw, redacted=redacted, project_id=1)
    assert len(stored) <= 200 and stored.rsplit("~", 1)[0].endswith("]")
    assert stored != stored_id(raw=raw, redacted=redacted, project_id=2)  # per project
