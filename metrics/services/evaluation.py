"""Evaluation (paper §3.4): held-out test sets, runs of a model on a test set scored by an LLM
judge against curated references, retries of failed judgements, and the judge's reliability
checks. LLM calls happen in jobs only."""

from __future__ import annotations

import random
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from curation import job_kinds
from curation.exceptions import ConflictError
from curation.llm.client import UNTRUSTED_NOTE, LLMError
from curation.models import Job, JobItem, ModelEndpoint, Project, TaskType
from curation.services.audit import audit_record
from curation.services.jobs import job_create
from curation.services.llm import endpoint_for_work, llm_chat
from evolution.models import Prompt, TemplatePart
from labeling.models import Grade, Sample
from metrics import eval_prompts, evaluation
from metrics.models import (
    EVAL_JOB,
    RELIABILITY_JOB,
    DatasetVersion,
    EvalAnswer,
    EvalRun,
    JudgePrompt,
    TestItem,
    TestSet,
    VersionItem,
)
from metrics.selectors.evaluation import (
    judge_templates,
    run_reliability,
    run_summary,
    testset_overlap,
)

MAX_ITEMS = 5000
J = EvalAnswer.Judged


# -- test sets ----------------------------------------------------------------------------


def held_out_q(*, project: Project) -> Q:
    """Samples whose dialogue or prompt a test set of the project holds (a version leaves them
    out)."""
    items = TestItem.objects.filter(test_set__project=project)
    return Q(dialogue__in=items.values("dialogue")) | Q(
        prompt__in=items.filter(test_set__hold_out_prompts=True).values("prompt")
    )


def _in_versions_q(project: Project, *, prompts: bool) -> Q:
    items = VersionItem.objects.filter(version__project=project)
    q = Q(dialogue__in=items.values("sample__dialogue"))
    if prompts:
        q |= Q(prompt__in=items.values("sample__prompt"))
    return q


def _shares(given: dict[str, float] | None, keys: list[str], field: str) -> dict[str, float]:
    if not given:
        return {}
    unknown = sorted(set(given) - set(keys))
    if unknown:
        raise ValidationError({field: _("Unknown keys: %(k)s.") % {"k": ", ".join(unknown)}})
    if any(v < 0 for v in given.values()) or not any(given.values()):
        raise ValidationError({field: _("Shares are 0 or more, and not all 0.")})
    return dict(given)


def testset_create(
    *,
    project: Project,
    name: str,
    size: int,
    actor,
    task_shares: dict[str, float] | None = None,
    format_shares: dict[str, float] | None = None,
    grades: list[str] | None = None,
    seed: int = 0,
    description: str = "",
    hold_out_prompts: bool = True,
) -> TestSet:
    """Draw a test set from accepted samples whose dialogue and prompt no dataset version
    holds (the dialogue only, without `hold_out_prompts`), to the target shares per task type
    (default: the taxonomy's weights) and output format (default: equal). Its references are
    the curated labels. From then on, versions leave its dialogues (and prompts) out."""
    errors: dict[str, Any] = {}
    name = name.strip()
    if not name:
        errors["name"] = _("A test set needs a name.")
    if not 1 <= size <= MAX_ITEMS:
        errors["size"] = _("Draw 1 to %(n)d items.") % {"n": MAX_ITEMS}
    grades = list(grades or [Grade.HIGH])
    if not grades or not set(grades) <= set(Grade.values):
        errors["grades"] = _("Grades are high, medium and low.")
    tasks = dict(TaskType.objects.filter(project=project).values_list("key", "weight"))
    try:
        wanted_tasks = _shares(task_shares, list(tasks), "task_shares") or {
            k: float(w) for k, w in tasks.items()
        }
    except ValidationError as error:
        errors.update(error.message_dict)
        wanted_tasks = {}
    rows = list(
        Sample.objects.filter(project=project, state=Sample.State.ACCEPTED, grade__in=grades)
        .exclude(_in_versions_q(project, prompts=hold_out_prompts))
        .order_by("id")
        .values_list("id", "task_type__key", "prompt_id")
    )
    # Each prompt's formats once, not once per sample.
    format_of = {
        p.pk: p.output_format
        for p in Prompt.objects.filter(pk__in={r[2] for r in rows}).only("id", "tasks")
    }
    # Any output format a prompt can ask for (a multi-task prompt's formats joined by "+").
    formats_seen = sorted(set(format_of.values()) | set(TemplatePart.OutputFormat.values))
    try:
        wanted_formats = _shares(format_shares, formats_seen, "format_shares")
    except ValidationError as error:
        errors.update(error.message_dict)
        wanted_formats = {}
    if errors:
        raise ValidationError(errors)
    candidates = [
        evaluation.Candidate(id=pk, task_type=task, output_format=format_of[prompt])
        for pk, task, prompt in rows
    ]
    chosen = evaluation.draw(
        candidates, size, task_shares=wanted_tasks, format_shares=wanted_formats, seed=seed
    )
    if not chosen:
        accepted = Sample.objects.filter(project=project, state=Sample.State.ACCEPTED).count()
        raise ValidationError(
            {
                "size": _(
                    "No accepted sample of these grades has its dialogue (and prompt) outside "
                    "every dataset version (%(n)d accepted samples in all). Draw the test set "
                    "before freezing versions, or hold out the dialogues only."
                )
                % {"n": accepted}
            }
        )
    samples = Sample.objects.filter(pk__in=chosen).select_related("prompt", "task_type")
    by_id = {s.pk: s for s in samples}
    task_keys = dict(TaskType.objects.filter(project=project).values_list("pk", "key"))

    def subtasks(prompt: Prompt) -> str:
        tasks = prompt.tasks or []
        if len(tasks) < 2:
            return ""
        return "+".join(task_keys.get(t.get("task_type"), "") for t in tasks)

    try:
        with transaction.atomic():
            test_set = TestSet.objects.create(
                project=project,
                name=name[:100],
                description=description.strip(),
                size=size,
                task_shares=wanted_tasks,
                format_shares=wanted_formats,
                grades=grades,
                seed=seed,
                hold_out_prompts=bool(hold_out_prompts),
                item_count=len(chosen),
                created_by=actor,
            )
            TestItem.objects.bulk_create(
                [
                    TestItem(
                        test_set=test_set,
                        position=n,
                        sample_id=pk,
                        dialogue_id=by_id[pk].dialogue_id,
                        prompt_id=by_id[pk].prompt_id,
                        task_type=by_id[pk].task_type.key,
                        subtasks=subtasks(by_id[pk].prompt),
                        output_format=by_id[pk].prompt.output_format,
                        instruction=by_id[pk].instruction or by_id[pk].prompt.text,
                        input=by_id[pk].rendered_input,
                        reference=by_id[pk].output,
                    )
                    for n, pk in enumerate(chosen)
                ],
                batch_size=1000,
            )
    except IntegrityError:
        raise ValidationError({"name": _("A test set of this name exists.")}) from None
    testset_overlap_refresh(test_set=test_set)
    audit_record(
        actor=actor,
        action="testset.create",
        target=test_set,
        project=project,
        after={"name": test_set.name, "items": len(chosen), "task_shares": wanted_tasks},
    )
    return test_set


def testset_overlap_refresh(*, test_set: TestSet) -> TestSet:
    """Work out again what the project's dataset versions hold of the test set (at its draw
    and at every version freeze: versions change only then), for its page to show."""
    test_set.overlap = testset_overlap(test_set=test_set)
    TestSet.objects.filter(pk=test_set.pk).update(overlap=test_set.overlap)
    return test_set


# -- the judge prompt ----------------------------------------------------------------------


@transaction.atomic
def judge_prompt_update(
    *, project: Project, language: str, template: str, revision: int, actor
) -> JudgePrompt:
    """Save a judge prompt; `revision` 0 for a language still on its default. Its placeholders
    are names alone ({question}, {domain}): a format spec, conversion, attribute or index is
    refused, as the run refuses one saved before this check."""
    if language not in eval_prompts.JUDGE:
        raise ValidationError({"language": _("Use one of: %(f)s.") % {"f": "zh, en"}})
    template = template.replace("\r\n", "\n").strip()
    problems = eval_prompts.placeholders_check(template)
    if problems:
        raise ValidationError({"template": problems})
    current = (
        JudgePrompt.objects.select_for_update().filter(project=project, language=language).first()
    )
    if current is None:
        if revision != 0:
            raise ConflictError(_("Someone else changed this prompt since you opened it; reload."))
        current = JudgePrompt.objects.create(
            project=project, language=language, template=template, updated_by=actor
        )
    else:
        if revision != current.revision:
            raise ConflictError(_("Someone else changed this prompt since you opened it; reload."))
        before = current.template
        current.template = template
        current.updated_by = actor
        current.revision += 1
        current.save()
        audit_record(
            actor=actor,
            action="judge_prompt.update",
            target=current,
            project=project,
            before={"template": before},
            after={"template": template},
        )
    return current


# -- runs ----------------------------------------------------------------------------------


def evalrun_start(
    *,
    project: Project,
    test_set: TestSet,
    model_endpoint: ModelEndpoint,
    judge_endpoint: ModelEndpoint,
    actor,
    name: str = "",
    trained_on: DatasetVersion | None = None,
    dispatch: bool = True,
) -> EvalRun:
    """A run: the model answers every item of the test set and the judge scores each answer
    (a job on the LLM queue). `trained_on`: the dataset version the model was fine-tuned on,
    if any. The project's judge prompts are copied into the run; one that cannot be filled
    (saved before the check) is refused here, before any call."""
    errors: dict[str, Any] = {}
    if test_set is None or test_set.project_id != project.pk:
        errors["test_set"] = _("Choose a test set of this project.")
    elif not test_set.item_count:
        errors["test_set"] = _("This test set has no items.")
    for field, endpoint in (("model_endpoint", model_endpoint), ("judge_endpoint", judge_endpoint)):
        if endpoint is None or endpoint.project_id != project.pk:
            errors[field] = _("Choose an endpoint of this project.")
    if trained_on is not None and trained_on.project_id != project.pk:
        errors["trained_on"] = _("Choose a version of this project.")
    templates = judge_templates(project=project)
    unusable = [
        f"{language}: {'; '.join(problems)}"
        for language, template in templates.items()
        if (problems := eval_prompts.placeholders_check(template))
    ]
    if unusable:
        errors["judge_prompt"] = _("Correct the judge prompt first (%(p)s).") % {
            "p": " · ".join(unusable)
        }
    if errors:
        raise ValidationError(errors)
    name = name.strip() or f"{model_endpoint.name} · {test_set.name}"
    try:
        with transaction.atomic():
            run = EvalRun.objects.create(
                project=project,
                test_set=test_set,
                name=name[:100],
                model_endpoint=model_endpoint,
                model_name=model_endpoint.model,
                judge_endpoint=judge_endpoint,
                judge_model=judge_endpoint.model,
                judge_templates=templates,
                trained_on=trained_on,
                created_by=actor,
            )
            answers = EvalAnswer.objects.bulk_create(
                [
                    EvalAnswer(run=run, item_id=pk)
                    for pk in test_set.items.values_list("pk", flat=True)
                ],
                batch_size=1000,
            )
            job = job_create(
                project=project,
                kind=EVAL_JOB,
                creator=actor,
                payloads=[{"answer": a.pk} for a in answers],
                params={"run": run.pk},
                dispatch=dispatch,
            )
            EvalRun.objects.filter(pk=run.pk).update(job=job)
            run.job = job
    except IntegrityError:
        raise ValidationError({"name": _("A run of this name exists.")}) from None
    audit_record(
        actor=actor,
        action="evalrun.start",
        target=run,
        project=project,
        after={"model": run.model_name, "judge": run.judge_model, "test_set": test_set.name},
    )
    return run


def evalrun_retry_failed(*, run: EvalRun, actor, dispatch: bool = True) -> Job:
    """Answer and judge again the items whose answer or judgement failed."""
    failed = list(
        run.answers.filter(Q(judged=J.FAILED) | ~Q(answer_error="")).values_list("pk", flat=True)
    )
    if not failed:
        raise ValidationError(_("No answer or judgement of this run failed."))
    if run.job_id and Job.objects.filter(pk=run.job_id, status__in=Job.ACTIVE).exists():
        raise ValidationError(_("The run is still going; wait for it to finish."))
    with transaction.atomic():
        EvalAnswer.objects.filter(pk__in=failed).update(judged=J.PENDING, judge_error="")
        job = job_create(
            project=run.project,
            kind=EVAL_JOB,
            creator=actor,
            payloads=[{"answer": pk} for pk in failed],
            params={"run": run.pk, "retry": True},
            dispatch=dispatch,
        )
        EvalRun.objects.filter(pk=run.pk).update(job=job)
    return job


def evalrun_check_reliability(
    *, run: EvalRun, actor, items: int = 20, repeats: int = 3, seed: int = 0, dispatch: bool = True
) -> Job:
    """Judge a random sample of judged answers again, `repeats` times each (another seed each
    time) and once with the answer shown before the reference."""
    if not 1 <= items <= 500 or not 1 <= repeats <= 5:
        raise ValidationError(_("Re-judge 1 to 500 items, 1 to 5 times each."))
    judged = list(run.answers.filter(judged=J.DONE).order_by("pk").values_list("pk", flat=True))
    if not judged:
        raise ValidationError(_("No answer of this run is judged yet."))
    chosen = sorted(random.Random(seed).sample(judged, min(items, len(judged))))
    return job_create(
        project=run.project,
        kind=RELIABILITY_JOB,
        creator=actor,
        payloads=[{"answer": pk} for pk in chosen],
        params={"run": run.pk, "repeats": repeats, "seed": seed},
        dispatch=dispatch,
    )


# -- the jobs ------------------------------------------------------------------------------


def _judge(
    run: EvalRun,
    answer: EvalAnswer,
    endpoint: ModelEndpoint,
    item: JobItem | None,
    *,
    answer_first: bool = False,
    seed: int | None = None,
) -> tuple[int, str]:
    """One judgement: (score, reason). Raises LLMError when the judge fails or its answer
    does not fit the schema after the client's repair attempt, TemplateError when the run's
    judge prompt cannot be filled."""
    language = eval_prompts.language_of(answer.item.input)
    template = _judge_template(run, language)
    messages = [
        {"role": "system", "content": UNTRUSTED_NOTE},
        {
            "role": "user",
            "content": eval_prompts.judge_message(
                template,
                language,
                question=answer.item.input,
                reference=answer.item.reference,
                answer=answer.answer,
                domain=run.project.domain(language),
                answer_first=answer_first,
            ),
        },
    ]
    params = {"seed": seed} if seed is not None else None
    result = llm_chat(
        endpoint=endpoint,
        messages=messages,
        kind="judge_eval",
        schema=eval_prompts.JUDGE_SCHEMA,
        params=params,
        job_item=item,
        # A repeat must be a new judgement, not the cached first one.
        use_cache=seed is None and not answer_first,
    )
    return int(result.data["score"]), str(result.data["reason"])[:2000]


def _judge_template(run: EvalRun, language: str) -> str:
    return run.judge_templates.get(language) or eval_prompts.JUDGE[language]


def _unusable_template(run: EvalRun, answer: EvalAnswer) -> str:
    """Why the run's judge prompt for this answer cannot be filled ("" when it can): a run
    copied its templates, some perhaps saved before they were checked."""
    problems = eval_prompts.placeholders_check(
        _judge_template(run, eval_prompts.language_of(answer.item.input))
    )
    if not problems:
        return ""
    return _("The judge prompt of this run cannot be used: %(p)s") % {"p": "; ".join(problems)}


def _answer_and_judge(item: JobItem) -> dict[str, Any]:
    answer = EvalAnswer.objects.select_related("item", "run").get(pk=item.payload["answer"])
    run = answer.run
    if answer.judged == J.DONE:
        return {"skipped": 1}  # done before a lost worker's retry
    unusable = _unusable_template(run, answer)
    if unusable:
        # Checked before the model is asked: no call is spent on an answer nobody can judge.
        EvalAnswer.objects.filter(pk=answer.pk).update(
            judged=J.FAILED, score=None, reason="", judge_error=unusable[:300]
        )
        raise job_kinds.ItemFailed(unusable)
    changes: dict[str, Any] = {}
    if not answer.answer or answer.answer_error:
        model = endpoint_for_work(run.model_endpoint_id)
        if model is None:
            raise job_kinds.ItemFailed(_("The model's endpoint was deleted."))
        try:
            result = llm_chat(
                endpoint=model,
                messages=[
                    {"role": "system", "content": UNTRUSTED_NOTE},
                    {"role": "user", "content": answer.item.input},
                ],
                kind="eval_answer",
                job_item=item,
                use_cache=False,  # every run asks the model afresh
            )
        except LLMError as error:
            EvalAnswer.objects.filter(pk=answer.pk).exclude(judged=J.DONE).update(
                answer="", answer_error=str(error)[:300], judged=J.FAILED,
                judge_error=_("No answer to judge."),
            )  # fmt: skip
            return {"answer_failed": 1}
        answer.answer = result.content
        # Kept at once: if this worker dies before the judgement, the item's next run judges
        # this answer instead of paying the model again.
        EvalAnswer.objects.filter(pk=answer.pk).exclude(judged=J.DONE).update(
            answer=result.content,
            answer_error="",
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
        )
    judge = endpoint_for_work(run.judge_endpoint_id)
    if judge is None:
        raise job_kinds.ItemFailed(_("The judge's endpoint was deleted."))
    try:
        score, reason = _judge(run, answer, judge, item)
    except LLMError as error:
        # Marked, with the reason; counted nowhere until a retry judges it.
        changes.update(judged=J.FAILED, score=None, reason="", judge_error=str(error)[:300])
    else:
        changes.update(judged=J.DONE, score=score, reason=reason, judge_error="")
    # Written once: a judgement that arrives after another run of the item judged the answer
    # (its first worker was thought lost) changes nothing.
    from django.db.models import F

    if not (
        EvalAnswer.objects.filter(pk=answer.pk)
        .exclude(judged=J.DONE)
        .update(judge_attempts=F("judge_attempts") + 1, **changes)
    ):
        return {"skipped": 1}
    return {"judge_failed": int(changes["judged"] == J.FAILED)}


def _summarise(job: Job) -> None:
    run = EvalRun.objects.get(pk=job.params["run"])
    EvalRun.objects.filter(pk=run.pk).update(summary=run_summary(run=run))


def _recheck(item: JobItem) -> dict[str, Any]:
    answer = EvalAnswer.objects.select_related("item", "run").get(pk=item.payload["answer"])
    run = answer.run
    judge = endpoint_for_work(run.judge_endpoint_id)
    if judge is None:
        raise job_kinds.ItemFailed(_("The judge's endpoint was deleted."))
    unusable = _unusable_template(run, answer)
    if unusable:
        raise job_kinds.ItemFailed(unusable)
    if answer.checks.get("job") == item.job_id:
        return {"failed": answer.checks.get("failed", 0), "skipped": 1}  # a lost worker's retry
    params = item.job.params
    repeats, failures = [], 0
    for k in range(params["repeats"]):
        try:
            repeats.append(_judge(run, answer, judge, item, seed=params["seed"] * 100 + k + 1)[0])
        except LLMError:
            failures += 1
    try:
        swapped = _judge(run, answer, judge, item, answer_first=True)[0]
    except LLMError:
        swapped, failures = None, failures + 1
    EvalAnswer.objects.filter(pk=answer.pk).update(
        checks={"repeats": repeats, "swapped": swapped, "failed": failures, "job": item.job_id}
    )
    return {"failed": failures}


def _reliability(job: Job) -> None:
    run = EvalRun.objects.get(pk=job.params["run"])
    EvalRun.objects.filter(pk=run.pk).update(reliability=run_reliability(run=run))


job_kinds.register(
    job_kinds.JobKind(EVAL_JOB, job_kinds.Queue.LLM, _answer_and_judge, on_finished=_summarise)
)
job_kinds.register(
    job_kinds.JobKind(RELIABILITY_JOB, job_kinds.Queue.LLM, _recheck, on_finished=_reliability)
)
