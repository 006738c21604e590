"""Label screens: the label home (start a job, settings, figures), the review queue (one sample
at a time, keyboard first), the leads' second pass, and the list of samples."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from curation import dialogue_text
from curation.exceptions import ConflictError
from curation.inputs import validated
from curation.models import ModelEndpoint, Role, Scene, SourceType, TaskType
from curation.views.common import (
    error_messages,
    errors_beside,
    form_renamed,
    is_htmx,
    project_context,
    project_view,
)
from evolution.selectors import prompts_for_labeling
from evolution.services.prompt_review import prompt_output_rule
from labeling import selectors
from labeling.inputs import (
    LabelJobStartInput,
    LabelSettingsInput,
    SampleReviewInput,
    SampleVerifyInput,
)
from labeling.models import Grade, Sample
from labeling.services.generate import label_job_start, sample_regenerate
from labeling.services.review import (
    label_regenerate_allowed,
    label_settings_get,
    label_settings_update,
    sample_claim_next,
    sample_review,
    sample_verify,
)

PAGE = 50
LEFT_CAP = 10_000
# The label job form's weight fields and the input's names for them.
WEIGHT_FIELDS = {"scene-": "scene_weights.", "source-": "source_weights.", "task-": "task_weights."}


def _after(request: HttpRequest) -> int:
    """The id a page of a list starts after; anything but a plain number starts at the top."""
    after = request.GET.get("after", "")
    return int(after) if after.isascii() and after.isdigit() and len(after) < 19 else 0


def _flash(request: HttpRequest, error: ValidationError) -> None:
    for field, problems in error_messages(error).items():
        messages.error(request, f"{field}: {' '.join(problems)}")


@project_view(Role.ANNOTATOR)
@require_GET
def label_home(request: HttpRequest, project) -> HttpResponse:
    context = project_context(
        request,
        stats=selectors.label_stats(project=project),
        settings=label_settings_get(project=project),
        scenes=Scene.objects.filter(project=project),
        sources=SourceType.objects.filter(project=project),
        task_types=TaskType.objects.filter(project=project),
        endpoints=ModelEndpoint.objects.filter(project=project),
        approved=prompts_for_labeling(project=project).count(),
        grades=Grade.choices,
    )
    return render(request, "labeling/home.html", context)


@project_view(Role.LEAD)
@require_POST
def label_start(request: HttpRequest, project) -> HttpResponse:
    # The form names its weights "scene-<key>"...; the input reads "scene_weights.<key>".
    data = form_renamed(request.POST, prefixes=WEIGHT_FIELDS)
    try:
        given = validated(LabelJobStartInput, data, project=project)
        job = label_job_start(
            project=project,
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
    except ValidationError as error:
        _flash(request, error)
        return redirect("labeling:label_home", slug=project.slug)
    return redirect("curation:job_detail", slug=project.slug, pk=job.pk)


@project_view(Role.LEAD)
@require_POST
def label_settings(request: HttpRequest, project) -> HttpResponse:
    try:
        given = validated(LabelSettingsInput, request.POST, project=project)
        label_settings_update(project=project, actor=request.user, **given)
    except ValidationError as error:
        _flash(request, error)
    except ConflictError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Label settings saved."))
    return redirect("labeling:label_home", slug=project.slug)


def _review_context(request, project, sample, *, error=None, typed=None, grade="") -> dict:
    return project_context(
        request,
        sample=sample,
        chosen_grade=grade or (sample.grade if sample else ""),
        dialogue_text=dialogue_text.render(sample.dialogue.turns) if sample else "",
        output_rule=prompt_output_rule(sample.prompt) if sample else "",
        grades=Grade.choices,
        errors=error or {},
        typed=typed,
        left=_left(project),
        left_cap=LEFT_CAP,
        may_regenerate=label_regenerate_allowed(project=project, role=request.project_role),
    )


def _left(project) -> int:
    """How many samples wait; counted up to a cap, since an exact count of a million rows on
    every decision would cost more than the page itself."""
    waiting = Sample.objects.filter(project=project, state=Sample.State.READY)
    n = waiting.order_by()[: LEFT_CAP + 1].count()
    return n  # LEFT_CAP + 1 means "more than LEFT_CAP"


@project_view(Role.ANNOTATOR)
@require_GET
@vary_on_headers("HX-Request")
def review_queue(request: HttpRequest, project) -> HttpResponse:
    """The sample this annotator holds, or the next free one, claimed for them."""
    sample = sample_claim_next(project=project, annotator=request.user)
    if sample is not None:
        sample = Sample.objects.select_related("dialogue", "prompt", "task_type").get(pk=sample.pk)
    return render(request, "labeling/review.html", _review_context(request, project, sample))


@project_view(Role.ANNOTATOR)
@require_POST
def review_act(request: HttpRequest, project, pk: int) -> HttpResponse:
    """One form: grade, then accept or reject (named buttons); the next sample follows."""
    sample = get_object_or_404(
        Sample.objects.select_related("dialogue", "prompt", "task_type"), pk=pk, project=project
    )
    data = request.POST.copy()
    data["decision"] = next((d for d in ("accept", "reject") if d in request.POST), "")
    try:
        given = validated(SampleReviewInput, data, project=project)
        sample_review(sample=sample, actor=request.user, **given)
    except (ValidationError, ConflictError) as problem:
        errors = (
            errors_beside(problem, ("output", "grade"))
            if isinstance(problem, ValidationError)
            else {"general": [str(problem)]}
        )
        sample.refresh_from_db()
        context = _review_context(
            request,
            project,
            sample,
            error=errors,
            typed=request.POST.get("output"),
            grade=request.POST.get("grade", ""),
        )
        if is_htmx(request):
            return render(request, "labeling/review.html#panel", context)
        return render(request, "labeling/review.html", context, status=400)
    if is_htmx(request):
        following = sample_claim_next(project=project, annotator=request.user)
        if following is not None:
            following = Sample.objects.select_related("dialogue", "prompt", "task_type").get(
                pk=following.pk
            )
        context = _review_context(request, project, following)
        context["done"] = sample
        return render(request, "labeling/review.html#panel", context)
    messages.success(request, _("Saved. Next sample."))
    return redirect("labeling:review_queue", slug=project.slug)


@project_view(Role.ANNOTATOR)
@require_POST
def sample_regenerate_view(request: HttpRequest, project, pk: int) -> HttpResponse:
    sample = get_object_or_404(Sample, pk=pk, project=project)
    try:
        sample_regenerate(sample=sample, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ConflictError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The model runs again on this sample; its output comes back to the queue.")
        )
    return redirect("labeling:review_queue", slug=project.slug)


@project_view(Role.LEAD)
@require_GET
def verify_queue(request: HttpRequest, project) -> HttpResponse:
    samples = selectors.verify_queue(project=project).select_related("reviewed_by", "dialogue")
    samples = samples.filter(id__gt=_after(request))
    rows = list(samples[: PAGE + 1])
    context = project_context(
        request,
        samples=rows[:PAGE],
        next_after=rows[PAGE - 1].pk if len(rows) > PAGE else None,
        left=selectors.verify_queue(project=project).count(),
    )
    return render(request, "labeling/verify.html", context)


@project_view(Role.LEAD)
@require_POST
def verify_act(request: HttpRequest, project, pk: int) -> HttpResponse:
    sample = get_object_or_404(Sample, pk=pk, project=project)
    data = request.POST.copy()
    data["decision"] = next((d for d in ("confirm", "return") if d in request.POST), "")
    try:
        given = validated(SampleVerifyInput, data, project=project)
        sample_verify(sample=sample, actor=request.user, **given)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ConflictError as error:
        messages.error(request, str(error))
    return redirect(reverse("labeling:verify_queue", args=[project.slug]))


@project_view(Role.ANNOTATOR)
@require_GET
def sample_list(request: HttpRequest, project) -> HttpResponse:
    state = request.GET.get("state", "")
    task_type = request.GET.get("task_type", "")
    samples = selectors.sample_list(project=project, state=state, task_type=task_type)
    samples = samples.filter(id__gt=_after(request))
    rows = list(samples.select_related("reviewed_by")[: PAGE + 1])
    context = project_context(
        request,
        samples=rows[:PAGE],
        next_after=rows[PAGE - 1].pk if len(rows) > PAGE else None,
        state=state,
        task_type=task_type,
        states=Sample.State.choices,
        task_types=TaskType.objects.filter(project=project),
    )
    return render(request, "labeling/samples.html", context)
