"""API of the evaluation: test sets (draw, distribution, overlap, items), runs (start, results,
answers, retry of failures, reliability checks, export) and the judge prompts."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from curation.api.payload import payload, pop_revision
from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import JobSerializer
from curation.models import ModelEndpoint, Role
from metrics.models import DatasetVersion, EvalAnswer, EvalRun, JudgePrompt, TestItem, TestSet
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

    def create(self, request, project_slug: str):
        data = request.data
        try:
            size = int(data.get("size", 0))
            seed = int(data.get("seed", 0) or 0)
        except (TypeError, ValueError):
            raise ValidationError({"size": "size and seed are integers"}) from None
        test_set = testset_create(
            project=self.project,
            name=str(data.get("name", "")),
            description=str(data.get("description", "")),
            size=size,
            seed=seed,
            task_shares=_mapping(data, "task_shares"),
            format_shares=_mapping(data, "format_shares"),
            grades=list(data.get("grades") or []) or None,
            hold_out_prompts=data.get("hold_out_prompts", True) not in (False, "false", "0", 0),
            actor=request.user,
        )
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


def _mapping(data, key: str) -> dict | None:
    value = data.get(key)
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict):
        raise ValidationError({key: "an object of {name: share}"})
    return value


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

    def create(self, request, project_slug: str):
        data = request.data
        endpoints = ModelEndpoint.objects.filter(project=self.project)

        def pick(queryset, key):
            value = data.get(key)
            if value in (None, ""):
                return None
            try:
                return queryset.filter(pk=int(value)).first()
            except (TypeError, ValueError):
                raise ValidationError({key: "an id"}) from None

        trained_on = pick(DatasetVersion.objects.filter(project=self.project), "trained_on")
        run = evalrun_start(
            project=self.project,
            test_set=pick(TestSet.objects.filter(project=self.project), "test_set"),
            model_endpoint=pick(endpoints, "model_endpoint"),
            judge_endpoint=pick(endpoints, "judge_endpoint"),
            trained_on=trained_on,
            trained_on_given=data.get("trained_on") not in (None, ""),
            name=str(data.get("name", "")),
            actor=request.user,
        )
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

    @action(detail=True, methods=["post"])
    def retry(self, request, project_slug: str, pk: str):
        job = evalrun_retry_failed(run=self.get_object(), actor=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def reliability(self, request, project_slug: str, pk: str):
        data = payload(request)
        try:
            items, repeats = int(data.get("items", 20)), int(data.get("repeats", 3))
        except (TypeError, ValueError):
            raise ValidationError({"items": "items and repeats are integers"}) from None
        job = evalrun_check_reliability(
            run=self.get_object(), actor=request.user, items=items, repeats=repeats
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["get"])
    def export(self, request, project_slug: str, pk: str):
        fmt = request.query_params.get("fmt", "json")
        writers = {
            "csv": (reads.run_export_csv, "text/csv"),
            "json": (reads.run_export_json, "application/json"),
        }
        if fmt not in writers:
            raise ValidationError({"fmt": "csv or json"})
        run = self.get_object()
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

    def update(self, request, project_slug: str, pk: str):
        data = payload(request)
        revision = pop_revision(data)
        prompt = judge_prompt_update(
            project=self.project,
            language=pk,
            template=str(data.get("template", "")),
            revision=revision,
            actor=request.user,
        )
        row = {"language": pk, "template": prompt.template, "revision": prompt.revision}
        return Response(self.get_serializer({**row, "default": False}).data)
