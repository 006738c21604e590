"""Dataset versions: compose from filters, freeze (a job: snapshot, content hash, metrics),
submit, approve or reject by another lead."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import dialogue_text, job_kinds
from curation.models import Job, JobItem, Project, Scene, TaskType
from curation.services.audit import audit_record
from curation.services.jobs import job_create
from curation.services.revisions import revision_update
from evolution.services.prompt_review import prompt_training_text, prompt_without_dialogue
from labeling.models import Grade, Sample
from metrics import community, embeddings, quality
from metrics.models import FREEZE_JOB, DatasetVersion, TestSet, VersionItem
from metrics.services.bulk import rows_copy
from metrics.services.compute import backend_for, metrics_compute, vectors_cached
from metrics.services.evaluation import held_out_q, testset_overlap_refresh

V = DatasetVersion.State
FREEZE = FREEZE_JOB
STATES = (Sample.State.ACCEPTED, Sample.State.REJECTED)


class VersionFilters(TypedDict, total=False):
    """Which samples a version takes (typed; stored with the dates as YYYY-MM-DD)."""

    states: list[str]
    grades: list[str]
    task_types: list[str]  # keys
    scenes: list[str]  # keys
    since: dt.date | None
    until: dt.date | None


def _clean_filters(project: Project, given: VersionFilters) -> dict:
    """The filters as the version stores them; keys the project does not have are named."""
    errors: dict[str, str] = {}
    since, until = given.get("since"), given.get("until")
    filters = {
        "states": list(given.get("states") or [Sample.State.ACCEPTED]),
        "grades": list(given.get("grades") or []),
        "task_types": list(given.get("task_types") or []),
        "scenes": list(given.get("scenes") or []),
        "since": since.isoformat() if since else "",
        "until": until.isoformat() if until else "",
    }
    if not set(filters["states"]) <= set(STATES):
        errors["states"] = _("States are accepted and/or rejected.")
    if not set(filters["grades"]) <= set(Grade.values):
        errors["grades"] = _("Grades are high, medium and low.")
    for field, model in (("task_types", TaskType), ("scenes", Scene)):
        known = set(model.objects.filter(project=project).values_list("key", flat=True))
        unknown = sorted(set(filters[field]) - known)
        if unknown:
            errors[field] = _("Unknown keys: %(k)s.") % {"k": ", ".join(unknown)}
    if errors:
        raise ValidationError(errors)
    return filters


def version_samples(
    *, project: Project, filters: dict, with_held_out: bool = False
) -> QuerySet[Sample]:
    """The samples a version's filters choose, in id order; never one whose dialogue or prompt
    a test set holds out (unless `with_held_out`, to count them)."""
    samples = Sample.objects.filter(project=project, state__in=filters.get("states") or STATES)
    if not with_held_out:
        samples = samples.exclude(held_out_q(project=project))
    if filters.get("grades"):
        samples = samples.filter(grade__in=filters["grades"])
    if filters.get("task_types"):
        samples = samples.filter(task_type__key__in=filters["task_types"])
    if filters.get("scenes"):
        samples = samples.filter(scene__key__in=filters["scenes"])
    if filters.get("since"):
        samples = samples.filter(Q(reviewed_at__date__gte=filters["since"]))
    if filters.get("until"):
        samples = samples.filter(Q(reviewed_at__date__lte=filters["until"]))
    return samples.order_by("id")


def version_create(
    *,
    project: Project,
    name: str,
    actor,
    filters: VersionFilters | None = None,
    description: str = "",
    top_n: int | None = None,
    embedding: str = "tokens",
    threshold: float | None = None,
) -> DatasetVersion:
    """A draft version: the samples its filters choose, optionally the top n of each cluster
    of similar prompts (by the embedding backend, at its threshold)."""
    name = name.strip()
    errors: dict[str, Any] = {}
    if not name:
        errors["name"] = _("A version needs a name.")
    if top_n is not None and not 1 <= top_n <= 1000:
        errors["top_n"] = _("Keep 1 to 1000 per cluster.")
    try:
        backend_for(embedding, project=project)
    except ValueError as error:
        errors["embedding"] = str(error)
    if threshold is not None and not 0 < threshold < 1:
        errors["threshold"] = _("A cosine threshold between 0 and 1.")
    try:
        cleaned = _clean_filters(project, filters or {})
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            version = DatasetVersion.objects.create(
                project=project,
                name=name[:100],
                description=description.strip(),
                filters=cleaned,
                top_n=top_n,
                embedding=embedding,
                threshold=threshold,
                created_by=actor,
            )
    except IntegrityError:
        raise ValidationError({"name": _("A version of this name exists.")}) from None
    audit_record(
        actor=actor,
        action="version.create",
        target=version,
        project=project,
        after={"name": version.name, "filters": cleaned, "top_n": top_n},
    )
    return version


def version_freeze(
    *, version: DatasetVersion, revision: int | None, actor, dispatch: bool = True
) -> Job:
    """Freeze a draft: a job snapshots its samples (and computes the metrics); from then on the
    version never changes."""
    if version.state != V.DRAFT:
        raise ValidationError(_("Only a draft is frozen."))
    with transaction.atomic():
        revision_update(
            instance=version,
            revision=revision,
            conflict=_("Someone else changed this version since you opened it; reload."),
            state=V.FREEZING,
            error="",
        )
        job = job_create(
            project=version.project,
            kind=FREEZE,
            creator=actor,
            payloads=[{"version": version.pk, "actor": actor.pk}],
            params={"version": version.pk},
            dispatch=dispatch,
        )
    return job


def _item(sample: Sample, position: int, *, system: str, task_keys: dict[int, str]) -> VersionItem:
    # The prompt text the label was made with (samples made before it was kept: the prompt's).
    text = sample.prompt_text or sample.prompt.text
    tasks = sample.prompt.tasks or []
    return VersionItem(
        version_id=0,
        position=position,
        sample=sample,
        prompt=prompt_without_dialogue(text),
        instruction=sample.instruction or sample.prompt.sections.get("narrative", ""),
        dialogue=dialogue_text.render(sample.dialogue.turns),
        rendered_input=sample.rendered_input,
        system=system,
        training_prompt=prompt_training_text(text=text, dialogue=sample.dialogue),
        output=sample.output,
        task_type=sample.task_type.key,
        subtasks="+".join(task_keys.get(t.get("task_type"), "") for t in tasks)
        if len(tasks) > 1
        else "",
        output_format=sample.prompt.output_format,
        scene=sample.scene.key if sample.scene else "",
        label_quality=sample.grade,
    )


ITEM_FIELDS = [
    "version",
    "position",
    "sample",
    "prompt",
    "instruction",
    "dialogue",
    "rendered_input",
    "system",
    "training_prompt",
    "output",
    "task_type",
    "subtasks",
    "output_format",
    "scene",
    "label_quality",
]


def _item_rows(items: list[VersionItem]):
    for i in items:
        yield (
            i.version_id,
            i.position,
            i.sample_id,
            i.prompt,
            i.instruction,
            i.dialogue,
            i.rendered_input,
            i.system,
            i.training_prompt,
            i.output,
            i.task_type,
            i.subtasks,
            i.output_format,
            i.scene,
            i.label_quality,
        )


def _canonical(item: VersionItem) -> bytes:
    return json.dumps(
        [
            item.sample_id,
            item.prompt,
            item.instruction,
            item.dialogue,
            item.rendered_input,
            item.system,
            item.training_prompt,
            item.output,
            item.task_type,
            item.subtasks,
            item.output_format,
            item.scene,
            item.label_quality,
        ],
        ensure_ascii=False,
    ).encode()


def _row(item: VersionItem) -> quality.Row:
    return quality.Row(
        prompt=item.prompt,
        dialogue=item.dialogue,
        output=item.output,
        label_quality=item.label_quality or None,
        task_type=item.task_type,
        output_format=item.output_format or None,
    )


def _freeze(item: JobItem) -> dict[str, Any]:
    version = DatasetVersion.objects.get(pk=item.payload["version"])
    if version.state != V.FREEZING:
        return {"skipped": 1}
    try:
        return _snapshot(version, item)
    except (ValueError, embeddings.EmbeddingError) as error:
        # Too many similar pairs, an unreachable embedding endpoint...: named on the version.
        raise job_kinds.ItemFailed(str(error)) from None


def _snapshot(version: DatasetVersion, item: JobItem) -> dict[str, Any]:
    samples = version_samples(project=version.project, filters=version.filters).select_related(
        "prompt", "dialogue", "task_type", "scene"
    )
    system = version.project.training_system_prompt.strip()
    task_keys = dict(TaskType.objects.filter(project=version.project).values_list("pk", "key"))
    items = [
        _item(s, n, system=system, task_keys=task_keys)
        for n, s in enumerate(samples.iterator(chunk_size=2000))
    ]
    if version.top_n:
        # Diversity selection: the best top_n of each community of similar prompts (higher
        # grade first, then the older sample).
        backend = backend_for(version.embedding, project=version.project)
        threshold = version.threshold or backend.default_threshold
        vectors = vectors_cached(backend, [i.prompt for i in items])
        found = community.communities(vectors, threshold)
        order = {"high": 0, "medium": 1, "low": 2, "": 3}
        kept = quality.keep_top_n(
            found, version.top_n, lambda i: (order.get(items[i].label_quality, 3), i)
        )
        items = [items[i] for i in kept]
    digest = hashlib.sha256()
    for position, entry in enumerate(items):
        entry.position = position
        entry.version_id = version.pk
        digest.update(_canonical(entry))
        digest.update(b"\n")
    metrics = metrics_compute(
        [_row(i) for i in items],
        embedding=version.embedding,
        threshold=version.threshold,
        top_n=version.top_n or 1,
        project=version.project,
    )
    with transaction.atomic():
        VersionItem.objects.filter(version=version).delete()  # a rerun after a lost worker
        rows_copy(model=VersionItem, fields=ITEM_FIELDS, rows=_item_rows(items))
        DatasetVersion.objects.filter(pk=version.pk, state=V.FREEZING).update(
            state=V.FROZEN,
            sample_count=len(items),
            content_hash=digest.hexdigest(),
            metrics=metrics,
            frozen_by_id=item.payload.get("actor"),
            frozen_at=timezone.now(),
        )
    for test_set in TestSet.objects.filter(project=version.project):
        testset_overlap_refresh(test_set=test_set)
    return {"samples": len(items)}


def _frozen(job: Job) -> None:
    """A failed freeze puts the version back to draft with the reason."""
    if job.failed_count:
        DatasetVersion.objects.filter(pk=job.params["version"], state=V.FREEZING).update(
            state=V.DRAFT, error=(job.error_summary or "")[:500]
        )


@transaction.atomic
def version_submit(*, version: DatasetVersion, revision: int, actor) -> DatasetVersion:
    if version.state not in (V.FROZEN, V.REJECTED):
        raise ValidationError(_("Freeze the version before submitting it."))
    revision_update(
        instance=version,
        revision=revision,
        conflict=_("Someone else changed this version since you opened it; reload."),
        state=V.SUBMITTED,
        submitted_by=actor,
        submitted_at=timezone.now(),
    )
    audit_record(actor=actor, action="version.submit", target=version, project=version.project)
    return version


def version_authors(version: DatasetVersion) -> set[int]:
    """The users who made the version what it is: none of them may approve it."""
    return {
        pk
        for pk in (version.created_by_id, version.frozen_by_id, version.submitted_by_id)
        if pk is not None
    }


@transaction.atomic
def version_decide(
    *, version: DatasetVersion, revision: int, actor, decision: str, note: str = ""
) -> DatasetVersion:
    """Approve or reject a submitted version: a lead who neither composed, froze nor submitted
    it (separation of duties: nobody approves their own data)."""
    if version.state != V.SUBMITTED:
        raise ValidationError(_("Only a submitted version is approved or rejected."))
    if actor.pk in version_authors(version):
        raise PermissionDenied(
            _("Another lead decides: you composed, froze or submitted this version.")
        )
    if decision not in ("approve", "reject"):
        raise ValidationError(_("Approve or reject."))
    if decision == "reject" and not note.strip():
        raise ValidationError({"note": _("Say why it is rejected.")})
    revision_update(
        instance=version,
        revision=revision,
        conflict=_("Someone else changed this version since you opened it; reload."),
        state=V.APPROVED if decision == "approve" else V.REJECTED,
        decided_by=actor,
        decided_at=timezone.now(),
        decision_note=note.strip()[:300],
    )
    audit_record(
        actor=actor,
        action=f"version.{decision}",
        target=version,
        project=version.project,
        after={"state": version.state, "note": version.decision_note},
    )
    return version


job_kinds.register(job_kinds.JobKind(FREEZE, job_kinds.Queue.CPU, _freeze, on_finished=_frozen))
