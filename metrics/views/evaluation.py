"""Evaluation screens: test sets and runs with the models laid out like the paper's Table 4, a
test set (its distribution, its overlap with versions), a run (results with intervals, failed
judgements, the judge's reliability, every item), one answer, the judge prompt, exports."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from curation.exceptions import ConflictError
from curation.inputs import validated
from curation.models import Job, ModelEndpoint, Role, TaskType
from curation.selectors import job_progress
from curation.views.common import (
    error_messages,
    form_renamed,
    is_htmx,
    project_context,
    project_view,
)
from evolution.models import TemplatePart
from labeling.models import Grade
from metrics import eval_prompts, selectors
from metrics.inputs import (
    EvalReliabilityInput,
    EvalRunStartInput,
    JudgePromptUpdateInput,
    RunExportQuery,
    TestSetCreateInput,
)
from metrics.models import EvalAnswer, EvalRun
from metrics.selectors import evaluation as reads
from metrics.services.evaluation import (
    evalrun_check_reliability,
    evalrun_retry_failed,
    evalrun_start,
    judge_prompt_update,
    testset_create,
)

STOP_POLLING = 286


# The test set form names its shares "task_<key>" and "format_<format>".
SHARE_FIELDS = {"task_": "task_shares.", "format_": "format_shares."}


def _home_context(request: HttpRequest, project, **extra) -> dict:
    return project_context(
        request,
        test_sets=reads.test_sets(project=project),
        runs=reads.runs(project=project),
        table=reads.model_table(project=project),
        endpoints=ModelEndpoint.objects.filter(project=project).order_by("name"),
        versions=selectors.version_list(project=project).exclude(metrics={}),
        task_types=TaskType.objects.filter(project=project),
        output_formats=TemplatePart.OutputFormat.choices,
        grades=Grade.choices,
        **extra,
    )


@project_view(Role.ANNOTATOR)
@require_GET
def evaluation_home(request: HttpRequest, project) -> HttpResponse:
    return render(request, "metrics/evaluation.html", _home_context(request, project))


@project_view(Role.LEAD)
@require_POST
def testset_new(request: HttpRequest, project) -> HttpResponse:
    post = request.POST
    try:
        given = validated(
            TestSetCreateInput, form_renamed(post, prefixes=SHARE_FIELDS), project=project
        )
        test_set = testset_create(project=project, actor=request.user, **given)
    except ValidationError as error:
        context = _home_context(
            request, project, errors=error_messages(error), values=post, form="testset"
        )
        return render(request, "metrics/evaluation.html", context, status=400)
    return redirect("metrics:testset_detail", slug=project.slug, pk=test_set.pk)


@project_view(Role.ANNOTATOR)
@require_GET
def testset_detail(request: HttpRequest, project, pk: int) -> HttpResponse:
    test_set = get_object_or_404(reads.test_sets(project=project), pk=pk)
    page = Paginator(reads.test_items(test_set=test_set), 50).get_page(request.GET.get("page"))
    context = project_context(
        request,
        test_set=test_set,
        distribution=reads.testset_distribution(test_set=test_set),
        overlap=test_set.overlap,
        page=page,
    )
    return render(request, "metrics/testset.html", context)


@project_view(Role.LEAD)
@require_POST
def run_new(request: HttpRequest, project) -> HttpResponse:
    post = request.POST
    try:
        given = validated(EvalRunStartInput, post, project=project)
        run = evalrun_start(project=project, actor=request.user, **given)
    except ValidationError as error:
        context = _home_context(
            request, project, errors=error_messages(error), values=post, form="run"
        )
        return render(request, "metrics/evaluation.html", context, status=400)
    return redirect("metrics:run_detail", slug=project.slug, pk=run.pk)


def _run(project, pk: int) -> EvalRun:
    return get_object_or_404(reads.runs(project=project), pk=pk)


@project_view(Role.ANNOTATOR)
@require_GET
@vary_on_headers("HX-Request")  # the page and its polled part share a URL
def run_detail(request: HttpRequest, project, pk: int) -> HttpResponse:
    run = _run(project, pk)
    job = run.job
    active = job is not None and job.status in Job.ACTIVE
    if is_htmx(request):
        context = project_context(request, run=run, job=job, active=active,
                                  progress=job_progress(job=job) if job else None)  # fmt: skip
        return render(
            request, "metrics/run.html#progress", context, status=200 if active else STOP_POLLING
        )
    answers = reads.answers(run=run)
    task = request.GET.get("task", "")
    state = request.GET.get("judged", "")
    if task:
        answers = answers.filter(item__task_type=task)
    if state in EvalAnswer.Judged.values:
        answers = answers.filter(judged=state)
    page = Paginator(answers, 50).get_page(request.GET.get("page"))
    context = project_context(
        request,
        run=run,
        job=job,
        active=active,
        progress=job_progress(job=job) if job else None,
        summary=run.summary or reads.run_summary(run=run),
        page=page,
        task=task,
        judged=state,
        judged_choices=EvalAnswer.Judged.choices,
        tasks=sorted((run.summary or {}).get("task_types", {})),
    )
    return render(request, "metrics/run.html", context)


@project_view(Role.LEAD)
@require_POST
def run_act(request: HttpRequest, project, pk: int) -> HttpResponse:
    run = _run(project, pk)
    try:
        if "retry" in request.POST:
            evalrun_retry_failed(run=run, actor=request.user)
        elif "reliability" in request.POST:
            given = validated(EvalReliabilityInput, request.POST, project=project)
            evalrun_check_reliability(run=run, actor=request.user, **given)
    except ValidationError as error:
        messages.error(request, " ".join(sum(error_messages(error).values(), [])))
    return redirect("metrics:run_detail", slug=project.slug, pk=run.pk)


@project_view(Role.ANNOTATOR)
@require_GET
def answer_detail(request: HttpRequest, project, pk: int, answer_pk: int) -> HttpResponse:
    run = _run(project, pk)
    answer = get_object_or_404(reads.answers(run=run), pk=answer_pk)
    context = project_context(request, run=run, answer=answer)
    return render(request, "metrics/answer.html", context)


@project_view(Role.ANNOTATOR)
@require_GET
def run_export(request: HttpRequest, project, pk: int, fmt: str) -> HttpResponse:
    run = _run(project, pk)
    try:
        fmt = validated(RunExportQuery, {"fmt": fmt})["fmt"]
    except ValidationError as error:
        problems = " ".join(sum(error_messages(error).values(), []))
        return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
    if fmt == "csv":
        body, content_type = reads.run_export_csv(run=run), "text/csv; charset=utf-8"
    else:
        body, content_type = reads.run_export_json(run=run), "application/json; charset=utf-8"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="eval-run-{run.pk}.{fmt}"'
    return response


@project_view(Role.ANNOTATOR)
@require_http_methods(["GET", "POST"])
def judge_prompt(request: HttpRequest, project) -> HttpResponse:
    errors: dict = {}
    status = 200
    if request.method == "POST":
        if not request.project_role.allows(Role.LEAD):
            raise PermissionDenied
        try:
            given = validated(JudgePromptUpdateInput, request.POST, project=project)
            judge_prompt_update(project=project, actor=request.user, **given)
        except ValidationError as error:
            errors, status = error_messages(error), 400
        except ConflictError as error:
            errors, status = {"template": [str(error)]}, 409
        else:
            return redirect("metrics:judge_prompt", slug=project.slug)
    saved = {p.language: p for p in project.judge_prompts.all()}
    templates = reads.judge_templates(project=project)
    languages = [
        {
            "code": code,
            "label": label,
            "template": (
                request.POST.get("template")
                if errors and request.POST.get("language") == code
                else templates[code]
            ),
            "revision": saved[code].revision if code in saved else 0,
            "errors": errors if request.POST.get("language") == code else {},
            "default": code not in saved,
        }
        for code, label in (("zh", "中文"), ("en", "English"))
    ]
    context = project_context(request, languages=languages, placeholders=eval_prompts.PLACEHOLDERS)
    return render(request, "metrics/judge_prompt.html", context, status=status)
