"""Optimistic concurrency: a write names the revision its author read, and is refused when the
row moved on since. One conditional UPDATE, so two people never silently overwrite each other."""

from __future__ import annotations

from django.db import models
from django.db.models import F

from curation.exceptions import ConflictError


def revision_update(
    *, instance: models.Model, revision: int | None, conflict: str, **changes
) -> None:
    """Write `changes` to the instance's row if its revision is still `revision`, and bump it;
    otherwise raise ConflictError(conflict). The instance is reloaded either way it succeeds."""
    updated = (
        type(instance)
        .objects.filter(pk=instance.pk, revision=revision)
        .update(revision=F("revision") + 1, **changes)
    )
    if not updated:
        raise ConflictError(conflict)
    instance.refresh_from_db()
