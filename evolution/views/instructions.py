"""Stage 1 screens: the instruction queue (keep / drop / edit, bulk, keyboard) and seeding."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from curation.exceptions import ConflictError
from curation.inputs import validated
from curation.models import ModelEndpoint, Role, Scene, ServiceRole, TaskType
from curation.views.common import (
    error_messages,
    errors_beside,
    int_or_invalid,
    is_htmx,
    project_context,
    project_view,
)
from evolution import selectors
from evolution.diff import diff
from evolution.inputs import (
    EvolutionStartInput,
    InstructionReviewInput,
    InstructionsBulkReviewInput,
    InstructionScreenInput,
    OperatorUpdateInput,
    SeedsGenerateInput,
    queue_filters,
)
from evolution.models import EvolutionOperator, Instruction
from evolution.services.evolve import evolution_start, operators_ensure
from evolution.services.instructions import (
    instruction_review,
    instruction_screen,
    instructions_bulk_review,
)
from evolution.services.operators import operator_update
from evolution.services.seeds import seeds_generate

PAGE = 50
FILTERS = ("state", "task_type", "scene")


def read_filters(request: HttpRequest) -> tuple[dict, dict[str, list[str]]]:
    """The queue's filters from the query string, or the form's hidden fields (the query
    string wins), and the messages of any left out as invalid."""
    source = request.POST.copy()
    for name in request.GET:
        source.setlist(name, request.GET.getlist(name))
    return queue_filters(source)


def _filters(request: HttpRequest) -> dict[str, str]:
    values = read_filters(request)[0]
    filters = {name: values.get(name, "") for name in FILTERS}
    if "state" not in values:
        filters["state"] = Instruction.State.DRAFT
    return filters


def filter_problems(request: HttpRequest) -> int:
    """Say which filters of the query string were left out as invalid; the status to answer."""
    errors = read_filters(request)[1]
    if errors:
        named_messages(request, ValidationError(errors))
    return 400 if errors else 200


def _queue_url(project, filters: dict[str, str]) -> str:
    return reverse("evolution:instruction_queue", args=[project.slug]) + "?" + urlencode(filters)


@project_view(Role.ANNOTATOR)
@require_GET
@vary_on_headers("HX-Request")
def instruction_queue(request: HttpRequest, project) -> HttpResponse:
    filters = _filters(request)
    items = selectors.instruction_queue(project=project, **filters)
    after = read_filters(request)[0].get("after")
    if after is not None:
        items = items.filter(id__gt=after)
    rows = list(items[: PAGE + 1])
    context = project_context(
        request,
        items=rows[:PAGE],
        next_after=rows[PAGE - 1].pk if len(rows) > PAGE else None,
        filters=filters,
        query=urlencode(filters),
        counts=selectors.instruction_counts(
            project=project, task_type=filters["task_type"], scene=filters["scene"]
        ),
        states=Instruction.State.choices,
        task_types=TaskType.objects.filter(project=project, active=True),
        scenes=Scene.objects.filter(project=project, active=True),
        roles=ServiceRole.objects.filter(project=project, active=True),
        endpoints=ModelEndpoint.objects.filter(project=project),
        operators=selectors.operator_choices(project=project),
        errors={},
    )
    status = filter_problems(request)
    return render(request, "evolution/instruction_queue.html", context, status=status)


@project_view(Role.ANNOTATOR)
@require_POST
def instruction_act(request: HttpRequest, project, pk: int) -> HttpResponse:
    """One form per instruction: named buttons keep, drop or save (an edit)."""
    instruction = get_object_or_404(Instruction, pk=pk, project=project)
    data = {"revision": request.POST.get("revision"), "text": request.POST.get("text")}
    if "keep" in request.POST:
        data["state"] = Instruction.State.KEPT
    elif "drop" in request.POST:
        data["state"] = Instruction.State.DROPPED
    error = ""
    try:
        values = validated(InstructionReviewInput, posted(data), project=project)
        instruction = instruction_review(instruction=instruction, actor=request.user, **values)
    except ValidationError as problem:
        error = card_error(problem)
    except ConflictError as problem:
        error = str(problem)
        instruction.refresh_from_db()
    if is_htmx(request):
        filters = _filters(request)
        context = project_context(
            request,
            item=instruction,
            error=error,
            filters=filters,
            oob=True,
            states=Instruction.State.choices,
            counts=selectors.instruction_counts(
                project=project, task_type=filters["task_type"], scene=filters["scene"]
            ),
        )
        # The item, and the counts per state swapped out of band so they never go stale.
        return HttpResponse(
            render_to_string("evolution/instruction_queue.html#item", context, request)
            + render_to_string("evolution/instruction_queue.html#counts", context, request)
        )
    if error:
        messages.error(request, error)
    return redirect(_queue_url(project, _filters(request)))


@project_view(Role.ANNOTATOR)
@require_POST
def instructions_bulk(request: HttpRequest, project) -> HttpResponse:
    buttons = {"keep": Instruction.State.KEPT, "drop": Instruction.State.DROPPED}
    state = next((state for name, state in buttons.items() if name in request.POST), None)
    if state is None or not request.POST.getlist("ids"):
        messages.error(request, _("Tick instructions, then keep or drop them."))
        return redirect(_queue_url(project, _filters(request)))
    try:
        values = validated(
            InstructionsBulkReviewInput,
            {"ids": request.POST.getlist("ids"), "state": state},
            project=project,
        )
        changed = instructions_bulk_review(project=project, actor=request.user, **values)
    except ValidationError as error:
        named_messages(request, error)
    else:
        messages.success(request, _("%(n)d instructions changed.") % {"n": changed})
    return redirect(_queue_url(project, _filters(request)))


def posted(data: dict) -> dict:
    """A form's values without the fields it did not send (None), so they read as not given."""
    return {name: value for name, value in data.items() if value is not None}


def card_error(error: ValidationError) -> str:
    """The messages of a refused action, for the card it was taken on: those of what the card
    shows (its text, reason and buttons) as they are, any other field's named."""
    shown = ("text", "reason", "decision", "state", "general")
    return " ".join(
        problem if name in shown else f"{name}: {problem}"
        for name, problems in error_messages(error).items()
        for problem in problems
    )


def named_messages(request: HttpRequest, error: ValidationError) -> None:
    """Each problem as a message, named by its field."""
    for field, problems in error_messages(error).items():
        text = " ".join(problems)
        messages.error(request, text if field == "general" else f"{field}: {text}")


def start_job(request: HttpRequest, project, start, back: str | None = None) -> HttpResponse:
    """Run `start()`, which validates the form and starts a job; go to the job's page, or back
    (to the queue by default) with each problem named."""
    try:
        job = start()
    except ValidationError as error:
        named_messages(request, error)
        return redirect(back or _queue_url(project, _filters(request)))
    return redirect("curation:job_detail", slug=project.slug, pk=job.pk)


@project_view(Role.LEAD)
@require_POST
def seeds_start(request: HttpRequest, project) -> HttpResponse:
    def start():
        values = validated(SeedsGenerateInput, request.POST, project=project)
        return seeds_generate(project=project, actor=request.user, **values)

    return start_job(request, project, start)


@project_view(Role.LEAD)
@require_POST
def evolution_launch(request: HttpRequest, project) -> HttpResponse:
    """Evolve every kept instruction under the queue's filters (task type, scene)."""
    filters = _filters(request)

    def start():
        values = validated(EvolutionStartInput, request.POST, project=project)
        kept = selectors.instruction_queue(
            project=project,
            state=Instruction.State.KEPT,
            task_type=filters["task_type"],
            scene=filters["scene"],
        )
        values["instruction_ids"] = list(kept.values_list("pk", flat=True))
        return evolution_start(project=project, actor=request.user, **values)

    return start_job(request, project, start)


@project_view(Role.ANNOTATOR)
@require_GET
@vary_on_headers("HX-Request")
def screening_queue(request: HttpRequest, project) -> HttpResponse:
    """Evolved instructions beside their parents, with what changed marked."""
    given = read_filters(request)[0]
    task_type = given.get("task_type", "")
    items = selectors.instruction_queue(
        project=project, state=Instruction.State.EVOLVED, task_type=task_type
    ).select_related("parent")
    if given.get("after") is not None:
        items = items.filter(id__gt=given["after"])
    rows = list(items[: PAGE + 1])
    context = project_context(
        request,
        pairs=[{"item": item, "diff": diff(item.parent.text, item.text)} for item in rows[:PAGE]],
        next_after=rows[PAGE - 1].pk if len(rows) > PAGE else None,
        task_type=task_type,
        task_types=TaskType.objects.filter(project=project, active=True),
        counts=selectors.instruction_counts(project=project, task_type=task_type),
    )
    status = filter_problems(request)
    return render(request, "evolution/screening.html", context, status=status)


@project_view(Role.ANNOTATOR)
@require_POST
def screening_act(request: HttpRequest, project, pk: int) -> HttpResponse:
    """One form: accept, reject (with a reason) or rewrite."""
    instruction = get_object_or_404(
        Instruction.objects.select_related("parent"), pk=pk, project=project
    )
    decision = next((d for d in ("accept", "reject", "rewrite") if d in request.POST), "")
    data = {
        "revision": request.POST.get("revision"),
        "decision": decision,
        "reason": request.POST.get("reason", ""),
        "text": request.POST.get("text", ""),
    }
    error = ""
    try:
        values = validated(InstructionScreenInput, data, project=project)
        instruction = instruction_screen(instruction=instruction, actor=request.user, **values)
    except ValidationError as problem:
        error = card_error(problem)
    except ConflictError as problem:
        error = str(problem)
        instruction.refresh_from_db()
    if is_htmx(request):
        pair = {"item": instruction, "diff": diff(instruction.parent.text, instruction.text)}
        context = project_context(
            request,
            pair=pair,
            error=error,
            oob=True,
            counts=selectors.instruction_counts(project=project),
        )
        return HttpResponse(
            render_to_string("evolution/screening.html#pair", context, request)
            + render_to_string("evolution/screening.html#counts", context, request)
        )
    if error:
        messages.error(request, error)
    return redirect("evolution:screening_queue", slug=project.slug)


@project_view(Role.ANNOTATOR)
@require_GET
def instruction_lineage(request: HttpRequest, project, pk: int) -> HttpResponse:
    item = get_object_or_404(Instruction, pk=pk, project=project)
    seed = item.root or item
    return render(
        request,
        "evolution/lineage.html",
        project_context(request, seed=seed, tree=selectors.lineage(seed=seed), focus=item),
    )


@project_view(Role.LEAD)
@require_http_methods(["GET", "POST"])
def operator_list(request: HttpRequest, project) -> HttpResponse:
    """The operators' prompts, editable: one form per operator."""
    operators = operators_ensure(project=project)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        operator = get_object_or_404(
            EvolutionOperator, project=project, pk=int_or_invalid(request.POST.get("operator"))
        )
        data = request.POST.copy()
        data.setdefault("active", "off")  # an unticked box sends nothing
        try:
            values = validated(OperatorUpdateInput, data, project=project)
            operator_update(operator=operator, actor=request.user, **values)
        except ValidationError as error:
            shown = ("name_en", "name_zh", "prompt_zh", "prompt_en")
            errors, status = {operator.pk: errors_beside(error, shown)}, 400
        except ConflictError as error:
            errors, status = {operator.pk: {"general": [str(error)]}}, 409
        else:
            messages.success(request, _("Operator saved."))
            return redirect("evolution:operator_list", slug=project.slug)
        operators = list(EvolutionOperator.objects.filter(project=project))
    # The operator that failed shows what was typed, with the problem beside it.
    rows = [
        {
            "op": op,
            "errors": errors.get(op.pk, {}),
            "values": request.POST if op.pk in errors else None,
        }
        for op in operators
    ]
    return render(
        request, "evolution/operators.html", project_context(request, rows=rows), status=status
    )
