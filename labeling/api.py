"""API of the label stage: samples, the next-sample claim, review, second pass, regeneration,
label jobs, review settings and figures."""

from __future__ import annotations

from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from curation.api.payload import payload, pop_revision
from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import JobSerializer
from curation.models import ModelEndpoint, Role
from labeling import selectors
from labeling.models import Sample
from labeling.services.generate import label_job_start, sample_regenerate
from labeling.services.review import (
    label_settings_get,
    label_settings_update,
    sample_claim_next,
    sample_review,
    sample_verify,
)


class SampleSerializer(serializers.ModelSerializer):
    task_type = serializers.CharField(source="task_type.key")
    scene = serializers.CharField(source="scene.key", default=None)
    source = serializers.CharField(source="source.key", default=None)
    output_formats = serializers.ListField(source="formats", child=serializers.CharField())

    class Meta:
        model = Sample
        fields = [
            "id",
            "state",
            "job",
            "dialogue",
            "prompt",
            "task_type",
            "scene",
            "source",
            "instruction",
            "rendered_input",
            "output_formats",
            "model_output",
            "output",
            "output_check",
            "output_check_detail",
            "attempts",
            "endpoint",
            "prompt_tokens",
            "completion_tokens",
            "judge_grade",
            "judge_reason",
            "grade",
            "reason",
            "double",
            "assigned_to",
            "assigned_until",
            "reviewed_by",
            "reviewed_at",
            "verify",
            "revision",
            "created_at",
        ]
        read_only_fields = fields


class Pages(CursorPagination):
    ordering = "id"
    page_size = 50


def _weights(data, name: str) -> dict[str, float] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise serializers.ValidationError({name: ["An object of key: weight."]})
    try:
        return {str(k): float(v) for k, v in value.items()}
    except (TypeError, ValueError):
        raise serializers.ValidationError({name: ["Weights are numbers."]}) from None


class SampleViewSet(ProjectScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Samples; filter with ?state= and ?task_type= (key). `next` claims the next sample for
    you; `review` accepts or rejects with a grade (and the revision read); leads `verify`
    (confirm / return) and `start` label jobs; `stats` gives the figures; `settings` the review
    settings."""

    serializer_class = SampleSerializer
    queryset = Sample.objects.none()
    pagination_class = Pages
    filter_backends: list = []
    action_roles = {
        "next": Role.ANNOTATOR,
        "review": Role.ANNOTATOR,
        "regenerate": Role.ANNOTATOR,
        "verify": Role.LEAD,
        "start": Role.LEAD,
    }

    def get_queryset(self):
        params = self.request.query_params
        return selectors.sample_list(
            project=self.project,
            state=params.get("state", ""),
            task_type=params.get("task_type", ""),
        ).select_related("prompt", "source")

    @action(detail=False, methods=["post"])
    def next(self, request, project_slug: str):
        sample = sample_claim_next(project=self.project, annotator=request.user)
        if sample is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.get_serializer(sample).data)

    @action(detail=True, methods=["post"])
    def review(self, request, project_slug: str, pk: str):
        data = payload(request)
        revision = pop_revision(data)
        sample = sample_review(
            sample=self.get_object(),
            revision=revision,
            actor=request.user,
            decision=str(data.get("decision", "")),
            grade=str(data.get("grade", "")),
            output=data.get("output"),
            reason=str(data.get("reason", "")),
        )
        return Response(self.get_serializer(sample).data)

    @action(detail=True, methods=["post"])
    def verify(self, request, project_slug: str, pk: str):
        data = payload(request)
        revision = pop_revision(data)
        sample = sample_verify(
            sample=self.get_object(),
            revision=revision,
            actor=request.user,
            decision=str(data.get("decision", "")),
        )
        return Response(self.get_serializer(sample).data)

    @action(detail=True, methods=["post"])
    def regenerate(self, request, project_slug: str, pk: str):
        sample = sample_regenerate(sample=self.get_object(), actor=request.user)
        return Response(self.get_serializer(sample).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=False, methods=["post"])
    def start(self, request, project_slug: str):
        data = request.data
        endpoint = ModelEndpoint.objects.filter(
            project=self.project,
            pk=data.get("endpoint") if str(data.get("endpoint", "")).isdigit() else 0,
        ).first()
        if endpoint is None:
            raise serializers.ValidationError({"endpoint": ["Choose an endpoint of this project."]})
        count = data.get("count")
        if not str(count).isdigit():
            raise serializers.ValidationError({"count": ["A whole number of samples."]})
        job = label_job_start(
            project=self.project,
            count=int(count),
            endpoint=endpoint,
            actor=request.user,
            scene_weights=_weights(data, "scene_weights"),
            source_weights=_weights(data, "source_weights"),
            task_weights=_weights(data, "task_weights"),
            prompt_ids=[int(i) for i in data.get("prompts", []) if str(i).isdigit()] or None,
            judge=bool(data.get("judge", True)),
            seed=int(data.get("seed") or 0),
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=False, methods=["get"])
    def stats(self, request, project_slug: str):
        return Response(selectors.label_stats(project=self.project))

    @action(detail=False, methods=["get", "patch"], url_path="settings")
    def review_settings(self, request, project_slug: str):
        if request.method == "PATCH":
            if not request.project_role.allows(Role.LEAD):
                return Response(
                    {"detail": "Leads change the review settings."},
                    status=status.HTTP_403_FORBIDDEN,
                )
            data = payload(request)
            revision = pop_revision(data)
            current = label_settings_update(
                project=self.project, data=data, revision=revision, actor=request.user
            )
        else:
            current = label_settings_get(project=self.project)
        return Response(
            {
                "second_pass": current.second_pass,
                "double_share": current.double_share,
                "assignment_minutes": current.assignment_minutes,
                "revision": current.revision,
            }
        )
