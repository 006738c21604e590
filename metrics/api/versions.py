"""API of dataset versions: compose, freeze, submit, approve or reject, metrics, export."""

from __future__ import annotations

import json

from django.http import HttpResponse, StreamingHttpResponse
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from curation.api.payload import payload, pop_revision
from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import JobSerializer
from curation.models import Role
from metrics import selectors
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

    def create(self, request, project_slug: str):
        data = request.data
        top_n = data.get("top_n")
        version = version_create(
            project=self.project,
            name=str(data.get("name", "")),
            description=str(data.get("description", "")),
            actor=request.user,
            filters=data.get("filters") if isinstance(data.get("filters"), dict) else {},
            top_n=int(top_n) if str(top_n or "").isdigit() else None,
            embedding=str(data.get("embedding") or "tokens"),
            threshold=float(data["threshold"]) if data.get("threshold") not in (None, "") else None,
        )
        return Response(self.get_serializer(version).data, status=status.HTTP_201_CREATED)

    def _revision(self, request) -> int:
        return pop_revision(payload(request))

    @action(detail=True, methods=["post"])
    def freeze(self, request, project_slug: str, pk: str):
        job = version_freeze(
            version=self.get_object(), revision=self._revision(request), actor=request.user
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def submit(self, request, project_slug: str, pk: str):
        version = version_submit(
            version=self.get_object(), revision=self._revision(request), actor=request.user
        )
        return Response(self.get_serializer(version).data)

    @action(detail=True, methods=["post"])
    def decide(self, request, project_slug: str, pk: str):
        data = payload(request)
        revision = pop_revision(data)
        version = version_decide(
            version=self.get_object(),
            revision=revision,
            actor=request.user,
            decision=str(data.get("decision", "")),
            note=str(data.get("note", "")),
        )
        return Response(self.get_serializer(version).data)

    @action(detail=True, methods=["get"])
    def export(self, request, project_slug: str, pk: str):
        fmt = request.query_params.get("fmt", "")
        version = self.get_object()
        chunks = version_export(version=version, fmt=fmt)
        response = StreamingHttpResponse(chunks, content_type=export_content_type(fmt=fmt))
        name = export_file_name(version=version, fmt=fmt)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @action(detail=True, methods=["get"])
    def manifest(self, request, project_slug: str, pk: str):
        fmt = request.query_params.get("fmt", "")
        version = self.get_object()
        version_export(version=version, fmt=fmt)  # the same checks as the export
        body = json.dumps(version_manifest(version=version, fmt=fmt), ensure_ascii=False)
        return HttpResponse(body, content_type="application/json")
