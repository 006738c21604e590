"""Seed instructions (stage 1, step 1): an LLM drafts them per task type, scene and role,
self-instruct style, from a real redacted dialogue of the project; near-duplicates are dropped."""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import product
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from curation import dialogue_text, job_kinds
from curation.llm.client import UNTRUSTED_NOTE, LLMError, untrusted
from curation.models import (
    Dialogue,
    Job,
    JobItem,
    ModelEndpoint,
    Project,
    Scene,
    ServiceRole,
    TaskType,
    TaxonomyTerm,
)
from curation.services.jobs import job_create
from curation.services.llm import endpoint_for_work, llm_chat
from evolution import placeholders, prompts, similarity
from evolution.models import Instruction

KIND = "instructions.seed"
MAX_PER_COMBINATION = 20


def _own(project: Project, rows: Sequence[TaxonomyTerm], field: str) -> list[int]:
    """The ids of the chosen terms, each of the project (the input found them there; this
    holds for any caller)."""
    if not rows or any(row.project_id != project.pk for row in rows):
        raise ValidationError({field: _("Choose one or more of the project's own.")})
    return sorted({row.pk for row in rows})


def seeds_generate(
    *,
    project: Project,
    task_types: Sequence[TaskType],
    scenes: Sequence[Scene],
    roles: Sequence[ServiceRole],
    per_combination: int,
    endpoint: ModelEndpoint,
    actor,
    dispatch: bool = True,
) -> Job:
    """A job with one item per task type x scene x role combination, for the scene-role pairs
    that belong together (ServiceRole.scenes): a role never drafts for a scene it does not
    work in. The job's params say how many chosen pairs were skipped. `per_combination` is
    1 to MAX_PER_COMBINATION (SeedsGenerateInput)."""
    if endpoint.project_id != project.pk:
        raise ValidationError({"endpoint": _("Choose an endpoint of this project.")})
    task_ids = _own(project, task_types, "task_types")
    scene_ids = _own(project, scenes, "scenes")
    role_ids = _own(project, roles, "roles")
    belong = set(
        ServiceRole.scenes.through.objects.filter(
            servicerole_id__in=role_ids, scene_id__in=scene_ids
        ).values_list("scene_id", "servicerole_id")
    )
    pairs = [(s, r) for s, r in product(scene_ids, role_ids) if (s, r) in belong]
    skipped = len(scene_ids) * len(role_ids) - len(pairs)
    if not pairs:
        raise ValidationError(
            {
                "roles": _(
                    "None of the chosen roles works in the chosen scenes; choose a role of "
                    "those scenes, or pair them in the taxonomy."
                )
            }
        )
    payloads = [
        {"task_type": t, "scene": s, "role": r, "n": per_combination}
        for t in task_ids
        for s, r in pairs
    ]
    return job_create(
        project=project,
        kind=KIND,
        creator=actor,
        payloads=payloads,
        params={
            "endpoint": endpoint.pk,
            "per_combination": per_combination,
            "pairs": len(pairs),
            "skipped_pairs": skipped,
        },
        dispatch=dispatch,
    )


def excerpt_dialogue(project_id: int, scene_id: int, seed: int) -> Dialogue | None:
    dialogues = Dialogue.objects.filter(project_id=project_id)
    in_scene = dialogues.filter(scene_id=scene_id)
    pool = in_scene if in_scene.exists() else dialogues
    ids = list(pool.order_by("id").values_list("pk", flat=True)[:500])
    if not ids:
        return None
    return Dialogue.objects.get(pk=random.Random(seed).choice(ids))


def context_excerpt(dialogue: Dialogue | None) -> tuple[str, str]:
    """(excerpt, language) of a dialogue shown as context to a seed or evolution prompt: cut at
    a turn boundary and marked as an excerpt when it is long. Only stage 1 uses an excerpt."""
    if dialogue is None:
        return dialogue_text.NO_DIALOGUE, "zh"
    whole = dialogue_text.render(dialogue.turns)
    language = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in whole) else "en"
    return dialogue_text.excerpt(dialogue.turns, language=language), language


def _handle(item: JobItem) -> dict[str, Any]:
    job = item.job
    endpoint = endpoint_for_work(job.params.get("endpoint"))
    if endpoint is None:
        raise job_kinds.ItemFailed(_("The endpoint was deleted."))
    task = TaskType.objects.get(pk=item.payload["task_type"])
    scene = Scene.objects.get(pk=item.payload["scene"])
    role = ServiceRole.objects.get(pk=item.payload["role"])
    dialogue = excerpt_dialogue(job.project_id, scene.pk, seed=item.pk)
    text, language = context_excerpt(dialogue)
    chinese = language == "zh"
    # Filled by name, in one pass: braces in a term or the dialogue stay text, never a field.
    prompt = placeholders.fill(
        prompts.SEED[language],
        {
            "n": str(item.payload["n"]),
            "task": task.name_zh if chinese else task.name_en,
            "requirements": "；".join(task.requirements_zh if chinese else task.requirements_en),
            "scene": scene.name_zh if chinese else scene.name_en,
            "role": role.name_zh if chinese else role.name_en,
            "domain": job.project.domain(language),
            "dialogue": untrusted(text),
        },
    )
    messages = [
        {"role": "system", "content": UNTRUSTED_NOTE},
        {"role": "user", "content": prompt},
    ]
    try:
        result = llm_chat(
            endpoint=endpoint,
            messages=messages,
            kind="seed_instructions",
            schema=prompts.SEED_SCHEMA,
            job_item=item,
        )
    except LLMError as error:
        raise job_kinds.ItemFailed(str(error)) from None
    from django.db import connection, transaction

    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Items of one task type run in parallel: the near-duplicate check and the insert
            # are one step per (project, task type), or two items each miss the other's texts.
            # (SQLite runs one writer at a time.)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))",
                    [f"instructions.seed:{job.project_id}:{task.pk}"],
                )
        existing = list(
            Instruction.objects.filter(project_id=job.project_id, task_type=task).values_list(
                "text", flat=True
            )
        )
        created, near = [], 0
        for candidate in result.data["instructions"]:
            candidate = candidate.strip()
            if similarity.near_duplicate(candidate, existing):
                near += 1
                continue
            existing.append(candidate)
            created.append(
                Instruction(
                    project_id=job.project_id,
                    task_type=task,
                    scene=scene,
                    service_role=role,
                    text=candidate,
                    endpoint=endpoint,
                    job=job,
                    prompt_sent=messages,
                )
            )
        Instruction.objects.bulk_create(created)
    return {"created": len(created), "near_duplicates": near}


def _finish(job: Job) -> None:
    created = near = 0
    for result in JobItem.objects.filter(job=job, status=JobItem.Status.DONE).values_list(
        "result", flat=True
    ):
        created += result.get("created", 0)
        near += result.get("near_duplicates", 0)
    Job.objects.filter(pk=job.pk).update(
        result={
            "created": created,
            "near_duplicates": near,
            "similarity": f"ROUGE-L > {similarity.THRESHOLD}",
            # Task x scene x role combinations left out: the role does not work in the scene.
            "skipped_pairs": job.params.get("skipped_pairs", 0),
        }
    )


job_kinds.register(job_kinds.JobKind(KIND, job_kinds.Queue.LLM, _handle, on_finished=_finish))
