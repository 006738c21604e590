"""API of the label stage: samples, the next-sample claim, review, second pass, regeneration,
label jobs, review settings and figures."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import JobSerializer
from curation.models import Role
from labeling import selectors
from labeling.inputs import (
    LabelJobStartInput,
    LabelSettingsInput,
    SampleReviewInput,
    SampleVerifyInput,
)
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


class LabelSettingsSerializer(serializers.Serializer):
    second_pass = serializers.BooleanField()
    double_share = serializers.FloatField()
    assignment_minutes = serializers.IntegerField()
    annotators_regenerate = serializers.BooleanField()
    revision = serializers.IntegerField()


class SampleViewSet(ProjectScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Samples; filter with ?state= and ?task_type= (key). `next` claims the next sample for
    you; `review` accepts or rejects with a grade (and the revision read); leads `verify`
    (confirm / return) and `start` label jobs; `regenerate` runs the model again (leads, and
    annotators when the review settings allow it); `stats` gives the figures; `settings` the
    review settings."""

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

    @extend_schema(request=None, responses={200: SampleSerializer, 204: None})
    @action(detail=False, methods=["post"])
    def next(self, request, project_slug: str):
        sample = sample_claim_next(project=self.project, annotator=request.user)
        if sample is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.get_serializer(sample).data)

    def _input(self, input_class, **kwargs) -> dict:
        """The body read by the operation's input serializer; a wrong value is a 400."""
        serializer = input_class(
            data=self.request.data, context={"project": self.project}, **kwargs
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(request=SampleReviewInput, responses=SampleSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, project_slug: str, pk: str):
        sample = self.get_object()
        sample = sample_review(sample=sample, actor=request.user, **self._input(SampleReviewInput))
        return Response(self.get_serializer(sample).data)

    @extend_schema(request=SampleVerifyInput, responses=SampleSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, project_slug: str, pk: str):
        sample = self.get_object()
        sample = sample_verify(sample=sample, actor=request.user, **self._input(SampleVerifyInput))
        return Response(self.get_serializer(sample).data)

    @extend_schema(request=None, responses={202: SampleSerializer})
    @action(detail=True, methods=["post"])
    def regenerate(self, request, project_slug: str, pk: str):
        sample = sample_regenerate(sample=self.get_object(), actor=request.user)
        return Response(self.get_serializer(sample).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=LabelJobStartInput, responses={202: JobSerializer})
    @action(detail=False, methods=["post"])
    def start(self, request, project_slug: str):
        given = self._input(LabelJobStartInput)
        job = label_job_start(
            project=self.project,
            count=given["count"],
            endpoint=given["endpoint"],
            actor=request.user,
            scene_weights=given.get("scene_weights"),
            source_weights=given.get("source_weights"),
            task_weights=given.get("task_weights"),
            prompt_ids=[p.pk for p in given.get("prompts", [])] or None,
            judge=given["judge"],
            seed=given["seed"],
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=False, methods=["get"])
    def stats(self, request, project_slug: str):
        return Response(selectors.label_stats(project=self.project))

    @extend_schema(methods=["PATCH"], request=LabelSettingsInput, responses=LabelSettingsSerializer)
    @extend_schema(methods=["GET"], responses=LabelSettingsSerializer)
    @action(detail=False, methods=["get", "patch"], url_path="settings")
    def review_settings(self, request, project_slug: str):
        if request.method == "PATCH":
            if not request.project_role.allows(Role.LEAD):
                return Response(
                    {"detail": "Leads change the review settings."},
                    status=status.HTTP_403_FORBIDDEN,
                )
            given = self._input(LabelSettingsInput, partial=True)
            current = label_settings_update(project=self.project, actor=request.user, **given)
        else:
            current = label_settings_get(project=self.project)
        return Response(LabelSettingsSerializer(current).data)
