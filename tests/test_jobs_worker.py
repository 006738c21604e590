"""Jobs on real Celery workers, real Redis and PostgreSQL, against the project's LLM test server:
a worker killed with SIGKILL mid-job, and Redis restarted mid-job."""

import socket
import subprocess
import time

import pytest

from curation.llm.fake_server import FakeLLMServer
from curation.models import Job, JobItem, LLMCall, ModelEndpoint
from curation.tasks import job_start
from tests.support.jobs import chat_job
from tests.support.workers import WorkerProcess

pytestmark = pytest.mark.worker

# Workers look for lost items every second and treat 3 s without progress as a stall.
FAST_RECOVERY = {"JOB_RECOVERY_INTERVAL_SECONDS": "1", "JOB_STALL_SECONDS": "3"}


@pytest.fixture
def fake():
    with FakeLLMServer(latency_ms=200) as server:
        yield server


def fake_chat_job(team, fake, n: int) -> Job:
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="fake", base_url=fake.url, model="fake-chat", max_concurrency=8
    )
    return chat_job(project=team.project, endpoint=endpoint, creator=team.lead, n=n)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def assert_done_exactly_once(job: Job) -> None:
    job.refresh_from_db()
    items = JobItem.objects.filter(job=job)
    assert job.status == Job.Status.DONE, (job.status, job.error_summary)
    assert job.done_count == job.total == items.filter(status=JobItem.Status.DONE).count()
    assert job.failed_count == 0
    for item in items:
        assert item.result and item.result["content"], item.seq
        paid = LLMCall.objects.filter(job_item=item, status=LLMCall.Status.OK).count()
        assert paid == 1, f"item {item.seq} was paid for {paid} times"


def test_a_worker_killed_mid_job_loses_nothing(
    transactional_db, team, fake, redis_flushed, tmp_path
):
    job = fake_chat_job(team, fake, 40)
    first = WorkerProcess("w1", tmp_path, pool="prefork", concurrency=4, env=FAST_RECOVERY).start()
    try:
        wait_for(lambda: Job.objects.get(pk=job.pk).done_count >= 8, 60, "8 items done")
    finally:
        first.kill()
    done_at_kill = Job.objects.get(pk=job.pk).done_count
    assert done_at_kill < 40
    stranded = JobItem.objects.filter(job=job, status=JobItem.Status.RUNNING).count()
    assert stranded > 0  # the kill did catch items in flight

    second = WorkerProcess("w2", tmp_path, pool="prefork", concurrency=4, env=FAST_RECOVERY).start()
    try:
        wait_for(lambda: Job.objects.get(pk=job.pk).finished, 90, "the job to finish")
    finally:
        second.stop()
    assert_done_exactly_once(job)
    assert JobItem.objects.filter(job=job, attempts__gte=2).count() >= stranded


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int, workdir) -> None:
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--logfile",
            str(workdir / f"redis-{port}.log"),
        ],
        check=True,
    )
    wait_for(
        lambda: (
            subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout
            == b"PONG\n"
        ),
        10,
        "redis to start",
    )


def test_a_redis_restart_mid_job_loses_nothing(transactional_db, team, fake, tmp_path):
    """Redis here keeps nothing on disk: a restart loses every queued message. Workers
    reconnect, notice the stalled job and send its pending items again."""
    from dialinsight_site.celery import app

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    start_redis(port, tmp_path)
    worker = WorkerProcess(
        "w1", tmp_path, pool="prefork", concurrency=4, env={**FAST_RECOVERY, "REDIS_URL": url}
    )
    try:
        job = fake_chat_job(team, fake, 60)
        with app.connection_for_write(url) as connection:
            job_start.apply_async(args=[job.pk], connection=connection, queue="default")
        worker.start()
        wait_for(lambda: Job.objects.get(pk=job.pk).done_count >= 8, 60, "8 items done")
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], check=False)
        time.sleep(1.5)
        start_redis(port, tmp_path)
        assert Job.objects.get(pk=job.pk).done_count < 60
        wait_for(lambda: Job.objects.get(pk=job.pk).finished, 120, "the job to finish")
        assert_done_exactly_once(job)
        assert "sent" in worker.output() and "again" in worker.output()
    finally:
        worker.stop()
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], check=False)
