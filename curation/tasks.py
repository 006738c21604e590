"""Celery tasks: each takes an id, and calls one service."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from celery import shared_task
from celery.signals import worker_ready
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
    _local_pool.submit(task.apply, args=args)


@shared_task(name="curation.ping")
def ping() -> str:
    """Answers "pong": lets an operator (and the tests) check that a worker consumes the queue."""
    return "pong"


@shared_task(name="curation.job_start")
def job_start(job_id: int) -> int:
    return jobs.job_start(job_id=job_id)


# Idempotent (claims are conditional updates), so acknowledged only once done: a worker that
# dies mid-item leaves the message to be delivered again.
@shared_task(bind=True, name="curation.job_item_run", acks_late=True)
def job_item_run(self, item_id: int) -> bool:
    worker = f"{self.request.hostname or 'local'}|{os.getpid()}"
    return jobs.job_item_execute(item_id=item_id, worker=worker)


def live_workers() -> dict[str, set[int]]:
    """Each live worker node with the pids of its processes, as the workers report them."""
    from dialinsight_site.celery import app

    stats = app.control.inspect(timeout=2.0).stats() or {}
    live: dict[str, set[int]] = {}
    for node, info in stats.items():
        pids = {int(info.get("pid", 0))}
        pool = info.get("pool") or {}
        pids.update(int(p) for p in pool.get("processes", []) if str(p).isdigit())
        live[node] = pids
    return live


@shared_task(name="curation.jobs_recover")
def jobs_recover() -> int:
    return jobs.job_items_recover(live_workers=live_workers())


@worker_ready.connect
def _recover_on_start(sender=None, **kwargs) -> None:
    # A worker that starts is often the replacement of one that died: hand its items back.
    def run():
        try:
            recovered = jobs.job_items_recover(live_workers=live_workers())
            if recovered:
                logger.warning("recovered %d job items on worker start", recovered)
        except Exception:  # noqa: BLE001 - recovery must never stop a worker from starting
            logger.exception("job recovery on worker start failed")

    threading.Timer(1.0, run).start()
