"""Reviewing labels: each annotator claims the next sample (row locks with SKIP LOCKED, so two
people never get the same one; a claim expires), edits the output, grades it and accepts or
rejects it. Leads may confirm or return decisions in a second pass."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from curation.exceptions import ConflictError
from curation.models import Project, Role
from curation.services.audit import audit_record, audit_snapshot
from curation.services.revisions import revision_update
from labeling import output_check
from labeling.models import Annotation, Grade, LabelSettings, Sample

S = Sample.State
MAX_OUTPUT = 20_000


def label_settings_get(*, project: Project) -> LabelSettings:
    return LabelSettings.objects.get_or_create(project=project)[0]


SETTINGS_FIELDS = ["second_pass", "double_share", "assignment_minutes", "annotators_regenerate"]


@transaction.atomic
def label_settings_update(
    *,
    project: Project,
    revision: int,
    actor,
    second_pass: bool | None = None,
    double_share: float | None = None,
    assignment_minutes: int | None = None,
    annotators_regenerate: bool | None = None,
) -> LabelSettings:
    """Change the review settings named (None: left as they are)."""
    current = label_settings_get(project=project)
    if double_share is not None and not 0 <= double_share <= 1:
        raise ValidationError({"double_share": _("A share between 0 and 1.")})
    if assignment_minutes is not None and not 1 <= assignment_minutes <= 24 * 60:
        raise ValidationError({"assignment_minutes": _("1 to 1440 minutes.")})
    given = {
        "second_pass": second_pass,
        "double_share": double_share,
        "assignment_minutes": assignment_minutes,
        "annotators_regenerate": annotators_regenerate,
    }
    before = audit_snapshot(current, SETTINGS_FIELDS)
    revision_update(
        instance=current,
        revision=revision,
        conflict=_("Someone else changed the label settings since you opened them; reload."),
        **{field: value for field, value in given.items() if value is not None},
    )
    audit_record(
        actor=actor,
        action="labels.settings",
        target=current,
        project=project,
        before=before,
        after=audit_snapshot(current, SETTINGS_FIELDS),
    )
    return current


def label_regenerate_allowed(*, project: Project, role: Role | None) -> bool:
    """Running the model again spends LLM calls: leads always may, annotators when the leads
    allow it in the review settings."""
    if role is None:
        return False
    return role.allows(Role.LEAD) or label_settings_get(project=project).annotators_regenerate


def sample_claim_next(*, project: Project, annotator) -> Sample | None:
    """The sample this annotator holds, else the next free one: first the ones to review, then
    doubly annotated ones someone else decided (for a second, independent grade).

    An annotator holds one sample at a time, however many tabs ask at once: the look for
    their held sample and the claim run under a lock per annotator and project (a
    transaction-level advisory lock on PostgreSQL; SQLite runs one writer at a time)."""
    from django.db import connection

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))",
                    [f"labeling.claim:{project.pk}:{annotator.pk}"],
                )
        now = timezone.now()
        minutes = label_settings_get(project=project).assignment_minutes
        mine = (
            Sample.objects.filter(project=project, assigned_to=annotator, assigned_until__gt=now)
            .filter(Q(state=S.READY) | Q(double=True, state__in=[S.ACCEPTED, S.REJECTED]))
            .order_by("id")
            .first()
        )
        if mine is not None:
            return mine
        free = Q(assigned_to__isnull=True) | Q(assigned_until__lte=now)
        for pool in (
            Q(state=S.READY),
            Q(double=True, state__in=[S.ACCEPTED, S.REJECTED]),
        ):
            candidates = Sample.objects.filter(project=project).filter(pool).filter(free)
            if pool == Q(state=S.READY):
                # Left alone, the planner walks the primary key from the start of the table and
                # crosses every reviewed sample (1.6 s at 1,000,000); the first ready id, read off
                # the queue index, tells it where the ready ones begin.
                first = (
                    Sample.objects.filter(project=project, state=S.READY)
                    .order_by("id")
                    .values("id")[:1]
                )
                candidates = candidates.filter(id__gte=Subquery(first))
            else:
                # A second grade comes from someone else, and only once.
                candidates = candidates.exclude(annotations__annotator=annotator).exclude(
                    pk__in=Annotation.objects.filter(sample__project=project, sample__double=True)
                    .values("sample")
                    .annotate(n=Count("id"))
                    .filter(n__gte=2)
                    .values("sample")
                )
            sample = (
                candidates.select_for_update(skip_locked=True, of=("self",)).order_by("id").first()
            )
            if sample is None:
                continue
            Sample.objects.filter(pk=sample.pk).update(
                assigned_to=annotator, assigned_until=now + timedelta(minutes=minutes)
            )
            sample.refresh_from_db()
            return sample
        return None


def _checked_output(sample: Sample, text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if len(text) > MAX_OUTPUT:
        raise ValidationError({"output": _("At most %(n)d characters.") % {"n": MAX_OUTPUT}})
    problems = output_check.check_output(text, sample.formats)
    if problems:
        raise ValidationError({"output": problems})
    return text


@transaction.atomic
def sample_review(
    *,
    sample: Sample,
    revision: int | None,
    actor,
    decision: str,
    grade: str,
    output: str | None = None,
    reason: str = "",
) -> Sample:
    """Accept with a grade (the output, edited or not, must fit the prompt's output formats), or
    reject, graded or not (an unusable output has no quality to grade). The sample's first
    decision is the sample's; a second annotator's decision on a doubly annotated sample is
    recorded for agreement only."""
    if decision not in ("accept", "reject"):
        raise ValidationError(_("Accept or reject."))
    if grade not in Grade.values and not (decision == "reject" and grade == ""):
        raise ValidationError({"grade": _("Grade it high, medium or low.")})
    now = timezone.now()
    if (
        sample.assigned_to_id not in (None, actor.pk)
        and sample.assigned_until is not None
        and sample.assigned_until > now
    ):
        raise ConflictError(_("This sample is assigned to someone else."))
    second = sample.state in (S.ACCEPTED, S.REJECTED)
    if second:
        if not sample.double:
            raise ConflictError(_("This sample was decided already."))
        if sample.annotations.filter(annotator=actor).exists():
            raise ValidationError(_("You graded this sample already."))
        if sample.revision != revision:
            raise ConflictError(_("Someone else changed this sample since you opened it."))
    elif sample.state != S.READY:
        raise ValidationError(_("This sample is not ready for review."))
    text = sample.output if output is None else output
    if decision == "accept":
        text = _checked_output(sample, text)
    if not second:
        before = audit_snapshot(sample, ["state", "grade", "output"])
        revision_update(
            instance=sample,
            revision=revision,
            conflict=_("Someone else changed this sample since you opened it."),
            state=S.ACCEPTED if decision == "accept" else S.REJECTED,
            grade=grade,
            output=text,
            reason=reason.strip()[:300],
            reviewed_by=actor,
            reviewed_at=now,
            assigned_to=None,
            assigned_until=None,
            verify=Sample.Verify.NONE,
        )
    values = {"decision": decision, "grade": grade, "output": text}
    if second:
        try:
            with transaction.atomic():
                Annotation.objects.create(sample=sample, annotator=actor, **values)
        except IntegrityError:
            raise ValidationError(_("You graded this sample already.")) from None
    else:
        # A sample a lead returned is decided again: the same person's decision is replaced.
        Annotation.objects.update_or_create(sample=sample, annotator=actor, defaults=values)
    if second:
        Sample.objects.filter(pk=sample.pk, assigned_to=actor).update(
            assigned_to=None, assigned_until=None
        )
        sample.refresh_from_db()
    else:
        audit_record(
            actor=actor,
            action=f"sample.{decision}",
            target=sample,
            project=sample.project,
            before=before,
            after=audit_snapshot(sample, ["state", "grade", "output"]),
        )
    return sample


@transaction.atomic
def sample_verify(*, sample: Sample, revision: int | None, actor, decision: str) -> Sample:
    """A lead's second pass: confirm the decision, or return the sample to the review queue."""
    if sample.state not in (S.ACCEPTED, S.REJECTED):
        raise ValidationError(_("Only decided samples are verified."))
    if decision == "confirm":
        changes = {"verify": Sample.Verify.CONFIRMED}
    elif decision == "return":
        changes = {"verify": Sample.Verify.RETURNED, "state": S.READY}
    else:
        raise ValidationError(_("Confirm or return."))
    revision_update(
        instance=sample,
        revision=revision,
        conflict=_("Someone else changed this sample since you opened it."),
        verified_by=actor,
        **changes,
    )
    audit_record(
        actor=actor,
        action=f"sample.{decision}",
        target=sample,
        project=sample.project,
        after={"state": sample.state, "verify": sample.verify},
    )
    return sample
