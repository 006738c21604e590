"""The paper's quality metrics of a dataset (§3.3), as pure computation (no Django):

- prompt complexity = mean prompt tokens;
- input complexity = mean over samples of (1/3 dialogue tokens + 2/3 prompt tokens);
- richness = (sum over communities of min(top_n, size)) / samples, the communities found by
  cosine-similarity community detection over the prompts' embeddings (with top_n = 1 that is
  communities / samples, the paper's definition); redundancy = 1 - richness;
- label quality = shares of high / medium / low among the graded samples;
- the task-type and output-format distributions.

The tokenizer, the embedding and the community detection are passed in, so the management
command, a version's freeze and the tests run exactly this code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

GRADES = ("high", "medium", "low")


@dataclass(frozen=True)
class Row:
    prompt: str
    dialogue: str
    output: str = ""
    label_quality: str | None = None
    task_type: str | None = None
    output_format: str | None = None


def shares(values: Sequence[str | None]) -> dict[str, float]:
    """Each value's share of the non-empty values, largest first (ties by name)."""
    counted = Counter(v for v in values if v)
    total = sum(counted.values())
    ordered = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))
    return {name: n / total for name, n in ordered} if total else {}


def richness(community_sizes: Sequence[int], top_n: int, samples: int) -> float:
    if samples == 0:
        return 0.0
    return sum(min(top_n, size) for size in community_sizes) / samples


def keep_top_n(
    communities: Sequence[Sequence[int]], top_n: int, rank: Callable[[int], tuple]
) -> list[int]:
    """Diversity selection: the best `top_n` members of each community by `rank` (smaller is
    better), as sorted indices."""
    kept: list[int] = []
    for members in communities:
        kept.extend(sorted(members, key=rank)[:top_n])
    return sorted(kept)


def compute(
    rows: Sequence[Row],
    *,
    count_tokens: Callable[[list[str]], list[int]],
    embed: Callable[[list[str]], np.ndarray],
    find_communities: Callable[[np.ndarray, float], list[list[int]]],
    threshold: float,
    top_n: int = 1,
) -> dict:
    if top_n < 1:
        raise ValueError("top_n must be at least 1")
    n = len(rows)
    prompts = [r.prompt for r in rows]
    prompt_tokens = np.asarray(count_tokens(prompts), dtype=np.float64)
    dialogue_tokens = np.asarray(count_tokens([r.dialogue for r in rows]), dtype=np.float64)
    found: list[list[int]] = find_communities(embed(prompts), threshold) if n else []
    rich = richness([len(c) for c in found], top_n, n)
    graded = shares([r.label_quality for r in rows if r.label_quality in GRADES])
    return {
        "samples": n,
        "prompt_complexity": float(prompt_tokens.mean()) if n else 0.0,
        "input_complexity": float((dialogue_tokens / 3 + prompt_tokens * 2 / 3).mean())
        if n
        else 0.0,
        "richness": rich,
        "redundancy": 1.0 - rich if n else 0.0,
        "communities": len(found),
        "label_quality": {g: graded.get(g, 0.0) for g in GRADES},
        "task_types": shares([r.task_type for r in rows]),
        "output_formats": shares([r.output_format for r in rows]),
        "threshold": threshold,
        "top_n": top_n,
    }
