"""Evolution (stage 1, step 2): an LLM rewrites kept instructions with Evol-Instruct operators
for 1 to 5 rounds; each child records parent, operator, generation, endpoint and the exact prompt;
failed evolutions are marked eliminated with the reason, never deleted."""

from __future__ import annotations

import random
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from curation import job_kinds
from curation.llm.client import UNTRUSTED_NOTE, LLMError, untrusted
from curation.models import Job, JobItem, ModelEndpoint, Project
from curation.services.jobs import job_create
from curation.services.llm import endpoint_for_work, llm_chat
from evolution import placeholders, prompts
from evolution.elimination import elimination_reason
from evolution.models import EvolutionOperator, Instruction
from evolution.services.seeds import context_excerpt, excerpt_dialogue

KIND = "instructions.evolve"
S = Instruction.State


def operators_ensure(*, project: Project) -> list[EvolutionOperator]:
    """The project's operators; the defaults are created the first time."""
    EvolutionOperator.objects.bulk_create(
        [
            EvolutionOperator(
                project=project,
                key=key,
                kind=kind,
                name_zh=name_zh,
                name_en=name_en,
                prompt_zh=prompt_zh,
                prompt_en=prompt_en,
            )
            for key, (kind, name_zh, name_en, prompt_zh, prompt_en) in prompts.OPERATORS.items()
        ],
        ignore_conflicts=True,
    )
    return list(EvolutionOperator.objects.filter(project=project, active=True))


def evolution_start(
    *,
    project: Project,
    instruction_ids: list[int],
    operator_keys: list[str],
    rounds: int,
    endpoint: ModelEndpoint,
    actor,
    seed: int = 0,
    dispatch: bool = True,
) -> Job:
    """Evolve the kept or accepted ones of `instruction_ids` for `rounds` (1 to 5,
    EvolutionStartInput) with the project's operators named by `operator_keys`."""
    if endpoint.project_id != project.pk:
        raise ValidationError({"endpoint": _("Choose an endpoint of this project.")})
    available = {op.key for op in operators_ensure(project=project)}
    if not operator_keys or not set(operator_keys) <= available:
        raise ValidationError({"operators": _("Choose operators of this project.")})
    kept = list(
        Instruction.objects.filter(
            project=project, pk__in=instruction_ids, state__in=[S.KEPT, S.ACCEPTED]
        ).values_list("pk", flat=True)
    )
    if not kept:
        raise ValidationError({"instructions": _("Choose kept or accepted instructions.")})
    return job_create(
        project=project,
        kind=KIND,
        creator=actor,
        payloads=[{"instruction": pk} for pk in sorted(kept)],
        params={
            "endpoint": endpoint.pk,
            "operators": sorted(operator_keys),
            "rounds": rounds,
            "seed": seed,
        },
        dispatch=dispatch,
    )


def _handle(item: JobItem) -> dict[str, Any]:
    """Evolve one instruction for the job's rounds, a randomly chosen operator each round
    (seeded, so a job is reproducible); a branch ends where a child is eliminated."""
    job = item.job
    endpoint = endpoint_for_work(job.params.get("endpoint"))
    if endpoint is None:
        raise job_kinds.ItemFailed(_("The endpoint was deleted."))
    operators = {
        op.key: op
        for op in EvolutionOperator.objects.filter(
            project_id=job.project_id, key__in=job.params["operators"]
        )
    }
    parent = Instruction.objects.get(pk=item.payload["instruction"])
    rng = random.Random(f"{job.params.get('seed', 0)}:{parent.pk}")
    # A re-run after a lost worker continues where the branch stands.
    made = list(
        Instruction.objects.filter(job=job, root=parent.root or parent).order_by("generation")
    )
    if made and made[-1].state == S.ELIMINATED:
        return {"evolved": 0, "eliminated": 0}
    if made:
        parent = made[-1]
    evolved = eliminated = 0
    for _round in range(len(made), job.params["rounds"]):
        operator = operators[rng.choice(sorted(operators))]
        chinese = any("\u4e00" <= ch <= "\u9fff" for ch in parent.text)
        template = operator.prompt_zh if chinese else operator.prompt_en
        dialogue = excerpt_dialogue(job.project_id, parent.scene_id, seed=parent.pk)
        prompt = placeholders.fill(
            template,
            {
                "instruction": parent.text,
                "dialogue": untrusted(context_excerpt(dialogue)[0]),
                "domain": job.project.domain("zh" if chinese else "en"),
            },
        )
        messages = [
            {"role": "system", "content": UNTRUSTED_NOTE},
            {"role": "user", "content": prompt},
        ]
        try:
            result = llm_chat(
                endpoint=endpoint, messages=messages, kind="evolve_instruction", job_item=item
            )
        except LLMError as error:
            raise job_kinds.ItemFailed(str(error)) from None
        text = result.content.strip()
        reason = elimination_reason(parent.text, text)
        child = Instruction.objects.create(
            project_id=job.project_id,
            task_type_id=parent.task_type_id,
            scene_id=parent.scene_id,
            service_role_id=parent.service_role_id,
            text=text or "—",
            state=S.ELIMINATED if reason else S.EVOLVED,
            reason=reason,
            origin=Instruction.Origin.EVOLVED,
            parent=parent,
            root_id=parent.root_id or parent.pk,
            generation=parent.generation + 1,
            operator=operator.key,
            endpoint=endpoint,
            job=job,
            prompt_sent=messages,
        )
        if reason:
            eliminated += 1
            break
        evolved += 1
        parent = child
    return {"evolved": evolved, "eliminated": eliminated}


def _finish(job: Job) -> None:
    evolved = eliminated = 0
    for result in JobItem.objects.filter(job=job, status=JobItem.Status.DONE).values_list(
        "result", flat=True
    ):
        evolved += result.get("evolved", 0)
        eliminated += result.get("eliminated", 0)
    Job.objects.filter(pk=job.pk).update(result={"evolved": evolved, "eliminated": eliminated})


job_kinds.register(job_kinds.JobKind(KIND, job_kinds.Queue.LLM, _handle, on_finished=_finish))
