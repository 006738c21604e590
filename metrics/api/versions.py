"""API of dataset versions: compose, freeze, submit, approve or reject, metrics, export."""

from __future__ import annotations

import json

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import JobSerializer
from curation.models import Role
from metrics import selectors
from metrics.inputs import (
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
    version_submit,
)


class VersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None)
    submitted_by = serializers.CharField(source="submitted_by.username", default=None)
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = DatasetVersion
        fields = [
            "id",
            "name",
            "description",
            "state",
            "filters",
            "top_n",
            "embedding",
            "threshold",
            "sample_count",
            "content_hash",
            "metrics",
            "error",
            "created_by",
            "created_at",
            "frozen_at",
            "submitted_by",
            "submitted_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "revision",
        ]
        read_only_fields = fields


class VersionViewSet(ProjectScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Dataset versions. Leads create one from filters ({"states", "grades", "task_types",
    "scenes", "since", "until"}), `freeze` it (a job), `submit` it; another lead `decide`s
    (approve / reject with a note). `export/?fmt=openai|sharegpt|alpaca|llamafactory` streams
    an approved version, saved under the file name its manifest gives; `manifest/?fmt=` gives
    that manifest. The parameter is `fmt`: DRF takes `?format=` for its own renderer choice."""

    serializer_class = VersionSerializer
    queryset = DatasetVersion.objects.none()
    filter_backends: list = []
    action_roles = {
        "freeze": Role.LEAD,
        "submit": Role.LEAD,
        "decide": Role.LEAD,
        "export": Role.LEAD,
        "manifest": Role.LEAD,
    }

    def get_queryset(self):
        return selectors.version_list(project=self.project)

    def _input(self, input_class, data=None) -> dict:
        """The body (or `data`) read by the operation's input serializer; wrong is a 400."""
        serializer = input_class(
            data=self.request.data if data is None else data, context={"project": self.project}
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(request=VersionCreateInput, responses={201: VersionSerializer})
    def create(self, request, project_slug: str):
        given = self._input(VersionCreateInput)
        version = version_create(project=self.project, actor=request.user, **given)
        return Response(self.get_serializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=VersionFreezeInput, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def freeze(self, request, project_slug: str, pk: str):
        version = self.get_object()
        given = self._input(VersionFreezeInput)
        job = version_freeze(version=version, actor=request.user, **given)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=VersionSubmitInput, responses=VersionSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, project_slug: str, pk: str):
        version = self.get_object()
        given = self._input(VersionSubmitInput)
        version = version_submit(version=version, actor=request.user, **given)
        return Response(self.get_serializer(version).data)

    @extend_schema(request=VersionDecideInput, responses=VersionSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, project_slug: str, pk: str):
        version = self.get_object()
        given = self._input(VersionDecideInput)
        version = version_decide(version=version, actor=request.user, **given)
        return Response(self.get_serializer(version).data)

    def _fmt(self, request) -> str:
        return self._input(VersionExportQuery, request.query_params)["fmt"]

    @extend_schema(parameters=[VersionExportQuery], responses={(200, "*/*"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def export(self, request, project_slug: str, pk: str):
        version = self.get_object()
        fmt = self._fmt(request)
        chunks = version_export(version=version, fmt=fmt)
        response = StreamingHttpResponse(chunks, content_type=export_content_type(fmt=fmt))
        name = export_file_name(version=version, fmt=fmt)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @extend_schema(parameters=[VersionExportQuery], responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def manifest(self, request, project_slug: str, pk: str):
        version = self.get_object()
        fmt = self._fmt(request)
        version_export(version=version, fmt=fmt)  # the same checks as the export
        body = json.dumps(version_manifest(version=version, fmt=fmt), ensure_ascii=False)
        return HttpResponse(body, content_type="application/json")
