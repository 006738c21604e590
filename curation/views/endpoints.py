"""Model endpoint screens: list, add (site admins), edit, test connection (a background job)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from curation import selectors
from curation.exceptions import ConflictError
from curation.inputs import EndpointCreateInput, EndpointUpdateInput, validated
from curation.models import JsonMode, Role
from curation.services import llm as llm_services
from curation.views.common import error_messages, project_context, project_view


def _endpoint_form(request: HttpRequest):
    form = request.POST.copy()
    if not llm_services.user_can_add_endpoints(request.user):
        form.pop("base_url", None)  # the field is read-only for them; never trust a posted one
    return form


def _with_usage(project) -> list:
    usage = selectors.endpoint_usage(project=project)
    endpoints = list(selectors.endpoint_list(project=project))
    for endpoint in endpoints:
        endpoint.usage = usage.get(endpoint.pk)
    return endpoints


@project_view(Role.ANNOTATOR)
@require_GET
def endpoint_list(request: HttpRequest, project) -> HttpResponse:
    return render(
        request,
        "curation/endpoints.html",
        project_context(
            request,
            endpoints=_with_usage(project),
            json_modes=JsonMode.choices,
            errors={},
        ),
    )


@project_view(Role.ADMIN)
@require_POST
def endpoint_create(request: HttpRequest, project) -> HttpResponse:
    if not llm_services.user_can_add_endpoints(request.user):
        raise PermissionDenied(_("Only site admins may add endpoints or set base URLs."))
    try:
        endpoint = llm_services.endpoint_create(
            project=project,
            values=validated(EndpointCreateInput, request.POST),
            actor=request.user,
        )
    except ValidationError as error:
        context = project_context(
            request,
            endpoints=_with_usage(project),
            json_modes=JsonMode.choices,
            errors=error_messages(error),
            values=request.POST,
        )
        return render(request, "curation/endpoints.html", context, status=400)
    messages.success(request, _("Endpoint added. Test its connection."))
    return redirect("curation:endpoint_edit", slug=project.slug, pk=endpoint.pk)


@project_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def endpoint_edit(request: HttpRequest, project, pk: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(project=project, pk=pk)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        try:
            changes = validated(EndpointUpdateInput, _endpoint_form(request))
            llm_services.endpoint_update(
                endpoint=endpoint,
                revision=changes.pop("revision"),
                changes=changes,
                actor=request.user,
            )
        except ValidationError as error:
            errors, status = error_messages(error), 400
        except ConflictError as error:
            errors, status = {"general": [str(error)]}, 409
        except PermissionDenied as error:
            errors, status = {"general": [str(error)]}, 403
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("curation:endpoint_list", slug=project.slug)
    context = project_context(
        request,
        endpoint=endpoint,
        json_modes=JsonMode.choices,
        errors=errors,
        values=request.POST if errors else None,
    )
    return render(request, "curation/endpoint_edit.html", context, status=status)


@project_view(Role.LEAD)
@require_POST
def endpoint_test(request: HttpRequest, project, pk: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(project=project, pk=pk)
    job = llm_services.endpoint_test(endpoint=endpoint, actor=request.user)
    return redirect("curation:job_detail", slug=project.slug, pk=job.pk)
