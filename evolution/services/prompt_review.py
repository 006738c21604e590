"""Prompt review (stage 2, last step): people edit, approve or reject the assembled and enhanced
prompts. Only approved prompts reach the label stage."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import dialogue_text
from curation.llm.client import untrusted
from curation.models import Dialogue
from curation.services.audit import audit_record
from curation.services.revisions import revision_update
from evolution import placeholders
from evolution.models import Prompt, PromptRevision

P = Prompt.State
MAX_TEXT = 12_000
DECISIONS = ("approve", "reject", "save")


def prompt_text_errors(text: str) -> list[str]:
    """A prompt's own placeholder rules: exactly one {dialogue}, nothing else to fill."""
    out = []
    for problem in placeholders.problems(
        text, allowed={"dialogue"}, required={"dialogue"}, once={"dialogue"}
    ):
        names = placeholders.braced(problem.names)
        if problem.kind == "unknown":
            out.append(
                _("Unknown placeholder %(names)s; a prompt keeps only {dialogue}.")
                % {"names": names}
            )
        elif problem.kind == "missing":
            out.append(_("The prompt must keep {dialogue}, where the dialogue goes."))
        else:
            out.append(_("%(names)s may appear only once.") % {"names": names})
    return out


@transaction.atomic
def prompt_review(
    *,
    prompt: Prompt,
    revision: int | None,
    actor,
    decision: str,
    text: str | None = None,
    reason: str = "",
) -> Prompt:
    """Approve (with an optional last edit), reject with a reason, or save an edit. An edit keeps
    the text before it as a revision with its author; a stale revision is refused."""
    if decision not in DECISIONS:
        raise ValidationError(_("Approve, reject or save."))
    changes: dict = {}
    if text is not None:
        text = text.replace("\r\n", "\n").strip()
        if not text:
            raise ValidationError({"text": _("A prompt cannot be empty.")})
        if len(text) > MAX_TEXT:
            raise ValidationError({"text": _("At most %(n)d characters.") % {"n": MAX_TEXT}})
        problems = prompt_text_errors(text)
        if problems:
            raise ValidationError({"text": problems})
        if text != prompt.text:
            changes["text"] = text
    if decision == "approve":
        changes.update(state=P.APPROVED, reason="")
    elif decision == "reject":
        reason = reason.strip()
        if not reason:
            raise ValidationError({"reason": _("Say why it is rejected.")})
        changes.update(state=P.REJECTED, reason=reason[:300])
    elif "text" not in changes:
        return prompt  # saved without a change: nothing to write
    before = {"state": prompt.state, "text": prompt.text}
    revision_update(
        instance=prompt,
        revision=revision,
        conflict=_("Someone else changed this prompt since you opened it."),
        reviewed_by=actor,
        reviewed_at=timezone.now(),
        **changes,
    )
    if "text" in changes:
        PromptRevision.objects.create(
            prompt=prompt, number=revision, text=before["text"], author=actor
        )
    audit_record(
        actor=actor,
        action=f"prompt.{decision}",
        target=prompt,
        project=prompt.project,
        before=before,
        after={"state": prompt.state, "text": prompt.text, "reason": prompt.reason},
    )
    return prompt


def prompt_render(*, text: str, dialogue: Dialogue | None) -> str:
    """The prompt as a model will read it: the whole dialogue in the place of {dialogue}, marked
    as untrusted data."""
    whole = dialogue_text.render(dialogue.turns) if dialogue else dialogue_text.NO_DIALOGUE
    return placeholders.fill(text, {"dialogue": untrusted(whole)})


def prompt_training_text(*, text: str, dialogue: Dialogue) -> str:
    """The prompt as a training sample carries it: the whole dialogue in place, without the
    untrusted-data markers, which belong to our own LLM calls only."""
    return placeholders.fill(text, {"dialogue": dialogue_text.render(dialogue.turns)})


def prompt_without_dialogue(text: str) -> str:
    """The whole prompt minus its dialogue: what prompt complexity and richness count."""
    return placeholders.fill(text, {"dialogue": ""}).strip()
