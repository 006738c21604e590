"""The job engine: items are claimed with conditional updates, results written once.

A job's items are Celery messages that only name an item id; the database row is the truth.
An item is claimed by a conditional update (pending -> running, with a lease); its result is
written by another conditional update that only the claimer can make, in the same transaction
as the job's count. So an item counts exactly once even if its message is delivered twice or
its worker dies.

Liveness is decided by leases, never by asking workers: the process that runs an item (or
prepares a job's items) renews its short lease from a heartbeat thread while it works, so a
busy, briefly frozen or `--pool solo` worker keeps its work, and a dead one's lease runs out.
`job_items_recover` then hands expired items back to the queue, prepares again a job whose
preparer died, and starts a queued job whose start message was lost.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import job_kinds
from curation.models import Job, JobItem, Project
from curation.services.audit import audit_record

logger = logging.getLogger(__name__)

S = Job.Status
I = JobItem.Status  # noqa: E741 - short alias keeps the conditional updates readable


T = TypeVar("T")

# A lease is short and renewed by a heartbeat while its holder works (JOB_LEASE_SECONDS, 15 s by
# default): a holder that dies (SIGKILL, lost machine, hard time limit) loses its work within
# one lease, and a live one never does, however long its item takes.
DEFAULT_LEASE_SECONDS = 15.0
# A queued job whose start has not run this long after it was sent has its start sent again
# (its message was lost: the broker was down, or restarted without persistence).
START_GRACE_SECONDS = 10.0
# A lost database connection (PostgreSQL restarted, the connection terminated) is retried
# this many times with backoff; items are idempotent, so it is never an item's failure.
DB_RETRIES = 6
# An item whose worker was lost this many times (it may kill its worker) fails with a reason.
MAX_ATTEMPTS = 10


class QueueUnavailable(Exception):
    """The task queue (the Celery broker, Redis) cannot be reached: nothing was started. The
    API answers 503 and screens show the message (curation.middleware)."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "The task queue (Redis) is not reachable; nothing was started. "
                "Try again in a moment."
            )
        )


def lease_seconds() -> float:
    return float(getattr(settings, "JOB_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))


def _lease() -> timedelta:
    return timedelta(seconds=lease_seconds())


class _Heartbeat:
    """Renews the leases this process holds (items it runs, jobs whose items it prepares) from
    a daemon thread, which dies with the process: so does the renewal. One per process (a
    forked pool child starts its own)."""

    _SQL = {
        "item": "UPDATE curation_jobitem SET lease_until = %s"
        " WHERE id = ANY(%s) AND status = 'running' AND claimed_by = %s",
        "job": "UPDATE curation_job SET lease_until = %s"
        " WHERE id = ANY(%s) AND status = 'running' AND claimed_by = %s",
    }

    def __init__(self) -> None:
        self._pid = 0
        self._lock = threading.Lock()
        self._held: dict[tuple[str, int], tuple[str, float]] = {}
        self._wake = threading.Event()

    def hold(self, table: str, pk: int, worker: str) -> None:
        with self._lock:
            if self._pid != os.getpid():  # a fresh process: the parent's thread is not here
                self._pid = os.getpid()
                self._held = {}
                self._wake = threading.Event()
                threading.Thread(target=self._run, name="job-lease-heartbeat", daemon=True).start()
            self._held[(table, pk)] = (worker, time.monotonic())
        self._wake.set()  # the beat is timed from now: no lease waits for a sleep begun before

    def drop(self, table: str, pk: int) -> None:
        with self._lock:
            self._held.pop((table, pk), None)

    def _run(self) -> None:
        pid = os.getpid()
        while self._pid == pid:
            beat = lease_seconds() / 5
            self._wake.wait(beat)
            self._wake.clear()
            now = time.monotonic()
            with self._lock:
                # Work taken less than half a beat ago still has most of its first lease.
                due = [(key, worker) for key, (worker, since) in self._held.items()
                       if now - since >= beat / 2]  # fmt: skip
            if not due:
                continue
            try:
                self.renew(due)
            except Exception:  # noqa: BLE001 - the next beat tries again; the lease is the truth
                logger.warning("could not renew job leases", exc_info=True)
            finally:
                connection.close()  # this thread's own connection; never left open

    def renew(self, due: list[tuple[tuple[str, int], str]]) -> None:
        until = timezone.now() + _lease()
        groups: dict[tuple[str, str], list[int]] = {}
        for (table, pk), worker in due:
            groups.setdefault((table, worker), []).append(pk)
        with connection.cursor() as cursor:
            for (table, worker), pks in groups.items():
                if connection.vendor == "postgresql":
                    cursor.execute(self._SQL[table], [until, pks, worker])
                else:
                    model = JobItem if table == "item" else Job
                    model.objects.filter(pk__in=pks, status="running", claimed_by=worker).update(
                        lease_until=until
                    )


_heartbeat = _Heartbeat()


def _db_retry(what: str, action: Callable[[], T]) -> T:
    """Run `action`, retrying on a lost database connection (closed, then reopened) with
    backoff, DB_RETRIES times; the last error is raised. Inside a transaction nothing can be
    retried: the error goes up to whoever opened it."""
    for attempt in range(DB_RETRIES):
        try:
            return action()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or attempt == DB_RETRIES - 1:
                raise
            logger.warning("%s: database connection lost, retrying", what, exc_info=True)
            connection.close()
            time.sleep(random.uniform(0, min(5.0, 0.2 * 2**attempt)))
    raise AssertionError("unreachable")


def _broker_check() -> None:
    """Raise QueueUnavailable unless the broker answers now. Called before a job's rows are
    written, so that a job is not created (its transaction rolls back) while Redis is down."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL.startswith("redis"):
        return
    import redis

    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
    )
    try:
        client.ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        raise QueueUnavailable() from None
    finally:
        client.close()


def _send_start(job_id: int) -> None:
    """Send the job's start message. A broker that went down since the check is logged, not
    raised: the job is committed, and recovery starts a queued job whose start was lost."""
    from curation.tasks import job_start, send

    try:
        send(job_start, args=[job_id], queue=job_kinds.Queue.DEFAULT)
    except Exception:  # noqa: BLE001 - kombu/redis connection errors; recovery sends it again
        logger.warning("start of job %s not sent; recovery will send it", job_id, exc_info=True)


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
    yet); it is sent to workers on commit. While the task queue is down, QueueUnavailable is
    raised before anything is written (the caller's transaction writes nothing either)."""
    try:
        job_kind = job_kinds.get(kind)
    except LookupError as error:
        raise ValidationError({"kind": str(error)}) from None
    if payloads is None and job_kind.prepare is None:
        raise ValidationError({"payloads": f"Job kind {kind} needs its items."})
    if dispatch:
        _broker_check()
    with transaction.atomic():
        job = Job.objects.create(
            project=project,
            kind=kind,
            params=params or {},
            created_by=creator,
            total=0,
            sent_at=timezone.now() if dispatch else None,
        )
        items = [JobItem(job=job, seq=n, payload=p) for n, p in enumerate(payloads or [])]
        JobItem.objects.bulk_create(items, batch_size=1000)
        Job.objects.filter(pk=job.pk).update(total=len(items))
        job.total = len(items)
        if not items and job_kind.prepare is None:
            Job.objects.filter(pk=job.pk).update(status=S.DONE, finished_at=timezone.now())
            job.status = S.DONE
        elif dispatch:
            job_id = job.pk
            transaction.on_commit(lambda: _send_start(job_id))
    return job


def job_start(*, job_id: int, enqueue: bool = True, worker: str = "") -> int:
    """Mark the job running (preparing its items first if its kind does) and send every
    pending item to its queue. Returns the number of items sent.

    Preparation holds a lease on the job, renewed while it runs: if its worker dies, recovery
    puts the job back to queued and starts it again (prepare functions are idempotent). Any
    error while preparing ends the job failed, with a reason: its kind's on_finished runs, then
    its cleanup (an import's upload is deleted)."""
    worker = worker or f"local|{os.getpid()}"
    job = Job.objects.filter(pk=job_id, status=S.QUEUED).first()
    if job is None:
        return 0
    kind = job_kinds.get(job.kind)
    preparing = kind.prepare is not None and not JobItem.objects.filter(job_id=job_id).exists()
    now = timezone.now()
    lease = {"claimed_by": worker, "lease_until": now + _lease()} if preparing else {}
    if not Job.objects.filter(pk=job_id, status=S.QUEUED).update(
        status=S.RUNNING, started_at=Coalesce(F("started_at"), now), progressed_at=now, **lease
    ):
        return 0
    if preparing and not _prepare(job, kind, worker):
        return 0
    if not enqueue:
        return 0
    return _enqueue(job, JobItem.objects.filter(job=job, status=I.PENDING))


def _prepare(job: Job, kind: job_kinds.JobKind, worker: str) -> bool:
    """Make the job's items; False when there is nothing to send (failed, empty, or another
    preparer took over)."""
    _heartbeat.hold("job", job.pk, worker)
    try:
        payloads = _db_retry(f"preparing job {job.pk}", lambda: kind.prepare(job))
    except job_kinds.ItemFailed as failure:
        reason = str(failure)
        _db_retry("failing a job", lambda: _fail_job(job.pk, kind, reason, worker))
        return False
    except (OperationalError, InterfaceError):
        # The database is gone for longer than the retries: the lease runs out and recovery
        # prepares the job again once it is back.
        logger.exception("job %s: preparation lost its database", job.pk)
        return False
    except SoftTimeLimitExceeded:
        reason = _("Took longer than %(s)d s.") % {"s": settings.CELERY_TASK_SOFT_TIME_LIMIT}
        _db_retry("failing a job", lambda: _fail_job(job.pk, kind, reason, worker))
        return False
    except Exception as error:  # noqa: BLE001 - any error fails the job with a reason
        logger.exception("job %s: preparation failed", job.pk)
        reason = _("Internal error (%(kind)s).") % {"kind": type(error).__name__}
        _db_retry("failing a job", lambda: _fail_job(job.pk, kind, reason, worker))
        return False
    finally:
        _heartbeat.drop("job", job.pk)

    def store() -> bool:
        with transaction.atomic():
            locked = Job.objects.select_for_update().filter(pk=job.pk).first()
            if locked is None or locked.claimed_by != worker:
                return False  # our lease ran out and another worker prepares it
            if JobItem.objects.filter(job_id=job.pk).exists():
                return False
            JobItem.objects.bulk_create(
                [JobItem(job_id=job.pk, seq=n, payload=p) for n, p in enumerate(payloads)],
                batch_size=1000,
            )
            Job.objects.filter(pk=job.pk).update(
                total=len(payloads), claimed_by="", lease_until=None
            )
            return True

    if not _db_retry(f"storing the items of job {job.pk}", store):
        return False
    if not payloads:
        _finish_if_complete(job.pk)
        return False
    return True


def _fail_job(job_id: int, kind: job_kinds.JobKind, reason: str, worker: str) -> None:
    """End a job that cannot run, once: the reason first, then the kind's on_finished (an
    import writes its result and deletes its upload), then the status, so that "failed" is
    never shown before the job's result is written. A failing on_finished is logged and the
    job is failed all the same."""
    closing = Job.objects.filter(pk=job_id, status=S.RUNNING, finished_at__isnull=True)
    if worker:
        closing = closing.filter(claimed_by=worker)
    if not closing.update(
        error_summary=reason[:500], finished_at=timezone.now(), claimed_by="", lease_until=None
    ):
        return
    if kind.on_finished:
        try:
            kind.on_finished(Job.objects.get(pk=job_id))
        except Exception:  # noqa: BLE001 - the job ends failed whatever its cleanup does
            logger.exception("job %s: on_finished failed after its preparation failed", job_id)
    Job.objects.filter(pk=job_id, status=S.RUNNING).update(status=S.FAILED)
    _cleanup(job_id, kind)


def _cleanup(job_id: int, kind: job_kinds.JobKind) -> None:
    """The kind's cleanup hook, for a job that ended another way than by its finish."""
    if kind.cleanup is None:
        return
    try:
        kind.cleanup(Job.objects.get(pk=job_id))
    except Exception:  # noqa: BLE001 - logged; what it leaves is the kind's to explain
        logger.exception("job %s: cleanup failed", job_id)


def job_run_here(*, job_id: int) -> Job:
    """Run a job created with dispatch=False in this process, item by item (management
    commands use this: they print the outcome when it is done)."""
    worker = f"local|{os.getpid()}"
    job_start(job_id=job_id, enqueue=False, worker=worker)
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
        try:
            _db_retry(f"closing job {item.job_id}", lambda: _finish_if_complete(item.job_id))
        except (OperationalError, InterfaceError):
            logger.exception("job %s: not closed; recovery closes it", item.job_id)
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
        try:
            kind.on_finished(job)
        except (OperationalError, InterfaceError):
            raise  # recovery closes the job again once the database is back
        except Exception as error:  # noqa: BLE001 - a job never stays running for a bug
            logger.exception("job %s: on_finished failed", job_id)
            reason = _("Internal error (%(kind)s) while finishing.") % {
                "kind": type(error).__name__
            }
            Job.objects.filter(pk=job_id, status=S.RUNNING).update(
                status=S.FAILED, error_summary=reason
            )
            _cleanup(job_id, kind)
            return
        job.refresh_from_db()
    # A job that made no item because its preparation failed (a reason, no items) failed too.
    if job.total:
        status = S.FAILED if job.failed_count == job.total else S.DONE
    else:
        status = S.FAILED if job.error_summary else S.DONE
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
    """Claim one item, run its kind's handler, record the outcome. False if not claimed.

    While it runs, the item's lease is renewed by this process's heartbeat. A lost database
    connection is retried (items are idempotent), never the item's failure; any other error
    fails the item with a reason."""
    try:
        item = _db_retry(f"claiming item {item_id}", lambda: _claim(item_id, worker))
    except (OperationalError, InterfaceError):
        logger.exception("item %s: no database to claim it; its message is sent again", item_id)
        return False
    if item is None:
        return False
    _heartbeat.hold("item", item_id, worker)
    try:
        return _run_claimed(item, worker)
    except (OperationalError, InterfaceError):
        # The database stayed away longer than the retries: the item keeps its claim until the
        # lease runs out, then recovery sends it again.
        logger.exception("item %s: database lost; left for recovery", item_id)
        return False
    finally:
        _heartbeat.drop("item", item_id)


def _run_claimed(item: JobItem, worker: str) -> bool:
    if item.attempts > MAX_ATTEMPTS:
        reason = _("Gave up after %(n)d attempts: its worker was lost each time.") % {
            "n": MAX_ATTEMPTS
        }
        return _db_retry("settling", lambda: _settle(item, worker, error=reason))
    kind = job_kinds.get(item.job.kind)
    try:
        result = _db_retry(f"item {item.pk}", lambda: kind.handle(item))
    except job_kinds.ItemFailed as failure:
        error = str(failure)
    except SoftTimeLimitExceeded:
        error = _("Took longer than %(s)d s.") % {"s": settings.CELERY_TASK_SOFT_TIME_LIMIT}
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:  # noqa: BLE001 - any bug fails the item, never the whole job
        logger.exception("job item %s failed", item.pk)
        error = _("Internal error (%(kind)s).") % {"kind": type(exc).__name__}
    else:
        return _db_retry("settling", lambda: _settle(item, worker, result=result))
    return _db_retry("settling", lambda: _settle(item, worker, error=error))


def job_cancel(*, job: Job, actor) -> Job:
    """Stop a job: pending items are cancelled; items already running finish and count."""
    with transaction.atomic():
        if not Job.objects.filter(pk=job.pk, status__in=[S.QUEUED, S.RUNNING, S.PAUSED]).update(
            status=S.CANCELLED, finished_at=timezone.now()
        ):
            raise ValidationError(_("Only a queued, running or paused job can be cancelled."))
        JobItem.objects.filter(job=job, status=I.PENDING).update(status=I.CANCELLED)
        audit_record(actor=actor, action="job.cancel", target=job, project=job.project)
        kind = job_kinds.get(job.kind)
        transaction.on_commit(lambda: _cleanup(job.pk, kind))
    job.refresh_from_db()
    return job


def _enqueue_pending(job: Job) -> None:
    try:
        _enqueue(job, JobItem.objects.filter(job=job, status=I.PENDING))
    except Exception:  # noqa: BLE001 - the broker went away since the check: recovery resends
        logger.warning("items of job %s not sent; recovery will send them", job.pk, exc_info=True)


def job_pause(*, job: Job, actor) -> Job:
    if not Job.objects.filter(pk=job.pk, status__in=[S.QUEUED, S.RUNNING]).update(status=S.PAUSED):
        raise ValidationError(_("Only a queued or running job can be paused."))
    audit_record(actor=actor, action="job.pause", target=job, project=job.project)
    job.refresh_from_db()
    return job


def job_resume(*, job: Job, actor) -> Job:
    """Continue a paused or cancelled job: its unfinished items go back to the queue."""
    _broker_check()
    with transaction.atomic():
        if not Job.objects.filter(pk=job.pk, status__in=[S.PAUSED, S.CANCELLED]).update(
            status=S.RUNNING, finished_at=None
        ):
            raise ValidationError(_("Only a paused or cancelled job can be resumed."))
        JobItem.objects.filter(job=job, status=I.CANCELLED).update(status=I.PENDING)
        audit_record(actor=actor, action="job.resume", target=job, project=job.project)
        transaction.on_commit(lambda: _enqueue_pending(job))
    job.refresh_from_db()
    return job


def job_retry_failed(*, job: Job, actor) -> Job:
    """Send the failed items of a job through again."""
    _broker_check()
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
        transaction.on_commit(lambda: _enqueue_pending(job))
    job.refresh_from_db()
    return job


def job_items_recover(*, stall_seconds: float, start_grace: float | None = None) -> int:
    """Put lost work back on the queue; returns the number of messages sent again.

    - A running item whose lease ran out lost its worker (a live worker renews its leases, so a
      busy or frozen one keeps them): it is reset to pending and sent again.
    - A running job that made no progress for stall_seconds may have lost its queued messages
      (a broker restarted without persistence): its pending items are sent again.
    - A job being prepared whose preparer's lease ran out is put back to queued and started
      again; so is a queued job whose start message was sent more than start_grace seconds ago
      (default: the lesser of START_GRACE_SECONDS and stall_seconds) and has not run.
    - A job whose items are all settled but which was never closed is closed.
    A duplicate message costs nothing: the claims let only one through.
    """
    from curation.tasks import job_start, send

    now = timezone.now()
    grace = min(START_GRACE_SECONDS, stall_seconds) if start_grace is None else start_grace
    expired = Q(lease_until__lt=now) | Q(lease_until__isnull=True)
    to_send: dict[int, set[int]] = {}
    running = JobItem.objects.filter(expired, status=I.RUNNING, job__status=S.RUNNING)
    for pk, claimed_by, job_id in running.values_list("pk", "claimed_by", "job_id"):
        if JobItem.objects.filter(expired, pk=pk, status=I.RUNNING, claimed_by=claimed_by).update(
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
    # A job whose last settling worker lost its database before closing it.
    settled = Job.objects.filter(
        status=S.RUNNING, finished_at__isnull=True, total__gt=0, progressed_at__lt=cutoff
    ).filter(done_count__gte=F("total") - F("failed_count"))
    for job_id in settled.values_list("pk", flat=True):
        _finish_if_complete(job_id)
    starts: set[int] = set()
    # Preparation whose worker died (its lease ran out): prepared again from the start.
    preparing = Job.objects.filter(
        expired,
        status=S.RUNNING,
        kind__in=[name for name in job_kinds.names() if job_kinds.get(name).prepare],
        total=0,
        finished_at__isnull=True,
    ).exclude(Exists(JobItem.objects.filter(job_id=OuterRef("pk"))))
    for job_id, claimed_by in preparing.values_list("pk", "claimed_by"):
        if Job.objects.filter(expired, pk=job_id, status=S.RUNNING, claimed_by=claimed_by).update(
            status=S.QUEUED, claimed_by="", lease_until=None, sent_at=now
        ):
            logger.warning("job %s lost its preparer; starting it again", job_id)
            starts.add(job_id)
    # Queued jobs whose start message was lost.
    late = now - timedelta(seconds=grace)
    for job_id, sent_at in Job.objects.filter(status=S.QUEUED, sent_at__lt=late).values_list(
        "pk", "sent_at"
    ):
        if Job.objects.filter(pk=job_id, status=S.QUEUED, sent_at=sent_at).update(sent_at=now):
            logger.warning("job %s was never started; sending its start again", job_id)
            starts.add(job_id)
    for job_id in sorted(starts):
        send(job_start, args=[job_id], queue=job_kinds.Queue.DEFAULT)
    sent = len(starts)
    for job_id, ids in to_send.items():
        if not ids:
            continue
        job = Job.objects.get(pk=job_id)
        sent += _enqueue(job, JobItem.objects.filter(pk__in=ids, status=I.PENDING))
        logger.warning("sent %d items of job %s again", len(ids), job_id)
    return sent
