from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Upper
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from curation.models import (
    AuditEvent,
    Dialogue,
    Job,
    JobItem,
    LLMCall,
    Membership,
    ModelEndpoint,
    Project,
    Role,
)


def project_role(*, project: Project, user) -> Role | None:
    """The user's role in the project; site admins act as project admins everywhere."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    role = (
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    )
    return Role(role) if role else None


def project_get_for_user(
    *, slug: str, user, required: Role = Role.ANNOTATOR
) -> tuple[Project, Role]:
    """The project and the user's role, checked on the server.

    A non-member gets 404, so that the existence of a project is not revealed; a member whose
    role is too low gets 403.
    """
    project = Project.objects.filter(slug=slug).first()
    role = project_role(project=project, user=user) if project else None
    if project is None or role is None:
        raise Http404(_("No such project."))
    if not role.allows(required):
        raise PermissionDenied(
            _("This needs the %(role)s role in the project.") % {"role": required.label}
        )
    return project, role


def project_list_for_user(*, user) -> QuerySet[Project]:
    projects = Project.objects.all()
    if not user.is_superuser:
        projects = projects.filter(memberships__user=user)
    return projects.annotate(member_count=Count("memberships", distinct=True)).order_by("name")


def membership_list(*, project: Project) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    )


def audit_event_list(*, project: Project, action: str = "") -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(project=project).select_related("actor")
    if action:
        events = events.filter(action__startswith=action)
    return events


def dialogue_list(*, project: Project) -> QuerySet[Dialogue]:
    return Dialogue.objects.filter(project=project).select_related(
        "scene", "source", "service_role"
    )


def dialogue_search(
    *, project: Project, scene: str = "", source: str = "", role: str = "", text: str = ""
) -> QuerySet[Dialogue]:
    """Dialogues by taxonomy keys and text, newest first. Each filter has an index (the text
    a trigram index on upper(search_text) on PostgreSQL), so pages stay fast at a million rows;
    callers page by id (keyset), never with COUNT(*)."""
    dialogues = dialogue_list(project=project).defer("search_text", "metadata")
    if scene:
        dialogues = dialogues.filter(scene__key=scene)
    if source:
        dialogues = dialogues.filter(source__key=source)
    if role:
        dialogues = dialogues.filter(service_role__key=role)
    if text:
        dialogues = dialogues.alias(upper_text=Upper("search_text")).filter(
            upper_text__contains=text.upper()
        )
    return dialogues.order_by("-id")


def job_list(*, project: Project) -> QuerySet[Job]:
    return Job.objects.filter(project=project).select_related("created_by")


def job_get(*, project: Project, pk: int) -> Job:
    job = Job.objects.filter(project=project, pk=pk).select_related("created_by").first()
    if job is None:
        raise Http404(_("No such job."))
    return job


def job_failed_items(*, job: Job, limit: int = 100) -> QuerySet[JobItem]:
    return JobItem.objects.filter(job=job, status=JobItem.Status.FAILED).order_by("seq")[:limit]


@dataclass(frozen=True)
class JobProgress:
    settled: int
    percent: int
    rate_per_second: float | None
    eta_seconds: int | None


def job_progress(*, job: Job, now: datetime | None = None) -> JobProgress:
    """Share done, items per second since the start, and the time left at that rate."""
    settled = job.done_count + job.failed_count
    if job.total:
        percent = int(100 * settled / job.total)
    else:  # still preparing its items (or had none)
        percent = 100 if job.finished else 0
    rate = eta = None
    if job.started_at and settled:
        end = job.finished_at or now or timezone.now()
        elapsed = max((end - job.started_at).total_seconds(), 0.001)
        rate = settled / elapsed
        if not job.finished:
            eta = int((job.total - settled) / rate)
    return JobProgress(settled=settled, percent=percent, rate_per_second=rate, eta_seconds=eta)


def endpoint_list(*, project: Project) -> QuerySet[ModelEndpoint]:
    return ModelEndpoint.objects.filter(project=project)


def endpoint_get(*, project: Project, pk: int) -> ModelEndpoint:
    endpoint = ModelEndpoint.objects.filter(project=project, pk=pk).first()
    if endpoint is None:
        raise Http404(_("No such endpoint."))
    return endpoint


def endpoint_usage(*, project: Project) -> dict[int, dict]:
    """Per endpoint: calls, cached and failed calls, tokens and cost, in one query."""
    rows = (
        LLMCall.objects.filter(project=project)
        .values("endpoint_id")
        .annotate(
            calls=Count("id"),
            cached=Count("id", filter=Q(status=LLMCall.Status.CACHED)),
            failed=Count("id", filter=Q(status=LLMCall.Status.FAILED)),
            prompt_tokens=Sum("prompt_tokens"),
            completion_tokens=Sum("completion_tokens"),
            cost=Sum("cost"),
        )
    )
    return {row.pop("endpoint_id"): row for row in rows}
