"""API of stage 2: the template library, assembly and enhancement jobs, prompt review and the
meta-prompt. Leads only, like the screens."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import JobSerializer
from curation.models import Role
from evolution import selectors
from evolution.inputs import (
    AssemblyStartInput,
    EnhancementStartInput,
    MetaPromptUpdateInput,
    PartCreateInput,
    PartUpdateInput,
    PromptReviewInput,
    api_filters,
    api_values,
)
from evolution.models import MetaPrompt, Prompt, TemplatePart
from evolution.services.assembly import (
    assembly_start,
    enhancement_start,
    meta_prompt_get,
    meta_prompt_update,
)
from evolution.services.parts import part_create, part_update
from evolution.services.prompt_review import prompt_output_rule, prompt_render, prompt_review


class Pages(CursorPagination):
    ordering = "id"
    page_size = 50


class TemplatePartSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplatePart
        fields = [
            "id",
            "kind",
            "name",
            "text",
            "scene",
            "service_role",
            "task_type",
            "instruction",
            "output_format",
            "example",
            "active",
            "revision",
            "created_at",
        ]
        read_only_fields = fields


class TemplatePartViewSet(
    ProjectScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Template parts; filter with ?kind=. Scene, service role and task type are ids or keys;
    a task narrative names an accepted instruction. Edits send the revision they read."""

    serializer_class = TemplatePartSerializer
    queryset = TemplatePart.objects.none()
    pagination_class = Pages
    filter_backends: list = []
    read_role = Role.LEAD
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        kind = api_filters(self.request).get("kind", "")
        return selectors.part_library(project=self.project, kind=kind).order_by("id")

    @extend_schema(request=PartCreateInput, responses={201: TemplatePartSerializer})
    def create(self, request, project_slug: str):
        values = api_values(PartCreateInput, request, project=self.project)
        part = part_create(project=self.project, actor=request.user, **values)
        return Response(self.get_serializer(part).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PartUpdateInput, responses=TemplatePartSerializer)
    def partial_update(self, request, project_slug: str, pk: str):
        part = self.get_object()
        values = api_values(PartUpdateInput, request, project=self.project)
        revision = values.pop("revision")
        part = part_update(part=part, revision=revision, actor=request.user, changes=values)
        return Response(self.get_serializer(part).data)


class MetaPromptSerializer(serializers.ModelSerializer):
    class Meta:
        model = MetaPrompt
        fields = ["prompt_zh", "prompt_en", "revision"]
        read_only_fields = fields


class PromptSerializer(serializers.ModelSerializer):
    task_type = serializers.CharField(source="task_type.key")
    scene = serializers.CharField(source="scene.key", default=None)
    service_role = serializers.CharField(source="service_role.key", default=None)
    # The output rule the label stage enforces, in the prompt's language.
    output_rule = serializers.SerializerMethodField()

    class Meta:
        model = Prompt
        fields = [
            "id",
            "state",
            "text",
            "assembled_text",
            "language",
            "task_type",
            "tasks",
            "output_rule",
            "scene",
            "service_role",
            "parts",
            "reason",
            "job",
            "seq",
            "endpoint",
            "enhance_job",
            "revision",
            "reviewed_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_output_rule(self, prompt: Prompt) -> str:
        return prompt_output_rule(prompt)


class PromptViewSet(ProjectScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Prompts; filter with ?state= (pending = to review, the default being every state) and
    ?task_type= (key). `review` approves, rejects (with a reason) or saves an edit; `assemble`
    and `enhance` start jobs; `preview` renders one with a real dialogue; `meta-prompt` reads
    and changes the structure-enhancement prompt."""

    serializer_class = PromptSerializer
    queryset = Prompt.objects.none()
    pagination_class = Pages
    filter_backends: list = []
    read_role = Role.LEAD

    def get_queryset(self):
        params = api_filters(self.request)
        return selectors.prompt_queue(
            project=self.project,
            state=params.get("state", ""),
            task_type=params.get("task_type", ""),
        )

    @extend_schema(request=PromptReviewInput, responses=PromptSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, project_slug: str, pk: str):
        prompt = self.get_object()
        values = api_values(PromptReviewInput, request, project=self.project)
        prompt = prompt_review(prompt=prompt, actor=request.user, **values)
        return Response(self.get_serializer(prompt).data)

    @action(detail=True, methods=["get"])
    def preview(self, request, project_slug: str, pk: str):
        prompt = self.get_object()
        dialogue = selectors.preview_dialogues(prompts=[prompt])[prompt.pk]
        return Response(
            {
                "id": prompt.pk,
                "dialogue": dialogue.pk if dialogue else None,
                "rendered": prompt_render(text=prompt.text, dialogue=dialogue),
            }
        )

    @extend_schema(request=AssemblyStartInput, responses={202: JobSerializer})
    @action(detail=False, methods=["post"])
    def assemble(self, request, project_slug: str):
        values = api_values(AssemblyStartInput, request, project=self.project)
        job = assembly_start(project=self.project, actor=request.user, **values)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=EnhancementStartInput, responses={202: JobSerializer})
    @action(detail=False, methods=["post"])
    def enhance(self, request, project_slug: str):
        values = api_values(EnhancementStartInput, request, project=self.project)
        job = enhancement_start(project=self.project, actor=request.user, **values)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(methods=["GET"], request=None, responses=MetaPromptSerializer)
    @extend_schema(methods=["PATCH"], request=MetaPromptUpdateInput, responses=MetaPromptSerializer)
    @action(detail=False, methods=["get", "patch"], url_path="meta-prompt")
    def meta_prompt(self, request, project_slug: str):
        if request.method == "PATCH":
            values = api_values(MetaPromptUpdateInput, request, project=self.project)
            meta = meta_prompt_update(project=self.project, actor=request.user, **values)
        else:
            meta = meta_prompt_get(project=self.project)
        return Response(MetaPromptSerializer(meta).data)
