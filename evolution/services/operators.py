"""Editing the Evol-Instruct operators' prompts, which are per-project data."""

from __future__ import annotations

import string

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from curation.services.audit import audit_record, audit_snapshot
from curation.services.revisions import revision_update
from evolution.models import EvolutionOperator

PLACEHOLDERS = {"instruction", "dialogue"}
FIELDS = ["name_en", "name_zh", "prompt_zh", "prompt_en", "active"]


def _check_prompt(text: str, field: str) -> str:
    text = text.strip()
    try:
        names = {
            name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None
        }
    except ValueError as error:
        raise ValidationError({field: _("Unbalanced braces: %(e)s.") % {"e": error}}) from None
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        raise ValidationError(
            {
                field: _("Unknown placeholder(s) %(names)s; use {instruction} and {dialogue}.")
                % {"names": ", ".join("{" + n + "}" for n in unknown)}
            }
        )
    if "instruction" not in names:
        raise ValidationError({field: _("The prompt must contain {instruction}.")})
    return text


@transaction.atomic
def operator_update(*, operator: EvolutionOperator, data: dict, revision: int, actor):
    cleaned: dict = {}
    for field in ("prompt_zh", "prompt_en"):
        if field in data:
            cleaned[field] = _check_prompt(str(data[field]), field)
    for field in ("name_en", "name_zh"):
        if field in data:
            value = str(data[field]).strip()
            if not value:
                raise ValidationError({field: _("This name cannot be empty.")})
            cleaned[field] = value[:100]
    if "active" in data:
        cleaned["active"] = data["active"] in (True, "true", "on", "1", 1)
    before = audit_snapshot(operator, FIELDS)
    revision_update(
        instance=operator,
        revision=revision,
        conflict=_("Someone else changed this operator since you opened it."),
        **cleaned,
    )
    audit_record(
        actor=actor,
        action="operator.update",
        target=operator,
        project=operator.project,
        before=before,
        after=audit_snapshot(operator, FIELDS),
    )
    return operator
