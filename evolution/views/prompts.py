"""Stage 2 screens: the template library, assembly and enhancement, and the prompt review
queue (edit, approve, reject; preview with a real dialogue; diff against the assembled text)."""

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
    errors_beside,
    int_or_invalid,
    is_htmx,
    project_context,
    project_view,
)
from evolution import selectors
from evolution.diff import diff
from evolution.inputs import (
    AssemblyStartInput,
    EnhancementStartInput,
    MetaPromptUpdateInput,
    PartCreateInput,
    PartUpdateInput,
    PromptReviewInput,
    queue_filters,
)
from evolution.models import Instruction, Prompt, TemplatePart
from evolution.services.assembly import (
    assembly_start,
    enhancement_start,
    meta_prompt_get,
    meta_prompt_update,
)
from evolution.services.parts import (
    part_create,
    part_update,
    parts_add_starter,
    parts_from_instructions,
)
from evolution.services.prompt_review import prompt_output_rule, prompt_render, prompt_review
from evolution.views.instructions import (
    card_error,
    filter_problems,
    named_messages,
    posted,
    read_filters,
    start_job,
)

PAGE = 20
# The fields each part's form shows its messages beside; any other's go on top, named.
PART_FIELDS = ("kind", "text", "scene", "task_type", "output_format", "example", "instruction")


@project_view(Role.LEAD)
@require_http_methods(["GET", "POST"])
def part_list(request: HttpRequest, project) -> HttpResponse:
    """The library, one editable form per part, and a form to add one."""
    given, filter_errors = queue_filters(request.GET)
    kind = given.get("kind", "")
    errors: dict = {}
    status = 200
    failed = None
    if request.method == "POST":
        part = None
        if request.POST.get("part"):
            part = get_object_or_404(
                TemplatePart, project=project, pk=int_or_invalid(request.POST.get("part"))
            )
        try:
            if part is None:
                values = validated(PartCreateInput, request.POST, project=project)
                part_create(project=project, actor=request.user, **values)
            else:
                data = request.POST.copy()
                data.setdefault("active", "off")  # an unticked box sends nothing
                values = validated(PartUpdateInput, data, project=project)
                revision = values.pop("revision")
                part_update(part=part, revision=revision, actor=request.user, changes=values)
        except ValidationError as error:
            errors = errors_beside(error, PART_FIELDS)
            status, failed = 400, part.pk if part else "new"
        except ConflictError as error:
            errors, status, failed = {"general": [str(error)]}, 409, part.pk
        else:
            messages.success(request, _("Part saved."))
            return redirect(reverse("evolution:part_list", args=[project.slug]) + f"?kind={kind}")
    parts = selectors.part_library(project=project, kind=kind)
    rows = [
        {
            "part": part,
            "errors": errors if failed == part.pk else {},
            "values": request.POST if failed == part.pk else None,
        }
        for part in parts
    ]
    context = project_context(
        request,
        rows=rows,
        kind=kind,
        kinds=TemplatePart.Kind.choices,
        formats=TemplatePart.OutputFormat.choices,
        scenes=Scene.objects.filter(project=project, active=True),
        roles=ServiceRole.objects.filter(project=project, active=True),
        task_types=TaskType.objects.filter(project=project, active=True),
        accepted=Instruction.objects.filter(
            project=project, state=Instruction.State.ACCEPTED
        ).exclude(parts__isnull=False)[:200],
        new_errors=errors if failed == "new" else {},
        new_values=request.POST if failed == "new" else None,
        placeholders={
            "scene_background": "{scene}",
            "role": "{scene} {role}",
            "dialogue": "{dialogue} {scene} {role}",
            "task": "{scene} {role}",
            "output_format": "{example}",
            "guidelines": "{scene} {role}",
        },
    )
    if filter_errors and request.method == "GET":
        named_messages(request, ValidationError(filter_errors))
        status = 400
    return render(request, "evolution/parts.html", context, status=status)


@project_view(Role.LEAD)
@require_POST
def parts_add(request: HttpRequest, project) -> HttpResponse:
    """Add in bulk: task narratives from accepted instructions, or the starter parts."""
    if "instructions" in request.POST:
        n = parts_from_instructions(project=project, actor=request.user)
    else:
        n = parts_add_starter(project=project, actor=request.user)
    messages.success(request, _("%(n)d parts added.") % {"n": n})
    return redirect("evolution:part_list", slug=project.slug)


def _filters(request: HttpRequest) -> dict[str, str]:
    values = read_filters(request)[0]
    return {
        "state": values.get("state", selectors.PENDING),
        "task_type": values.get("task_type", ""),
    }


def _queue_url(project, filters: dict[str, str]) -> str:
    return reverse("evolution:prompt_queue", args=[project.slug]) + "?" + urlencode(filters)


def _states() -> list[tuple[str, str]]:
    return [(selectors.PENDING, _("left to review")), *Prompt.State.choices]


def _card(prompt: Prompt, dialogue) -> dict:
    return {
        "item": prompt,
        "diff": diff(prompt.assembled_text, prompt.text),
        "changed": prompt.assembled_text != prompt.text,
        "preview": prompt_render(text=prompt.text, dialogue=dialogue),
        # What the label stage will check the model's answers against.
        "rule": prompt_output_rule(prompt),
    }


@project_view(Role.LEAD)
@require_GET
@vary_on_headers("HX-Request")
def prompt_queue(request: HttpRequest, project) -> HttpResponse:
    filters = _filters(request)
    items = selectors.prompt_queue(project=project, **filters)
    after = read_filters(request)[0].get("after")
    if after is not None:
        items = items.filter(id__gt=after)
    rows = list(items[: PAGE + 1])
    page = rows[:PAGE]
    dialogues = selectors.preview_dialogues(prompts=page)
    context = project_context(
        request,
        cards=[_card(p, dialogues[p.pk]) for p in page],
        next_after=rows[PAGE - 1].pk if len(rows) > PAGE else None,
        filters=filters,
        query=urlencode(filters),
        counts=selectors.prompt_counts(project=project, task_type=filters["task_type"]),
        states=_states(),
        task_types=TaskType.objects.filter(project=project, active=True),
        endpoints=ModelEndpoint.objects.filter(project=project),
        parts=selectors.part_library(project=project).filter(active=True).count(),
    )
    status = filter_problems(request)
    return render(request, "evolution/prompts.html", context, status=status)


@project_view(Role.LEAD)
@require_POST
def prompt_act(request: HttpRequest, project, pk: int) -> HttpResponse:
    """One form per prompt: approve, reject (with a reason) or save an edit."""
    prompt = get_object_or_404(Prompt, pk=pk, project=project)
    decision = next((d for d in ("approve", "reject", "save") if d in request.POST), "")
    data = {
        "revision": request.POST.get("revision"),
        "decision": decision,
        "text": request.POST.get("text"),
        "reason": request.POST.get("reason", ""),
    }
    error = ""
    try:
        values = validated(PromptReviewInput, posted(data), project=project)
        prompt = prompt_review(prompt=prompt, actor=request.user, **values)
    except ValidationError as problem:
        error = card_error(problem)
    except ConflictError as problem:
        error = str(problem)
        prompt.refresh_from_db()
    if is_htmx(request):
        filters = _filters(request)
        dialogues = selectors.preview_dialogues(prompts=[prompt])
        context = project_context(
            request,
            card=_card(prompt, dialogues[prompt.pk]),
            error=error,
            typed=request.POST.get("text") if error else None,
            filters=filters,
            oob=True,
            states=_states(),
            counts=selectors.prompt_counts(project=project, task_type=filters["task_type"]),
        )
        return HttpResponse(
            render_to_string("evolution/prompts.html#card", context, request)
            + render_to_string("evolution/prompts.html#counts", context, request),
            status=200,
        )
    if error:
        messages.error(request, error)
    return redirect(_queue_url(project, _filters(request)))


@project_view(Role.LEAD)
@require_POST
def prompts_assemble(request: HttpRequest, project) -> HttpResponse:
    def start():
        values = validated(AssemblyStartInput, request.POST, project=project)
        return assembly_start(project=project, actor=request.user, **values)

    return start_job(request, project, start, back=_queue_url(project, _filters(request)))


@project_view(Role.LEAD)
@require_POST
def prompts_enhance(request: HttpRequest, project) -> HttpResponse:
    """Enhance every prompt still as assembled (under the task-type filter)."""
    filters = _filters(request)

    def start():
        values = validated(EnhancementStartInput, request.POST, project=project)
        waiting = selectors.prompt_queue(
            project=project, state=Prompt.State.ASSEMBLED, task_type=filters["task_type"]
        )
        values["prompt_ids"] = list(waiting.values_list("pk", flat=True))
        return enhancement_start(project=project, actor=request.user, **values)

    return start_job(request, project, start, back=_queue_url(project, filters))


@project_view(Role.LEAD)
@require_http_methods(["GET", "POST"])
def meta_prompt(request: HttpRequest, project) -> HttpResponse:
    meta = meta_prompt_get(project=project)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        try:
            values = validated(MetaPromptUpdateInput, request.POST, project=project)
            meta_prompt_update(project=project, actor=request.user, **values)
        except ValidationError as error:
            errors, status = errors_beside(error, ("prompt_zh", "prompt_en")), 400
        except ConflictError as error:
            errors, status = {"general": [str(error)]}, 409
        else:
            messages.success(request, _("Meta-prompt saved."))
            return redirect("evolution:meta_prompt", slug=project.slug)
    context = project_context(
        request, meta=meta, errors=errors, values=request.POST if errors else None
    )
    return render(request, "evolution/meta_prompt.html", context, status=status)
