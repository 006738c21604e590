"""The job engine: items are claimed with conditional updates, results written once.

A job's items are Celery messages that only name an item id; the database row is the truth.
An item is claimed by a conditional update (pending -> running, with a lease); its result is
written by another conditional update that only the claimer can make, in the same transaction
as the job's count. So an item counts exactly once even if its message is delivered twice or
its worker dies: `job_items_recover` hands the items of dead workers back to the queue.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import job_kinds
from curation.models import Job, JobItem, Project
from curation.services.audit import audit_record

logger = logging.getLogger(__name__)

S = Job.Status
I = JobItem.Status  # noqa: E741 - short alias keeps the conditional updates readable


def _lease() -> timedelta:
    # A claim outlives the task's hard time limit, so that a live task never loses its item.
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 30)


def job_create(
    *,
    project: Project,
    kind: str,
    creator,
    payloads: Iterable[dict[str, Any]] | None = None,
    params=None,
    dispatch: bool = True,
) -> Job:
    """Create a job with one item per payload (or, for a kind that prepares its own items, none
    yet); it is sent to workers on commit."""
    try:
        job_kind = job_kinds.get(kind)
    except LookupError as error:
        raise ValidationError({"kind": str(error)}) from None
    if payloads is None and job_kind.prepare is None:
        raise ValidationError({"payloads": f"Job kind {kind} needs its items."})
    with transaction.atomic():
        job = Job.objects.create(
            project=project, kind=kind, params=params or {}, created_by=creator, total=0
        )
        items = [JobItem(job=job, seq=n, payload=p) for n, p in enumerate(payloads or [])]
        JobItem.objects.bulk_create(items, batch_size=1000)
        Job.objects.filter(pk=job.pk).update(total=len(items))
        job.total = len(items)
        if not items and job_kind.prepare is None:
            Job.objects.filter(pk=job.pk).update(status=S.DONE, finished_at=timezone.now())
            job.status = S.DONE
        elif dispatch:
            from curation.tasks import job_start, send

            job_id = job.pk
            transaction.on_commit(
                lambda: send(job_start, args=[job_id], queue=job_kinds.Queue.DEFAULT)
            )
    return job


def job_start(*, job_id: int, enqueue: bool = True) -> int:
    """Mark the job running (preparing its items first if its kind does) and send every
    pending item to its queue. Returns the number of items sent."""
    now = timezone.now()
    if not Job.objects.filter(pk=job_id, status=S.QUEUED).update(
        status=S.RUNNING, started_at=now, progressed_at=now
    ):
        return 0
    job = Job.objects.get(pk=job_id)
    kind = job_kinds.get(job.kind)
    if kind.prepare is not None and not JobItem.objects.filter(job=job).exists():
        try:
            payloads = kind.prepare(job)
        except job_kinds.ItemFailed as failure:
            # Closed like any job: on_finished first, then the status, so that "failed" is
            # never shown before the job's result is written.
            Job.objects.filter(pk=job_id).update(
                error_summary=str(failure)[:500], finished_at=timezone.now()
            )
            if kind.on_finished:
                kind.on_finished(Job.objects.get(pk=job_id))
            Job.objects.filter(pk=job_id).update(status=S.FAILED)
            return 0
        JobItem.objects.bulk_create(
            [JobItem(job=job, seq=n, payload=p) for n, p in enumerate(payloads)], batch_size=1000
        )
        Job.objects.filter(pk=job_id).update(total=len(payloads))
        if not payloads:
            _finish_if_complete(job_id)
            return 0
    if not enqueue:
        return 0
    return _enqueue(job, JobItem.objects.filter(job=job, status=I.PENDING))


def job_run_here(*, job_id: int) -> Job:
    """Run a job created with dispatch=False in this process, item by item (management
    commands use this: they print the outcome when it is done)."""
    job_start(job_id=job_id, enqueue=False)
    worker = f"local|{os.getpid()}"
    for item_id in JobItem.objects.filter(job_id=job_id, status=I.PENDING).values_list(
        "pk", flat=True
    ):
        job_item_execute(item_id=item_id, worker=worker)
    return Job.objects.get(pk=job_id)


def _enqueue(job: Job, items) -> int:
    from curation.tasks import job_item_run, send

    queue = job_kinds.get(job.kind).queue
    ids = list(items.order_by("seq").values_list("pk", flat=True))
    for item_id in ids:
        send(job_item_run, args=[item_id], queue=queue)
    return len(ids)


# The claim and the settling run on every item of every job, so they are single SQL statements
# (UPDATE ... RETURNING works on PostgreSQL and SQLite alike) rather than ORM read-modify-writes.
_CLAIM_SQL = """
    UPDATE curation_jobitem
       SET status = 'running', claimed_by = %s, lease_until = %s, started_at = %s,
           attempts = attempts + 1
     WHERE id = %s
       AND (status = 'pending' OR (status = 'running' AND lease_until < %s))
       AND EXISTS (SELECT 1 FROM curation_job
                    WHERE curation_job.id = curation_jobitem.job_id
                      AND curation_job.status = 'running')
    RETURNING job_id, seq, payload, attempts
"""
_SETTLE_ITEM_SQL = """
    UPDATE curation_jobitem
       SET status = %s, result = %s, error = %s, finished_at = %s, lease_until = NULL
     WHERE id = %s AND status = 'running' AND claimed_by = %s
"""
_COUNT_SQL = """
    UPDATE curation_job SET {counter} = {counter} + 1, progressed_at = %s
     WHERE id = %s
    RETURNING done_count + failed_count, total
"""

# A job's kind, parameters and project never change: each worker process reads them once.
_job_heads: dict[int, Job] = {}


def _job_head(job_id: int) -> Job:
    job = _job_heads.get(job_id)
    if job is None:
        job = (
            Job.objects.select_related("project")
            .only("kind", "params", "project__slug", "project__name")
            .get(pk=job_id)
        )
        if len(_job_heads) > 1000:
            _job_heads.clear()
        _job_heads[job_id] = job
    return job


def _json(value):
    return json.loads(value) if isinstance(value, str | bytes) else value


def _claim(item_id: int, worker: str) -> JobItem | None:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [worker, now + _lease(), now, item_id, now])
        row = cursor.fetchone()
    if row is None:
        return None
    job_id, seq, payload, attempts = row
    item = JobItem(
        pk=item_id,
        job_id=job_id,
        seq=seq,
        payload=_json(payload),
        attempts=attempts,
        status=I.RUNNING,
        claimed_by=worker,
        started_at=now,
    )
    item.job = _job_head(job_id)
    return item


def _settle(item: JobItem, worker: str, *, result=None, error: str = "") -> bool:
    """Write the item's outcome and count it, once; False if the claim was lost meanwhile."""
    now = timezone.now()
    status = I.FAILED if error else I.DONE
    counter = "failed_count" if error else "done_count"
    result_db = JobItem._meta.get_field("result").get_db_prep_save(result, connection)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SETTLE_ITEM_SQL, [status, result_db, error[:500], now, item.pk, worker])
        if cursor.rowcount != 1:
            return False
        cursor.execute(_COUNT_SQL.format(counter=counter), [now, item.job_id])
        settled, total = cursor.fetchone()
    if settled >= total:
        _finish_if_complete(item.job_id)
    return True


def _finish_if_complete(job_id: int) -> None:
    """Close a job whose items are all settled, once: the conditional update on finished_at
    picks one caller, which runs the kind's on_finished (an import publishes its dialogues)
    before the status says done, so nobody sees "done" before the work is."""
    now = timezone.now()
    complete = (
        Job.objects.filter(pk=job_id, status=S.RUNNING)
        .alias(settled=F("done_count") + F("failed_count"))
        .filter(settled__gte=F("total"))
    )
    if not complete.filter(finished_at__isnull=True).update(finished_at=now):
        return
    job = Job.objects.get(pk=job_id)
    kind = job_kinds.get(job.kind)
    if kind.on_finished:
        kind.on_finished(job)
        job.refresh_from_db()
    status = S.FAILED if job.total and job.failed_count == job.total else S.DONE
    summary = job.error_summary
    if job.failed_count and not summary:
        summary = _("%(n)d of %(total)d items failed.") % {
            "n": job.failed_count,
            "total": job.total,
        }
    if job.status != S.RUNNING:  # on_finished decided (an import that stored nothing)
        status = job.status
    Job.objects.filter(pk=job_id, status=S.RUNNING).update(status=status, error_summary=summary)


def job_item_execute(*, item_id: int, worker: str) -> bool:
    """Claim one item, run its kind's handler, record the outcome. False if not claimed."""
    item = _claim(item_id, worker)
    if item is None:
        return False
    kind = job_kinds.get(item.job.kind)
    try:
        result = kind.handle(item)
    except job_kinds.ItemFailed as failure:
        return _settle(item, worker, error=str(failure))
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        return _settle(item, worker, error=_("Took longer than %(s)d s.") % {"s": limit})
    except Exception as error:  # noqa: BLE001 - any bug fails the item, never the whole job
        logger.exception("job item %s failed", item_id)
        return _settle(
            item, worker, error=_("Internal error (%(kind)s).") % {"kind": type(error).__name__}
        )
    return _settle(item, worker, result=result)


def job_cancel(*, job: Job, actor) -> Job:
    """Stop a job: pending items are cancelled; items already running finish and count."""
    with transaction.atomic():
        if not Job.objects.filter(pk=job.pk, status__in=[S.QUEUED, S.RUNNING, S.PAUSED]).update(
            status=S.CANCELLED, finished_at=timezone.now()
        ):
            raise ValidationError(_("Only a queued, running or paused job can be cancelled."))
        JobItem.objects.filter(job=job, status=I.PENDING).update(status=I.CANCELLED)
        audit_record(actor=actor, action="job.cancel", target=job, project=job.project)
    job.refresh_from_db()
    return job


def job_pause(*, job: Job, actor) -> Job:
    if not Job.objects.filter(pk=job.pk, status__in=[S.QUEUED, S.RUNNING]).update(status=S.PAUSED):
        raise ValidationError(_("Only a queued or running job can be paused."))
    audit_record(actor=actor, action="job.pause", target=job, project=job.project)
    job.refresh_from_db()
    return job


def job_resume(*, job: Job, actor) -> Job:
    """Continue a paused or cancelled job: its unfinished items go back to the queue."""
    with transaction.atomic():
        if not Job.objects.filter(pk=job.pk, status__in=[S.PAUSED, S.CANCELLED]).update(
            status=S.RUNNING, finished_at=None
        ):
            raise ValidationError(_("Only a paused or cancelled job can be resumed."))
        JobItem.objects.filter(job=job, status=I.CANCELLED).update(status=I.PENDING)
        audit_record(actor=actor, action="job.resume", target=job, project=job.project)
        transaction.on_commit(
            lambda: _enqueue(job, JobItem.objects.filter(job=job, status=I.PENDING))
        )
    job.refresh_from_db()
    return job


def job_retry_failed(*, job: Job, actor) -> Job:
    """Send the failed items of a job through again."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status in (S.QUEUED, S.PAUSED, S.CANCELLED):
            raise ValidationError(_("Resume the job before retrying its failed items."))
        failed = JobItem.objects.filter(job=job, status=I.FAILED).update(status=I.PENDING, error="")
        if not failed:
            raise ValidationError(_("No item of this job failed."))
        Job.objects.filter(pk=job.pk).update(
            failed_count=F("failed_count") - failed,
            status=S.RUNNING,
            finished_at=None,
            error_summary="",
        )
        audit_record(
            actor=actor,
            action="job.retry_failed",
            target=job,
            project=job.project,
            after={"items": failed},
        )
        transaction.on_commit(
            lambda: _enqueue(job, JobItem.objects.filter(job=job, status=I.PENDING))
        )
    job.refresh_from_db()
    return job


def job_items_recover(*, live_workers: dict[str, set[int]], stall_seconds: float) -> int:
    """Put lost work back on the queue; returns the number of items sent again.

    live_workers maps each live Celery node name to the pids of its processes. A running item
    whose claimer is not among them (the worker was killed) or whose lease ran out is reset to
    pending. And a running job that made no progress for stall_seconds may have lost its queued
    messages (a broker restarted without persistence): its pending items are sent again. A
    duplicate message costs nothing: the claim lets only one through.
    """
    now = timezone.now()
    to_send: dict[int, set[int]] = {}
    running = JobItem.objects.filter(status=I.RUNNING, job__status=S.RUNNING).values_list(
        "pk", "claimed_by", "lease_until", "job_id"
    )
    for pk, claimed_by, lease_until, job_id in running:
        node, _sep, pid = claimed_by.rpartition("|")
        alive = node in live_workers and pid.isdigit() and int(pid) in live_workers[node]
        if alive and lease_until and lease_until > now:
            continue
        if JobItem.objects.filter(pk=pk, status=I.RUNNING, claimed_by=claimed_by).update(
            status=I.PENDING, claimed_by="", lease_until=None
        ):
            to_send.setdefault(job_id, set()).add(pk)
    cutoff = now - timedelta(seconds=stall_seconds)
    stalled = Job.objects.filter(status=S.RUNNING, progressed_at__lt=cutoff)
    for job_id in stalled.values_list("pk", flat=True):
        pending = JobItem.objects.filter(job_id=job_id, status=I.PENDING)
        to_send.setdefault(job_id, set()).update(pending.values_list("pk", flat=True))
        # Counts as progress, so that a slow job is not re-sent on every round.
        Job.objects.filter(pk=job_id).update(progressed_at=now)
    # A job whose closing step (on_finished) died with its worker: close it again.
    unclosed = Job.objects.filter(status=S.RUNNING, finished_at__lt=cutoff)
    for job_id in unclosed.values_list("pk", flat=True):
        if Job.objects.filter(pk=job_id, status=S.RUNNING, finished_at__lt=cutoff).update(
            finished_at=None
        ):
            logger.warning("closing job %s again", job_id)
            _finish_if_complete(job_id)
    sent = 0
    for job_id, ids in to_send.items():
        if not ids:
            continue
        job = Job.objects.get(pk=job_id)
        sent += _enqueue(job, JobItem.objects.filter(pk__in=ids, status=I.PENDING))
        logger.warning("sent %d items of job %s again", len(ids), job_id)
    return sent
