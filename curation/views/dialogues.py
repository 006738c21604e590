"""The dialogue browser and the import screen."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from curation import importing, selectors
from curation.models import Role, Scene, ServiceRole, SourceType
from curation.services.imports import import_start
from curation.views.common import error_messages, project_context, project_view

PAGE = 50


def _browser_context(request: HttpRequest, project, **extra) -> dict:
    filters = {name: request.GET.get(name, "").strip() for name in ("scene", "source", "role", "q")}
    dialogues = selectors.dialogue_search(
        project=project,
        scene=filters["scene"],
        source=filters["source"],
        role=filters["role"],
        text=filters["q"],
    )
    before = request.GET.get("before", "")
    if before.isdigit():
        dialogues = dialogues.filter(id__lt=int(before))
    # One row more than a page tells whether there is a next page, without COUNT(*).
    rows = list(dialogues[: PAGE + 1])
    query = urlencode({k: v for k, v in filters.items() if v})
    return project_context(
        request,
        dialogues=rows[:PAGE],
        next_before=rows[PAGE - 1].pk if len(rows) > PAGE else None,
        filters=filters,
        query=query,
        scenes=Scene.objects.filter(project=project, active=True),
        sources=SourceType.objects.filter(project=project, active=True),
        roles=ServiceRole.objects.filter(project=project, active=True),
        formats=importing.FORMATS,
        **extra,
    )


@project_view(Role.ANNOTATOR)
@require_GET
@vary_on_headers("HX-Request")
def dialogue_list(request: HttpRequest, project) -> HttpResponse:
    context = _browser_context(request, project, errors={})
    if request.headers.get("HX-Request") == "true":
        return render(request, "curation/dialogue_list.html#results", context)
    return render(request, "curation/dialogue_list.html", context)


@project_view(Role.ANNOTATOR)
@require_GET
def dialogue_detail(request: HttpRequest, project, pk: int) -> HttpResponse:
    dialogue = get_object_or_404(selectors.dialogue_list(project=project), pk=pk)
    return render(
        request, "curation/dialogue_detail.html", project_context(request, dialogue=dialogue)
    )


@project_view(Role.LEAD)
@require_POST
def dialogue_import(request: HttpRequest, project) -> HttpResponse:
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationError({"file": "Choose a file to import."})
        job = import_start(
            project=project,
            data=upload.read(),
            filename=upload.name,
            fmt=request.POST.get("format", ""),
            partial=request.POST.get("partial") == "on",
            actor=request.user,
        )
    except ValidationError as error:
        context = _browser_context(request, project, errors=error_messages(error))
        return render(request, "curation/dialogue_list.html", context, status=400)
    return redirect("curation:job_detail", slug=project.slug, pk=job.pk)
