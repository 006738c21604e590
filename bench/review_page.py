"""The label review page at a million samples: its server time, and claims by 8 annotators at once.

    python bench/review_page.py [--quick]

Fills a project with 1,000,000 samples (100,000 with --quick) straight in SQL: the first 30%
decided (20% accepted, 10% rejected, graded, with their annotations; claims go in id order), the
other 70% to review, sharing a pool of 50,000 dialogues (one per 20 samples) and four approved
prompts; outputs of ~300 Chinese characters, inputs of ~600.
Then, through Django's test client as one annotator:
  fresh GET  the review page claiming a new sample (the one before was rejected by a POST);
  held GET   the page again while the annotator holds a sample (no claim);
  reject     the POST deciding it (a redirect), and the htmx POST (decide, claim the next, render).
Each is counted once for its SQL queries (an N+1 would show). Then 8 threads, one annotator and
one database connection each, claim the next sample with `sample_claim_next` and reject it at
once, `--claims` times each (40 at full size): claim latency, and no sample may be claimed twice.
Side by side: two baselines under the same 8 threads, a naive claim without SKIP LOCKED (SELECT the
first free sample, then a conditional UPDATE, again on a collision) and the claim as it was before
its walk along the primary key was started at the first sample to review; the locking query's
plan of both (EXPLAIN ANALYZE in one line, in full with --explain). Needs PostgreSQL on
127.0.0.1; uses the database `dialinsight_bench` and a project per size (`bench-review-N`), filled
once and reused while intact (the samples decided here are put back to review afterwards;
--refill fills again)."""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from llm_throughput import ENV, ensure_database  # noqa: E402

ANNOTATORS = 8
SAMPLES_PER_DIALOGUE = 20
# Written to the project once filled: a fill of another layout is filled again.
FILLED = "bench fill 2: decided first"

# Sentences the texts are cut from (at an offset per row, so rows differ).
TALK = (
    "您好，望京的两居室还在，业主报价八百五十万，可以谈。我们周末想去看看，最好是上午。"
    "小区离地铁十四号线步行五分钟，对口的小学是朝阳实验。首付大概能拿出三百万，月供不想超过两万。"
    "这套房子南北通透，二零一二年的房子，电梯房，十八层里的第九层。物业费每平米四块五，车位另租。"
    "业主因为换房急售，下个月之前签约的话价格还能再让一点。我先生上班在国贸，通勤一小时以内就行。"
)
TALK = TALK * 3
INSTRUCTION = (
    "请根据经纪人与客户的对话，总结客户对价格、通勤、学区和看房时间的要求，"
    "并指出经纪人下一步应该跟进的事项；如果对话中没有提到某项要求，请明确写出未提及，不要编造。"
    "输出使用简体中文，分条列出，每条不超过三十个字。"
)

DIALOGUE_SQL = """
INSERT INTO curation_dialogue
    (project_id, external_id, scene_id, source_id, service_role_id, turns, metadata,
     search_text, content_hash, redaction_counts, created_at)
SELECT %(project)s, 'review-' || n,
       (%(scenes)s)[1 + n %% cardinality(%(scenes)s)],
       (%(sources)s)[1 + n %% cardinality(%(sources)s)],
       NULL,
       jsonb_build_array(
         jsonb_build_object('speaker', '经纪人', 'role', 'agent', 'text', t1),
         jsonb_build_object('speaker', '客户', 'role', 'customer', 'text', t2),
         jsonb_build_object('speaker', '经纪人', 'role', 'agent', 'text', t3),
         jsonb_build_object('speaker', '客户', 'role', 'customer', 'text', t4),
         jsonb_build_object('speaker', '经纪人', 'role', 'agent', 'text', t5),
         jsonb_build_object('speaker', '客户', 'role', 'customer', 'text', t6)),
       '{}'::jsonb,
       concat_ws(chr(10), t1, t2, t3, t4, t5, t6),
       md5('review' || n) || md5('review' || (n + 1)), '{}'::jsonb, now()
FROM (
    SELECT n,
           '您好，望京' || (n %% 500) || '号院的两居室还在，' || substr(%(talk)s, 1 + n %% 40, 40)
               AS t1,
           '我想看看第' || n || '套房子，' || substr(%(talk)s, 41 + n %% 40, 45) AS t2,
           substr(%(talk)s, 90 + n %% 30, 50) AS t3,
           substr(%(talk)s, 140 + n %% 30, 45) AS t4,
           substr(%(talk)s, 190 + n %% 30, 50) AS t5,
           '好的，' || substr(%(talk)s, 240 + n %% 30, 40) AS t6
    FROM generate_series(0, %(count)s - 1) AS n
) AS turns
"""

# Reviewers claim in id order, so the decided samples are the first 30% (two in three accepted),
# the last 70% wait for review; 1 in 10 samples is doubly annotated. `decided` is that 30%.
SAMPLE_SQL = """
WITH d AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM curation_dialogue WHERE project_id = %(project)s)
INSERT INTO labeling_sample
    (project_id, job_id, seq, dialogue_id, prompt_id, task_type_id, scene_id, source_id,
     instruction, rendered_input, endpoint_id, model_output, attempts, output, output_check,
     output_check_detail, prompt_tokens, completion_tokens, judge_grade, judge_reason, state,
     grade, reason, double, assigned_to_id, assigned_until, reviewed_by_id, reviewed_at, verify,
     verified_by_id, revision, created_at)
SELECT %(project)s, NULL, 0,
       d.ids[1 + n %% cardinality(d.ids)],
       (%(prompts)s)[1 + n %% cardinality(%(prompts)s)],
       (%(prompt_tasks)s)[1 + n %% cardinality(%(prompts)s)],
       (%(scenes)s)[1 + (n %% cardinality(d.ids)) %% cardinality(%(scenes)s)],
       (%(sources)s)[1 + (n %% cardinality(d.ids)) %% cardinality(%(sources)s)],
       '第' || n || '条：' || substr(%(instruction)s, 1 + n %% 20, 140),
       '你是一名房产经纪业务的分析助手。下面是一段经纪人与客户的对话：' || chr(10)
         || substr(%(talk)s, 1 + n %% 60, 380) || chr(10) || '任务：'
         || substr(%(instruction)s, 1 + n %% 20, 140),
       NULL,
       '客户第' || n || '次咨询。' || substr(%(talk)s, 1 + (n * 7) %% 90, 300),
       '[]'::jsonb,
       '客户第' || n || '次咨询。' || substr(%(talk)s, 1 + (n * 7) %% 90, 290),
       '', '', 700 + n %% 300, 200 + n %% 150,
       CASE WHEN n %% 4 = 0 THEN (ARRAY['high', 'medium', 'low'])[1 + n %% 3] ELSE '' END,
       CASE WHEN n %% 4 = 0 THEN '与对话基本一致，但遗漏了看房时间' ELSE '' END,
       CASE WHEN n >= %(decided)s THEN 'ready' WHEN n %% 3 < 2 THEN 'accepted' ELSE 'rejected' END,
       CASE WHEN n >= %(decided)s THEN '' ELSE (ARRAY['high', 'medium', 'low'])[1 + n %% 3] END,
       CASE WHEN n < %(decided)s AND n %% 3 = 2 THEN '输出与对话不符' ELSE '' END,
       n %% 10 = 3,
       NULL, NULL,
       CASE WHEN n < %(decided)s THEN (%(annotators)s)[1 + n %% cardinality(%(annotators)s)] END,
       CASE WHEN n < %(decided)s THEN now() - interval '1 day' END,
       '', NULL,
       CASE WHEN n >= %(decided)s THEN 1 ELSE 2 END,
       now() - interval '2 days'
FROM generate_series(%(start)s, %(end)s) AS n, d
"""

ANNOTATION_SQL = """
INSERT INTO labeling_annotation (sample_id, annotator_id, decision, grade, output, created_at)
SELECT id, reviewed_by_id, CASE state WHEN 'accepted' THEN 'accept' ELSE 'reject' END, grade,
       output, reviewed_at
  FROM labeling_sample
 WHERE project_id = %(project)s AND state IN ('accepted', 'rejected')
"""

# The baseline claim: no row lock; the first free sample, then an UPDATE that only wins if the
# sample is still free (under READ COMMITTED it waits for a concurrent winner, then finds 0 rows).
NAIVE_SELECT = """
SELECT id FROM labeling_sample
 WHERE project_id = %s AND state = 'ready' AND (assigned_to_id IS NULL OR assigned_until <= %s)
 ORDER BY id LIMIT 1
"""
NAIVE_UPDATE = """
UPDATE labeling_sample SET assigned_to_id = %s, assigned_until = %s
 WHERE id = %s AND state = 'ready' AND (assigned_to_id IS NULL OR assigned_until <= %s)
"""

UNDO_SQL = """
UPDATE labeling_sample
   SET state = 'ready', grade = '', reason = '', reviewed_by_id = NULL, reviewed_at = NULL,
       assigned_to_id = NULL, assigned_until = NULL, verify = '', revision = 1
 WHERE project_id = %(project)s AND id = ANY(%(ids)s);
DELETE FROM labeling_annotation WHERE sample_id = ANY(%(ids)s);
"""


def decided_of(count: int) -> int:
    """How many samples the fill leaves decided: the first 30%."""
    return count * 3 // 10


def expected_ready(count: int) -> int:
    return count - decided_of(count)


def fill(project, count: int, annotators: list) -> None:
    from django.db import connection

    from curation.models import Scene, SourceType, TaskType
    from evolution.models import Prompt

    scenes = list(Scene.objects.filter(project=project).values_list("pk", flat=True))
    sources = list(SourceType.objects.filter(project=project).values_list("pk", flat=True))
    dialogues = max(count // SAMPLES_PER_DIALOGUE, 1)
    with connection.cursor() as cursor:
        # Plain SQL: Django would cascade a million deletes one collector pass at a time.
        cursor.execute(
            "DELETE FROM labeling_annotation WHERE sample_id IN "
            "(SELECT id FROM labeling_sample WHERE project_id = %s)",
            [project.pk],
        )
        cursor.execute("DELETE FROM labeling_sample WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM evolution_prompt WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM curation_dialogue WHERE project_id = %s", [project.pk])
        cursor.execute(
            DIALOGUE_SQL,
            {
                "project": project.pk,
                "count": dialogues,
                "scenes": scenes,
                "sources": sources,
                "talk": TALK,
            },
        )
    prompts = []
    for position, task_type in enumerate(TaskType.objects.filter(project=project)[:4]):
        text = (
            f"你是房产经纪业务的分析助手（提示 {position + 1}）。对话如下：\n{{dialogue}}\n"
            f"任务：{INSTRUCTION}"
        )
        prompts.append(
            Prompt.objects.create(
                project=project,
                task_type=task_type,
                tasks=[
                    {
                        "task_type": task_type.key,
                        "instruction": INSTRUCTION,
                        "output_format": "free_text",
                        "example": "",
                    }
                ],
                assembled_text=text,
                text=text,
                state=Prompt.State.APPROVED,
            )
        )
    ids = {
        "project": project.pk,
        "prompts": [p.pk for p in prompts],
        "prompt_tasks": [p.task_type_id for p in prompts],
        "scenes": scenes,
        "sources": sources,
        "annotators": [a.pk for a in annotators],
        "talk": TALK,
        "instruction": INSTRUCTION,
        "decided": decided_of(count),
    }
    with connection.cursor() as cursor:
        for start in range(0, count, 200_000):
            cursor.execute(
                SAMPLE_SQL, {**ids, "start": start, "end": min(start + 200_000, count) - 1}
            )
        cursor.execute(ANNOTATION_SQL, {"project": project.pk})
        # As autovacuum would leave them: statistics, and the visibility map for index-only scans.
        for table in ("curation_dialogue", "labeling_sample", "labeling_annotation"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def undo(project, ids: list[int]) -> None:
    """Put the samples decided here back to review, and let go of every claim in the project."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(UNDO_SQL, {"project": project.pk, "ids": ids})
        cursor.execute(
            "UPDATE labeling_sample SET assigned_to_id = NULL, assigned_until = NULL "
            "WHERE project_id = %s AND assigned_to_id IS NOT NULL",
            [project.pk],
        )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def figures(times: list[float]) -> str:
    return (
        f"p50 {statistics.median(times):6.1f} ms  p95 {percentile(times, 0.95):6.1f} ms  "
        f"max {max(times):6.1f} ms"
    )


def captured(request):
    """The result of one request, its SQL queries, and their time in ms (as Django keeps it)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as capture:
        result = request()
    queries = capture.captured_queries
    return result, len(queries), sum(float(q["time"]) for q in queries) * 1000, queries


def timed(request):
    started = time.perf_counter()
    result = request()
    return result, (time.perf_counter() - started) * 1000


def shown(response) -> tuple[int, int]:
    """The pk and revision of the sample a review page shows."""
    content = response.content.decode()
    pk = re.search(r'id="sample-(\d+)"', content)
    revision = re.search(r'name="revision" value="(\d+)"', content)
    assert pk and revision, content[:1000]
    return int(pk.group(1)), int(revision.group(1))


def page_bench(client, slug: str, repeats: int, decided: list[int]) -> dict:
    """One annotator through the test client; every sample decided is appended to `decided`."""
    from django.urls import reverse

    page = reverse("labeling:review_queue", args=[slug])

    def get():
        response = client.get(page)
        assert response.status_code == 200, response.status_code
        return shown(response)

    def reject(pk: int, revision: int, htmx: bool = False):
        url = reverse("labeling:review_act", args=[slug, pk])
        data = {"revision": revision, "grade": "low", "reason": "bench", "reject": "1"}
        decided.append(pk)
        if htmx:
            response = client.post(url, data, headers={"HX-Request": "true"})
            assert response.status_code == 200, response.status_code
            return shown(response)
        response = client.post(url, data)
        assert response.status_code == 302, (response.status_code, response.content[:500])
        return None

    out: dict = {"fresh": [], "held": [], "reject": [], "htmx": []}
    # Untimed, counted once each: a fresh claim, a held sample, the reject.
    (pk, revision), *out["fresh_q"] = captured(get)
    (again, _), *out["held_q"] = captured(get)
    assert again == pk, (pk, again)
    _, *out["reject_q"] = captured(lambda: reject(pk, revision))
    seen = {pk}
    for _ in range(repeats):
        (pk, revision), ms = timed(get)
        assert pk not in seen, f"sample {pk} shown again after it was decided"
        seen.add(pk)
        out["fresh"].append(ms)
        _, ms = timed(lambda pk=pk, revision=revision: reject(pk, revision))
        out["reject"].append(ms)
    pk, revision = get()
    for _ in range(repeats):
        (again, _), ms = timed(get)
        assert again == pk
        out["held"].append(ms)
    # The keyboard flow: each htmx reject decides the sample and renders the next one claimed.
    (pk, revision), *out["htmx_q"] = captured(lambda: reject(pk, revision, htmx=True))
    for _ in range(repeats):
        (pk, revision), ms = timed(lambda pk=pk, revision=revision: reject(pk, revision, True))
        assert pk not in seen
        seen.add(pk)
        out["htmx"].append(ms)
    reject(pk, revision)
    return out


def app_claim(project, user):
    from labeling.services.review import sample_claim_next

    return sample_claim_next(project=project, annotator=user), 0


def naive_claim(project, user):
    """The baseline: as sample_claim_next, but without the row lock (retries on a collision)."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from labeling.models import Sample
    from labeling.services.review import label_settings_get

    minutes = label_settings_get(project=project).assignment_minutes
    retries = 0
    while True:
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(NAIVE_SELECT, [project.pk, now])
            row = cursor.fetchone()
            if row is None:
                return None, retries
            until = now + timedelta(minutes=minutes)
            cursor.execute(NAIVE_UPDATE, [user.pk, until, row[0], now])
            if cursor.rowcount == 1:
                return Sample.objects.get(pk=row[0]), retries
        retries += 1


def unanchored_claim(project, user):
    """The claim before the fix (the baseline): sample_claim_next's claim of a sample to review
    without the lower bound at the first sample to review, so the planner walks the primary key
    from the start of the table."""
    from datetime import timedelta

    from django.db import transaction
    from django.db.models import Q
    from django.utils import timezone

    from labeling.models import Sample
    from labeling.services.review import label_settings_get

    now = timezone.now()
    minutes = label_settings_get(project=project).assignment_minutes
    ready = Sample.objects.filter(project=project, state=Sample.State.READY)
    mine = ready.filter(assigned_to=user, assigned_until__gt=now).order_by("id").first()
    if mine is not None:
        return mine, 0
    with transaction.atomic():
        sample = (
            ready.filter(Q(assigned_to__isnull=True) | Q(assigned_until__lte=now))
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")
            .first()
        )
        if sample is None:
            return None, 0
        Sample.objects.filter(pk=sample.pk).update(
            assigned_to=user, assigned_until=now + timedelta(minutes=minutes)
        )
        sample.refresh_from_db()
    return sample, 0


def claim_bench(project, annotators: list, claims: int, claim, decided: list[int]) -> dict:
    """Every annotator in a thread of its own: claim, reject at once (so the next claim is a new
    one), `claims` times. Latency of each claim; the samples claimed, by whom."""
    from django.db import connections

    from labeling.services.review import label_settings_get, sample_review

    barrier = threading.Barrier(len(annotators))
    lock = threading.Lock()
    rows: list[tuple[int, int, float, int]] = []  # sample, annotator, ms, retries
    errors: list[BaseException] = []

    def work(user):
        try:
            label_settings_get(project=project)  # connect before the start
            barrier.wait()
            for _ in range(claims):
                (sample, retries), ms = timed(lambda: claim(project, user))
                if sample is None:
                    break
                with lock:
                    rows.append((sample.pk, user.pk, ms, retries))
                    decided.append(sample.pk)
                sample_review(
                    sample=sample,
                    revision=sample.revision,
                    actor=user,
                    decision="reject",
                    grade="low",
                )
        except BaseException as error:  # noqa: BLE001 - raised again in the main thread
            errors.append(error)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(user,)) for user in annotators]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    ids = [row[0] for row in rows]
    twice = len(ids) - len(set(ids))
    return {
        "times": [row[2] for row in rows],
        "retries": sum(row[3] for row in rows),
        "claims": len(rows),
        "twice": twice,
        "per_s": len(rows) / wall,
    }


def explain(project, user, claim) -> tuple[str, str]:
    """EXPLAIN ANALYZE of the locking query of one claim (rolled back: nothing stays claimed):
    the plan, and its gist on one line."""
    from django.db import connection, transaction

    with transaction.atomic():
        _, _, _, queries = captured(lambda: claim(project, user))
        sql = next(q["sql"] for q in queries if "SKIP LOCKED" in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    scans = " + ".join(
        line.strip().removeprefix("->").split(" (")[0].strip() for line in plan if " Scan " in line
    )
    removed = [line.split(":")[1].strip() for line in plan if "Removed by Filter" in line]
    took = next(line.split(":")[1].strip() for line in plan if "Execution Time" in line)
    gist = f"{scans}; {removed[-1] if removed else 0} rows read and skipped; {took}"
    return sql + "\n" + "\n".join("    " + line for line in plan), gist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 samples")
    parser.add_argument("--count", type=int)
    parser.add_argument("--repeats", type=int, default=100, help="page requests of each kind")
    parser.add_argument("--claims", type=int, help="claims by each annotator (100; full: 40)")
    parser.add_argument("--refill", action="store_true", help="fill again even if filled")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE of a claim")
    parser.add_argument("--sql", action="store_true", help="print the queries of each page")
    args = parser.parse_args()
    count = args.count or (100_000 if args.quick else 1_000_000)
    claims_each = args.claims or (100 if count <= 100_000 else 40)
    naive_each = max(claims_each // 4, 1)  # it collides, and waits: a quarter as many

    os.environ.update(ENV)
    ensure_database()
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from curation.models import Dialogue, Membership, Project, Role
    from curation.services.taxonomy import taxonomy_seed_project
    from labeling.models import Sample
    from labeling.services.review import label_settings_get
    from tests.factories import UserFactory

    setup_test_environment()
    slug = f"bench-review-{count}"
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        project = Project.objects.create(slug=slug, name="Bench review page")
        taxonomy_seed_project(project=project)
    annotators = [UserFactory(username=f"bench-annotator-{n}") for n in range(ANNOTATORS)]
    for user in annotators:
        Membership.objects.get_or_create(
            project=project, user=user, defaults={"role": Role.ANNOTATOR}
        )
    label_settings_get(project=project)
    undo(project, [])  # claims an interrupted run left
    samples = Sample.objects.filter(project=project)
    dialogues = max(count // SAMPLES_PER_DIALOGUE, 1)
    if (
        args.refill
        or samples.count() != count
        or samples.filter(state=Sample.State.READY).count() != expected_ready(count)
        or Dialogue.objects.filter(project=project).count() != dialogues
        or project.description != FILLED
    ):
        started = time.monotonic()
        fill(project, count, annotators)
        Project.objects.filter(pk=project.pk).update(description=FILLED)
        print(
            f"filled {count} samples ({dialogues} dialogues) in {time.monotonic() - started:.1f} s"
        )

    decided: list[int] = []
    try:
        client = Client()
        client.force_login(annotators[0])
        pages = page_bench(client, slug, args.repeats, decided)
        plan, gist = explain(project, annotators[0], app_claim)
        before_plan, before_gist = explain(project, annotators[0], unanchored_claim)
        alone = claim_bench(project, annotators[:1], claims_each, app_claim, decided)
        claims = claim_bench(project, annotators, claims_each, app_claim, decided)
        before = claim_bench(project, annotators, claims_each, unanchored_claim, decided)
        naive = claim_bench(project, annotators, naive_each, naive_claim, decided)
    finally:
        undo(project, decided)

    print(
        f"samples={count} (to review {expected_ready(count)}) repeats={args.repeats} "
        "(server time through the test client: view, queries, template)"
    )
    # The planner walks the primary key for the claim when the project holds most of the table.
    everyone = Sample.objects.count()
    print(f"  the project holds {count / everyone:.0%} of the {everyone} samples in the table")
    for name, key, label in (
        ("fresh GET", "fresh", "claims a new sample"),
        ("held GET", "held", "the sample held"),
        ("reject POST", "reject", "redirects"),
        ("htmx reject", "htmx", "decides, claims, renders the next"),
    ):
        queries, sql_ms, captured_queries = pages[f"{key}_q"]
        print(
            f"  {name:11s} {figures(pages[key])}  {queries:2d} queries "
            f"({sql_ms:.0f} ms of SQL)  {label}"
        )
        if args.sql:
            for query in captured_queries:
                print(f"      {float(query['time']) * 1000:5.1f} ms  {query['sql'][:150]}")
    print("claim latency (sample_claim_next; each claimed sample rejected at once):")
    for name, result in (
        ("1 annotator alone", alone),
        (f"{ANNOTATORS} at once (the app)", claims),
        (f"{ANNOTATORS} at once, before", before),
        (f"{ANNOTATORS} at once, naive", naive),
    ):
        print(
            f"  {name:19s} {figures(result['times'])}  {result['claims']:4d} claims "
            f"({result['per_s']:.0f}/s with the rejects), {result['retries']} collisions "
            f"retried, {result['twice']} claimed twice"
        )
    print(
        "  the app starts its walk at the first sample to review (id >= an index-only look-up "
        "in sample_queue); before = the same claim without that bound (the primary key walked "
        "from the start); naive = no SKIP LOCKED: SELECT, conditional UPDATE, again on a "
        "collision"
    )
    print(f"claim query, the app: {gist}")
    print(f"claim query, before: {before_gist}")
    if args.explain:
        print(plan)
        print(before_plan)
    for result in (alone, claims, before):
        assert result["twice"] == 0, f"{result['twice']} samples were claimed twice"
    slow = [key for key in ("fresh", "held", "htmx") if percentile(pages[key], 0.95) >= 100]
    print("slow pages (p95 >= 100 ms): " + (", ".join(slow) if slow else "none"))
    print(
        f"review_page p50_ms={statistics.median(pages['fresh']):.1f} "
        f"p95_ms={percentile(pages['fresh'], 0.95):.1f} "
        f"claim_p95_ms={percentile(claims['times'], 0.95):.1f}"
    )


if __name__ == "__main__":
    main()
