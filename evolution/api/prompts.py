"""API of stage 2: the template library, assembly and enhancement jobs, prompt review and the
meta-prompt. Leads only, like the screens."""

from __future__ import annotations

from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from curation.api.payload import payload, pop_revision
from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import JobSerializer
from curation.models import ModelEndpoint, Role
from evolution import selectors
from evolution.models import Prompt, TemplatePart
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


def _int(data: dict, name: str, default: int | None = None) -> int:
    value = data.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise serializers.ValidationError({name: [f"{name} must be a whole number."]}) from None


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
        return selectors.part_library(
            project=self.project, kind=self.request.query_params.get("kind", "")
        ).order_by("id")

    def create(self, request, project_slug: str):
        part = part_create(project=self.project, data=payload(request), actor=request.user)
        return Response(self.get_serializer(part).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, project_slug: str, pk: str):
        data = payload(request)
        revision = pop_revision(data)
        part = part_update(part=self.get_object(), data=data, revision=revision, actor=request.user)
        return Response(self.get_serializer(part).data)


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
        params = self.request.query_params
        return selectors.prompt_queue(
            project=self.project,
            state=params.get("state", ""),
            task_type=params.get("task_type", ""),
        )

    @action(detail=True, methods=["post"])
    def review(self, request, project_slug: str, pk: str):
        data = payload(request)
        revision = pop_revision(data)
        prompt = prompt_review(
            prompt=self.get_object(),
            revision=revision,
            actor=request.user,
            decision=str(data.get("decision", "")),
            text=data.get("text"),
            reason=str(data.get("reason", "")),
        )
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

    @action(detail=False, methods=["post"])
    def assemble(self, request, project_slug: str):
        data = request.data
        job = assembly_start(
            project=self.project,
            count=_int(data, "count"),
            seed=_int(data, "seed", 0),
            tasks_per_prompt=_int(data, "tasks_per_prompt", 1),
            actor=request.user,
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=False, methods=["post"])
    def enhance(self, request, project_slug: str):
        data = request.data
        endpoint = ModelEndpoint.objects.filter(
            project=self.project, pk=_int(data, "endpoint", 0)
        ).first()
        if endpoint is None:
            raise serializers.ValidationError({"endpoint": ["Choose an endpoint of this project."]})
        job = enhancement_start(
            project=self.project,
            prompt_ids=[int(i) for i in data.get("prompts", []) if str(i).isdigit()],
            endpoint=endpoint,
            actor=request.user,
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=False, methods=["get", "patch"], url_path="meta-prompt")
    def meta_prompt(self, request, project_slug: str):
        if request.method == "PATCH":
            data = payload(request)
            revision = pop_revision(data)
            meta = meta_prompt_update(
                project=self.project, data=data, revision=revision, actor=request.user
            )
        else:
            meta = meta_prompt_get(project=self.project)
        return Response(
            {"prompt_zh": meta.prompt_zh, "prompt_en": meta.prompt_en, "revision": meta.revision}
        )
