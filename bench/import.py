"""Dialogue import throughput, beside a raw COPY of the same rows into PostgreSQL.

    python bench/import.py [--quick]

Generates 100,000 synthetic real-estate dialogues of about 2 KB (5,000 with --quick) with planted
personal data, imports them as one JSONL file through the product's import (validation, redaction,
staging, publishing with bulk inserts) on two Celery worker processes (the machine's cores), and
then COPYs the same number of rows (the stored, redacted dialogues) into a bare table with
PostgreSQL's COPY: the floor of what writing them can cost. Needs PostgreSQL and Redis on
127.0.0.1 (as `make test` does); uses the database `dialinsight_bench` and Redis database 14.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from llm_throughput import ENV, ensure_database, start_workers, wait_for_workers  # noqa: E402

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
PLACES = [
    "望京",
    "回龙观",
    "天通苑",
    "亦庄",
    "通州",
    "西二旗",
    "五道口",
    "国贸",
    "望京西园",
    "酒仙桥",
]
AGENT_LINES = [
    "您好，我是链家的经纪人{name}，看到您关注了{place}的两居室，方便聊几句吗？",
    "这套房子{area}平，南北通透，报价{price}万，业主比较着急出售。",
    "周六上午可以带您去看房，您方便的话留个电话{phone}，我提前联系您。",
    "小区物业费每平米{fee}元，车位可以租，每月{rent}元。",
    "我把房源的详细资料发到您的邮箱{email}，您看一下。",
]
CUSTOMER_LINES = [
    "我们想买两居室，预算大概{price}万，最好离地铁近一点。",
    "我姓{surname}，电话是{phone}，您有合适的房子再联系我。",
    "楼层怎么样？家里有老人，太高了不方便。",
    "{place}那边的学区怎么样？孩子明年上小学。",
    "我再和家里人商量一下，周末给您答复。",
]


def make_dialogues(count: int, seed: int = 20240314) -> list[dict]:
    rng = random.Random(seed)
    dialogues = []
    for n in range(count):
        fill = {
            "name": rng.choice(SURNAMES) + rng.choice(["经理", "先生", "女士"]),
            "surname": rng.choice(SURNAMES),
            "place": rng.choice(PLACES),
            "area": rng.randint(45, 180),
            "price": rng.randint(200, 1500),
            "fee": round(rng.uniform(1.5, 6.0), 1),
            "rent": rng.randint(300, 900),
            "phone": f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}",
            "email": f"user{n}@example.com",
        }
        turns: list[dict] = []
        size = 120  # the JSON around the turns
        while size < 1950:  # about 2 KB of UTF-8 per dialogue
            turns.append(
                {
                    "speaker": "经纪人",
                    "role": "real-estate-agent",
                    "text": rng.choice(AGENT_LINES).format(**fill),
                }
            )
            turns.append(
                {
                    "speaker": "客户",
                    "role": "customer",
                    "text": rng.choice(CUSTOMER_LINES).format(**fill) + f"（第{n}号）",
                }
            )
            size += sum(len(json.dumps(t, ensure_ascii=False).encode()) + 2 for t in turns[-2:])
        dialogues.append(
            {"id": f"bench-{n}", "scene": "buying", "source": "call-recording", "turns": turns}
        )
    return dialogues


def copy_baseline(project_id: int, count: int) -> float:
    """Rows per second of COPY of the stored dialogues' columns into a bare table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT external_id, turns::text, search_text, content_hash FROM curation_dialogue "
            "WHERE project_id = %s ORDER BY id LIMIT %s",
            [project_id, count],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "CREATE TEMP TABLE bench_copy (external_id text, turns jsonb, search_text text, "
            "content_hash text)"
        )
        started = time.monotonic()
        with cursor.copy("COPY bench_copy FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        elapsed = time.monotonic() - started
        cursor.execute("DROP TABLE bench_copy")
    return len(rows) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 dialogues: a size CI can run")
    parser.add_argument("--count", type=int)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    count = args.count or (5000 if args.quick else 100_000)

    os.environ.update(ENV)
    ensure_database()
    import django

    django.setup()
    import redis
    from django.conf import settings

    from curation.models import Dialogue, Job, Project
    from curation.services.imports import import_start

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    data = "\n".join(json.dumps(d, ensure_ascii=False) for d in make_dialogues(count)).encode()
    project = Project.objects.filter(slug="bench-import").first()
    if project is not None:
        Dialogue.objects.filter(project=project).delete()
        project.delete()
    from curation.services.taxonomy import taxonomy_seed_project

    project = Project.objects.create(slug="bench-import", name="Bench import")
    taxonomy_seed_project(project=project)
    logdir = ROOT / "test-artifacts"
    logdir.mkdir(exist_ok=True)
    workers = start_workers(args.workers, 1, logdir, queues="cpu,default", name="bench-import")
    try:
        wait_for_workers(args.workers)
        started = time.monotonic()
        job = import_start(
            project=project, data=data, filename="bench.jsonl", actor=None, fmt="jsonl"
        )
        while True:
            job.refresh_from_db()
            if job.finished:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    if job.status != Job.Status.DONE:
        raise SystemExit(f"import failed: {job.error_summary} {job.result}")
    stored = Dialogue.objects.filter(project=project).count()
    rate = count / elapsed
    copy_rate = copy_baseline(project.pk, stored)
    redacted = job.result.get("redacted", {})
    print(
        f"dialogues={count} bytes={len(data)} ({len(data) / count:.0f} B each) "
        f"workers={args.workers} stored={stored} duplicates={job.result['duplicates']}"
    )
    print(
        f"import    {rate:10.1f} dialogues/s  ({len(data) / elapsed / 1e6:.2f} MB/s, "
        f"{elapsed:.1f} s; validation, redaction, staging, publishing)"
    )
    print(f"COPY      {copy_rate:10.1f} rows/s  (the stored rows into a bare table)")
    print(f"redacted  {redacted}")
    print(f"import dialogues_per_s={rate:.1f} copy_ratio={rate / copy_rate:.4f}")


if __name__ == "__main__":
    main()
