"""Label jobs (paper §2.3): dialogues sampled with weights by scene, source and task type, each
paired with an approved prompt, pre-annotated by an LLM and pre-graded by an LLM judge."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from curation import job_kinds
from curation.exceptions import ConflictError
from curation.llm.client import UNTRUSTED_NOTE, LLMContextError, LLMError
from curation.models import (
    Dialogue,
    Job,
    JobItem,
    ModelEndpoint,
    Project,
    Scene,
    SourceType,
    TaskType,
)
from curation.selectors import project_role
from curation.services.audit import audit_record
from curation.services.jobs import job_create
from curation.services.llm import endpoint_for_work, llm_chat
from evolution import placeholders
from evolution.models import Prompt
from evolution.selectors import prompts_for_labeling
from evolution.services.prompt_review import prompt_render
from labeling import output_check, prompts, sampling
from labeling.models import LabelSettings, Sample
from labeling.services.review import label_regenerate_allowed

GENERATE = "labels.generate"
MAX_SAMPLES = 100_000


def _weights(model, project: Project, given: dict[str, float] | None) -> dict[int | str, float]:
    """Weights by term id: the taxonomy's unless given (by key); inactive terms weigh 0. The
    key "none" weighs the dialogues without such a term (1.0 unless given)."""
    terms = list(model.objects.filter(project=project))
    by_key = {t.key: t for t in terms}
    given = given or {}
    field = model._meta.model_name
    unknown = sorted(set(given) - set(by_key) - {NO_TERM})
    if unknown:
        raise ValidationError({field: _("Unknown keys: %(k)s.") % {"k": ", ".join(unknown)}})
    out: dict[int | str, float] = {}
    for term in terms:
        out[term.pk] = (
            given[term.key] if term.key in given else float(term.weight if term.active else 0)
        )
    if NO_TERM in given:
        out[NO_TERM] = given[NO_TERM]
    if any(weight < 0 for weight in out.values()):
        raise ValidationError({field: _("Weights cannot be negative.")})
    return out


def label_job_start(
    *,
    project: Project,
    count: int,
    endpoint: ModelEndpoint,
    actor,
    scene_weights: dict[str, float] | None = None,
    source_weights: dict[str, float] | None = None,
    task_weights: dict[str, float] | None = None,
    prompt_ids: list[int] | None = None,
    judge: bool = True,
    seed: int = 0,
    dispatch: bool = True,
) -> Job:
    """Start a label job; the sampling happens in a worker when the job starts."""
    errors: dict[str, Any] = {}
    if endpoint.project_id != project.pk:
        errors["endpoint"] = _("Choose an endpoint of this project.")
    if not 1 <= count <= MAX_SAMPLES:
        errors["count"] = _("Sample 1 to %(n)d dialogues.") % {"n": MAX_SAMPLES}
    approved = prompts_for_labeling(project=project)
    if prompt_ids:
        approved = approved.filter(pk__in=prompt_ids)
    chosen = list(approved.values_list("pk", flat=True))
    if not chosen:
        errors["prompts"] = _("There is no approved prompt to draw from.")
    try:
        weights = {
            "scene": _weights(Scene, project, scene_weights),
            "source": _weights(SourceType, project, source_weights),
            "task_type": _weights(TaskType, project, task_weights),
        }
    except ValidationError as error:
        errors.update(error.message_dict)
        weights = {}
    if errors:
        raise ValidationError(errors)
    job = job_create(
        project=project,
        kind=GENERATE,
        creator=actor,
        payloads=None,
        params={
            "count": count,
            "endpoint": endpoint.pk,
            "prompts": chosen,
            "judge": bool(judge),
            "seed": seed,
            # JSON object keys are strings.
            "weights": {k: {str(i): w for i, w in v.items()} for k, v in weights.items()},
        },
        dispatch=dispatch,
    )
    audit_record(actor=actor, action="labels.start", target=job, project=project, after=job.params)
    return job


# In a job's weights, the key of dialogues without a scene or a source (the other keys are term
# ids). Without it they weigh sampling.DEFAULT_WEIGHT; 0 leaves them out.
NO_TERM = "none"
# How the distribution names them; stored in English, the job page translates them.
NO_TERM_NAME = {"scene": "— (no scene)", "source": "— (no source)"}


def _term_weights(given: dict[str, float]) -> dict[int | None, float]:
    return {None if key == NO_TERM else int(key): weight for key, weight in given.items()}


def _shares(
    labels: dict[int, str],
    tallies: dict,
    *,
    by: str | None = None,
    short: dict[Any, list[dict]] | None = None,
) -> list[dict[str, Any]]:
    """Rows of the job page's distribution: each key's requested share beside its realised
    share, with the counts (`asked` is what the weights asked, `count` what was drawn, `had`
    the dialogues not yet sampled). `by` ("scene", "source") names the None key; task types have
    no `had`. `short` adds the cells in which a key was short, by key."""
    total = sum(tally.count for tally in tallies.values())
    rows = []
    for key, tally in tallies.items():
        if not (tally.requested or tally.count):
            continue
        row = {
            "name": NO_TERM_NAME[by] if key is None else labels.get(key, f"#{key}"),
            "none": key is None,
            "requested": round(tally.requested, 4),
            "realised": round(tally.count / total, 4) if total else 0.0,
            "asked": tally.asked,
            "count": tally.count,
        }
        if by:
            row["had"] = tally.had
        if short is not None:
            row["short"] = short.get(key, [])
        rows.append(row)
    rows.sort(key=lambda row: (-row["requested"], -row["count"], row["name"]))
    return rows


def _distribution(names: dict[str, dict], drawn: sampling.Draw, tasks: dict) -> dict[str, Any]:
    """The distribution of a label job: scene, source and task-type rows; each source row lists
    the scenes in which that source had fewer dialogues than its share, and where they went."""
    short: dict[Any, list[dict]] = defaultdict(list)
    for cell in drawn.short:
        none = cell.scene is None
        short[cell.source].append(
            {
                "scene": NO_TERM_NAME["scene"] if none else names["scene"].get(cell.scene, "#"),
                "scene_none": none,
                "asked": cell.asked,
                "had": cell.had,
                "moved": cell.moved,
            }
        )
    return {
        "scene": _shares(names["scene"], drawn.scenes, by="scene"),
        "source": _shares(names["source"], drawn.sources, by="source", short=short),
        "task_type": _shares(names["task_type"], tasks),
    }


def _prepare(job: Job) -> list[dict[str, Any]]:
    """Draw the dialogues and pair each with a prompt; idempotent, so a worker that dies here
    leaves nothing to clean up."""
    existing = list(Sample.objects.filter(job=job).order_by("seq").values_list("pk", flat=True))
    if existing:
        return [{"sample": pk} for pk in existing]
    params = job.params
    weights = {k: _term_weights(v) for k, v in params["weights"].items()}
    prompt_rows = list(
        Prompt.objects.filter(pk__in=params["prompts"], state=Prompt.State.APPROVED)
        .order_by("id")
        .values("pk", "task_type_id", "scene_id")
    )
    by_task: dict[int, list[dict]] = defaultdict(list)
    for row in prompt_rows:
        by_task[row["task_type_id"]].append(row)
    task_weights = {t: weights["task_type"].get(t, 1.0) for t in by_task}
    if not any(task_weights.values()):
        raise job_kinds.ItemFailed(_("No approved prompt of a task type with a weight above 0."))
    # Without replacement within the project: a dialogue already sampled is not drawn again.
    population = list(
        Dialogue.objects.filter(project_id=job.project_id)
        .exclude(samples__isnull=False)
        .values_list("pk", "scene_id", "source_id")
    )
    # Dialogues without a scene or source are a group of their own (key None), never an error.
    drawn = sampling.draw(
        population,
        params["count"],
        scene_weights=weights["scene"],
        source_weights=weights["source"],
        seed=params["seed"],
    )
    ids = drawn.ids
    if not ids:
        raise job_kinds.ItemFailed(_("No dialogue is left to sample with these weights."))
    tasks = sampling.assign_tasks(len(ids), task_weights, params["seed"])
    rows = {pk: (scene, source) for pk, scene, source in population}
    samples = []
    for seq, (dialogue_id, task_type) in enumerate(zip(ids, tasks, strict=True)):
        scene, source = rows[dialogue_id]
        candidates = by_task[task_type]
        fitting = [p for p in candidates if p["scene_id"] in (None, scene)] or candidates
        prompt = random.Random(f"{params['seed']}:{dialogue_id}").choice(fitting)
        samples.append(
            Sample(
                project_id=job.project_id,
                job=job,
                seq=seq,
                dialogue_id=dialogue_id,
                prompt_id=prompt["pk"],
                task_type_id=task_type,
                scene_id=scene,
                source_id=source,
            )
        )
    with transaction.atomic():
        Sample.objects.bulk_create(samples, batch_size=1000)
        names = {
            "scene": dict(Scene.objects.filter(project_id=job.project_id).values_list("pk", "key")),
            "source": dict(
                SourceType.objects.filter(project_id=job.project_id).values_list("pk", "key")
            ),
            "task_type": dict(
                TaskType.objects.filter(project_id=job.project_id).values_list("pk", "key")
            ),
        }
        requested = sampling.requested_shares(task_weights)
        drawn_tasks = dict.fromkeys(task_weights, 0)
        for task in tasks:
            drawn_tasks[task] += 1
        # assign_tasks gives every task type exactly what the weights ask.
        task_tallies = {
            task: sampling.Tally(
                requested=requested[task],
                asked=drawn_tasks[task],
                had=drawn_tasks[task],
                count=drawn_tasks[task],
            )
            for task in task_weights
        }
        distribution = _distribution(names, drawn, task_tallies)
        # What the job page needs to explain the rows: how many cells were short, and how
        # many dialogues of the population had no scene / no source (a group of their own).
        without = {
            by: tallies[None].had
            for by, tallies in (("scene", drawn.scenes), ("source", drawn.sources))
            if None in tallies and tallies[None].had
        }
        Job.objects.filter(pk=job.pk).update(
            result={
                "sampled": len(samples),
                "distribution": distribution,
                "short_cells": len(drawn.short),
                "without": without,
            }
        )
    return [
        {"sample": pk}
        for pk in Sample.objects.filter(job=job).order_by("seq").values_list("pk", flat=True)
    ]


def _generate(sample: Sample, endpoint: ModelEndpoint, item: JobItem | None) -> dict[str, Any]:
    """Run the model on the sample; keep whatever it says, marked when it is unusable."""
    rendered = prompt_render(text=sample.prompt.text, dialogue=sample.dialogue)
    messages = [
        {"role": "system", "content": UNTRUSTED_NOTE},
        {"role": "user", "content": rendered},
    ]
    changes: dict[str, Any] = {
        "instruction": sample.prompt.sections.get("narrative", sample.prompt.text),
        "prompt_text": sample.prompt.text,
        "rendered_input": rendered,
        "endpoint": endpoint,
    }
    params = {}
    if sample.formats == ["json"] and endpoint.json_mode != "prompt":
        # Ask for JSON mode where the endpoint has it; the answer is checked either way and
        # kept even when it is not JSON.
        params["response_format"] = {"type": "json_object"}
    try:
        result = llm_chat(
            endpoint=endpoint, messages=messages, kind="label", params=params, job_item=item
        )
    except LLMContextError as error:
        # Flagged with the reason, never cut: the whole dialogue or nothing.
        changes.update(
            model_output="",
            output="",
            output_check=Sample.Check.TOO_LONG,
            output_check_detail=str(error)[:300],
        )
        return changes
    except LLMError as error:
        changes.update(
            model_output="",
            output="",
            output_check=Sample.Check.FAILED,
            output_check_detail=str(error)[:300],
        )
        return changes
    problems = output_check.check_output(result.content, sample.formats)
    changes.update(
        model_output=result.content,
        output=result.content,
        output_check=output_check.problem_kind(problems) or "",
        output_check_detail="; ".join(problems)[:300],
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
    )
    return changes


def _judge(sample: Sample, changes: dict, endpoint: ModelEndpoint, item) -> dict[str, Any]:
    if not changes.get("output"):
        return {"judge_grade": "", "judge_reason": ""}
    language = "zh" if any("\u4e00" <= c <= "\u9fff" for c in changes["rendered_input"]) else "en"
    # Filled by name in one pass: braces in the input or the output stay text.
    content = placeholders.fill(
        prompts.JUDGE[language],
        {
            "input": changes["rendered_input"],
            "output": changes["output"],
            "domain": sample.project.domain(language),
        },
    )
    messages = [
        {"role": "system", "content": UNTRUSTED_NOTE},
        {"role": "user", "content": content},
    ]
    try:
        result = llm_chat(
            endpoint=endpoint,
            messages=messages,
            kind="judge_label",
            schema=prompts.JUDGE_SCHEMA,
            job_item=item,
        )
    except LLMError as error:
        return {"judge_grade": "", "judge_reason": _("The judge failed: %(e)s") % {"e": error}}
    return {"judge_grade": result.data["grade"], "judge_reason": result.data["reason"][:2000]}


def _handle(item: JobItem) -> dict[str, Any]:
    job = item.job
    endpoint = endpoint_for_work(job.params.get("endpoint"))
    if endpoint is None:
        raise job_kinds.ItemFailed(_("The endpoint was deleted."))
    sample = Sample.objects.select_related("prompt", "dialogue").get(pk=item.payload["sample"])
    if sample.state != Sample.State.GENERATING:
        return {"skipped": 1}  # done before a lost worker's retry
    changes = _generate(sample, endpoint, item)
    if job.params.get("judge", True):
        changes.update(_judge(sample, changes, endpoint, item))
    settings_ = LabelSettings.objects.filter(project_id=job.project_id).first()
    share = settings_.double_share if settings_ else 0.1
    double = random.Random(f"double:{job.params.get('seed', 0)}:{sample.pk}").random() < share
    Sample.objects.filter(pk=sample.pk, state=Sample.State.GENERATING).update(
        state=Sample.State.READY, double=double, revision=F("revision") + 1, **changes
    )
    return {"bad_output": int(bool(changes.get("output_check")))}


def _finish(job: Job) -> None:
    bad = sum(
        r.get("bad_output", 0)
        for r in JobItem.objects.filter(job=job, status=JobItem.Status.DONE).values_list(
            "result", flat=True
        )
    )
    result = dict(Job.objects.get(pk=job.pk).result or {})
    result["bad_output"] = bad
    Job.objects.filter(pk=job.pk).update(result=result)


def sample_regenerate(*, sample: Sample, actor) -> Sample:
    """Run the model again on a sample (say its output was unusable); the earlier output is kept
    in `attempts`. Done in a job item so no LLM is called in a request. It spends LLM calls, so
    it is a lead's decision: annotators may only when the leads allow it."""
    role = project_role(project=sample.project, user=actor)
    if not label_regenerate_allowed(project=sample.project, role=role):
        raise PermissionDenied(
            _("Only leads may run the model again, unless a lead allows annotators to.")
        )
    if sample.state not in (Sample.State.READY, Sample.State.REJECTED):
        raise ValidationError(_("Only samples to review or rejected ones are regenerated."))
    endpoint = sample.endpoint
    if endpoint is None:
        raise ValidationError(_("The sample's endpoint was deleted."))
    with transaction.atomic():
        attempts = [
            *sample.attempts,
            {"output": sample.model_output, "check": sample.output_check},
        ]
        updated = Sample.objects.filter(pk=sample.pk, revision=sample.revision).update(
            state=Sample.State.GENERATING,
            attempts=attempts,
            revision=F("revision") + 1,
            assigned_to=None,
            assigned_until=None,
        )
        if not updated:
            raise ConflictError(_("Someone else changed this sample since you opened it."))
        job_create(
            project=sample.project,
            kind=GENERATE,
            creator=actor,
            payloads=[{"sample": sample.pk}],
            params={"endpoint": endpoint.pk, "judge": True, "seed": sample.pk, "regenerate": True},
        )
    sample.refresh_from_db()
    return sample


job_kinds.register(
    job_kinds.JobKind(GENERATE, job_kinds.Queue.LLM, _handle, on_finished=_finish, prepare=_prepare)
)
