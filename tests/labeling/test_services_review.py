"""Reviewing labels: claims that never collide, stale saves refused, JSON outputs checked,
double annotation with agreement, the leads' second pass."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from curation.exceptions import ConflictError
from curation.models import Job, Membership, Role
from curation.services.jobs import job_run_here
from labeling.models import Annotation, Sample
from labeling.selectors import label_stats
from labeling.services.generate import label_job_start
from labeling.services.review import (
    label_settings_update,
    sample_claim_next,
    sample_review,
    sample_verify,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def samples(team, labels):
    job = label_job_start(
        project=team.project,
        count=6,
        endpoint=labels["endpoint"],
        actor=team.lead,
        judge=False,
        dispatch=False,
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    return list(Sample.objects.filter(job=job).order_by("id"))


def second_annotator(team):
    user = UserFactory(username="annotator-two")
    Membership.objects.create(project=team.project, user=user, role=Role.ANNOTATOR)
    return user


def good_output(sample: Sample) -> str:
    return '{"结论": "是"}' if sample.formats == ["json"] else "客户想周六上午看房。"


def test_two_annotators_never_get_the_same_sample_and_a_claim_is_kept(team, samples):
    other = second_annotator(team)
    mine = sample_claim_next(project=team.project, annotator=team.annotator)
    theirs = sample_claim_next(project=team.project, annotator=other)
    assert mine.pk != theirs.pk
    # Asking again gives the sample one holds, not a new one.
    assert sample_claim_next(project=team.project, annotator=team.annotator).pk == mine.pk
    # Someone else's claim is refused while it lasts...
    with pytest.raises(ConflictError):
        sample_review(
            sample=mine, revision=mine.revision, actor=other, decision="accept", grade="high"
        )
    # ...and free once it expired: a third annotator takes it over.
    Sample.objects.filter(pk=mine.pk).update(assigned_until=timezone.now() - timedelta(seconds=1))
    third = UserFactory(username="annotator-three")
    Membership.objects.create(project=team.project, user=third, role=Role.ANNOTATOR)
    assert sample_claim_next(project=team.project, annotator=third).pk == mine.pk
    assert sample_claim_next(project=team.project, annotator=other).pk == theirs.pk


def test_accept_with_an_edited_output_a_grade_and_a_stale_save_refused(team, samples):
    sample = sample_claim_next(project=team.project, annotator=team.annotator)
    stale = Sample.objects.get(pk=sample.pk)
    edited = good_output(sample)
    sample_review(
        sample=sample,
        revision=sample.revision,
        actor=team.annotator,
        decision="accept",
        grade="medium",
        output=edited,
    )
    sample.refresh_from_db()
    assert (sample.state, sample.grade, sample.output) == ("accepted", "medium", edited)
    assert sample.model_output != edited  # the model's own output stays beside the person's
    assert sample.reviewed_by == team.annotator and sample.assigned_to is None
    with pytest.raises(ConflictError):
        sample_review(
            sample=stale,
            revision=stale.revision,
            actor=team.annotator,
            decision="reject",
            grade="low",
        )
    assert Sample.objects.get(pk=sample.pk).grade == "medium"


def test_json_outputs_are_validated_against_the_prompts_format(team, samples, labels):
    sample = next(s for s in samples if s.formats == ["json"])
    with pytest.raises(ValidationError) as error:
        sample_review(
            sample=sample,
            revision=sample.revision,
            actor=team.annotator,
            decision="accept",
            grade="high",
            output='{"结论": 是}',
        )
    assert "not_json" in error.value.message_dict["output"][0]
    assert Sample.objects.get(pk=sample.pk).state == "ready"
    # Rejecting needs no valid JSON.
    sample_review(
        sample=sample,
        revision=sample.revision,
        actor=team.annotator,
        decision="reject",
        grade="low",
        output="不是 JSON",
    )
    assert Sample.objects.get(pk=sample.pk).state == "rejected"


def test_double_annotation_gives_agreement_and_kappa_per_annotator(team, samples):
    other = second_annotator(team)
    Sample.objects.filter(pk__in=[s.pk for s in samples]).update(double=True)
    grades_a = ["high", "high", "medium", "low", "high", "medium"]
    grades_b = ["high", "medium", "medium", "low", "high", "low"]
    for grade in grades_a:
        sample = sample_claim_next(project=team.project, annotator=team.annotator)
        sample_review(
            sample=sample,
            revision=sample.revision,
            actor=team.annotator,
            decision="reject",
            grade=grade,
        )
    assert sample_claim_next(project=team.project, annotator=team.annotator) is None
    for grade in grades_b:
        sample = sample_claim_next(project=team.project, annotator=other)
        assert sample.state == "rejected"  # the second, independent grade
        sample_review(
            sample=sample, revision=sample.revision, actor=other, decision="reject", grade=grade
        )
    assert sample_claim_next(project=team.project, annotator=other) is None
    # The first decision stands as the sample's.
    assert [s.grade for s in Sample.objects.filter(pk__in=[x.pk for x in samples])] == grades_a
    assert Annotation.objects.count() == 12
    stats = label_stats(project=team.project)
    assert stats["double_pairs"] == 6
    assert stats["agreement"] == pytest.approx(4 / 6)
    # Observed 4/6; expected: A high 3 medium 2 low 1, B high 2 medium 2 low 2:
    # (3*2 + 2*2 + 1*2) / 36 = 12/36; kappa = (4/6 - 1/3) / (1 - 1/3) = 0.5.
    assert stats["kappa"] == pytest.approx(0.5)
    assert stats["per_annotator"][team.annotator.username]["pairs"] == 6
    # Rejected samples are counted apart from the label quality of accepted ones.
    assert stats["rejected"]["graded"]["high"] == 3
    assert stats["grades"]["high"]["n"] == 0


def test_the_second_pass_confirms_or_returns(team, samples):
    label_settings_update(project=team.project, second_pass=True, revision=1, actor=team.lead)
    sample = sample_claim_next(project=team.project, annotator=team.annotator)
    sample_review(
        sample=sample,
        revision=sample.revision,
        actor=team.annotator,
        decision="accept",
        grade="high",
        output=good_output(sample),
    )
    sample.refresh_from_db()
    sample_verify(sample=sample, revision=sample.revision, actor=team.lead, decision="return")
    sample.refresh_from_db()
    assert sample.state == "ready" and sample.verify == "returned"
    # Back in the queue; the annotator decides again and the lead confirms.
    again = sample_claim_next(project=team.project, annotator=team.annotator)
    sample_review(
        sample=again,
        revision=again.revision,
        actor=team.annotator,
        decision="accept",
        grade="medium",
        output=good_output(again),
    )
    again.refresh_from_db()
    sample_verify(sample=again, revision=again.revision, actor=team.lead, decision="confirm")
    again.refresh_from_db()
    assert (again.verify, again.grade, again.verified_by) == ("confirmed", "medium", team.lead)
    assert Annotation.objects.filter(sample=again).count() == 1


def test_the_judge_agreement_is_counted_but_never_overrides(team, samples):
    sample = samples[0]
    Sample.objects.filter(pk=sample.pk).update(judge_grade="high", judge_reason="准确")
    sample.refresh_from_db()
    sample_claim_next(project=team.project, annotator=team.annotator)
    sample_review(
        sample=sample,
        revision=sample.revision,
        actor=team.annotator,
        decision="reject",
        grade="low",
    )
    sample.refresh_from_db()
    assert sample.grade == "low" and sample.judge_grade == "high"
    stats = label_stats(project=team.project)
    assert stats["judge_pairs"] == 1 and stats["judge_agreement"] == 0.0


@pytest.mark.django_db(transaction=True)
def test_eight_annotators_claiming_at_once_never_collide(team, labels):
    """Real concurrent transactions on PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    job = label_job_start(
        project=team.project,
        count=16,
        endpoint=labels["endpoint"],
        actor=team.lead,
        judge=False,
        dispatch=False,
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    people = []
    for n in range(8):
        user = UserFactory(username=f"parallel-{n}")
        Membership.objects.create(project=team.project, user=user, role=Role.ANNOTATOR)
        people.append(user)

    def claim(user):
        try:
            return [sample_claim_next(project=team.project, annotator=user).pk]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        got = [pk for result in pool.map(claim, people) for pk in result]
    assert len(got) == len(set(got)) == 8
    holders = dict(Sample.objects.filter(pk__in=got).values_list("pk", "assigned_to"))
    assert sorted(holders.values()) == sorted(u.pk for u in people)


def test_a_rejection_needs_no_grade_and_an_acceptance_does(team, samples):
    first, second = samples[0], samples[1]
    sample_claim_next(project=team.project, annotator=team.annotator)
    rejected = sample_review(
        sample=first,
        revision=first.revision,
        actor=team.annotator,
        decision="reject",
        grade="",
        reason="答非所问",
    )
    assert (rejected.state, rejected.grade) == (Sample.State.REJECTED, "")
    assert Annotation.objects.get(sample=first).grade == ""
    with pytest.raises(ValidationError) as error:
        sample_review(
            sample=second, revision=second.revision, actor=team.lead, decision="accept", grade=""
        )
    assert "grade" in error.value.message_dict
    second.refresh_from_db()
    assert second.state == Sample.State.READY


def test_label_quality_is_over_accepted_samples_as_a_version_of_them_shows(team, samples):
    """Rejections (graded or not) are shown apart; the shares on the labels page are the ones a
    version of every accepted sample gets from its freeze."""
    from metrics.models import DatasetVersion
    from metrics.services.versions import version_create, version_freeze

    decisions = [
        ("accept", "high"),
        ("accept", "high"),
        ("accept", "medium"),
        ("reject", "low"),
        ("reject", ""),
        ("accept", "low"),
    ]
    for sample, (decision, grade) in zip(samples, decisions, strict=True):
        sample.refresh_from_db()
        sample_review(
            sample=sample,
            revision=sample.revision,
            actor=team.lead,
            decision=decision,
            grade=grade,
            output=good_output(sample),
        )
    stats = label_stats(project=team.project)
    assert stats["accepted"] == 4
    shares = {g: row["share"] for g, row in stats["grades"].items()}
    assert shares == {"high": 0.5, "medium": 0.25, "low": 0.25}
    assert stats["rejected"] == {
        "n": 2,
        "graded": {"high": 0, "medium": 0, "low": 1},
        "ungraded": 1,
    }
    version = version_create(project=team.project, name="all accepted", actor=team.lead)
    job = version_freeze(
        version=version, revision=version.revision, actor=team.lead, dispatch=False
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    frozen = DatasetVersion.objects.get(pk=version.pk)
    assert frozen.sample_count == 4
    assert frozen.metrics["label_quality"] == pytest.approx(shares)
