"""Editing the Evol-Instruct operators' prompts, which are per-project data."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from curation.services.audit import audit_record, audit_snapshot
from curation.services.revisions import revision_update
from evolution import placeholders
from evolution.models import EvolutionOperator

# Every operator shows the model the instruction and the dialogue it is about (the paper evolves
# under the dialogue's control), each exactly once; {domain} names the project's business.
PLACEHOLDERS = {"instruction", "dialogue", "domain"}
REQUIRED = frozenset({"instruction", "dialogue"})
FIELDS = ["name_en", "name_zh", "prompt_zh", "prompt_en", "active"]

# A brace group that starts like a name: `{instruction}`, but also `{instruction:>1000000000}`,
# `{instruction!r}`, `{instruction.x}`, `{instruction[0]}` or `{Instruction}`, and an opening
# brace never closed (group 2 empty). Only a bare lower-case name is a placeholder; the rest
# would be text sent to the model as is, or a format field should anyone ever use str.format.
_NAMED_GROUP = re.compile(r"\{(\s*[A-Za-z_][^{}]*)(\}|(?=\{)|$)")


def _check_prompt(text: str, field: str) -> str:
    text = text.strip()
    errors: list[str] = []
    malformed, unclosed = [], []
    for match in _NAMED_GROUP.finditer(text):
        if not match.group(2):
            unclosed.append("{" + match.group(1)[:30])
        elif not placeholders.PATTERN.fullmatch(match.group(0)):
            malformed.append(match.group(0)[:40])
    if unclosed:
        errors.append(
            _("Unbalanced braces: %(text)s is never closed.") % {"text": ", ".join(unclosed)}
        )
    if malformed:
        errors.append(
            _(
                "%(fields)s is not a placeholder: write a lower-case name alone in braces, "
                "like {instruction}, without a format, conversion, attribute or index."
            )
            % {"fields": ", ".join(malformed)}
        )
    for problem in placeholders.problems(
        text, allowed=PLACEHOLDERS, required=REQUIRED, once=REQUIRED
    ):
        names = placeholders.braced(problem.names)
        if problem.kind == "unknown":
            errors.append(
                _("Unknown placeholder(s) %(names)s; use %(allowed)s.")
                % {"names": names, "allowed": placeholders.braced(PLACEHOLDERS)}
            )
        elif problem.kind == "missing":
            errors.append(_("The prompt must contain %(names)s.") % {"names": names})
        else:
            errors.append(_("%(names)s may appear only once.") % {"names": names})
    if errors:
        raise ValidationError({field: errors})
    return text


@transaction.atomic
def operator_update(
    *,
    operator: EvolutionOperator,
    revision: int,
    actor,
    name_en: str | None = None,
    name_zh: str | None = None,
    prompt_zh: str | None = None,
    prompt_en: str | None = None,
    active: bool | None = None,
) -> EvolutionOperator:
    """Change what is given (None: unchanged; OperatorUpdateInput sees to names not empty and
    lengths); each prompt's placeholders are checked. Refused if it changed since `revision`."""
    cleaned: dict = {}
    for field, value in (("prompt_zh", prompt_zh), ("prompt_en", prompt_en)):
        if value is not None:
            cleaned[field] = _check_prompt(value, field)
    given = {"name_en": name_en, "name_zh": name_zh, "active": active}
    cleaned.update({field: value for field, value in given.items() if value is not None})
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
