"""Job screens: the list, and a job's page whose progress part polls itself until done."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from curation import selectors
from curation.inputs import JobActionInput, validated
from curation.models import Job, Role
from curation.services import jobs as job_services
from curation.views.common import is_htmx, project_context, project_view

# htmx stops polling when an answer has this status.
STOP_POLLING = 286

ACTIONS = {
    "cancel": job_services.job_cancel,
    "pause": job_services.job_pause,
    "resume": job_services.job_resume,
    "retry": job_services.job_retry_failed,
}


@project_view(Role.ANNOTATOR)
@require_GET
def job_list(request: HttpRequest, project) -> HttpResponse:
    page = Paginator(selectors.job_list(project=project), 50).get_page(request.GET.get("page"))
    return render(request, "curation/jobs.html", project_context(request, page=page))


def _job_context(request: HttpRequest, job) -> dict:
    return project_context(
        request,
        job=job,
        progress=selectors.job_progress(job=job),
        failed_items=selectors.job_failed_items(job=job),
    )


@project_view(Role.ANNOTATOR)
@require_GET
@vary_on_headers("HX-Request")  # the page and its polled part share a URL: never mix them up
def job_detail(request: HttpRequest, project, pk: int) -> HttpResponse:
    job = selectors.job_get(project=project, pk=pk)
    context = _job_context(request, job)
    if is_htmx(request):
        status = 200 if job.status in Job.ACTIVE else STOP_POLLING
        return render(request, "curation/job_detail.html#progress", context, status=status)
    return render(request, "curation/job_detail.html", context)


@project_view(Role.LEAD)
@require_POST
def job_action(request: HttpRequest, project, pk: int) -> HttpResponse:
    """One form, one submit button per action: `action` = cancel, pause, resume or retry."""
    job = selectors.job_get(project=project, pk=pk)
    try:
        action = validated(JobActionInput, request.POST)["action"]
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return render(request, "curation/job_detail.html", _job_context(request, job), status=400)
    try:
        ACTIONS[action](job=job, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("curation:job_detail", slug=project.slug, pk=job.pk)
