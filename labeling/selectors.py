"""Reads of the label stage: the queues and the review figures."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from curation.models import Project
from labeling import agreement
from labeling.models import Annotation, Grade, Sample


def sample_list(*, project: Project, state: str = "", task_type: str = "") -> QuerySet[Sample]:
    samples = Sample.objects.filter(project=project).select_related("task_type", "scene")
    if state:
        samples = samples.filter(state=state)
    if task_type:
        samples = samples.filter(task_type__key=task_type)
    return samples.order_by("id")


def verify_queue(*, project: Project) -> QuerySet[Sample]:
    return sample_list(project=project).filter(
        state__in=[Sample.State.ACCEPTED, Sample.State.REJECTED], verify=Sample.Verify.NONE
    )


def label_stats(*, project: Project) -> dict:
    """Counts per state, grade shares, how often the judge agreed with people, and the agreement
    of doubly annotated samples per annotator: a handful of grouped queries."""
    samples = Sample.objects.filter(project=project).order_by()
    states = dict(samples.values_list("state").annotate(n=Count("id")))
    # Label quality is over accepted samples, the ones a version takes: the page and a version
    # of every accepted sample show the same shares. Rejections are counted apart, graded or
    # not (a rejection needs no grade).
    by_state_grade = {
        (state, grade): n
        for state, grade, n in samples.filter(
            state__in=[Sample.State.ACCEPTED, Sample.State.REJECTED]
        )
        .values_list("state", "grade")
        .annotate(n=Count("id"))
    }
    grades = {g: by_state_grade.get((Sample.State.ACCEPTED, g), 0) for g in Grade.values}
    total = sum(grades.values())
    rejected = {g: by_state_grade.get((Sample.State.REJECTED, g), 0) for g in Grade.values}
    ungraded_rejections = by_state_grade.get((Sample.State.REJECTED, ""), 0)
    judged = list(
        samples.exclude(grade="").exclude(judge_grade="").values_list("grade", "judge_grade")
    )
    bad = dict(samples.exclude(output_check="").values_list("output_check").annotate(n=Count("id")))
    rows = []
    by_sample: dict[int, list[tuple]] = {}
    for sample_id, name, grade in (
        Annotation.objects.filter(sample__project=project, sample__double=True)
        .order_by("sample", "id")
        .values_list("sample", "annotator__username", "grade")
    ):
        # A rejection without a grade agrees only with another ungraded rejection.
        by_sample.setdefault(sample_id, []).append((name, grade or agreement.REJECTED))
    for pair in by_sample.values():
        if len(pair) >= 2:
            (a, ga), (b, gb) = pair[0], pair[1]
            rows.append((a, b, ga, gb))
    pairs = [(ga, gb) for _a, _b, ga, gb in rows]
    return {
        "states": {state: states.get(state, 0) for state in Sample.State.values},
        "grades": {
            g: {"n": grades[g], "share": (grades[g] / total) if total else 0.0}
            for g in Grade.values
        },
        "accepted": total,
        "rejected": {
            "n": sum(rejected.values()) + ungraded_rejections,
            "graded": rejected,
            "ungraded": ungraded_rejections,
        },
        "judge_agreement": agreement.percent_agreement(judged),
        "judge_pairs": len(judged),
        "bad_output": bad,
        "double_pairs": len(pairs),
        "agreement": agreement.percent_agreement(pairs),
        "kappa": agreement.cohen_kappa(pairs, agreement.CATEGORIES),
        "per_annotator": agreement.per_annotator(rows, agreement.CATEGORIES),
    }
