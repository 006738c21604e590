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
from evolution.views.instructions import start_job

PAGE = 20
PART_FIELDS = (
    "kind",
    "name",
    "text",
    "scene",
    "service_role",
    "task_type",
    "instruction",
    "output_format",
    "example",
)


def _part_data(request: HttpRequest) -> dict:
    data = {f: request.POST.get(f, "") for f in PART_FIELDS if f in request.POST}
    data["active"] = request.POST.get("active") == "on"
    return data


@project_view(Role.LEAD)
@require_http_methods(["GET", "POST"])
def part_list(request: HttpRequest, project) -> HttpResponse:
    """The library, one editable form per part, and a form to add one."""
    kind = request.GET.get("kind", "")
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
                part_create(project=project, data=_part_data(request), actor=request.user)
            else:
                part_update(
                    part=part,
                    data=_part_data(request),
                    revision=int_or_invalid(request.POST.get("revision")),
                    actor=request.user,
                )
        except ValidationError as error:
            errors, status, failed = error_messages(error), 400, part.pk if part else "new"
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
    source = request.GET if request.method == "GET" else request.POST
    return {
        "state": source.get("state", selectors.PENDING).strip(),
        "task_type": source.get("task_type", "").strip(),
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
    after = request.GET.get("after", "")
    if after.isdigit():
        items = items.filter(id__gt=int(after))
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
    return render(request, "evolution/prompts.html", context)


@project_view(Role.LEAD)
@require_POST
def prompt_act(request: HttpRequest, project, pk: int) -> HttpResponse:
    """One form per prompt: approve, reject (with a reason) or save an edit."""
    prompt = get_object_or_404(Prompt, pk=pk, project=project)
    decision = next((d for d in ("approve", "reject", "save") if d in request.POST), "")
    error = ""
    try:
        prompt = prompt_review(
            prompt=prompt,
            revision=int_or_invalid(request.POST.get("revision")),
            actor=request.user,
            decision=decision,
            text=request.POST.get("text"),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as problem:
        error = " ".join(sum(error_messages(problem).values(), []))
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
    try:
        job = assembly_start(
            project=project,
            count=int_or_invalid(request.POST.get("count")),
            seed=int_or_invalid(request.POST.get("seed") or 0),
            tasks_per_prompt=int_or_invalid(request.POST.get("tasks_per_prompt") or 1),
            actor=request.user,
        )
    except ValidationError as error:
        for field, problems in error_messages(error).items():
            messages.error(request, f"{field}: {' '.join(problems)}")
        return redirect(_queue_url(project, _filters(request)))
    return redirect("curation:job_detail", slug=project.slug, pk=job.pk)


@project_view(Role.LEAD)
@require_POST
def prompts_enhance(request: HttpRequest, project) -> HttpResponse:
    """Enhance every prompt still as assembled (under the task-type filter)."""
    filters = _filters(request)
    waiting = selectors.prompt_queue(
        project=project, state=Prompt.State.ASSEMBLED, task_type=filters["task_type"]
    )
    return start_job(
        request,
        project,
        lambda endpoint: enhancement_start(
            project=project,
            prompt_ids=list(waiting.values_list("pk", flat=True)),
            endpoint=endpoint,
            actor=request.user,
        ),
        back=_queue_url(project, filters),
    )


@project_view(Role.LEAD)
@require_http_methods(["GET", "POST"])
def meta_prompt(request: HttpRequest, project) -> HttpResponse:
    meta = meta_prompt_get(project=project)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        try:
            meta_prompt_update(
                project=project,
                data={f: request.POST.get(f, "") for f in ("prompt_zh", "prompt_en")},
                revision=int_or_invalid(request.POST.get("revision")),
                actor=request.user,
            )
        except ValidationError as error:
            errors, status = error_messages(error), 400
        except ConflictError as error:
            errors, status = {"general": [str(error)]}, 409
        else:
            messages.success(request, _("Meta-prompt saved."))
            return redirect("evolution:meta_prompt", slug=project.slug)
    context = project_context(
        request, meta=meta, errors=errors, values=request.POST if errors else None
    )
    return render(request, "evolution/meta_prompt.html", context, status=status)
