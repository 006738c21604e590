"""API of stage 1: instructions, their review and screening, seeding and evolution jobs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import JobSerializer
from curation.models import Role
from evolution import selectors
from evolution.inputs import (
    EvolutionStartInput,
    InstructionReviewInput,
    InstructionsBulkReviewInput,
    InstructionScreenInput,
    SeedsGenerateInput,
    api_filters,
    api_values,
)
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
        params = api_filters(self.request)
        return selectors.instruction_queue(
            project=self.project,
            state=params.get("state", ""),
            task_type=params.get("task_type", ""),
            scene=params.get("scene", ""),
        )

    def values(self, input_class) -> dict:
        return api_values(input_class, self.request, project=self.project)

    @extend_schema(request=InstructionReviewInput, responses=InstructionSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, project_slug: str, pk: str):
        instruction = self.get_object()
        values = self.values(InstructionReviewInput)
        item = instruction_review(instruction=instruction, actor=request.user, **values)
        return Response(self.get_serializer(item).data)

    @extend_schema(request=InstructionScreenInput, responses=InstructionSerializer)
    @action(detail=True, methods=["post"])
    def screen(self, request, project_slug: str, pk: str):
        instruction = self.get_object()
        values = self.values(InstructionScreenInput)
        item = instruction_screen(instruction=instruction, actor=request.user, **values)
        return Response(self.get_serializer(item).data)

    @extend_schema(
        request=InstructionsBulkReviewInput,
        responses=inline_serializer("BulkReviewed", {"changed": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request, project_slug: str):
        values = self.values(InstructionsBulkReviewInput)
        changed = instructions_bulk_review(project=self.project, actor=request.user, **values)
        return Response({"changed": changed})

    @extend_schema(request=SeedsGenerateInput, responses={202: JobSerializer})
    @action(detail=False, methods=["post"])
    def seed(self, request, project_slug: str):
        values = self.values(SeedsGenerateInput)
        job = seeds_generate(project=self.project, actor=request.user, **values)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=EvolutionStartInput, responses={202: JobSerializer})
    @action(detail=False, methods=["post"])
    def evolve(self, request, project_slug: str):
        values = self.values(EvolutionStartInput)
        job = evolution_start(project=self.project, actor=request.user, **values)
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
