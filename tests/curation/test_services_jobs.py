"""The job engine's rules, driven directly (the worker tests drive it through Celery)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

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


def test_only_items_whose_lease_ran_out_are_recovered_and_done_once(team):
    job = make_job(team, [{"n": n} for n in range(3)])
    now = timezone.now()
    # w1 claimed item 0 and died: its lease ran out. w2 is busy (it answers no ping) but its
    # heartbeat renews the lease of item 1.
    item = job.items.get(seq=0)
    JobItem.objects.filter(pk=item.pk).update(
        status=JobItem.Status.RUNNING, claimed_by="w1@host|111", lease_until=now - timedelta(1)
    )
    other = job.items.get(seq=1)
    JobItem.objects.filter(pk=other.pk).update(
        status=JobItem.Status.RUNNING,
        claimed_by="w2@host|222",
        lease_until=now + timedelta(seconds=10),
    )

    recovered = jobs.job_items_recover(stall_seconds=60)
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
    job = make_job(team, [{"n": 0}])
    run_all(job)
    # As if the worker died inside on_finished: every item settled, the job never closed.
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, finished_at=timezone.now() - timedelta(minutes=10)
    )
    jobs.job_items_recover(stall_seconds=60)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.done_count == 1


# -- preparation ---------------------------------------------------------------------------------

cleaned: list[int] = []


def _prepare(job: Job) -> list[dict]:
    error = job.params.get("raise")
    if error == "recursion":
        import json

        json.loads("[" * 50_000 + "]" * 50_000)  # a 50,000-level nested JSON file
    if error:
        raise {"key": KeyError, "value": ValueError}[error]("bug")
    return [{"n": n} for n in range(job.params.get("n", 2))]


def _finished(job: Job) -> None:
    cleaned.append(("finished", job.pk))


def _cleanup(job: Job) -> None:
    cleaned.append(("cleanup", job.pk))


job_kinds.register(
    job_kinds.JobKind(
        "test.prepared",
        job_kinds.Queue.DEFAULT,
        _echo,
        on_finished=_finished,
        prepare=_prepare,
        cleanup=_cleanup,
    )  # fmt: skip
)


def prepared_job(team, **params) -> Job:
    return jobs.job_create(
        project=team.project, kind="test.prepared", creator=team.lead, params=params
    )


@pytest.mark.parametrize(
    "error, name", [("recursion", "RecursionError"), ("key", "KeyError"), ("value", "ValueError")]
)
def test_any_error_while_preparing_fails_the_job_with_a_reason_and_cleans_up(team, error, name):
    cleaned.clear()
    job = prepared_job(team, **{"raise": error})
    assert jobs.job_start(job_id=job.pk) == 0
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.finished_at
    assert job.error_summary == f"Internal error ({name})."
    # The kind's on_finished wrote its result, and its cleanup ran (an import's upload goes).
    assert cleaned == [("finished", job.pk), ("cleanup", job.pk)]
    assert jobs.job_items_recover(stall_seconds=0) == 0  # a failed job is never prepared again


def test_a_job_whose_preparer_died_is_prepared_again(team):
    job = prepared_job(team, n=3)
    # A worker marked it running and died while preparing: no items, its lease ran out.
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, claimed_by="w1@host|1", lease_until=timezone.now()
    )
    assert jobs.job_items_recover(stall_seconds=60) == 1  # its start, sent again
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and not job.claimed_by
    assert jobs.job_start(job_id=job.pk, worker="w2@host|2") == 3
    job.refresh_from_db()
    assert (job.status, job.total, job.lease_until) == (Job.Status.RUNNING, 3, None)


def test_a_live_preparer_keeps_its_job_and_a_late_one_adds_nothing(team):
    job = prepared_job(team, n=3)
    later = timezone.now() + timedelta(seconds=10)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, claimed_by="w1@host|1", lease_until=later
    )
    assert jobs.job_items_recover(stall_seconds=60) == 0
    # w2 took over after w1's lease ran out; w1 wakes up and stores nothing.
    Job.objects.filter(pk=job.pk).update(claimed_by="w2@host|2")
    job.refresh_from_db()
    assert not jobs._prepare(job, job_kinds.get("test.prepared"), "w1@host|1")
    assert job.items.count() == 0


def test_a_queued_job_whose_start_was_lost_is_started(team):
    job = jobs.job_create(
        project=team.project, kind="test.echo", payloads=[{"n": 0}], creator=team.lead
    )
    assert jobs.job_items_recover(stall_seconds=60) == 0  # just sent: not yet late
    Job.objects.filter(pk=job.pk).update(sent_at=timezone.now() - timedelta(seconds=11))
    assert jobs.job_items_recover(stall_seconds=60) == 1
    assert jobs.job_items_recover(stall_seconds=60) == 0  # once per grace period
    # Created to be run by its caller (a command): never started by recovery.
    jobs.job_create(
        project=team.project, kind="test.echo", payloads=[{"n": 0}], creator=team.lead,
        dispatch=False,
    )  # fmt: skip
    Job.objects.filter(sent_at__isnull=True).update(created_at=timezone.now() - timedelta(1))
    assert jobs.job_items_recover(stall_seconds=60, start_grace=0) == 1


def test_a_cancelled_job_is_cleaned_up_once_committed(team, django_capture_on_commit_callbacks):
    cleaned.clear()
    job = prepared_job(team)
    jobs.job_start(job_id=job.pk, enqueue=False)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_cancel(job=job, actor=team.lead)
    assert cleaned == [("cleanup", job.pk)]


def _long(item: JobItem) -> dict:
    import time

    time.sleep(2.5)
    lease = JobItem.objects.get(pk=item.pk).lease_until
    return {"lease_left": (lease - timezone.now()).total_seconds()}


job_kinds.register(job_kinds.JobKind("test.long", job_kinds.Queue.DEFAULT, _long))


def test_a_running_item_keeps_its_lease_past_its_length(transactional_db, team, settings):
    """An item that runs longer than a lease keeps it: its process's heartbeat renews it, so
    recovery never takes it from a live worker, however busy."""
    settings.JOB_LEASE_SECONDS = 1.0
    job = jobs.job_create(project=team.project, kind="test.long", payloads=[{}], creator=team.lead)
    jobs.job_start(job_id=job.pk, enqueue=False)
    item = job.items.get()
    assert jobs.job_item_execute(item_id=item.pk, worker="w1@host|1")
    item.refresh_from_db()
    assert item.status == JobItem.Status.DONE and item.attempts == 1
    assert item.result["lease_left"] > 0  # 2.5 s after a 1 s lease was taken
