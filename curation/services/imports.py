"""Dialogue imports: validate everything, redact before storing, publish all at once.

1. import_start (the request): checks the size and format, moves the upload into a private file
   of IMPORT_UPLOAD_DIR (never served; renamed, not copied, when the upload handler streamed it
   there) and creates a job of kind "dialogues.import".
2. _prepare (a worker): decodes the file (UTF-8 with or without BOM, else GB18030/GBK converted),
   finds every dialogue with its line, and cuts them into chunk files, one job item each.
3. _import_chunk (workers, in parallel, with the progress bar): validates each dialogue against
   the schema and the project's taxonomy, redacts personal data (its id too), and stages the
   redacted dialogue; rejected ones are reported with their line, field and reason.
4. _finish (whoever settles the last item): with problems and no --partial, nothing is stored;
   otherwise all staged dialogues are published in one transaction with bulk inserts, exact
   duplicates (content hash after normalisation) skipped and counted.

The upload and chunk files are deleted on every path: by _finish (however it ends), by _prepare
when it fails, and by `import_cleanup`, the kind's `cleanup` hook, which the job engine calls
when a job ends any other way (a crash, cancellation). No raw text outlives the import.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.move import file_move_safe
from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from curation import importing, job_kinds
from curation.models import (
    Dialogue,
    DialogueStage,
    Job,
    JobItem,
    Project,
    Scene,
    ServiceRole,
    SourceType,
)
from curation.redaction import normalize, redact_dialogue
from curation.services.audit import audit_record
from curation.services.jobs import job_create

logger = logging.getLogger(__name__)

KIND = "dialogues.import"
CHUNK = 500
MAX_REPORTED = 1000
PUBLISH_BATCH = 2000


def _upload_dir() -> Path:
    path = Path(settings.IMPORT_UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _size(upload: File | Path | bytes) -> int:
    if isinstance(upload, bytes):
        return len(upload)
    if isinstance(upload, Path):
        return upload.stat().st_size
    return upload.size


def _head(upload: File | Path | bytes, size: int = 65536) -> bytes:
    """The first bytes of the upload (to tell an empty file), without reading the rest."""
    if isinstance(upload, bytes):
        return upload[:size]
    if isinstance(upload, Path):
        with upload.open("rb") as opened:
            return opened.read(size)
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def _store(upload: File | Path | bytes, path: Path) -> None:
    """Put the upload at `path` (mode 0600): a temporary upload file is renamed (the upload
    handler writes it in IMPORT_UPLOAD_DIR, so it is never copied), a file of the command is
    copied by the kernel, anything else written chunk by chunk."""
    temporary = getattr(upload, "temporary_file_path", None)
    if temporary is not None:
        file_move_safe(temporary(), str(path))
        os.chmod(path, 0o600)
        return
    if isinstance(upload, Path):
        with upload.open("rb") as source, _private(path) as target:
            shutil.copyfileobj(source, target)
        return
    with _private(path) as target:
        if isinstance(upload, bytes):
            target.write(upload)
        else:
            for chunk in upload.chunks():
                target.write(chunk)


def _private(path: Path):
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def import_start(
    *,
    project: Project,
    filename: str,
    actor,
    upload: File | Path | None = None,
    data: bytes | None = None,
    fmt: str = "",
    partial: bool = False,
    dispatch: bool = True,
) -> Job:
    """Refuse what can be refused at once (size, format, an empty file), then import in the
    background. The file is `upload` (an uploaded file, moved; a Path, copied) or `data`; its
    size is checked before a byte of it is read."""
    source: File | Path | bytes = upload if upload is not None else (data or b"")
    size = _size(source)
    if size > settings.IMPORT_MAX_BYTES:
        raise ValidationError(
            {
                "file": _("The file has %(size)d bytes; the limit is %(limit)d.")
                % {"size": size, "limit": settings.IMPORT_MAX_BYTES}
            }
        )
    if not _head(source).strip() and size <= 65536:
        raise ValidationError({"file": _("The file is empty.")})
    try:
        fmt = fmt or importing.guess_format(filename)
    except importing.FileRefused as error:
        raise ValidationError({"format": str(error)}) from None
    if fmt not in importing.FORMATS:
        raise ValidationError(
            {"format": _("Use one of %(formats)s.") % {"formats": ", ".join(importing.FORMATS)}}
        )
    name = f"{uuid.uuid4().hex}.upload"
    path = _upload_dir() / name
    try:
        _store(source, path)
        job = job_create(
            project=project,
            kind=KIND,
            creator=actor,
            dispatch=dispatch,
            params={
                "upload": name,
                "format": fmt,
                "partial": bool(partial),
                "filename": importing.printable(Path(filename).name[:200]),
                "bytes": size,
            },
        )
        audit_record(
            actor=actor,
            action="dialogues.import",
            target=job,
            project=project,
            after={"filename": job.params["filename"], "format": fmt, "partial": bool(partial)},
        )
    except BaseException:
        path.unlink(missing_ok=True)  # no job will ever delete it
        raise
    return job


def _files(job: Job) -> tuple[Path, Path]:
    upload = _upload_dir() / Path(job.params["upload"]).name
    return upload, upload.with_suffix(".chunks")


def _prepare(job: Job) -> list[dict[str, Any]]:
    try:
        return _cut(job)
    except BaseException:
        import_cleanup(job)  # refused or crashed: nothing will read the files again
        raise


def _cut(job: Job) -> list[dict[str, Any]]:
    upload, chunk_dir = _files(job)
    try:
        raw = upload.read_bytes()
    except FileNotFoundError:
        raise job_kinds.ItemFailed(_("The uploaded file is gone; upload it again.")) from None
    try:
        text, encoding = importing.decode(raw)
        located, problems = importing.locate(text, job.params["format"])
    except importing.FileRefused as error:
        raise job_kinds.ItemFailed(str(error)) from None
    header = importing.csv_header(text) if job.params["format"] == "csv" else None
    chunk_dir.mkdir(mode=0o700, exist_ok=True)
    payloads = []
    for number, start in enumerate(range(0, len(located), CHUNK)):
        records = [
            {"line": where.line, "key": where.key, "parts": importing.slices(text, where)}
            for where in located[start : start + CHUNK]
        ]
        chunk = chunk_dir / f"{number:06d}.json"
        chunk.write_text(json.dumps({"header": header, "records": records}, ensure_ascii=False))
        payloads.append({"chunk": chunk.name, "first_line": records[0]["line"]})
    Job.objects.filter(pk=job.pk).update(
        result={
            "encoding": encoding,
            "dialogues_found": len(located),
            "file_problems": [{"line": p.line, "reason": p.reason} for p in problems],
        }
    )
    if not located and not problems:
        raise job_kinds.ItemFailed(_("The file holds no dialogue."))
    return payloads


def _lookup(model, project_id: int) -> dict[str, Any]:
    """Taxonomy terms of the project by key, English and Chinese name (case-insensitive)."""
    found: dict[str, Any] = {}
    for term in model.objects.filter(project_id=project_id, active=True):
        for name in (term.key, term.name_en, term.name_zh):
            found.setdefault(name.strip().casefold(), term.pk)
    return found


def _import_chunk(item: JobItem) -> dict[str, Any]:
    job = item.job
    _upload, chunk_dir = _files(job)
    try:
        chunk = json.loads((chunk_dir / Path(item.payload["chunk"]).name).read_text())
    except FileNotFoundError:
        raise job_kinds.ItemFailed(_("The import's working files are gone.")) from None
    fmt = job.params["format"]
    scenes = _lookup(Scene, job.project_id)
    sources = _lookup(SourceType, job.project_id)
    roles = _lookup(ServiceRole, job.project_id)
    problems: list[dict[str, Any]] = []
    staged: list[DialogueStage] = []
    redacted_total: Counter[str] = Counter()
    for record in chunk["records"]:
        line = record["line"]
        try:
            raw = importing.parse_record(fmt, record["parts"], chunk["header"], record["key"])
            clean = importing.clean_record(raw)
            scene_id = _term(scenes, clean.scene, _("scene"))
            source_id = _term(sources, clean.source, _("source type"))
        except ValueError as problem:
            problems.append(_problem(line, problem))
            continue
        redacted, counts = redact_dialogue(
            {"id": clean.external_id, "turns": clean.turns, "metadata": clean.metadata},
            redact_id=True,
        )
        turns = redacted["turns"]
        redacted_total.update(counts)
        staged.append(
            DialogueStage(
                job_id=job.pk,
                line=line,
                external_id=stored_id(
                    raw=clean.external_id, redacted=redacted["id"], project_id=job.project_id
                ),
                scene_id=scene_id,
                source_id=source_id,
                service_role_id=next(
                    (roles[t["role"].casefold()] for t in turns if t["role"].casefold() in roles),
                    None,
                ),
                turns=turns,
                metadata=redacted.get("metadata", {}),
                search_text="\n".join(t["text"] for t in turns),
                content_hash=importing.content_hash(turns),
                redaction_counts=dict(counts),
            )
        )
    lines = [record["line"] for record in chunk["records"]]
    with transaction.atomic():
        # A chunk run twice (its worker died) replaces what it staged the first time.
        DialogueStage.objects.filter(job_id=job.pk, line__in=lines).delete()
        DialogueStage.objects.bulk_create(staged, batch_size=1000)
    return {"staged": len(staged), "problems": problems, "redacted": dict(redacted_total)}


def _problem(line: int, problem: ValueError) -> dict[str, Any]:
    """A rejected dialogue as reports keep it; the field apart when one is to blame. Nothing
    unprintable is stored (PostgreSQL's JSON refuses U+0000)."""
    reported: dict[str, Any] = {"line": line, "reason": importing.printable(str(problem))}
    if isinstance(problem, importing.FieldProblem):
        reported["field"] = importing.printable(problem.field)
    return reported


ID_SUFFIX = 10  # hex digits of the suffix of a redacted id


def stored_id(*, raw: str, redacted: str, project_id: int) -> str:
    """The id a dialogue is stored under. An id in which redaction found personal data is
    stored redacted ("[PHONE_1]-[NAME_1]-0412"), followed by a keyed hash of the original id
    ("~3f9a0c21be"): two ids that redact alike stay apart, the same id imported again gets the
    same stored id (so a re-import meets it, as before), and the hash (HMAC with SECRET_KEY,
    per project) cannot be checked against guessed phone numbers by someone without the key."""
    if redacted == normalize(raw):
        return raw
    digest = salted_hmac("curation.imports.external_id", f"{project_id}:{raw}").hexdigest()
    room = Dialogue._meta.get_field("external_id").max_length - ID_SUFFIX - 1
    kept = redacted[:room]
    if kept.rfind("[") > kept.rfind("]"):  # never half a placeholder
        kept = kept[: kept.rfind("[")]
    return f"{kept}~{digest[:ID_SUFFIX]}"


def _term(lookup: dict[str, Any], value: str | None, what: str):
    if value is None:
        return None
    found = lookup.get(value.strip().casefold())
    if found is None:
        # The value itself is not repeated: reports are stored, and it was not redacted.
        raise ValueError(
            _("Unknown %(what)s: use a key or name from the project's taxonomy.") % {"what": what}
        )
    return found


def _finish(job: Job) -> None:
    outcome = dict(job.result or {})
    problems = list(outcome.get("file_problems", []))
    redacted: Counter[str] = Counter()
    for item in JobItem.objects.filter(job=job).only("status", "result", "error", "payload"):
        if item.status == JobItem.Status.DONE and item.result:
            problems.extend(item.result.get("problems", []))
            redacted.update(item.result.get("redacted", {}))
        elif item.status == JobItem.Status.FAILED:
            problems.append(
                {
                    "line": item.payload.get("first_line", 0),
                    "reason": _("This part of the file could not be read: %(e)s")
                    % {"e": item.error},
                }
            )
    problems.sort(key=lambda p: p["line"])
    partial = job.params.get("partial", False)
    imported = duplicates = 0
    try:
        if job.error_summary and not job.total:
            pass  # refused before any dialogue was read: the error summary says why
        elif problems and not partial:
            DialogueStage.objects.filter(job=job).delete()
        else:
            imported, duplicates, conflicts = _publish(job)
            problems.extend(conflicts)
    finally:
        _remove_files(job)  # even when publishing fails: the files are read no more
    outcome.update(
        {
            "imported": imported,
            "duplicates": duplicates,
            "rejected": len(problems),
            "stored": bool(imported),
            "redacted": dict(redacted),
            "problems": problems[:MAX_REPORTED],
            "problems_not_shown": max(0, len(problems) - MAX_REPORTED),
        }
    )
    summary = job.error_summary
    status = job.status
    if problems and not imported:
        status = Job.Status.FAILED  # the engine keeps this: the import stored nothing
        summary = _(
            "%(n)d problem(s) in the file: nothing was stored. Fix them, or import again with "
            "“Store the valid dialogues even if others are rejected”."
        ) % {"n": len(problems)}
    elif problems:
        summary = _("%(n)d dialogue(s) rejected; the valid ones were stored.") % {
            "n": len(problems)
        }
    elif not job.total:
        status = Job.Status.FAILED  # refused as a whole (encoding, empty): summary says why
    Job.objects.filter(pk=job.pk).update(result=outcome, status=status, error_summary=summary)


def _publish(job: Job) -> tuple[int, int, list[dict[str, Any]]]:
    """Move the staged dialogues into the project in one transaction, skipping exact
    duplicates (of the project or of this file) and refusing ids already taken."""
    imported = duplicates = 0
    conflicts: list[dict[str, Any]] = []
    seen_hashes: set[str] = set()
    seen_ids: set[str] = set()
    with transaction.atomic():
        stage = DialogueStage.objects.filter(job=job).order_by("line")
        last_line = -1
        while True:
            batch = list(stage.filter(line__gt=last_line)[:PUBLISH_BATCH])
            if not batch:
                break
            last_line = batch[-1].line
            hashes = {s.content_hash for s in batch}
            ids = {s.external_id for s in batch}
            existing_hashes = set(
                Dialogue.objects.filter(
                    project_id=job.project_id, content_hash__in=hashes
                ).values_list("content_hash", flat=True)
            )
            taken_ids = set(
                Dialogue.objects.filter(project_id=job.project_id, external_id__in=ids).values_list(
                    "external_id", flat=True
                )
            )
            rows = []
            for staged in batch:
                if staged.content_hash in existing_hashes or staged.content_hash in seen_hashes:
                    duplicates += 1
                    continue
                if staged.external_id in taken_ids or staged.external_id in seen_ids:
                    conflicts.append(
                        {
                            "line": staged.line,
                            "reason": _("The id “%(id)s” is already taken by another dialogue.")
                            % {"id": staged.external_id},
                        }
                    )
                    continue
                seen_hashes.add(staged.content_hash)
                seen_ids.add(staged.external_id)
                rows.append(
                    Dialogue(
                        project_id=job.project_id,
                        external_id=staged.external_id,
                        scene_id=staged.scene_id,
                        source_id=staged.source_id,
                        service_role_id=staged.service_role_id,
                        turns=staged.turns,
                        metadata=staged.metadata,
                        search_text=staged.search_text,
                        content_hash=staged.content_hash,
                        redaction_counts=staged.redaction_counts,
                        import_job_id=job.pk,
                    )
                )
            Dialogue.objects.bulk_create(rows, batch_size=1000)
            imported += len(rows)
        if conflicts and not job.params.get("partial"):
            transaction.set_rollback(True)  # all or nothing
            imported = duplicates = 0
    DialogueStage.objects.filter(job=job).delete()
    return imported, duplicates, conflicts


def _remove_files(job: Job) -> None:
    upload, chunk_dir = _files(job)
    upload.unlink(missing_ok=True)
    shutil.rmtree(chunk_dir, ignore_errors=True)


def import_cleanup(job: Job) -> None:
    """Delete what an import leaves behind: its upload and chunk files, and its staged rows
    unless the job may still publish them. Idempotent, and safe on a job that never started;
    the kind's `cleanup` hook, called by the job engine on every path that ends a job other
    than its finish (a crash in prepare, a chunk or the finish, cancellation)."""
    _remove_files(job)
    if Job.objects.filter(pk=job.pk).exclude(status=Job.Status.RUNNING).exists():
        DialogueStage.objects.filter(job_id=job.pk).delete()


_KIND_OPTIONS: dict[str, Any] = {"on_finished": _finish, "prepare": _prepare}
if "cleanup" in {f.name for f in dataclasses.fields(job_kinds.JobKind)}:
    # The engine's hook (issue 14): until it is there, _finish and _prepare clean up alone.
    _KIND_OPTIONS["cleanup"] = import_cleanup

job_kinds.register(job_kinds.JobKind(KIND, job_kinds.Queue.CPU, _import_chunk, **_KIND_OPTIONS))
