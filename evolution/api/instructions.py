"""API of stage 1: instructions, their review and screening, seeding and evolution jobs."""

from __future__ import annotations

from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from curation.api.payload import payload, pop_revision
from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import JobSerializer
from curation.models import ModelEndpoint, Role
from evolution import selectors
from evolution.models import Instruction
from evolution.services.evolve import evolution_start
from evolution.services.instructions import (
    instruction_review,
    instruction_screen,
    instructions_bulk_review,
)
from evolution.services.seeds import seeds_generate


class InstructionSerializer(serializers.ModelSerializer):
    task_type = serializers.CharField(source="task_type.key")
    scene = serializers.CharField(source="scene.key", default=None)
    service_role = serializers.CharField(source="service_role.key", default=None)

    class Meta:
        model = Instruction
        fields = [
            "id",
            "text",
            "state",
            "origin",
            "task_type",
            "scene",
            "service_role",
            "parent",
            "root",
            "generation",
            "operator",
            "reason",
            "endpoint",
            "job",
            "revision",
            "created_at",
            "reviewed_at",
        ]
        read_only_fields = fields


class InstructionPagination(CursorPagination):
    ordering = "id"
    page_size = 50


def _endpoint(project, data: dict) -> ModelEndpoint:
    endpoint = ModelEndpoint.objects.filter(project=project, pk=data.get("endpoint")).first()
    if endpoint is None:
        raise serializers.ValidationError({"endpoint": ["Choose an endpoint of this project."]})
    return endpoint


class InstructionViewSet(ProjectScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Instructions; filter with ?state=, ?task_type=, ?scene= (keys). Annotators review
    (keep / drop / edit, with the revision read) and screen evolved ones; leads start seeding
    and evolution jobs. `lineage/` gives an instruction's family tree."""

    serializer_class = InstructionSerializer
    queryset = Instruction.objects.none()
    pagination_class = InstructionPagination
    filter_backends: list = []
    action_roles = {
        "review": Role.ANNOTATOR,
        "screen": Role.ANNOTATOR,
        "bulk": Role.ANNOTATOR,
        "seed": Role.LEAD,
        "evolve": Role.LEAD,
    }

    def get_queryset(self):
        params = self.request.query_params
        return selectors.instruction_queue(
            project=self.project,
            state=params.get("state", ""),
            task_type=params.get("task_type", ""),
            scene=params.get("scene", ""),
        )

    @action(detail=True, methods=["post"])
    def review(self, request, project_slug: str, pk: str):
        data = payload(request)
        revision = pop_revision(data)
        item = instruction_review(
            instruction=self.get_object(),
            revision=revision,
            actor=request.user,
            state=data.get("state"),
            text=data.get("text"),
        )
        return Response(self.get_serializer(item).data)

    @action(detail=True, methods=["post"])
    def screen(self, request, project_slug: str, pk: str):
        data = payload(request)
        revision = pop_revision(data)
        item = instruction_screen(
            instruction=self.get_object(),
            revision=revision,
            actor=request.user,
            decision=str(data.get("decision", "")),
            reason=str(data.get("reason", "")),
            text=str(data.get("text", "")),
        )
        return Response(self.get_serializer(item).data)

    @action(detail=False, methods=["post"])
    def bulk(self, request, project_slug: str):
        data = request.data
        ids = [int(i) for i in data.get("ids", []) if str(i).isdigit()]
        changed = instructions_bulk_review(
            project=self.project, ids=ids, state=str(data.get("state", "")), actor=request.user
        )
        return Response({"changed": changed})

    @action(detail=False, methods=["post"])
    def seed(self, request, project_slug: str):
        data = request.data
        job = seeds_generate(
            project=self.project,
            task_types=list(data.get("task_types", [])),
            scenes=list(data.get("scenes", [])),
            roles=list(data.get("roles", [])),
            per_combination=int(data.get("per_combination") or 0),
            endpoint=_endpoint(self.project, data),
            actor=request.user,
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=False, methods=["post"])
    def evolve(self, request, project_slug: str):
        data = request.data
        job = evolution_start(
            project=self.project,
            instruction_ids=[int(i) for i in data.get("instructions", []) if str(i).isdigit()],
            operator_keys=[str(k) for k in data.get("operators", [])],
            rounds=int(data.get("rounds") or 0),
            endpoint=_endpoint(self.project, data),
            actor=request.user,
            seed=int(data.get("seed") or 0),
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["get"])
    def lineage(self, request, project_slug: str, pk: str):
        item = self.get_object()

        def shape(branch):
            return {
                **InstructionSerializer(branch["node"]).data,
                "children": [shape(child) for child in branch["children"]],
            }

        return Response(shape(selectors.lineage(seed=item.root or item)[0]))
