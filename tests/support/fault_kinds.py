"""Job kinds for the fault tests, loaded by test workers (`WorkerProcess(include=...)`) and by
the test process itself: a slow preparation to kill a worker in, a preparation that crashes,
and an item that keeps its worker busy."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from curation import job_kinds

PREPARE = "test.fault_prepare"
SLEEP = "test.fault_sleep"


def _prepare(job) -> list[dict[str, Any]]:
    """Writes "preparing" in the job's marker file; the first time, then waits to be killed.
    `crash`: a 50,000-level nested JSON document, as a hostile file would be."""
    if job.params.get("crash"):
        json.loads("[" * 50_000 + "]" * 50_000)
    marker = Path(job.params["marker"])
    first = not marker.exists()
    marker.write_text("preparing")
    if first:
        time.sleep(120)
    return [{"n": n} for n in range(3)]


def _finished(job) -> None:
    Path(job.params["marker"]).with_suffix(".finished").write_text(job.status)


def _cleanup(job) -> None:
    # As an import deletes its upload: the cleanup the engine runs on every other ending.
    Path(job.params["marker"]).with_suffix(".cleaned").write_text(job.status)


def _handle(item) -> dict[str, Any]:
    time.sleep(item.payload.get("seconds", 0))
    return {"n": item.payload.get("n"), "pid": os.getpid()}


job_kinds.register(
    job_kinds.JobKind(
        PREPARE,
        job_kinds.Queue.DEFAULT,
        _handle,
        on_finished=_finished,
        prepare=_prepare,
        cleanup=_cleanup,
    )
)
job_kinds.register(job_kinds.JobKind(SLEEP, job_kinds.Queue.DEFAULT, _handle))
