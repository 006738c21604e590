"""An evaluation run at scale: 2,000 test items answered by a model and scored by a judge through
Celery, then the evaluation's pages.

    python bench/eval_run.py [--quick]

Fills a project with 4,000 accepted samples (400 with --quick; distinct CrossWOZ dialogues read
from ../shared/corpora, 60 approved prompts over three task types), draws a test set of half of
them (dialogues held out, prompts shared), freezes the other half into a version, and starts
the LLM test server (300 ms latency) with a model endpoint and a judge endpoint, each limited
to 32 concurrent requests. Every item is two calls in a row (the answer,
then the judgement), so with 32 items in flight the ideal is 32 / 0.6 s = 53.3 items/s.
Side by side in one run:
  baseline  the same two calls per item straight from a 32-thread pool with the openai client
            (no Celery, no database, no limiter);
  run       evalrun_start's job through two Celery worker processes, the Redis limiter and
            PostgreSQL; every item must end judged.
Then the server time of the run page (results, first page of items), the evaluation page
(Table 4) and the test set page (distribution and overlap), through Django's test client.
Needs PostgreSQL and Redis on 127.0.0.1: the database `dialinsight_bench`, Redis database 14.
The last line: `eval_run n=N items_per_s=R ideal_per_s=I baseline_per_s=B page_p95_ms=P`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from llm_throughput import ENV, ensure_database, start_workers, wait_for_workers  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "crosswoz" / "crosswoz_test_300.jsonl"
TASKS = (
    ("reasoning", "json", "判断客户是否已经确定行程，以 JSON 输出结论和依据。"),
    ("content-summarization", "free_text", "总结客户在对话中提出的全部需求。"),
    ("information-extraction", "table", "以表格列出对话中提到的地点、时间和价格。"),
)


def fill(project, count: int) -> None:
    """`count` accepted samples graded high, each with a dialogue of its own."""
    from curation.models import Dialogue, TaskType
    from evolution.models import Prompt
    from labeling.models import Sample

    records = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    prompts = []
    for key, fmt, text in TASKS:
        task = TaskType.objects.get(project=project, key=key)
        for n in range(20):
            narrative = f"{text}（写法 {n}）"
            prompts.append(
                Prompt.objects.create(
                    project=project,
                    task_type=task,
                    tasks=[{"task_type": task.pk, "output_format": fmt}],
                    sections={"narrative": narrative},
                    assembled_text=f"对话：\n{{dialogue}}\n\n{narrative}",
                    text=f"对话：\n{{dialogue}}\n\n{narrative}",
                    state=Prompt.State.APPROVED,
                )
            )
    dialogues = []
    for n in range(count):
        record = records[n % len(records)]
        turns = [
            {"speaker": t["speaker"], "role": t["speaker"], "text": t["text"]}
            for t in record["turns"]
        ]
        shift = (n // len(records)) % len(turns)
        dialogues.append(
            Dialogue(project=project, external_id=f"bench-{n}", turns=turns[shift:] + turns[:shift])
        )
    Dialogue.objects.bulk_create(dialogues, batch_size=1000)
    samples = []
    for n, dialogue in enumerate(dialogues):
        prompt = prompts[n % len(prompts)]
        said = "\n".join(f"{t['speaker']}：{t['text']}" for t in dialogue.turns)
        samples.append(
            Sample(
                project=project,
                dialogue=dialogue,
                prompt=prompt,
                task_type=prompt.task_type,
                instruction=prompt.sections["narrative"],
                rendered_input=f"对话：\n{said}\n\n{prompt.sections['narrative']}",
                output=f"参考答案：{said[:120]}",
                state=Sample.State.ACCEPTED,
                grade="high",
            )
        )
    Sample.objects.bulk_create(samples, batch_size=1000)


def baseline(url: str, inputs: list[str], concurrency: int) -> float:
    """Items per second: answer then judge each input, straight from a thread pool."""
    import openai

    client = openai.OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=30)

    def one(text: str) -> None:
        answer = client.chat.completions.create(
            model="qwen-tuned", messages=[{"role": "user", "content": text}]
        )
        client.chat.completions.create(
            model="judge-large",
            messages=[
                {"role": "user", "content": f"{text}\n\n{answer.choices[0].message.content}"}
            ],
            response_format={"type": "json_object"},
        )

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, inputs))
    return len(inputs) / (time.monotonic() - started)


def page_times(client, url: str, repeats: int) -> list[float]:
    client.get(url)  # warm
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 items")
    parser.add_argument("--items", type=int, help="test items (the project holds twice as many)")
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    count = 2 * (args.items or (200 if args.quick else 2000))

    os.environ.update(ENV)
    ensure_database()
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from curation.llm.fake_server import FakeLLMServer
    from curation.models import Job, Membership, ModelEndpoint, Project, Role
    from curation.services.jobs import job_run_here
    from curation.services.taxonomy import taxonomy_seed_project
    from metrics.models import EvalAnswer
    from metrics.services.evaluation import evalrun_start, testset_create
    from metrics.services.versions import version_create, version_freeze
    from tests.factories import UserFactory

    setup_test_environment()
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    # A fresh project each run, so nothing is cached (projects are never deleted: their data is
    # protected).
    slug = f"bench-eval-{count}-{int(time.time())}"
    project = Project.objects.create(slug=slug, name="Bench evaluation")
    taxonomy_seed_project(project=project)
    lead = UserFactory(username=f"bench-eval-lead-{os.getpid()}")
    Membership.objects.create(project=project, user=lead, role=Role.LEAD)
    started = time.monotonic()
    fill(project, count)
    filled_s = time.monotonic() - started
    started = time.monotonic()
    # Half the samples for the test set (dialogues held out; the prompts are shared with the
    # version, so the overlap check has work to do), the other half frozen into a version.
    test_set = testset_create(
        project=project,
        name="held-out",
        size=count // 2,
        actor=lead,
        task_shares={key: 1 for key, _, _ in TASKS},
        hold_out_prompts=False,
    )
    drawn_s = time.monotonic() - started
    version = version_create(project=project, name="v1", actor=lead)
    job_run_here(job_id=version_freeze(version=version, revision=1, actor=lead, dispatch=False).pk)
    version.refresh_from_db()

    logdir = ROOT / "test-artifacts"
    logdir.mkdir(exist_ok=True)
    fake = FakeLLMServer(latency_ms=args.latency_ms, seed=7).start()
    per_worker = -(-args.concurrency // args.workers)
    workers = start_workers(args.workers, per_worker, logdir, queues="llm,default", name="eval")
    try:
        wait_for_workers(args.workers)
        endpoints = [
            ModelEndpoint.objects.create(
                project=project,
                name=name,
                base_url=fake.url,
                model=model,
                max_concurrency=args.concurrency,
                max_tokens=256,
            )  # fmt: skip
            for name, model in (("tuned", "qwen-tuned"), ("judge", "judge-large"))
        ]
        inputs = list(test_set.items.values_list("input", flat=True)[: min(count, 500)])
        base = baseline(fake.url, inputs, args.concurrency)
        started = time.monotonic()
        run = evalrun_start(
            project=project,
            test_set=test_set,
            model_endpoint=endpoints[0],
            judge_endpoint=endpoints[1],
            trained_on=version,
            actor=lead,
        )
        deadline = started + max(600, count)
        job = run.job
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.finished:
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        run.refresh_from_db()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        fake.stop()

    answers = EvalAnswer.objects.filter(run=run)
    judged = answers.filter(judged="done").count()
    failed = answers.filter(judged="failed").count()
    n = test_set.item_count
    rate = n / elapsed
    ideal = args.concurrency / (2 * args.latency_ms / 1000)

    client = Client()
    client.force_login(lead)
    pages = {
        "run": reverse("metrics:run_detail", args=[slug, run.pk]),
        "evaluation": reverse("metrics:evaluation", args=[slug]),
        "test set": reverse("metrics:testset_detail", args=[slug, test_set.pk]),
    }
    times = {name: page_times(client, url, args.repeats) for name, url in pages.items()}

    print(
        f"samples={count} latency_ms={args.latency_ms} limit={args.concurrency} per endpoint, "
        f"workers={args.workers}x{per_worker} prefork; filled in {filled_s:.1f} s, "
        f"test set of {test_set.item_count} drawn in {drawn_s:.2f} s, version of "
        f"{version.sample_count} frozen"
    )
    print(f"ideal     {ideal:7.1f} items/s  (limit / two latencies)")
    print(f"baseline  {base:7.1f} items/s  (openai client, {args.concurrency} threads, no Celery)")
    print(
        f"run       {rate:7.1f} items/s  ratio_to_ideal={rate / ideal:.2f}  job {job.status}, "
        f"{judged} judged, {failed} failed, mean score {run.summary['overall']['mean']:.2f}"
    )
    for name, values in times.items():
        print(
            f"  {name:10s} page p50 {statistics.median(values):6.1f} ms  p95 {p95(values):6.1f} ms"
        )
    assert job.status == Job.Status.DONE and judged == n, "items were not all judged"
    worst = max(p95(v) for v in times.values())
    print(
        f"eval_run n={n} items_per_s={rate:.1f} ideal_per_s={ideal:.1f} "
        f"baseline_per_s={base:.1f} page_p95_ms={worst:.1f}"
    )


if __name__ == "__main__":
    main()
