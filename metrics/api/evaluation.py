"""API of the evaluation: test sets (draw, distribution, overlap, items), runs (start, results,
answers, retry of failures, reliability checks, export) and the judge prompts."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import JobSerializer
from curation.models import Role
from metrics.inputs import (
    EvalReliabilityInput,
    EvalRunStartInput,
    JudgePromptUpdateInput,
    RunExportQuery,
    TestSetCreateInput,
)
from metrics.models import EvalAnswer, EvalRun, JudgePrompt, TestItem, TestSet
from metrics.selectors import evaluation as reads
from metrics.services.evaluation import (
    evalrun_check_reliability,
    evalrun_retry_failed,
    evalrun_start,
    judge_prompt_update,
    testset_create,
)


class TestSetSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None)

    class Meta:
        model = TestSet
        fields = [
            "id",
            "name",
            "description",
            "size",
            "item_count",
            "task_shares",
            "format_shares",
            "grades",
            "seed",
            "hold_out_prompts",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class TestItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = TestItem
        fields = [
            "id",
            "position",
            "sample",
            "dialogue",
            "prompt",
            "task_type",
            "output_format",
            "instruction",
            "input",
            "reference",
        ]
        read_only_fields = fields


class TestSetViewSet(ProjectScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Held-out test sets. Leads draw one: {"name", "size", "task_shares": {key: share},
    "format_shares": {format: share}, "grades": [...], "seed", "hold_out_prompts": true}.
    `distribution/` gives target and realised shares, `overlap/` what a dataset version also
    holds, `items/` the items."""

    serializer_class = TestSetSerializer
    queryset = TestSet.objects.none()
    filter_backends: list = []

    def get_queryset(self):
        return reads.test_sets(project=self.project)

    @extend_schema(request=TestSetCreateInput, responses={201: TestSetSerializer})
    def create(self, request, project_slug: str):
        given = _input(TestSetCreateInput, request.data, self.project)
        test_set = testset_create(project=self.project, actor=request.user, **given)
        return Response(self.get_serializer(test_set).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def distribution(self, request, project_slug: str, pk: str):
        return Response(reads.testset_distribution(test_set=self.get_object()))

    @action(detail=True, methods=["get"])
    def overlap(self, request, project_slug: str, pk: str):
        return Response(self.get_object().overlap)

    @action(detail=True, methods=["get"])
    def items(self, request, project_slug: str, pk: str):
        page = self.paginate_queryset(reads.test_items(test_set=self.get_object()))
        return self.get_paginated_response(TestItemSerializer(page, many=True).data)


def _input(input_class, data, project, **values) -> dict:
    """`data` read by the operation's input serializer (with `values` from the URL); a wrong
    value is a 400 naming the field."""
    if values and isinstance(data, Mapping):
        data = data.copy()
        for key, value in values.items():
            data[key] = value
    serializer = input_class(data=data, context={"project": project})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class EvalRunSerializer(serializers.ModelSerializer):
    test_set = serializers.PrimaryKeyRelatedField(read_only=True)
    trained_on = serializers.PrimaryKeyRelatedField(read_only=True)
    job = JobSerializer(read_only=True)

    class Meta:
        model = EvalRun
        fields = [
            "id",
            "name",
            "test_set",
            "model_endpoint",
            "model_name",
            "judge_endpoint",
            "judge_model",
            "trained_on",
            "job",
            "summary",
            "reliability",
            "judge_templates",
            "created_at",
        ]
        read_only_fields = fields


class EvalAnswerSerializer(serializers.ModelSerializer):
    item = TestItemSerializer(read_only=True)

    class Meta:
        model = EvalAnswer
        fields = [
            "id",
            "item",
            "answer",
            "answer_error",
            "judged",
            "score",
            "reason",
            "judge_error",
            "judge_attempts",
            "checks",
            "prompt_tokens",
            "completion_tokens",
        ]
        read_only_fields = fields


class EvalRunViewSet(ProjectScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Evaluation runs. Leads start one: {"test_set", "model_endpoint", "judge_endpoint",
    "trained_on" (a version id, optional), "name"}; the model answers in a job and the judge
    scores. `answers/?task_type=&judged=` for drill-down, `retry/` for failed items,
    `reliability/` {"items", "repeats"} to judge a sample again, `table/` the models side by
    side (Table 4), `export/?fmt=csv|json` (DRF keeps `format` for its own renderers)."""

    serializer_class = EvalRunSerializer
    queryset = EvalRun.objects.none()
    filter_backends: list = []
    action_roles = {"retry": Role.LEAD, "reliability": Role.LEAD}

    def get_queryset(self):
        return reads.runs(project=self.project)

    @extend_schema(request=EvalRunStartInput, responses={201: EvalRunSerializer})
    def create(self, request, project_slug: str):
        given = _input(EvalRunStartInput, request.data, self.project)
        run = evalrun_start(project=self.project, actor=request.user, **given)
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["get"])
    def table(self, request, project_slug: str):
        table = reads.model_table(project=self.project)
        return Response(
            {
                "tasks": table["tasks"],
                "rows": [
                    {
                        "run": row["run"].pk,
                        "name": row["run"].name,
                        "model": row["run"].model_name,
                        "trained_on": row["run"].trained_on_id,
                        "task_types": dict(zip(table["tasks"], row["cells"], strict=True)),
                        "domain": row["domain"],
                    }
                    for row in table["rows"]
                ],
            }
        )

    @action(detail=True, methods=["get"])
    def answers(self, request, project_slug: str, pk: str):
        answers = reads.answers(run=self.get_object())
        task = request.query_params.get("task_type")
        judged = request.query_params.get("judged")
        if task:
            answers = answers.filter(item__task_type=task)
        if judged:
            if judged not in EvalAnswer.Judged.values:
                raise ValidationError({"judged": f"one of {', '.join(EvalAnswer.Judged.values)}"})
            answers = answers.filter(judged=judged)
        page = self.paginate_queryset(answers)
        return self.get_paginated_response(EvalAnswerSerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, project_slug: str, pk: str):
        job = evalrun_retry_failed(run=self.get_object(), actor=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=EvalReliabilityInput, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def reliability(self, request, project_slug: str, pk: str):
        run = self.get_object()
        given = _input(EvalReliabilityInput, request.data, self.project)
        job = evalrun_check_reliability(run=run, actor=request.user, **given)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[RunExportQuery], responses={(200, "*/*"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def export(self, request, project_slug: str, pk: str):
        run = self.get_object()
        fmt = _input(RunExportQuery, request.query_params, self.project)["fmt"]
        writers = {
            "csv": (reads.run_export_csv, "text/csv"),
            "json": (reads.run_export_json, "application/json"),
        }
        writer, content_type = writers[fmt]
        response = StreamingHttpResponse(
            writer(run=run), content_type=f"{content_type}; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="eval-run-{run.pk}.{fmt}"'
        return response


class JudgePromptSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=["zh", "en"], read_only=True)
    template = serializers.CharField()
    revision = serializers.IntegerField()
    default = serializers.BooleanField(read_only=True)


class JudgePromptViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """The judge prompt per language (`zh`, `en`): GET lists both (the default where none was
    saved); PUT `<language>/` {"template", "revision"} saves one (leads; a stale revision is a
    409). The template holds {question}; the reference and the answer are appended to it."""

    action_roles = {"update": Role.LEAD}
    lookup_value_regex = "zh|en"
    serializer_class = JudgePromptSerializer
    queryset = JudgePrompt.objects.none()
    filter_backends: list = []
    pagination_class = None

    def list(self, request, project_slug: str):
        saved = {p.language: p for p in JudgePrompt.objects.filter(project=self.project)}
        rows = [
            {
                "language": code,
                "template": template,
                "revision": saved[code].revision if code in saved else 0,
                "default": code not in saved,
            }
            for code, template in reads.judge_templates(project=self.project).items()
        ]
        return Response(self.get_serializer(rows, many=True).data)

    @extend_schema(request=JudgePromptUpdateInput, responses=JudgePromptSerializer)
    def update(self, request, project_slug: str, pk: str):
        given = _input(JudgePromptUpdateInput, request.data, self.project, language=pk)
        prompt = judge_prompt_update(project=self.project, actor=request.user, **given)
        row = {"language": pk, "template": prompt.template, "revision": prompt.revision}
        return Response(self.get_serializer({**row, "default": False}).data)
