"""The job engine's rules, driven directly (the worker tests drive it through Celery)."""

import pytest
from django.core.exceptions import ValidationError

from curation import job_kinds
from curation.models import AuditEvent, Job, JobItem
from curation.services import jobs

pytestmark = pytest.mark.django_db

calls: list[int] = []


def _echo(item: JobItem) -> dict:
    calls.append(item.seq)
    if item.payload.get("fail"):
        raise job_kinds.ItemFailed(f"item {item.seq} says no")
    if item.payload.get("crash"):
        raise KeyError("bug")
    return {"echo": item.payload["n"]}


job_kinds.register(job_kinds.JobKind("test.echo", job_kinds.Queue.DEFAULT, _echo))


@pytest.fixture(autouse=True)
def _quiet_queue(redis_flushed):
    calls.clear()


def make_job(team, payloads) -> Job:
    job = jobs.job_create(
        project=team.project, kind="test.echo", payloads=payloads, creator=team.lead
    )
    jobs.job_start(job_id=job.pk)
    return job


def run_all(job, worker="w1@host|1"):
    for item_id in JobItem.objects.filter(job=job).values_list("pk", flat=True):
        jobs.job_item_execute(item_id=item_id, worker=worker)
    job.refresh_from_db()


def test_a_job_runs_each_item_once_and_finishes(team):
    job = make_job(team, [{"n": n} for n in range(5)])
    run_all(job)
    run_all(job)  # every message delivered twice: nothing runs or counts again
    assert job.status == Job.Status.DONE and job.done_count == 5 and job.failed_count == 0
    assert sorted(calls) == [0, 1, 2, 3, 4]
    assert [i.result for i in job.items.all()] == [{"echo": n} for n in range(5)]


def test_failures_are_kept_with_their_reasons_and_can_be_retried(team):
    job = make_job(team, [{"n": 0}, {"n": 1, "fail": True}, {"n": 2, "crash": True}])
    run_all(job)
    assert job.status == Job.Status.DONE
    assert (job.done_count, job.failed_count) == (1, 2)
    assert job.error_summary == "2 of 3 items failed."
    errors = dict(job.items.values_list("seq", "error"))
    assert errors[1] == "item 1 says no"
    assert errors[2] == "Internal error (KeyError)."

    JobItem.objects.filter(job=job).update(payload={"n": 9})
    jobs.job_retry_failed(job=job, actor=team.lead)
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.failed_count == 0
    run_all(job)
    assert (job.status, job.done_count, job.failed_count) == (Job.Status.DONE, 3, 0)
    assert AuditEvent.objects.filter(action="job.retry_failed").exists()


def test_a_job_whose_items_all_fail_is_failed(team):
    job = make_job(team, [{"n": 0, "fail": True}])
    run_all(job)
    assert job.status == Job.Status.FAILED


def test_cancel_stops_pending_items_and_resume_continues(team):
    job = make_job(team, [{"n": n} for n in range(4)])
    first = job.items.get(seq=0)
    jobs.job_item_execute(item_id=first.pk, worker="w1@host|1")
    jobs.job_cancel(job=job, actor=team.lead)
    run_all(job)  # messages still in the queue find a cancelled job
    assert job.status == Job.Status.CANCELLED and job.done_count == 1
    assert job.items.filter(status=JobItem.Status.CANCELLED).count() == 3
    with pytest.raises(ValidationError):
        jobs.job_cancel(job=job, actor=team.lead)

    jobs.job_resume(job=job, actor=team.lead)
    run_all(job)
    assert (job.status, job.done_count) == (Job.Status.DONE, 4)


def test_pause_holds_items_until_resumed(team):
    job = make_job(team, [{"n": n} for n in range(2)])
    jobs.job_pause(job=job, actor=team.lead)
    run_all(job)
    assert job.done_count == 0 and calls == []
    jobs.job_resume(job=job, actor=team.lead)
    run_all(job)
    assert job.status == Job.Status.DONE


def test_items_of_a_dead_worker_are_recovered_and_done_once(team):
    job = make_job(team, [{"n": n} for n in range(3)])
    # w1 claimed item 0 and died before writing its result.
    item = job.items.get(seq=0)
    JobItem.objects.filter(pk=item.pk).update(
        status=JobItem.Status.RUNNING, claimed_by="w1@host|111"
    )
    # ...while w2 is alive and holds item 1.
    other = job.items.get(seq=1)
    JobItem.objects.filter(pk=other.pk).update(
        status=JobItem.Status.RUNNING, claimed_by="w2@host|222"
    )
    from datetime import timedelta

    from django.utils import timezone

    JobItem.objects.filter(pk=other.pk).update(lease_until=timezone.now() + timedelta(minutes=5))

    recovered = jobs.job_items_recover(live_workers={"w2@host": {222}}, stall_seconds=60)
    assert recovered == 1
    assert JobItem.objects.get(pk=item.pk).status == JobItem.Status.PENDING
    assert JobItem.objects.get(pk=other.pk).status == JobItem.Status.RUNNING

    # A late result from the dead claimer is not counted: its claim is gone.
    assert jobs.job_item_execute(item_id=item.pk, worker="w3@host|333")
    job.refresh_from_db()
    assert job.done_count == 1


def test_unknown_kind_is_refused_by_name(team):
    with pytest.raises(ValidationError) as error:
        jobs.job_create(project=team.project, kind="nope", payloads=[{}], creator=team.lead)
    assert "nope" in str(error.value)


def test_a_job_whose_closing_step_died_is_closed_again(team):
    from datetime import timedelta

    from django.utils import timezone

    job = make_job(team, [{"n": 0}])
    run_all(job)
    # As if the worker died inside on_finished: every item settled, the job never closed.
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, finished_at=timezone.now() - timedelta(minutes=10)
    )
    jobs.job_items_recover(live_workers={}, stall_seconds=60)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.done_count == 1
