"""Label jobs (paper §2.3): dialogues sampled with weights by scene, source and task type, each
paired with an approved prompt, pre-annotated by an LLM and pre-graded by an LLM judge."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
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
from curation.services.audit import audit_record
from curation.services.jobs import job_create
from curation.services.llm import endpoint_for_work, llm_chat
from evolution.models import Prompt
from evolution.selectors import prompts_for_labeling
from evolution.services.prompt_review import prompt_render
from labeling import output_check, prompts, sampling
from labeling.models import LabelSettings, Sample

GENERATE = "labels.generate"
MAX_SAMPLES = 100_000


def _weights(model, project: Project, given: dict | None) -> dict[int, float]:
    """Weights by term id: the taxonomy's unless given (by key); inactive terms weigh 0."""
    terms = list(model.objects.filter(project=project))
    by_key = {t.key: t for t in terms}
    given = given or {}
    unknown = sorted(set(given) - set(by_key))
    if unknown:
        raise ValidationError(
            {model._meta.model_name: _("Unknown keys: %(k)s.") % {"k": ", ".join(unknown)}}
        )
    out = {}
    for term in terms:
        weight = float(given.get(term.key, term.weight if term.active else 0))
        if weight < 0:
            raise ValidationError({model._meta.model_name: _("Weights cannot be negative.")})
        out[term.pk] = weight
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


def _shares(labels: dict[int, str], requested: dict[str, float], realised: list) -> list[dict]:
    want = sampling.requested_shares(requested)
    got = sampling.realised_shares([str(k) for k in realised])
    return [
        {
            "name": labels.get(int(key), "—"),
            "requested": round(want.get(key, 0.0), 4),
            "realised": round(got.get(key, 0.0), 4),
        }
        for key in sorted(set(want) | set(got), key=lambda k: -want.get(k, 0.0))
        if want.get(key) or got.get(key)
    ]


def _prepare(job: Job) -> list[dict[str, Any]]:
    """Draw the dialogues and pair each with a prompt; idempotent, so a worker that dies here
    leaves nothing to clean up."""
    existing = list(Sample.objects.filter(job=job).order_by("seq").values_list("pk", flat=True))
    if existing:
        return [{"sample": pk} for pk in existing]
    params = job.params
    weights = {k: {int(i): w for i, w in v.items()} for k, v in params["weights"].items()}
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
    ids = sampling.sample(
        population,
        params["count"],
        scene_weights=weights["scene"],
        source_weights=weights["source"],
        seed=params["seed"],
    )
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
        distribution = {
            "scene": _shares(
                names["scene"], params["weights"]["scene"], [s.scene_id for s in samples]
            ),
            "source": _shares(
                names["source"], params["weights"]["source"], [s.source_id for s in samples]
            ),
            "task_type": _shares(
                names["task_type"],
                {str(t): w for t, w in task_weights.items()},
                [s.task_type_id for s in samples],
            ),
        }
        Job.objects.filter(pk=job.pk).update(
            result={"sampled": len(samples), "distribution": distribution}
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
    messages = [
        {"role": "system", "content": UNTRUSTED_NOTE},
        {
            "role": "user",
            "content": prompts.JUDGE[language].format(
                input=changes["rendered_input"], output=changes["output"]
            ),
        },
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
    in `attempts`. Done in a job item so no LLM is called in a request."""
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
