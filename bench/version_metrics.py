"""The whole metrics pass of an 80,000-sample dataset version: cold, and with cached embeddings.

    python bench/version_metrics.py [--quick] [--embedding tokens|minilm]

Builds 80,000 samples (10,000 with --quick) from the real dialogues of
../shared/corpora/crosswoz (read there, never copied): each prompt a task heading followed by
two customer or agent turns (all prompts distinct: the worst case for the pair pass, since
identical prompts collapse before it), each dialogue a whole CrossWOZ dialogue (its turns
rotated, so that all are distinct, as in a label job), grades, task
types and output formats drawn with a fixed seed. Then runs `metrics_compute`, the code a
version's freeze and the `quality_metrics` command run, twice against PostgreSQL:

  cold    the embedding cache emptied for this model first: tokens, embeddings (written to the
          cache as they are made), the pair pass and community detection;
  cached  again: every vector read from the cache (the target: under 20 s).

Each pass is broken down into its parts (token counts with their cache, vector cache reads and
writes, communities; the rest is mostly embedding). Both passes must give the same metrics.
Uses the database `dialinsight_bench`.
The last line: `version_metrics n=N cold_s=S cached_s=S communities=C richness=R`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from llm_throughput import ENV, ensure_database  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "crosswoz" / "crosswoz_test_300.jsonl"
HEADINGS = [
    "请根据以下对话，总结客户的需求，并给出下一步建议：",
    "阅读对话，提取客户提到的预算、区域和时间，以 JSON 输出：",
    "判断客户的购买意向并说明理由，参考以下两句：",
    "请以表格形式列出对话中的关键信息，例如：",
    "Summarise what the customer asks for, quoting these turns: ",
]
TASKS = ["content-summarization", "information-extraction", "reasoning", "sentiment-analysis"]
FORMATS = ["json", "table", "markdown", "list", "free_text"]


def load_rows(count: int, seed: int = 7):
    from metrics.quality import Row

    records, turns = [], []
    with CORPUS.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            records.append([f"{t['speaker']}: {t['text']}" for t in record["turns"]])
            turns.extend(t["text"] for t in record["turns"])

    def dialogue(n: int) -> str:
        # Each sample its own dialogue, as in a label job (a dialogue is sampled once): a
        # CrossWOZ dialogue rotated by a turn per round through the corpus.
        lines = records[n % len(records)]
        shift = (n // len(records)) % len(lines)
        return "\n".join(lines[shift:] + lines[:shift]) + f"\n#{n}"

    rng = random.Random(seed)
    prompts: set[str] = set()
    while len(prompts) < count:
        prompts.add(rng.choice(HEADINGS) + rng.choice(turns) + rng.choice(turns))
    ordered = sorted(prompts)
    rng.shuffle(ordered)
    grades = ["high"] * 7 + ["medium"] * 2 + ["low"]
    return [
        Row(
            prompt=prompt,
            dialogue=dialogue(n),
            output="",
            label_quality=rng.choice(grades),
            task_type=rng.choice(TASKS),
            output_format=rng.choice(FORMATS),
        )
        for n, prompt in enumerate(ordered)
    ]


class Clock:
    """Seconds spent in each wrapped function, by name."""

    def __init__(self):
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, owner, name: str, label: str):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - started

        setattr(owner, name, timed)
        return original


@contextmanager
def clocked(clock: Clock):
    from metrics import community
    from metrics.services import compute

    targets = [
        (compute, "counts_cached", "token counts"),
        (compute, "_cache_get", "cache reads"),
        (compute, "_cache_put", "cache writes"),
        (community, "communities", "communities"),
    ]
    originals = [(owner, name, clock.wrap(owner, name, label)) for owner, name, label in targets]
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def run(rows, embedding: str) -> tuple[float, dict, dict]:
    from metrics.services.compute import metrics_compute

    clock = Clock()
    with clocked(clock):
        started = time.perf_counter()
        result = metrics_compute(rows, embedding=embedding)
        took = time.perf_counter() - started
    return took, result, dict(clock.spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 samples")
    parser.add_argument("--count", type=int)
    parser.add_argument("--embedding", default="tokens", choices=["tokens", "minilm"])
    args = parser.parse_args()
    count = args.count or (10_000 if args.quick else 80_000)

    os.environ.update(ENV)
    ensure_database()
    import django

    django.setup()
    from curation.llm import tokens
    from metrics.models import EmbeddingCache, TokenCount
    from metrics.services.compute import backend_for

    started = time.perf_counter()
    rows = load_rows(count)
    print(
        f"{count} samples, {len({r.prompt for r in rows})} distinct prompts, built in "
        f"{time.perf_counter() - started:.1f} s from {CORPUS.name}"
    )
    backend = backend_for(args.embedding)
    deleted, _ = EmbeddingCache.objects.filter(model=backend.name).delete()
    counts, _ = TokenCount.objects.filter(tokenizer=tokens.TOKENIZER_NAME).delete()
    print(
        f"embedding {backend.name} (dim {backend.dim}, threshold {backend.default_threshold}); "
        f"{deleted} cached vectors and {counts} cached token counts removed"
    )
    cold_s, cold, cold_parts = run(rows, args.embedding)
    cached_s, cached, cached_parts = run(rows, args.embedding)
    for name, took, parts in (("cold", cold_s, cold_parts), ("cached", cached_s, cached_parts)):
        rest = took - sum(parts.values())
        shown = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in parts.items())
        print(f"  {name:6s} {took:6.1f} s  ({shown}, embedding and the rest {rest:.1f} s)")
    same = {k: v for k, v in cold.items()} == {k: v for k, v in cached.items()}
    print(f"same metrics cold and cached: {same}; cached under 20 s: {cached_s < 20}")
    print(
        f"  richness {cached['richness']:.4f}, communities {cached['communities']}, "
        f"prompt complexity {cached['prompt_complexity']:.1f}, "
        f"input complexity {cached['input_complexity']:.1f}"
    )
    assert same, "the cached pass gave other metrics than the cold one"
    print(
        f"version_metrics n={count} cold_s={cold_s:.1f} cached_s={cached_s:.1f} "
        f"communities={cached['communities']} richness={cached['richness']:.4f}"
    )


if __name__ == "__main__":
    main()
