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
from curation.models import ModelEndpoint, Role, Scene, ServiceRole, TaskType
from curation.views.common import (
    error_messages,
    int_or_invalid,
    is_htmx,
    project_context,
    project_view,
)
from evolution import selectors
from evolution.diff import diff
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


def _filters(request: HttpRequest) -> dict[str, str]:
    values = {name: request.GET.get(name, request.POST.get(name, "")).strip() for name in FILTERS}
    if "state" not in request.GET and "state" not in request.POST:
        values["state"] = Instruction.State.DRAFT
    return values


def _queue_url(project, filters: dict[str, str]) -> str:
    return reverse("evolution:instruction_queue", args=[project.slug]) + "?" + urlencode(filters)


@project_view(Role.ANNOTATOR)
@require_GET
@vary_on_headers("HX-Request")
def instruction_queue(request: HttpRequest, project) -> HttpResponse:
    filters = _filters(request)
    items = selectors.instruction_queue(project=project, **filters)
    after = request.GET.get("after", "")
    if after.isdigit():
        items = items.filter(id__gt=int(after))
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
    return render(request, "evolution/instruction_queue.html", context)


@project_view(Role.ANNOTATOR)
@require_POST
def instruction_act(request: HttpRequest, project, pk: int) -> HttpResponse:
    """One form per instruction: named buttons keep, drop or save (an edit)."""
    instruction = get_object_or_404(Instruction, pk=pk, project=project)
    state = None
    if "keep" in request.POST:
        state = Instruction.State.KEPT
    elif "drop" in request.POST:
        state = Instruction.State.DROPPED
    text = request.POST.get("text")
    error = ""
    try:
        instruction = instruction_review(
            instruction=instruction,
            revision=int_or_invalid(request.POST.get("revision")),
            actor=request.user,
            state=state,
            text=text,
        )
    except ValidationError as problem:
        error = " ".join(sum(error_messages(problem).values(), []))
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
    state = Instruction.State.KEPT if "keep" in request.POST else Instruction.State.DROPPED
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if not ids or not ({"keep", "drop"} & set(request.POST)):
        messages.error(request, _("Tick instructions, then keep or drop them."))
    else:
        changed = instructions_bulk_review(
            project=project, ids=ids, state=state, actor=request.user
        )
        messages.success(request, _("%(n)d instructions changed.") % {"n": changed})
    return redirect(_queue_url(project, _filters(request)))


def start_job(request: HttpRequest, project, start, back: str | None = None) -> HttpResponse:
    """Run `start(endpoint)` with the posted endpoint; go to the job's page, or back (to the
    queue by default) with each problem named."""
    endpoint = ModelEndpoint.objects.filter(
        project=project, pk=int_or_invalid(request.POST.get("endpoint"))
    ).first()
    try:
        if endpoint is None:
            raise ValidationError({"endpoint": _("Choose an endpoint of this project.")})
        job = start(endpoint)
    except ValidationError as error:
        for field, problems in error_messages(error).items():
            messages.error(request, f"{field}: {' '.join(problems)}")
        return redirect(back or _queue_url(project, _filters(request)))
    return redirect("curation:job_detail", slug=project.slug, pk=job.pk)


@project_view(Role.LEAD)
@require_POST
def seeds_start(request: HttpRequest, project) -> HttpResponse:
    return start_job(
        request,
        project,
        lambda endpoint: seeds_generate(
            project=project,
            task_types=request.POST.getlist("task_types"),
            scenes=request.POST.getlist("scenes"),
            roles=request.POST.getlist("roles"),
            per_combination=int_or_invalid(request.POST.get("per_combination")),
            endpoint=endpoint,
            actor=request.user,
        ),
    )


@project_view(Role.LEAD)
@require_POST
def evolution_launch(request: HttpRequest, project) -> HttpResponse:
    """Evolve every kept instruction under the queue's filters (task type, scene)."""
    filters = _filters(request)
    kept = selectors.instruction_queue(
        project=project,
        state=Instruction.State.KEPT,
        task_type=filters["task_type"],
        scene=filters["scene"],
    )
    return start_job(
        request,
        project,
        lambda endpoint: evolution_start(
            project=project,
            instruction_ids=list(kept.values_list("pk", flat=True)),
            operator_keys=request.POST.getlist("operators"),
            rounds=int_or_invalid(request.POST.get("rounds")),
            endpoint=endpoint,
            actor=request.user,
        ),
    )


@project_view(Role.ANNOTATOR)
@require_GET
@vary_on_headers("HX-Request")
def screening_queue(request: HttpRequest, project) -> HttpResponse:
    """Evolved instructions beside their parents, with what changed marked."""
    task_type = request.GET.get("task_type", "").strip()
    items = selectors.instruction_queue(
        project=project, state=Instruction.State.EVOLVED, task_type=task_type
    ).select_related("parent")
    after = request.GET.get("after", "")
    if after.isdigit():
        items = items.filter(id__gt=int(after))
    rows = list(items[: PAGE + 1])
    context = project_context(
        request,
        pairs=[{"item": item, "diff": diff(item.parent.text, item.text)} for item in rows[:PAGE]],
        next_after=rows[PAGE - 1].pk if len(rows) > PAGE else None,
        task_type=task_type,
        task_types=TaskType.objects.filter(project=project, active=True),
        counts=selectors.instruction_counts(project=project, task_type=task_type),
    )
    return render(request, "evolution/screening.html", context)


@project_view(Role.ANNOTATOR)
@require_POST
def screening_act(request: HttpRequest, project, pk: int) -> HttpResponse:
    """One form: accept, reject (with a reason) or rewrite."""
    instruction = get_object_or_404(
        Instruction.objects.select_related("parent"), pk=pk, project=project
    )
    decision = next((d for d in ("accept", "reject", "rewrite") if d in request.POST), "")
    error = ""
    try:
        instruction = instruction_screen(
            instruction=instruction,
            revision=int_or_invalid(request.POST.get("revision")),
            actor=request.user,
            decision=decision,
            reason=request.POST.get("reason", ""),
            text=request.POST.get("text", ""),
        )
    except ValidationError as problem:
        error = " ".join(sum(error_messages(problem).values(), []))
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
        data = {
            f: request.POST.get(f, "") for f in ("name_en", "name_zh", "prompt_zh", "prompt_en")
        }
        data["active"] = request.POST.get("active") == "on"
        try:
            operator_update(
                operator=operator,
                data=data,
                actor=request.user,
                revision=int_or_invalid(request.POST.get("revision")),
            )
        except ValidationError as error:
            errors, status = {operator.pk: error_messages(error)}, 400
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
