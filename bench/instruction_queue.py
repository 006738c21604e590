"""The Stage-1 instruction queues at 100,000 instructions: server time of their pages.

    python bench/instruction_queue.py [--quick]

Fills a project with 100,000 instructions (20,000 with --quick) straight in SQL, spread over every
state (draft, kept, dropped from seeds; evolved, accepted, rejected, eliminated with a seed as
parent), then renders as a lead through Django's test client: the instruction queue (to curate,
kept, a task type, a scene, a page deep in the list), the screening queue, and keeping one
instruction (the htmx fragment). Each page is timed `--repeats` times after one untimed request
that also counts its SQL queries (an N+1 would show). Side by side, the baseline: the same queue
paged the naive way (Django's Paginator: COUNT(*) and OFFSET). Needs PostgreSQL on 127.0.0.1;
uses the database `dialinsight_bench` and a project of its own per size (`bench-instructions-N`),
filled once and reused while intact (the keeps are undone after timing; --refill fills again).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from llm_throughput import ENV, ensure_database  # noqa: E402

# n % 20 decides the state: 30% to curate, 15% kept, 10% dropped (seeds); 15% to screen,
# 10% accepted, 10% rejected, 10% eliminated (evolved).
STATE_SQL = """
CASE WHEN n %% 20 < 6 THEN 'draft' WHEN n %% 20 < 9 THEN 'kept' WHEN n %% 20 < 11 THEN 'dropped'
     WHEN n %% 20 < 14 THEN 'evolved' WHEN n %% 20 < 16 THEN 'accepted'
     WHEN n %% 20 < 18 THEN 'rejected' ELSE 'eliminated' END
"""

FILL_SQL = f"""
INSERT INTO evolution_instruction
    (project_id, task_type_id, scene_id, service_role_id, text, state, origin, generation,
     reason, operator, prompt_sent, revision, created_at)
SELECT %(project)s,
       (%(task_types)s)[1 + n %% cardinality(%(task_types)s)],
       CASE WHEN n %% 9 <> 0 THEN (%(scenes)s)[1 + n %% cardinality(%(scenes)s)] END,
       CASE WHEN n %% 3 = 0 THEN (%(roles)s)[1 + n %% cardinality(%(roles)s)] END,
       CASE WHEN n %% 20 >= 11 THEN '在客户预算不超过' || (n %% 900) || '万、且需要学区的前提下，'
            ELSE '' END
         || '请根据经纪人与客户关于望京' || (n %% 500) || '号院两居室的对话，写出第' || n
         || '条指令：总结客户对价格、通勤和看房时间的要求',
       {STATE_SQL},
       CASE WHEN n %% 20 >= 11 THEN 'evolved' ELSE 'seed' END,
       CASE WHEN n %% 20 >= 11 THEN 1 + n %% 3 ELSE 0 END,
       CASE n %% 20 WHEN 16 THEN '与原指令重复' WHEN 17 THEN '约束不合理'
                    WHEN 18 THEN '长度过短' WHEN 19 THEN '照抄改写提示' ELSE '' END,
       CASE WHEN n %% 20 >= 11
            THEN (%(operators)s::text[])[1 + n %% cardinality(%(operators)s::text[])]
            ELSE '' END,
       '[]'::jsonb, 1, now()
FROM generate_series(%(start)s, %(end)s) AS n
"""

# Seeds are their own root; evolved instruction k (in id order) gets seed k (mod the seeds) as
# parent and root: an array lookup, no join on a computed key (a nested loop over fresh rows).
LINEAGE_SQL = """
UPDATE evolution_instruction SET root_id = id
 WHERE project_id = %(project)s AND origin = 'seed';
WITH seeds AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM evolution_instruction
     WHERE project_id = %(project)s AND origin = 'seed'),
evolved AS (
    SELECT id, row_number() OVER (ORDER BY id) AS k FROM evolution_instruction
     WHERE project_id = %(project)s AND origin = 'evolved')
UPDATE evolution_instruction AS i
   SET parent_id = seeds.ids[1 + (evolved.k - 1) %% cardinality(seeds.ids)],
       root_id = seeds.ids[1 + (evolved.k - 1) %% cardinality(seeds.ids)]
  FROM evolved, seeds
 WHERE i.id = evolved.id;
"""


def fill(project, count: int) -> None:
    from django.db import connection

    from curation.models import Scene, ServiceRole, TaskType
    from evolution.prompts import OPERATORS

    ids = {
        "task_types": list(TaskType.objects.filter(project=project).values_list("pk", flat=True)),
        "scenes": list(Scene.objects.filter(project=project).values_list("pk", flat=True)),
        "roles": list(ServiceRole.objects.filter(project=project).values_list("pk", flat=True)),
        "operators": list(OPERATORS),
    }
    with connection.cursor() as cursor:
        # Plain SQL: the parent and root keys are deferred constraints, InstructionRevision rows
        # (none are made here) would cascade in Django only.
        cursor.execute(
            "DELETE FROM evolution_instructionrevision WHERE instruction_id IN "
            "(SELECT id FROM evolution_instruction WHERE project_id = %s)",
            [project.pk],
        )
        cursor.execute("DELETE FROM evolution_instruction WHERE project_id = %s", [project.pk])
        for start in range(0, count, 100_000):
            cursor.execute(
                FILL_SQL,
                {
                    "project": project.pk,
                    "start": start,
                    "end": min(start + 100_000, count) - 1,
                    **ids,
                },
            )
        cursor.execute("ANALYZE evolution_instruction")
        cursor.execute(LINEAGE_SQL, {"project": project.pk})
        # As autovacuum would leave it: statistics, and the visibility map that lets the counts
        # per state read the (project, state, id) index alone.
        cursor.execute("VACUUM ANALYZE evolution_instruction")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def queries_of(request) -> tuple[int, float]:
    """How many SQL queries one request makes, and their time in ms (to the ms Django keeps)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        request()
    queries = captured.captured_queries
    return len(queries), sum(float(q["time"]) for q in queries) * 1000


def timed(request, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        request()
        times.append((time.perf_counter() - started) * 1000)
    return times


def getter(client, url: str):
    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    return get


def naive_page(project, page: int) -> float:
    """The baseline: COUNT(*) and OFFSET, as Django's Paginator pages a queryset."""
    from django.core.paginator import Paginator

    from evolution import selectors

    started = time.perf_counter()
    paginator = Paginator(selectors.instruction_queue(project=project, state="draft"), 50)
    list(paginator.page(min(page, paginator.num_pages)))
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 instructions")
    parser.add_argument("--count", type=int)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--refill", action="store_true", help="fill again even if filled")
    args = parser.parse_args()
    count = args.count or (20_000 if args.quick else 100_000)

    os.environ.update(ENV)
    ensure_database()
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from curation.models import Membership, Project, Role
    from curation.services.taxonomy import taxonomy_seed_project
    from evolution.models import Instruction
    from tests.factories import UserFactory

    setup_test_environment()
    slug = f"bench-instructions-{count}"
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        project = Project.objects.create(slug=slug, name="Bench instruction queue")
        taxonomy_seed_project(project=project)
    items = Instruction.objects.filter(project=project)
    drafts = items.filter(state=Instruction.State.DRAFT)
    # Refill unless the rows are there as a previous run left them (its keeps undone).
    expected_drafts = sum(1 for n in range(count) if n % 20 < 6)
    if args.refill or items.count() != count or drafts.count() != expected_drafts:
        started = time.monotonic()
        fill(project, count)
        print(f"filled {count} instructions in {time.monotonic() - started:.1f} s")
    lead = UserFactory(username="bench-lead")
    Membership.objects.get_or_create(project=project, user=lead, defaults={"role": Role.LEAD})
    client = Client()
    client.force_login(lead)

    queue = reverse("evolution:instruction_queue", args=[slug])
    draft_ids = list(drafts.order_by("id").values_list("pk", flat=True))
    deep = draft_ids[int(len(draft_ids) * 0.95)]
    pages = {
        "to curate": queue,
        "kept": queue + "?state=kept",
        "task type": queue + "?state=draft&task_type=reasoning",
        "scene": queue + "?state=draft&scene=renting",
        "task+scene": queue + "?state=kept&task_type=reasoning&scene=buying",
        "deep page": queue + f"?state=draft&after={deep}",
    }
    screen = reverse("evolution:screening_queue", args=[slug])
    evolved = items.filter(state=Instruction.State.EVOLVED).order_by("-id")
    screening = {
        "screening": screen,
        "screen deep": screen + f"?after={evolved.values_list('pk', flat=True)[99]}",
    }

    rows = []  # (name, times, (queries, their ms))
    queue_times: list[float] = []
    screening_times: list[float] = []
    for group, collected in ((pages, queue_times), (screening, screening_times)):
        for name, url in group.items():
            get = getter(client, url)
            queries = queries_of(get)  # also the warm-up
            times = timed(get, args.repeats)
            collected.extend(times)
            rows.append((name, times, queries))

    # Keep: one draft of the first page per repeat, through the htmx form; undone afterwards.
    acted = draft_ids[: args.repeats + 1]
    act_times: list[float] = []
    act_queries = (0, 0.0)
    try:
        for index, pk in enumerate(acted):
            revision = Instruction.objects.values_list("revision", flat=True).get(pk=pk)
            url = reverse("evolution:instruction_act", args=[slug, pk])
            data = {
                "revision": revision,
                "keep": "1",
                "state": "draft",
                "task_type": "",
                "scene": "",
            }

            def post(url=url, data=data):
                response = client.post(url, data, headers={"HX-Request": "true"})
                assert response.status_code == 200, (url, response.status_code)
                assert b"state-kept" in response.content, response.content[:500]

            if index == 0:
                act_queries = queries_of(post)
            else:
                act_times.extend(timed(post, 1))
    finally:
        Instruction.objects.filter(pk__in=acted).update(
            state=Instruction.State.DRAFT, revision=1, reviewed_by=None, reviewed_at=None
        )
    rows.append(("keep (htmx)", act_times, act_queries))

    naive_first = statistics.median(naive_page(project, 1) for _ in range(5))
    deep_page = int(len(draft_ids) * 0.95) // 50 + 1
    naive_deep = statistics.median(naive_page(project, deep_page) for _ in range(5))

    print(
        f"instructions={count} (to curate {len(draft_ids)}) repeats={args.repeats} "
        "(server time: view, queries, template)"
    )
    for name, times, (queries, sql_ms) in rows:
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        print(
            f"  {name:12s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  max {max(times):6.1f} ms"
            f"  {queries:2d} queries ({sql_ms:.0f} ms of SQL)"
        )
    print(
        f"baseline: Paginator (COUNT(*) + OFFSET) first page {naive_first:.1f} ms, "
        f"page {deep_page} {naive_deep:.1f} ms (queries only)"
    )
    slow = [name for name, times, _ in rows if percentile(times, 0.95) >= 100]
    print("slow pages (p95 >= 100 ms): " + (", ".join(slow) if slow else "none"))
    print(
        f"instruction_queue n={count} p50_ms={statistics.median(queue_times):.1f} "
        f"p95_ms={percentile(queue_times, 0.95):.1f} "
        f"screening_p95_ms={percentile(screening_times, 0.95):.1f} "
        f"act_p95_ms={percentile(act_times, 0.95):.1f} naive_deep_page_ms={naive_deep:.1f}"
    )


if __name__ == "__main__":
    main()
