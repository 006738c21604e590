"""Curation of instructions: keep, drop, edit (each edit kept as a revision), in bulk too."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from curation.models import Project
from curation.services.audit import audit_record
from curation.services.revisions import revision_update
from evolution.models import Instruction, InstructionRevision

S = Instruction.State
MAX_TEXT = 4000


@transaction.atomic
def instruction_review(
    *,
    instruction: Instruction,
    revision: int,
    actor,
    state: str | None = None,
    text: str | None = None,
) -> Instruction:
    """Keep or drop an instruction, and/or change its text (InstructionReviewInput: a text
    not empty, at most MAX_TEXT characters), refused if it changed meanwhile. A changed text
    keeps the old one as a revision with its author."""
    changes: dict = {}
    if state is not None:
        if state not in (S.KEPT, S.DROPPED, S.DRAFT):
            raise ValidationError({"state": _("Keep or drop.")})
        changes["state"] = state
    new_text = None
    if text is not None and text != instruction.text:
        new_text = changes["text"] = text
    if not changes:
        return instruction
    before = {"state": instruction.state, "text": instruction.text}
    revision_update(
        instance=instruction,
        revision=revision,
        conflict=_("Someone else changed this instruction since you opened it."),
        reviewed_by=actor,
        reviewed_at=timezone.now(),
        **changes,
    )
    if new_text is not None:
        InstructionRevision.objects.create(
            instruction=instruction, number=revision, text=before["text"], author=actor
        )
    audit_record(
        actor=actor,
        action="instruction.review",
        target=instruction,
        project=instruction.project,
        before=before,
        after={"state": instruction.state, "text": instruction.text},
    )
    return instruction


@transaction.atomic
def instructions_bulk_review(*, project: Project, ids: list[int], state: str, actor) -> int:
    """Keep or drop many instructions still to curate at once; returns how many changed."""
    if state not in (S.KEPT, S.DROPPED):
        raise ValidationError({"state": _("Keep or drop.")})
    chosen = Instruction.objects.filter(project=project, pk__in=ids, state=S.DRAFT)
    changed = chosen.update(
        state=state, revision=F("revision") + 1, reviewed_by=actor, reviewed_at=timezone.now()
    )
    if changed:
        audit_record(
            actor=actor,
            action="instruction.bulk_review",
            target=project,
            project=project,
            after={"state": state, "count": changed, "ids": sorted(ids)[:200]},
        )
    return changed


@transaction.atomic
def instruction_screen(
    *,
    instruction: Instruction,
    revision: int,
    actor,
    decision: str,
    reason: str = "",
    text: str = "",
) -> Instruction:
    """Screen an evolved instruction: accept it, reject it with a reason, or rewrite it (the
    model's text is kept as a revision; the person's text is accepted). InstructionScreenInput
    sees to a reason for a rejection and a text for a rewrite."""
    if instruction.state not in (S.EVOLVED, S.ACCEPTED, S.REJECTED):
        raise ValidationError(_("Only evolved instructions are screened."))
    changes: dict = {"reason": ""}
    if decision == "accept":
        changes["state"] = S.ACCEPTED
    elif decision == "reject":
        changes.update(state=S.REJECTED, reason=reason)
    elif decision == "rewrite":
        changes.update(state=S.ACCEPTED, text=text)
    else:
        raise ValidationError(_("Accept, reject or rewrite."))
    before = {"state": instruction.state, "text": instruction.text}
    revision_update(
        instance=instruction,
        revision=revision,
        conflict=_("Someone else changed this instruction since you opened it."),
        reviewed_by=actor,
        reviewed_at=timezone.now(),
        **changes,
    )
    if "text" in changes and changes["text"] != before["text"]:
        InstructionRevision.objects.create(
            instruction=instruction, number=revision, text=before["text"], author=actor
        )
    audit_record(
        actor=actor,
        action=f"instruction.{decision}",
        target=instruction,
        project=instruction.project,
        before=before,
        after={"state": instruction.state, "text": instruction.text, "reason": instruction.reason},
    )
    return instruction
