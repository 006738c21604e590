"""Celery tasks: each takes an id, and calls one service."""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from celery import shared_task
from celery.signals import worker_ready
from django import db
from django.conf import settings

from curation.services import jobs

logger = logging.getLogger(__name__)

_local_pool: ThreadPoolExecutor | None = None
_local_lock = threading.Lock()


def send(task, *, args: list, queue: str) -> None:
    """Send a task to its queue. Without a broker (the quick start) it runs on a small thread
    pool of this process instead, so that an HTTP request never waits for it."""
    global _local_pool
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        task.apply_async(args=args, queue=queue)
        return
    with _local_lock:
        if _local_pool is None:
            _local_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="local-task")
            threading.Thread(target=_recovery_loop, name="job-recovery", daemon=True).start()
    _local_pool.submit(task.apply, args=args)


@shared_task(name="curation.ping")
def ping() -> str:
    """Answers "pong": lets an operator (and the tests) check that a worker consumes the queue."""
    return "pong"


def _worker_name(task) -> str:
    # "node|pid": the Celery node, or "local" for in-process tasks; leases name their holder.
    node = "local" if settings.CELERY_TASK_ALWAYS_EAGER else task.request.hostname
    return f"{node}|{os.getpid()}"


@shared_task(bind=True, name="curation.job_start", ignore_result=True)
def job_start(self, job_id: int) -> int:
    return jobs.job_start(job_id=job_id, worker=_worker_name(self))


# Idempotent (claims are conditional updates), so acknowledged only once done: a worker that
# dies mid-item leaves the message to be delivered again.
@shared_task(bind=True, name="curation.job_item_run", acks_late=True, ignore_result=True)
def job_item_run(self, item_id: int) -> bool:
    return jobs.job_item_execute(item_id=item_id, worker=_worker_name(self))


def recover_lost_items() -> int:
    # Liveness is the leases' business: no worker is pinged (a busy one could not answer).
    return jobs.job_items_recover(stall_seconds=settings.JOB_STALL_SECONDS)


@shared_task(name="curation.jobs_recover", ignore_result=True)
def jobs_recover() -> int:
    return recover_lost_items()


def _recovery_loop() -> None:
    """Runs in each worker's main process. A Redis lock lets one worker do a round at a time;
    an error (Redis or the database restarting) is logged and the next round tries again."""
    import redis

    interval = settings.JOB_RECOVERY_INTERVAL_SECONDS
    lock = redis.Redis.from_url(settings.REDIS_URL) if settings.REDIS_URL else None
    time.sleep(1.0)
    while True:
        try:
            if lock is None or lock.set("jobs:recovery", "1", nx=True, ex=max(1, int(interval))):
                sent = recover_lost_items()
                if sent:
                    logger.warning("job recovery sent %d items again", sent)
        except Exception:  # noqa: BLE001 - recovery must never stop the worker
            logger.exception("job recovery round failed")
        finally:
            db.close_old_connections()
        time.sleep(interval)


@worker_ready.connect
def _start_recovery(sender=None, **kwargs) -> None:
    # A worker that starts is often the replacement of one that died: its first round runs
    # at once and hands the dead worker's items back.
    threading.Thread(target=_recovery_loop, name="job-recovery", daemon=True).start()
