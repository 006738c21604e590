"""The dialogue browser and the import screen."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from curation import importing, selectors
from curation.inputs import (
    DialogueImportInput,
    DialoguePageInput,
    import_upload_handlers,
    validated,
)
from curation.models import Role, Scene, ServiceRole, SourceType
from curation.services.imports import import_start
from curation.views.common import error_messages, project_context, project_view

PAGE = 50


def _browser_context(request: HttpRequest, project, **extra) -> dict:
    filter_errors: dict = {}
    try:
        given = validated(DialoguePageInput, request.GET)
    except ValidationError as error:  # shown above the list (status 400), which stays empty
        filter_errors, given = error_messages(error), None
    filters = {name: given[name] if given else "" for name in ("scene", "source", "role", "q")}
    rows = []
    if given is not None:
        dialogues = selectors.dialogue_search(
            project=project,
            scene=filters["scene"],
            source=filters["source"],
            role=filters["role"],
            text=filters["q"],
        )
        if given.get("before") is not None:
            dialogues = dialogues.filter(id__lt=given["before"])
        # One row more than a page tells whether there is a next page, without COUNT(*).
        rows = list(dialogues[: PAGE + 1])
    query = urlencode({k: v for k, v in filters.items() if v})
    return project_context(
        request,
        dialogues=rows[:PAGE],
        next_before=rows[PAGE - 1].pk if len(rows) > PAGE else None,
        filters=filters,
        filter_errors=filter_errors,
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
    # htmx swaps only 2xx answers: its part shows the filter's message in place.
    if request.headers.get("HX-Request") == "true":
        return render(request, "curation/dialogue_list.html#results", context)
    status = 400 if context["filter_errors"] else 200
    return render(request, "curation/dialogue_list.html", context, status=status)


@project_view(Role.ANNOTATOR)
@require_GET
def dialogue_detail(request: HttpRequest, project, pk: int) -> HttpResponse:
    dialogue = get_object_or_404(selectors.dialogue_list(project=project), pk=pk)
    return render(
        request, "curation/dialogue_detail.html", project_context(request, dialogue=dialogue)
    )


@csrf_exempt  # checked below, once the upload handler is in place (CsrfViewMiddleware would
# read the body first, with the default handlers)
@project_view(Role.LEAD)
@require_POST
def dialogue_import(request: HttpRequest, project) -> HttpResponse:
    handler = import_upload_handlers(request)
    return _dialogue_import(request, project, handler)


@csrf_protect
def _dialogue_import(request: HttpRequest, project, handler) -> HttpResponse:
    data = request.POST.copy()
    data.update(request.FILES)
    try:
        values = validated(DialogueImportInput, data, upload_refused=handler.refused)
        job = import_start(
            project=project,
            upload=values["file"],
            filename=values["file"].name,
            fmt=values["format"],
            partial=values["partial"],
            actor=request.user,
        )
    except ValidationError as error:
        context = _browser_context(request, project, errors=error_messages(error))
        return render(request, "curation/dialogue_list.html", context, status=400)
    return redirect("curation:job_detail", slug=project.slug, pk=job.pk)
