"""The kinds of background job, each with the queue it runs on and the function that handles
one of its items. Apps register their kinds when they load (AppConfig.ready)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from curation.models import JobItem


class Queue:
    """LLM-bound and CPU-bound work go to separate queues, so that a long metrics computation
    never starves LLM calls (and each queue's workers can be sized for their work)."""

    DEFAULT = "default"
    LLM = "llm"
    CPU = "cpu"


class ItemFailed(Exception):
    """An item cannot be done; the message is the reason users see. Nothing is retried."""


@dataclass(frozen=True)
class JobKind:
    name: str
    queue: str
    handle: Callable[[JobItem], dict[str, Any]]
    # Called once, by whichever worker finishes the last item.
    on_finished: Callable[[Any], None] | None = None
    # Makes the items' payloads in a worker when the job starts, for jobs whose items are only
    # known after reading their input (an uploaded file). Any error fails the whole job
    # (ItemFailed with its message as the reason); a killed preparer's job is prepared again,
    # so it must be idempotent.
    prepare: Callable[[Any], list[dict[str, Any]]] | None = None
    # Deletes what the job leaves behind (an import's upload), on every path that ends it other
    # than on_finished's own success: its preparation failed, on_finished crashed, cancelled.
    # Idempotent, and it must never raise for a job that never started.
    cleanup: Callable[[Any], None] | None = None


_REGISTRY: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    _REGISTRY[kind.name] = kind
    return kind


def get(name: str) -> JobKind:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"no job kind {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def names() -> list[str]:
    return sorted(_REGISTRY)
