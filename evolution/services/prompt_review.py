"""Prompt review (stage 2, last step): people edit, approve or reject the assembled and enhanced
prompts. Only approved prompts reach the label stage, with the output formats their final text
asks for: those are what the label stage checks the model's answers against."""

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
from evolution import formats, placeholders
from evolution.models import Prompt, PromptRevision, TemplatePart

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


def _format_names(values) -> str:
    return ", ".join(str(TemplatePart.OutputFormat(f).label) for f in values)


def format_problem(problem: formats.Mismatch) -> str:
    """A mismatch between a prompt's words and its tasks' output formats, in words."""
    if problem.several:
        return _(
            "The prompt asks for %(formats)s at once, but a prompt of one task has one output "
            "format: keep one."
        ) % {"formats": _format_names(problem.several)}
    parts = []
    if problem.missing:
        parts.append(
            _("it no longer asks for %(formats)s") % {"formats": _format_names(problem.missing)}
        )
    if problem.extra:
        parts.append(
            _("it asks for %(formats)s, which none of its tasks has")
            % {"formats": _format_names(problem.extra)}
        )
    return _("The output format does not match the tasks: %(problems)s.") % {
        "problems": "; ".join(parts)
    }


def prompt_formats(prompt: Prompt) -> list[str]:
    return [t.get("output_format", "") for t in prompt.tasks]


def prompt_output_rule(prompt: Prompt, language: str | None = None) -> str:
    """The output rule the label stage enforces for this prompt, in the prompt's language
    unless told otherwise."""
    return formats.rule(prompt_formats(prompt), language or prompt.language)


@transaction.atomic
def prompt_review(
    *,
    prompt: Prompt,
    revision: int,
    actor,
    decision: str,
    text: str | None = None,
    reason: str = "",
) -> Prompt:
    """Approve (with an optional last edit), reject with a reason, or save an edit. An edit keeps
    the text before it as a revision with its author; a stale revision is refused. The text
    is not empty and at most MAX_TEXT characters, a rejection has its reason
    (PromptReviewInput).

    On approval the output formats are read again from the final text and written to the tasks,
    so the label stage checks what the prompt says: a prompt of one task that asks for two
    formats, or a multi-task prompt that no longer asks for each task's format, is refused."""
    if decision not in DECISIONS:
        raise ValidationError(_("Approve, reject or save."))
    changes: dict = {}
    if text is not None:
        problems = prompt_text_errors(text)
        if problems:
            raise ValidationError({"text": problems})
        if text != prompt.text:
            changes["text"] = text
    if decision == "approve":
        final = changes.get("text", prompt.text)
        before_formats = prompt_formats(prompt)
        derived, problem = formats.derive(final, before_formats, original=prompt.assembled_text)
        if problem is not None:
            raise ValidationError({"text": [format_problem(problem)]})
        if derived != before_formats:
            changes["tasks"] = [
                {**task, "output_format": output_format}
                for task, output_format in zip(prompt.tasks or [{}], derived, strict=True)
            ]
        changes.update(state=P.APPROVED, reason="")
    elif decision == "reject":
        changes.update(state=P.REJECTED, reason=reason)
    elif "text" not in changes:
        return prompt  # saved without a change: nothing to write
    before = {"state": prompt.state, "text": prompt.text, "formats": prompt_formats(prompt)}
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
        after={
            "state": prompt.state,
            "text": prompt.text,
            "reason": prompt.reason,
            "formats": prompt_formats(prompt),
        },
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
