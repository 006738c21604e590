"""Stage 2 jobs: assembling prompts from the template library (seeded, reproducible) and the
structure enhancement, in which an LLM merges task directive, output format and guidelines into
one narrative that the product splices between background, role and dialogue (paper §2.2). A
rewrite that no longer asks for each task's output format is refused."""

from __future__ import annotations

import random
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from curation import job_kinds
from curation.llm.client import LLMError
from curation.models import Job, JobItem, ModelEndpoint, Project, Scene, ServiceRole, TaskType
from curation.services.audit import audit_record, audit_snapshot
from curation.services.jobs import job_create
from curation.services.llm import endpoint_for_work, llm_chat
from curation.services.revisions import revision_update
from curation.taxonomy_seed import MULTI_TASK
from evolution import assembly, formats, placeholders, prompt_parts
from evolution.models import MetaPrompt, Prompt, TemplatePart
from evolution.services.prompt_review import format_problem

ASSEMBLE = "prompts.assemble"
ENHANCE = "prompts.enhance"
CHUNK = 200
MAX_PROMPTS = 20_000
MAX_TASKS = 3
P = Prompt.State


# Assembly ---------------------------------------------------------------------------------


def _library(project_id: int, part_ids: list[int] | None = None) -> list[assembly.Part]:
    parts = TemplatePart.objects.filter(project_id=project_id)
    parts = parts.filter(pk__in=part_ids) if part_ids is not None else parts.filter(active=True)
    return [
        assembly.Part(
            id=p.pk,
            kind=p.kind,
            text=p.text,
            revision=p.revision,
            scene=p.scene_id,
            role=p.service_role_id,
            task_type=p.task_type_id,
            instruction=p.instruction_id,
            output_format=p.output_format,
            example=p.example,
        )
        for p in parts.order_by("id")
    ]


def assembly_start(
    *,
    project: Project,
    count: int,
    seed: int,
    tasks_per_prompt: int = 1,
    actor,
    dispatch: bool = True,
) -> Job:
    """Start a job that makes `count` prompts (1 to MAX_PROMPTS, of 1 to MAX_TASKS tasks:
    AssemblyStartInput) from the active parts as they are now. A prompt of two or more tasks
    has the taxonomy's multi-task-integration task type, so the project needs it active for
    those."""
    errors: dict[str, str] = {}
    multi_task = None
    if tasks_per_prompt > 1:
        multi_task = (
            TaskType.objects.filter(project=project, key=MULTI_TASK, active=True)
            .values_list("pk", flat=True)
            .first()
        )
        if multi_task is None:
            errors["tasks_per_prompt"] = _(
                "A prompt of several tasks has the task type “%(key)s”, which this project "
                "lacks or has deactivated: add it to the taxonomy, or assemble one task per "
                "prompt."
            ) % {"key": MULTI_TASK}
    library = _library(project.pk)
    kinds = {p.kind for p in library}
    missing = [k for k in assembly.REQUIRED_KINDS if k not in kinds]
    if missing:
        labels = ", ".join(str(TemplatePart.Kind(k).label) for k in missing)
        errors["parts"] = _("The library has no active part of kind: %(kinds)s.") % {
            "kinds": labels
        }
    else:
        try:
            assembly.drawable_tasks(
                library,
                scenes=_names(Scene, project.pk),
                scene_roles=_scene_roles(project.pk),
            )
        except assembly.AssemblyError as error:
            errors["parts"] = _("No prompt can be assembled: %(reason)s.") % {"reason": str(error)}
    if errors:
        raise ValidationError(errors)
    payloads = [
        {"start": start, "count": min(CHUNK, count - start)} for start in range(0, count, CHUNK)
    ]
    job = job_create(
        project=project,
        kind=ASSEMBLE,
        creator=actor,
        payloads=payloads,
        params={
            "count": count,
            "seed": seed,
            "tasks_per_prompt": tasks_per_prompt,
            "multi_task_type": multi_task,
            # The parts as they were at the start, so a rerun with the same seed is the same.
            "parts": [p.id for p in library],
        },
        dispatch=dispatch,
    )
    audit_record(
        actor=actor, action="prompts.assemble", target=job, project=project, after=job.params
    )
    return job


def _names(model, project_id: int) -> dict[int, tuple[str, str]]:
    rows = model.objects.filter(project_id=project_id, active=True).order_by("id")
    return {pk: (zh or en, en or zh) for pk, zh, en in rows.values_list("pk", "name_zh", "name_en")}


def _scene_roles(project_id: int) -> dict[int, set[int]]:
    """The service roles that work in each scene of the project (ServiceRole.scenes)."""
    links = ServiceRole.scenes.through.objects.filter(
        servicerole__project_id=project_id
    ).values_list("scene_id", "servicerole_id")
    out: dict[int, set[int]] = {}
    for scene, role in links:
        out.setdefault(scene, set()).add(role)
    return out


def _assemble(item: JobItem) -> dict[str, Any]:
    job = item.job
    library = _library(job.project_id, job.params["parts"])
    scenes = _names(Scene, job.project_id)
    roles = _names(ServiceRole, job.project_id)
    scene_roles = _scene_roles(job.project_id)
    project = Project.objects.get(pk=job.project_id)
    domain = (project.domain("zh"), project.domain("en"))
    multi_task = job.params.get("multi_task_type")
    start, count = item.payload["start"], item.payload["count"]
    seqs = range(start, start + count)
    with transaction.atomic():
        # A rerun after a lost worker makes only what is missing.
        done = set(Prompt.objects.filter(job=job, seq__in=seqs).values_list("seq", flat=True))
        made = []
        for seq in seqs:
            if seq in done:
                continue
            rng = random.Random(f"{job.params['seed']}:{seq}")
            try:
                composition = assembly.compose(
                    library,
                    rng=rng,
                    tasks_per_prompt=job.params["tasks_per_prompt"],
                    scenes=scenes,
                    roles=roles,
                    scene_roles=scene_roles,
                    domain=domain,
                )
            except assembly.AssemblyError as error:
                raise job_kinds.ItemFailed(str(error)) from None
            made.append(
                Prompt(
                    project_id=job.project_id,
                    job=job,
                    seq=seq,
                    language=composition.language,
                    scene_id=composition.scene,
                    service_role_id=composition.role,
                    # A prompt of several tasks is one multi-task-integration task to sampling
                    # and metrics; `tasks` keeps each sub-task with its own type.
                    task_type_id=(
                        multi_task
                        if len(composition.tasks) > 1 and multi_task
                        else composition.tasks[0][0].task_type
                    ),
                    tasks=[
                        {
                            "task_type": task.task_type,
                            "instruction": task.instruction,
                            "part": task.id,
                            "output_format": output.output_format,
                            "output_part": output.id,
                            "example": output.example,
                        }
                        for task, output in composition.tasks
                    ],
                    parts=[
                        {"id": p.id, "kind": p.kind, "revision": p.revision}
                        for p in composition.used
                    ],
                    sections=composition.sections,
                    assembled_text=composition.text,
                    text=composition.text,
                )
            )
        Prompt.objects.bulk_create(made, batch_size=500)
    return {"made": len(made)}


def _assembled(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(result={"prompts": Prompt.objects.filter(job=job).count()})


# Structure enhancement ---------------------------------------------------------------------


def meta_prompt_get(*, project: Project) -> MetaPrompt:
    meta, _created = MetaPrompt.objects.get_or_create(
        project=project,
        defaults={
            "prompt_zh": prompt_parts.META_PROMPT["zh"],
            "prompt_en": prompt_parts.META_PROMPT["en"],
        },
    )
    return meta


@transaction.atomic
def meta_prompt_update(
    *,
    project: Project,
    revision: int,
    actor,
    prompt_zh: str | None = None,
    prompt_en: str | None = None,
) -> MetaPrompt:
    """Change the prompts given (None: unchanged); each must hold {tasks} once."""
    meta = meta_prompt_get(project=project)
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field, given in (("prompt_zh", prompt_zh), ("prompt_en", prompt_en)):
        if given is None:
            continue
        text = given.strip()
        problems = []
        for problem in placeholders.problems(
            text, allowed=prompt_parts.META_PLACEHOLDERS, required={"tasks"}, once={"tasks"}
        ):
            names = placeholders.braced(problem.names)
            if problem.kind == "unknown":
                problems.append(
                    _("Unknown placeholder %(names)s; the meta-prompt may use: %(allowed)s.")
                    % {
                        "names": names,
                        "allowed": placeholders.braced(prompt_parts.META_PLACEHOLDERS),
                    }
                )
            elif problem.kind == "missing":
                problems.append(_("%(names)s is required.") % {"names": names})
            else:
                problems.append(_("%(names)s may appear only once.") % {"names": names})
        if problems:
            errors[field] = problems
        cleaned[field] = text
    if errors:
        raise ValidationError(errors)
    before = audit_snapshot(meta, ["prompt_zh", "prompt_en"])
    revision_update(
        instance=meta,
        revision=revision,
        conflict=_("Someone else changed the meta-prompt since you opened it; reload."),
        **cleaned,
    )
    audit_record(
        actor=actor,
        action="meta_prompt.update",
        target=meta,
        project=project,
        before=before,
        after=audit_snapshot(meta, ["prompt_zh", "prompt_en"]),
    )
    return meta


def enhancement_start(
    *,
    project: Project,
    prompt_ids: list[int],
    endpoint: ModelEndpoint,
    actor,
    dispatch: bool = True,
) -> Job:
    """Enhance the chosen prompts that are still as assembled."""
    if endpoint.project_id != project.pk:
        raise ValidationError({"endpoint": _("Choose an endpoint of this project.")})
    chosen = list(
        Prompt.objects.filter(project=project, pk__in=prompt_ids, state=P.ASSEMBLED)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    if not chosen:
        raise ValidationError({"prompts": _("No prompt waits for enhancement here.")})
    meta_prompt_get(project=project)
    return job_create(
        project=project,
        kind=ENHANCE,
        creator=actor,
        payloads=[{"prompt": pk} for pk in chosen],
        params={"endpoint": endpoint.pk},
        dispatch=dispatch,
    )


def _enhance(item: JobItem) -> dict[str, Any]:
    job = item.job
    endpoint = endpoint_for_work(job.params.get("endpoint"))
    if endpoint is None:
        raise job_kinds.ItemFailed(_("The endpoint was deleted."))
    prompt = Prompt.objects.select_related("scene", "service_role").get(pk=item.payload["prompt"])
    if prompt.state != P.ASSEMBLED:
        return {"skipped": 1}  # a person reviewed it meanwhile: their word stands
    meta = MetaPrompt.objects.get(project_id=job.project_id)
    template = meta.prompt_zh if prompt.language == "zh" else meta.prompt_en
    zh = prompt.language == "zh"
    content = placeholders.fill(
        template,
        {
            "tasks": prompt.sections.get("narrative", ""),
            "scene": (prompt.scene.name_zh if zh else prompt.scene.name_en) if prompt.scene else "",
            "role": (
                (prompt.service_role.name_zh if zh else prompt.service_role.name_en)
                if prompt.service_role
                else ""
            ),
        },
    )
    # No dialogue goes to this model: it rewrites the task part only.
    messages = [{"role": "user", "content": content}]
    try:
        result = llm_chat(
            endpoint=endpoint,
            messages=messages,
            kind="enhance_prompt",
            schema=prompt_parts.META_SCHEMA,
            job_item=item,
        )
    except LLMError as error:
        raise job_kinds.ItemFailed(str(error)) from None
    narrative = result.data["instruction"].strip()
    stray = placeholders.names(narrative)
    if stray:
        raise job_kinds.ItemFailed(
            _("The model wrote placeholders %(names)s into the narrative.")
            % {"names": placeholders.braced(set(stray))}
        )
    sections = {**prompt.sections, "narrative": narrative}
    text = assembly.join_sections(sections)
    current = Prompt.objects.filter(pk=prompt.pk, state=P.ASSEMBLED, revision=prompt.revision)
    wanted = [t.get("output_format", "") for t in prompt.tasks]
    problem = formats.mismatch(text, wanted, original=prompt.assembled_text)
    if problem is not None:
        # A rewrite that drops or changes the output format would have the label stage check
        # for something the prompt no longer asks for: refused, the assembled text kept. The
        # revision stays, so a reviewer's open form is not made stale by a note.
        reason = format_problem(problem) + " " + _("The assembled text is kept.")
        refused = current.update(
            reason=reason[:300], endpoint=endpoint, enhance_job=job, prompt_sent=messages
        )
        return {"refused": refused, "skipped": 1 - refused}
    updated = current.update(
        sections=sections,
        text=text,
        state=P.ENHANCED,
        reason="",
        endpoint=endpoint,
        enhance_job=job,
        prompt_sent=messages,
        revision=F("revision") + 1,
    )
    return {"enhanced": updated, "skipped": 1 - updated}


def _enhanced(job: Job) -> None:
    totals = {"enhanced": 0, "refused": 0, "skipped": 0}
    for result in JobItem.objects.filter(job=job, status=JobItem.Status.DONE).values_list(
        "result", flat=True
    ):
        for key in totals:
            totals[key] += result.get(key, 0)
    Job.objects.filter(pk=job.pk).update(result=totals)


job_kinds.register(
    job_kinds.JobKind(ASSEMBLE, job_kinds.Queue.CPU, _assemble, on_finished=_assembled)
)
job_kinds.register(job_kinds.JobKind(ENHANCE, job_kinds.Queue.LLM, _enhance, on_finished=_enhanced))
