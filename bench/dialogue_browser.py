"""The dialogue browser at a million dialogues: server time of its pages.

    python bench/dialogue_browser.py [--quick]

Fills a project with 1,000,000 dialogues (100,000 with --quick) straight in SQL, then renders
the Dialogues screen as a lead through Django's test client: the first page, each filter (scene,
source, service role, a rare and a common text), and a page deep in the list. Side by side, the
baseline: the same list paged the naive way (Django's Paginator: COUNT(*) and OFFSET). Needs
PostgreSQL on 127.0.0.1; uses the database `dialinsight_bench`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from llm_throughput import ENV, ensure_database  # noqa: E402

FILL_SQL = """
INSERT INTO curation_dialogue
    (project_id, external_id, scene_id, source_id, service_role_id, turns, metadata,
     search_text, content_hash, redaction_counts, created_at)
SELECT %(project)s, 'b' || n,
       (%(scenes)s)[1 + n %% cardinality(%(scenes)s)],
       (%(sources)s)[1 + n %% cardinality(%(sources)s)],
       CASE WHEN n %% 7 = 0 THEN (%(roles)s)[1 + n %% cardinality(%(roles)s)] END,
       jsonb_build_array(
         jsonb_build_object('speaker', '经纪人', 'role', 'agent', 'text',
                            '您好，望京' || (n %% 500) || '号院的两居室还在，报价'
                            || (n %% 900) || '万'),
         jsonb_build_object('speaker', '客户', 'role', 'customer',
                            'text', '我想看看第' || n || '套房子，周末方便吗')),
       '{}'::jsonb,
       '您好，望京' || (n %% 500) || '号院的两居室还在，报价' || (n %% 900) || '万' || chr(10) ||
         '我想看看第' || n || '套房子，周末方便吗',
       md5(n::text) || md5((n + 1)::text), '{}'::jsonb, now()
FROM generate_series(%(start)s, %(end)s) AS n
"""


def fill(project, count: int) -> None:
    from django.db import connection

    from curation.models import Scene, ServiceRole, SourceType

    ids = {
        "scenes": list(Scene.objects.filter(project=project).values_list("pk", flat=True)),
        "sources": list(SourceType.objects.filter(project=project).values_list("pk", flat=True)),
        "roles": list(ServiceRole.objects.filter(project=project).values_list("pk", flat=True)),
    }
    with connection.cursor() as cursor:
        for start in range(0, count, 200_000):
            cursor.execute(
                FILL_SQL,
                {
                    "project": project.pk,
                    "start": start,
                    "end": min(start + 200_000, count) - 1,
                    **ids,
                },
            )
        cursor.execute("ANALYZE curation_dialogue")


def timed(client, url: str, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def naive_page(project, page: int) -> float:
    """The baseline: COUNT(*) and OFFSET, as Django's Paginator pages a queryset."""
    from django.core.paginator import Paginator

    from curation.selectors import dialogue_search

    started = time.perf_counter()
    paginator = Paginator(dialogue_search(project=project), 50)
    list(paginator.page(min(page, paginator.num_pages)))
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 dialogues")
    parser.add_argument("--count", type=int)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    count = args.count or (100_000 if args.quick else 1_000_000)

    os.environ.update(ENV)
    ensure_database()
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from curation.models import Dialogue, Membership, Project, Role
    from curation.services.taxonomy import taxonomy_seed_project
    from tests.factories import UserFactory

    setup_test_environment()
    slug = f"bench-browser-{count}"
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        project = Project.objects.create(slug=slug, name="Bench browser")
        taxonomy_seed_project(project=project)
    have = Dialogue.objects.filter(project=project).count()
    if have != count:
        Dialogue.objects.filter(project=project).delete()
        started = time.monotonic()
        fill(project, count)
        print(f"filled {count} dialogues in {time.monotonic() - started:.1f} s")
    lead = UserFactory(username="bench-lead")
    Membership.objects.get_or_create(project=project, user=lead, defaults={"role": Role.LEAD})
    client = Client()
    client.force_login(lead)
    base = f"/p/{slug}/dialogues/"
    last = Dialogue.objects.filter(project=project).order_by("id").values_list("pk", flat=True)
    deep = last[count // 2]
    pages = {
        "first page": base,
        "scene": base + "?scene=renting",
        "scene+source": base + "?scene=renting&source=im-message",
        "service role": base + "?role=home-designer",
        "text, rare": base + "?q=第777777套",
        "text, common": base + "?q=两居室",
        "deep page": base + f"?before={deep}",
    }
    rows = []
    everything = []
    for name, url in pages.items():
        times = timed(client, url, args.repeats)
        everything.extend(times)
        rows.append((name, statistics.median(times), max(times)))
    naive_first = statistics.median(naive_page(project, 1) for _ in range(5))
    naive_deep = statistics.median(naive_page(project, count // 100) for _ in range(5))
    print(f"dialogues={count} repeats={args.repeats} (server time: view, queries, template)")
    for name, p50, worst in rows:
        print(f"  {name:14s} p50 {p50:7.1f} ms   max {worst:7.1f} ms")
    print(
        f"baseline: Paginator (COUNT(*) + OFFSET) first page {naive_first:.1f} ms, "
        f"page {count // 100} {naive_deep:.1f} ms (queries only)"
    )
    ordered = sorted(everything)
    p50 = statistics.median(ordered)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(f"dialogue_browser p50_ms={p50:.1f} p95_ms={p95:.1f} naive_deep_page_ms={naive_deep:.1f}")


if __name__ == "__main__":
    main()
