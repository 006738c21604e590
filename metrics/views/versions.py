"""Dataset version screens: list and compose, one version (metrics like the paper's Table 3,
freeze / submit / approve, export), two versions side by side, and the quality dashboard."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from curation.exceptions import ConflictError
from curation.inputs import validated
from curation.models import Role, Scene, TaskType
from curation.views.common import (
    error_messages,
    errors_beside,
    form_renamed,
    project_context,
    project_view,
)
from labeling.models import Grade, Sample
from metrics import export, selectors
from metrics.inputs import (
    VersionCompareQuery,
    VersionCreateInput,
    VersionDecideInput,
    VersionExportQuery,
    VersionFreezeInput,
    VersionSubmitInput,
)
from metrics.models import DatasetVersion
from metrics.services.export import (
    export_content_type,
    export_file_name,
    version_export,
    version_manifest,
)
from metrics.services.versions import (
    version_create,
    version_decide,
    version_freeze,
    version_samples,
    version_submit,
)

FILTER_FIELDS = ("states", "grades", "task_types", "scenes", "since", "until")
# The compose form shows these fields' messages beside them; the others go on top.
COMPOSE_SHOWN = ("name", "since", "until", "top_n", "embedding")


@project_view(Role.ANNOTATOR)
@require_http_methods(["GET", "POST"])
def version_list(request: HttpRequest, project) -> HttpResponse:
    errors: dict = {}
    status = 200
    if request.method == "POST":
        if not request.project_role.allows(Role.LEAD):
            raise PermissionDenied
        # The form's filter fields are flat ("states"); the input nests them ("filters.states").
        data = form_renamed(request.POST, names={f: f"filters.{f}" for f in FILTER_FIELDS})
        try:
            given = validated(VersionCreateInput, data, project=project)
            version = version_create(project=project, actor=request.user, **given)
        except ValidationError as error:
            errors = errors_beside(error, COMPOSE_SHOWN, strip="filters.")
            status = 400
        else:
            return redirect("metrics:version_detail", slug=project.slug, pk=version.pk)
    context = project_context(
        request,
        versions=selectors.version_list(project=project),
        errors=errors,
        values=request.POST if errors else None,
        task_types=TaskType.objects.filter(project=project),
        scenes=Scene.objects.filter(project=project),
        grades=Grade.choices,
        states=[(Sample.State.ACCEPTED, _("accepted")), (Sample.State.REJECTED, _("rejected"))],
    )
    return render(request, "metrics/versions.html", context, status=status)


@project_view(Role.ANNOTATOR)
@require_GET
def version_detail(request: HttpRequest, project, pk: int) -> HttpResponse:
    version = get_object_or_404(selectors.version_list(project=project), pk=pk)
    matching = held_out = None
    if not version.frozen:
        matching = version_samples(project=project, filters=version.filters).count()
        every = version_samples(project=project, filters=version.filters, with_held_out=True)
        held_out = every.count() - matching
    context = project_context(
        request,
        version=version,
        rows=[selectors.table3_row(version)],
        filters=selectors.filters_shown(version.filters),
        freeze_job=(
            selectors.version_freeze_job(version=version)
            if version.state == DatasetVersion.State.FREEZING
            else None
        ),
        matching=matching,
        held_out=held_out,
        preview=selectors.version_preview(version=version),
        formats=export.FORMATS,
        task_bars=selectors.bars((version.metrics or {}).get("task_types", {})),
        format_bars=selectors.bars((version.metrics or {}).get("output_formats", {})),
        others=selectors.version_list(project=project).exclude(pk=version.pk).exclude(metrics={}),
    )
    return render(request, "metrics/version.html", context)


@project_view(Role.LEAD)
@require_POST
def version_act(request: HttpRequest, project, pk: int) -> HttpResponse:
    version = get_object_or_404(DatasetVersion, pk=pk, project=project)
    post = request.POST
    try:
        if "freeze" in post:
            given = validated(VersionFreezeInput, post, project=project)
            job = version_freeze(version=version, actor=request.user, **given)
            return redirect("curation:job_detail", slug=project.slug, pk=job.pk)
        if "submit" in post:
            given = validated(VersionSubmitInput, post, project=project)
            version_submit(version=version, actor=request.user, **given)
        elif "approve" in post or "reject" in post:
            data = post.copy()
            data["decision"] = "approve" if "approve" in post else "reject"
            given = validated(VersionDecideInput, data, project=project)
            version_decide(version=version, actor=request.user, **given)
    except ValidationError as error:
        messages.error(request, " ".join(sum(error_messages(error).values(), [])))
    except (ConflictError, PermissionDenied) as error:
        messages.error(request, str(error))
    return redirect("metrics:version_detail", slug=project.slug, pk=version.pk)


@project_view(Role.LEAD)
@require_GET
def version_download(request: HttpRequest, project, pk: int, fmt: str) -> HttpResponse:
    version = get_object_or_404(
        DatasetVersion.objects.select_related("project", "decided_by"), pk=pk, project=project
    )
    try:
        fmt = validated(VersionExportQuery, {"fmt": fmt})["fmt"]
        chunks = version_export(version=version, fmt=fmt)
    except ValidationError as error:
        messages.error(request, " ".join(sum(error_messages(error).values(), [])))
        return redirect("metrics:version_detail", slug=project.slug, pk=version.pk)
    name = export_file_name(version=version, fmt=fmt)
    if request.GET.get("manifest"):
        body = json.dumps(version_manifest(version=version, fmt=fmt), ensure_ascii=False, indent=2)
        response = HttpResponse(body, content_type="application/json")
        name = f"{name}.manifest.json"
    else:
        response = StreamingHttpResponse(chunks, content_type=export_content_type(fmt=fmt))
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@project_view(Role.ANNOTATOR)
@require_GET
def version_compare(request: HttpRequest, project) -> HttpResponse:
    try:
        chosen = validated(VersionCompareQuery, request.GET).get("v", [])[:4]
    except ValidationError as error:
        messages.error(request, " ".join(sum(error_messages(error).values(), [])))
        chosen = []
    versions = list(selectors.version_list(project=project).filter(pk__in=chosen).order_by("id"))
    context = project_context(
        request,
        rows=[selectors.table3_row(v) for v in versions],
        versions=versions,
        all_versions=selectors.version_list(project=project),
        chosen=chosen,
        task_names=sorted({k for v in versions for k in (v.metrics or {}).get("task_types", {})}),
        format_names=sorted(
            {k for v in versions for k in (v.metrics or {}).get("output_formats", {})}
        ),
    )
    return render(request, "metrics/compare.html", context)


@project_view(Role.LEAD)
@require_GET
def dashboard(request: HttpRequest, project) -> HttpResponse:
    versions = selectors.measured_versions(project=project)
    latest = versions[-1] if versions else None
    context = project_context(
        request,
        rows=[selectors.table3_row(v) for v in versions],
        latest=latest,
        task_bars=selectors.bars((latest.metrics if latest else {}).get("task_types", {})),
        format_bars=selectors.bars((latest.metrics if latest else {}).get("output_formats", {})),
        quality_rows=[{"version": v, "bars": selectors.quality_bars(v)} for v in versions],
        trend=selectors.trend_chart(versions),
    )
    return render(request, "metrics/dashboard.html", context)
