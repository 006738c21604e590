"""Faults the job engine survives, on real Celery workers, Redis and PostgreSQL (issue 14): a
worker killed in the middle of an evaluation run or of a job's preparation, a busy worker that
cannot answer a ping, the database connections cut mid-job, and parallel seed items."""

from __future__ import annotations

import subprocess
import time

import pytest
from rest_framework.test import APIClient

from curation.llm.fake_server import FakeLLMServer
from curation.models import Job, JobItem, LLMCall, ModelEndpoint
from metrics.models import EvalAnswer, EvalRun, TestItem, TestSet
from tests.factories import DialogueFactory
from tests.support.labels import approved_prompt
from tests.support.workers import WorkerProcess

pytestmark = pytest.mark.worker

# Workers look for lost work every second and treat 3 s without progress as a stall.
FAST_RECOVERY = {"JOB_RECOVERY_INTERVAL_SECONDS": "1", "JOB_STALL_SECONDS": "3"}


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def job_state(job_id: int) -> Job:
    return Job.objects.get(pk=job_id)


# -- an evaluation run whose worker is killed ---------------------------------------------------


def eval_run(team, url: str, n: int) -> EvalRun:
    """A run of n test items (Chinese questions with their references) on one endpoint that is
    both the model and the judge, 3 calls at once."""
    from metrics.services.evaluation import evalrun_start

    project = team.project
    prompt = approved_prompt(
        project, "reasoning", "json", "判断客户是否愿意周末看房，以 JSON 输出。"
    )
    from labeling.models import Sample

    test_set = TestSet.objects.create(project=project, name="held-out", size=n, item_count=n)
    items = []
    for k in range(n):
        said = f"第{k}套房子周末能看吗？我们全家想一起去望京看看。"
        dialogue = DialogueFactory(
            project=project, turns=[{"speaker": "客户", "role": "customer", "text": said}]
        )
        sample = Sample.objects.create(
            project=project, dialogue=dialogue, prompt=prompt, task_type=prompt.task_type,
            instruction="判断客户是否愿意周末看房。", rendered_input=f"对话：{said}",
            output=f'{{"结论": "是", "编号": {k}}}', state="accepted", grade="high",
        )  # fmt: skip
        items.append(
            TestItem(
                test_set=test_set,
                position=k,
                sample=sample,
                dialogue=dialogue,
                prompt=prompt,
                task_type="reasoning",
                output_format="json",
                instruction=sample.instruction,
                input=sample.rendered_input,
                reference=sample.output,
            )  # fmt: skip
        )
    TestItem.objects.bulk_create(items)
    endpoint = ModelEndpoint.objects.create(
        project=project, name="fake", base_url=url, model="qwen-eval", max_concurrency=3
    )
    return evalrun_start(
        project=project, test_set=test_set, model_endpoint=endpoint, judge_endpoint=endpoint,
        actor=team.lead,
    )  # fmt: skip


def test_an_evaluation_run_whose_worker_is_killed_judges_every_item_once(
    transactional_db, team, redis_flushed, tmp_path
):
    with FakeLLMServer(latency_ms=300) as fake:
        run = eval_run(team, fake.url, 40)
        # More processes than slots: when it dies, the worker holds every slot of the endpoint.
        first = WorkerProcess("w1", tmp_path, concurrency=5, env=FAST_RECOVERY).start()
        try:
            wait_for(lambda: job_state(run.job_id).done_count >= 6, 60, "6 items done")
        finally:
            first.kill()
        killed_at = time.monotonic()
        stranded = JobItem.objects.filter(job_id=run.job_id, status="running").count()
        assert stranded > 0  # the kill caught items in flight (and their LLM slots)
        second = WorkerProcess("w2", tmp_path, concurrency=4, env=FAST_RECOVERY).start()
        try:
            wait_for(lambda: job_state(run.job_id).finished, 60, "the run to finish")
        finally:
            second.stop()
        took = time.monotonic() - killed_at
    job = job_state(run.job_id)
    assert (job.status, job.done_count, job.failed_count) == ("done", 40, 0), job.error_summary
    answers = EvalAnswer.objects.filter(run=run)
    assert answers.filter(judged=EvalAnswer.Judged.DONE, judge_attempts=1).count() == 40
    assert not answers.exclude(answer_error="").exists()
    # Every answer was asked for once, except those whose worker died mid-call.
    asked = LLMCall.objects.filter(job_item__job=job, kind="eval_answer", status="ok").count()
    assert 40 <= asked <= 40 + stranded
    run.refresh_from_db()
    assert run.summary["overall"]["n"] == 40
    print(f"eval run: 40/40 judged once, {stranded} stranded, finished {took:.1f} s after kill")


# -- a busy worker keeps its items -------------------------------------------------------------


def test_a_busy_solo_worker_keeps_its_items_and_each_runs_once(
    transactional_db, team, redis_flushed, tmp_path
):
    """A `--pool solo` worker cannot answer a ping while an item runs; another worker's
    recovery must not hand its items to someone else: its heartbeat renews their leases."""
    from curation.services.jobs import job_create
    from tests.support import fault_kinds

    job = job_create(
        project=team.project, kind=fault_kinds.SLEEP, creator=team.lead,
        payloads=[{"n": n, "seconds": 2.5} for n in range(3)],
    )  # fmt: skip
    include = "tests.support.fault_kinds"
    busy = WorkerProcess("solo", tmp_path, queues="default", pool="solo", include=include)
    # The other one takes no item of this job; it only looks for lost work, every second.
    peer = WorkerProcess("peer", tmp_path, queues="cpu", env=FAST_RECOVERY, include=include)
    try:
        peer.start()
        busy.start()
        wait_for(lambda: job_state(job.pk).finished, 60, "the job to finish")
    finally:
        busy.stop()
        peer.stop()
    job = job_state(job.pk)
    assert (job.status, job.done_count, job.failed_count) == ("done", 3, 0)
    attempts = list(JobItem.objects.filter(job=job).values_list("attempts", flat=True))
    assert attempts == [1, 1, 1], attempts  # none was taken from its live worker


# -- preparation: killed, and crashed ----------------------------------------------------------


def test_a_job_whose_preparer_is_killed_is_prepared_again_and_a_crash_fails_with_a_reason(
    transactional_db, team, redis_flushed, tmp_path
):
    from curation.services.jobs import job_create
    from tests.support import fault_kinds

    def prepared(name: str, **params) -> Job:
        marker = tmp_path / f"{name}.marker"
        return job_create(
            project=team.project, kind=fault_kinds.PREPARE, creator=team.lead,
            params={"marker": str(marker), **params},
        )  # fmt: skip

    include = "tests.support.fault_kinds"
    slow = prepared("slow")
    first = WorkerProcess("w1", tmp_path, env=FAST_RECOVERY, include=include).start()
    try:
        wait_for((tmp_path / "slow.marker").exists, 30, "the preparation to begin")
    finally:
        first.kill()
    assert job_state(slow.pk).status == "running" and job_state(slow.pk).total == 0
    crash = prepared("crash", crash=True)
    second = WorkerProcess("w2", tmp_path, env=FAST_RECOVERY, include=include).start()
    try:
        wait_for(lambda: job_state(slow.pk).finished, 60, "the killed preparation's job to end")
        wait_for(lambda: job_state(crash.pk).finished, 10, "the crashed job to end")
    finally:
        second.stop()
    slow = job_state(slow.pk)
    assert (slow.status, slow.total, slow.done_count) == ("done", 3, 3)
    assert "lost its preparer" in second.output()
    crash = job_state(crash.pk)
    assert crash.status == "failed" and crash.error_summary == "Internal error (RecursionError)."
    # Its on_finished ran (while it was still running), then its cleanup (once it failed).
    assert (tmp_path / "crash.finished").read_text() == "running"
    assert (tmp_path / "crash.cleaned").read_text() == "failed"


# -- the database connections cut mid-job ------------------------------------------------------


def test_database_connections_terminated_mid_job_fail_no_item(
    transactional_db, team, redis_flushed, tmp_path
):
    import threading

    from django.db import connection

    from tests.support.jobs import chat_job

    with FakeLLMServer(latency_ms=100) as fake:
        endpoint = ModelEndpoint.objects.create(
            project=team.project, name="fake", base_url=fake.url, model="fake-chat"
        )
        job = chat_job(project=team.project, endpoint=endpoint, creator=team.lead, n=48)
        worker = WorkerProcess("w1", tmp_path, concurrency=4, env=FAST_RECOVERY).start()
        stop, killed = threading.Event(), []

        def terminate() -> None:
            # Only the workers' connections to this test's own database.
            from django.db import connections

            conn = connections.create_connection("default")
            with conn.cursor() as cursor:
                while not stop.wait(0.3):
                    cursor.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND pid <> %s",
                        [own_pid],
                    )
                    killed.append(cursor.fetchone()[0])
            conn.close()

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own_pid = cursor.fetchone()[0]
        killer = threading.Thread(target=terminate)
        killer.start()
        try:
            wait_for(lambda: job_state(job.pk).finished, 90, "the job to finish")
        finally:
            stop.set()
            killer.join()
            worker.stop()
    job = job_state(job.pk)
    assert sum(killed) >= 10  # connections really were cut, again and again
    assert (job.status, job.done_count, job.failed_count) == ("done", 48, 0), job.error_summary
    print(f"pg_terminate_backend: {sum(killed)} connections cut, 48/48 done, 0 failed")


# -- parallel seed items -------------------------------------------------------------------------


def test_parallel_seed_items_of_one_task_type_store_no_duplicate(
    transactional_db, team, redis_flushed, tmp_path
):
    import factory

    from curation.models import Scene, ServiceRole, TaskType
    from curation.services.jobs import job_create
    from evolution import similarity
    from evolution.models import Instruction
    from tests.factories import InstructionFactory

    project = team.project
    task = TaskType.objects.filter(project=project).order_by("id").first()
    pairs = [
        (scene.pk, role.pk)
        for role in ServiceRole.objects.filter(project=project).prefetch_related("scenes")
        for scene in role.scenes.all()
    ]
    # A project's earlier drafts of this task type: each new text is compared with every one.
    InstructionFactory.create_batch(
        300, project=project, task_type=task,
        text=factory.Sequence(lambda n: f"判断第{n}段对话中客户是否有明确的看房意向，并给出依据。"),
    )  # fmt: skip
    for n in range(4):
        DialogueFactory(
            project=project, scene=Scene.objects.get(pk=pairs[n % len(pairs)][0]),
            turns=[{"speaker": "客户", "role": "customer", "text": f"想在望京租第{n}套两居室。"}],
        )  # fmt: skip
    with FakeLLMServer(latency_ms=150) as fake:
        endpoint = ModelEndpoint.objects.create(
            project=project, name="fake", base_url=fake.url, model="fake-chat"
        )
        job = job_create(
            project=project, kind="instructions.seed", creator=team.lead,
            payloads=[{"task_type": task.pk, "scene": s, "role": r, "n": 8} for s, r in pairs],
            params={"endpoint": endpoint.pk},
        )  # fmt: skip
        worker = WorkerProcess("w1", tmp_path, concurrency=4).start()
        try:
            wait_for(lambda: job_state(job.pk).finished, 60, "the seed job to finish")
        finally:
            worker.stop()
    job = job_state(job.pk)
    errors = set(JobItem.objects.filter(job=job).values_list("error", flat=True))
    assert (job.done_count, job.failed_count) == (len(pairs), 0), errors
    dropped = job.result["near_duplicates"]
    texts = list(Instruction.objects.filter(project=project, task_type=task).values_list(
        "text", flat=True).order_by("id"))  # fmt: skip
    texts = [t for t in texts if "看房意向" not in t]  # the drafts of this job
    near = sum(similarity.near_duplicate(t, texts[:i]) for i, t in enumerate(texts))
    assert (len(texts) - len(set(texts)), near) == (0, 0)
    assert dropped > 0  # the items did draft the same texts: the filter kept one of each


# -- the task queue down -------------------------------------------------------------------------


def test_a_job_started_while_redis_is_down_is_a_503_and_a_lost_start_is_recovered(
    transactional_db, team, tmp_path, settings
):
    """Its own Redis (the shared one is never stopped): down, starting a job answers 503 with
    the reason and creates nothing; a start message lost in a restart without persistence is
    sent again by recovery."""
    from dialinsight_site.celery import app
    from tests.test_jobs_worker import free_port, start_redis

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    start_redis(port, tmp_path)

    def use_broker(broker: str) -> None:
        settings.CELERY_BROKER_URL = broker
        app.conf.broker_url = broker
        # The app's pools are kombu's, one per broker: forget ours, close none.
        app._pool = None
        app.amqp._producer_pool = None

    def stop_redis() -> None:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], check=False)

    shared = app.conf.broker_url
    use_broker(url)
    worker = None
    try:
        with FakeLLMServer() as fake:
            endpoint = ModelEndpoint.objects.create(
                project=team.project, name="fake", base_url=fake.url, model="fake-chat"
            )
            api = APIClient()
            api.force_authenticate(team.lead)
            path = f"/api/projects/{team.project.slug}/endpoints/{endpoint.pk}/test/"
            screen = team.client("lead")
            stop_redis()
            refused = api.post(path)
            assert refused.status_code == 503
            assert refused.json()["detail"] == (
                "The task queue (Redis) is not reachable; nothing was started. "
                "Try again in a moment."
            )
            page = screen.post(f"/p/{team.project.slug}/endpoints/{endpoint.pk}/test/")
            assert page.status_code == 503
            assert "The task queue (Redis) is not reachable" in page.content.decode()
            assert not Job.objects.exists()  # nothing was created

            start_redis(port, tmp_path)
            accepted = api.post(path)
            assert accepted.status_code == 202
            job_id = accepted.json()["id"]
            stop_redis()  # the start message was never consumed: lost with the restart
            start_redis(port, tmp_path)
            assert job_state(job_id).status == "queued"
            worker = WorkerProcess("w1", tmp_path, env={**FAST_RECOVERY, "REDIS_URL": url}).start()
            wait_for(lambda: job_state(job_id).finished, 30, "the job to be started and end")
            assert job_state(job_id).status == "done"
            assert "never started" in worker.output()
    finally:
        if worker is not None:
            worker.stop()
        use_broker(shared)
        stop_redis()


# -- one annotator, many tabs -------------------------------------------------------------------


def test_an_annotator_asking_from_four_tabs_at_once_holds_one_sample(transactional_db, team):
    import threading

    from django.db import connection

    from labeling.models import Sample
    from labeling.services.review import sample_claim_next

    prompt = approved_prompt(team.project, "reasoning", "json", "判断客户是否愿意看房。")
    for n in range(8):
        dialogue = DialogueFactory(project=team.project)
        Sample.objects.create(
            project=team.project, dialogue=dialogue, prompt=prompt, task_type=prompt.task_type,
            rendered_input=f"对话{n}", output='{"结论": "是"}', state="ready",
        )  # fmt: skip
    barrier, got = threading.Barrier(4), []

    def tab() -> None:
        try:
            barrier.wait(5)
            got.append(sample_claim_next(project=team.project, annotator=team.annotator).pk)
        finally:
            connection.close()

    tabs = [threading.Thread(target=tab) for _ in range(4)]
    for thread in tabs:
        thread.start()
    for thread in tabs:
        thread.join()
    held = Sample.objects.filter(assigned_to=team.annotator).count()
    assert (held, len(set(got)), len(got)) == (1, 1, 4)
