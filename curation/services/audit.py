from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

from curation.models import AuditEvent, Project


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def audit_snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """The given fields of an item, as JSON-safe values, for an audit event's before/after."""
    return {name: _json_value(getattr(instance, name)) for name in fields}


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model,
    project: Project | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        project=project,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        before=before,
        after=after,
    )
