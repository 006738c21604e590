"""API of the Evol-Instruct operators: per-project prompts that leads read and edit."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from curation.api.permissions import ProjectScopedMixin
from curation.models import Role
from evolution.inputs import OperatorUpdateInput, api_values
from evolution.models import EvolutionOperator
from evolution.services.evolve import operators_ensure
from evolution.services.operators import operator_update


class OperatorSerializer(serializers.ModelSerializer):
    class Meta:
        model = EvolutionOperator
        fields = [
            "id",
            "key",
            "kind",
            "name_en",
            "name_zh",
            "prompt_zh",
            "prompt_en",
            "active",
            "revision",
        ]
        read_only_fields = fields  # edits go through operator_update


class OperatorViewSet(
    ProjectScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The project's operators (the defaults are created on first listing). Leads edit names,
    prompts and `active` with the revision they read; prompts must contain {instruction} and
    may use {dialogue}. Operators are neither created nor deleted here."""

    serializer_class = OperatorSerializer
    queryset = EvolutionOperator.objects.none()  # for the schema; scoped in get_queryset
    read_role = Role.LEAD
    write_role = Role.LEAD
    ordering_fields = ["id", "key", "kind"]
    filterset_fields = ["kind", "active"]

    def get_queryset(self):
        return EvolutionOperator.objects.filter(project=self.project).order_by("id")

    def list(self, request, *args, **kwargs):
        operators_ensure(project=self.project)
        return super().list(request, *args, **kwargs)

    @extend_schema(request=OperatorUpdateInput, responses=OperatorSerializer)
    def partial_update(self, request, project_slug: str, pk: str):
        operator = self.get_object()
        values = api_values(OperatorUpdateInput, request, project=self.project)
        operator = operator_update(operator=operator, actor=request.user, **values)
        return Response(self.get_serializer(operator).data)

    # The service changes only the fields sent, so PUT and PATCH behave alike.
    update = partial_update
