"""LLM calls through the gateway and Celery, against the project's own test server.

    python bench/llm_throughput.py [--quick]

Starts the LLM test server (300 ms latency), two Celery worker processes, and runs a job of
2,000 chat items (200 with --quick) on an endpoint limited to 32 concurrent requests. Side by side
in one run:
  baseline  the same calls straight from a 32-thread pool with the openai client (no Celery, no
            database, no limiter): what this machine and the test server allow;
  ideal     limit / latency = 32 / 0.3 s = 106.7 calls/s;
  gateway   the job through Celery, the Redis limiter and PostgreSQL.
Then the same job again with 5% injected 429 and 500 errors: every item must complete, and none
be paid twice (checked from the usage records and said).

Needs PostgreSQL and Redis on 127.0.0.1 (as `make test` does): it uses its own database
`dialinsight_bench` and Redis database 14.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "dialinsight_bench"
ENV = {
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    ),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    "SECRET_KEY": secrets.token_urlsafe(64),
    "DEBUG": "false",
    "HTTPS_ONLY": "false",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "dialinsight_site.settings",
}


def ensure_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            c.execute(f'CREATE DATABASE "{DATABASE}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, **ENV},
        check=True,
    )


def start_workers(
    count: int, concurrency: int, logdir: Path, queues: str = "llm,default", name: str = "bench"
) -> list[subprocess.Popen]:
    """Celery worker processes (prefork) of the bench, each logging to logdir."""
    workers = []
    for n in range(count):
        log = open(logdir / f"{name}-worker-{n}.log", "w")  # noqa: SIM115 - lives with the worker
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "dialinsight_site",
                    "worker",
                    "-Q",
                    queues,
                    f"--concurrency={concurrency}",
                    "--pool=prefork",
                    f"--hostname={name}{n}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=WARNING",
                ],
                cwd=ROOT,
                env={**os.environ, **ENV},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return workers


def wait_for_workers(count: int) -> None:
    from dialinsight_site.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= count:
            return
    raise SystemExit("workers did not come up")


def baseline(url: str, calls: int, concurrency: int) -> float:
    import openai

    client = openai.OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=30)

    def one(n: int) -> None:
        client.chat.completions.create(
            model="fake-chat",
            messages=[{"role": "user", "content": f"baseline {n} 请总结对话"}],
            extra_headers={"X-Fake-Fail": "none"},
        )

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(calls)))
    return calls / (time.monotonic() - started)


def run_job(project, endpoint, calls: int, tag: str) -> tuple[float, int, int, int]:
    """Returns calls per second, items lost, items paid twice, and retried attempts."""
    from django.db.models import Count, Q

    from curation.models import JobItem
    from curation.services.jobs import job_create

    payloads = [
        {
            "messages": [
                {"role": "user", "content": f"{tag} {n}：客户想在望京买两居室，请总结需求。"}
            ]
        }
        for n in range(calls)
    ]
    started = time.monotonic()
    job = job_create(
        project=project,
        kind="llm.chat",
        payloads=payloads,
        creator=None,
        params={"endpoint": endpoint.pk},
    )
    deadline = started + max(600, calls)
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.finished:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    items = JobItem.objects.filter(job=job)
    lost = items.exclude(status=JobItem.Status.DONE).count()
    duplicated = (
        items.annotate(paid=Count("llm_calls", filter=Q(llm_calls__status="ok")))
        .filter(paid__gt=1)
        .count()
    )
    from curation.models import LLMCall

    retried = sum(
        max(a - 1, 0)
        for a in LLMCall.objects.filter(job_item__job=job).values_list("attempts", flat=True)
    )
    return calls / elapsed, lost, duplicated, retried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 calls: a size CI can run")
    parser.add_argument("--calls", type=int)
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--error-rate", type=float, default=0.05)
    args = parser.parse_args()
    calls = args.calls or (200 if args.quick else 2000)

    os.environ.update(ENV)
    ensure_database()
    import django

    django.setup()
    import redis
    from django.conf import settings

    from curation.llm.fake_server import FakeLLMServer
    from curation.models import ModelEndpoint, Project

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    logdir = ROOT / "test-artifacts"
    logdir.mkdir(exist_ok=True)
    fake = FakeLLMServer(latency_ms=args.latency_ms, seed=7, errors=("429", "500")).start()
    per_worker = -(-args.concurrency // args.workers)
    workers = start_workers(args.workers, per_worker, logdir)
    try:
        wait_for_workers(args.workers)
        project, _ = Project.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        ModelEndpoint.objects.filter(project=project).delete()
        endpoint = ModelEndpoint.objects.create(
            project=project,
            name="fake",
            base_url=fake.url,
            model="fake-chat",
            max_concurrency=args.concurrency,
            max_tokens=256,
        )
        ideal = args.concurrency / (args.latency_ms / 1000)
        base = baseline(fake.url, min(calls, 1000), args.concurrency)
        run = secrets.token_hex(4)
        rate, lost, dup, _ = run_job(project, endpoint, calls, f"clean-{run}")
        fake.error_rate = args.error_rate
        err_rate, err_lost, err_dup, retried = run_job(project, endpoint, calls, f"errors-{run}")
        errors = fake.stats().get("errors", {})
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        fake.stop()

    print(
        f"calls={calls} latency_ms={args.latency_ms} limit={args.concurrency} "
        f"workers={args.workers}x{per_worker} prefork"
    )
    print(f"ideal     {ideal:8.1f} calls/s  (limit / latency)")
    print(f"baseline  {base:8.1f} calls/s  (openai client, 32 threads, no Celery)")
    print(
        f"gateway   {rate:8.1f} calls/s  ratio_to_ideal={rate / ideal:.2f}  lost={lost} "
        f"duplicated={dup}"
    )
    print(
        f"with {args.error_rate:.0%} errors {err_rate:8.1f} calls/s  injected={errors} "
        f"retries={retried} lost={err_lost} duplicated={err_dup}"
    )
    total_lost, total_dup = lost + err_lost, dup + err_dup
    verdict = (
        "every item completed, none done twice"
        if not (total_lost or total_dup)
        else ("ITEMS LOST OR DONE TWICE")
    )
    print(verdict)
    print(
        f"llm_throughput calls_per_s={rate:.1f} ratio_to_ideal={rate / ideal:.2f} "
        f"lost={total_lost} duplicated={total_dup}"
    )


if __name__ == "__main__":
    main()
