"""Model evaluation (paper §3.4), as pure computation (no Django): drawing a test set to target
shares, the judge's score parsed and summarised with confidence intervals, and the judge's
reliability (spread on re-judging, order and length bias).

Every figure counts judged items only: an item whose judgement failed is reported as failed,
never counted as a score of zero."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from labeling import sampling

# Two-sided 95 % Student t quantiles by degrees of freedom (1..30, then a few more); above
# the last, the normal 1.96.
_T95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
    17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064,
    25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000,
    120: 1.980,
}  # fmt: skip


def t95(df: int) -> float:
    """The 95 % two-sided t quantile for `df` degrees of freedom (the next lower tabulated df
    between 30 and 120: a slightly wider, never narrower, interval)."""
    if df < 1:
        raise ValueError("at least one degree of freedom")
    if df in _T95:
        return _T95[df]
    if df > 120:
        return 1.960
    return _T95[max(k for k in _T95 if k <= df)]


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    low: float | None  # the 95 % confidence interval of the mean
    high: float | None
    sd: float | None


def summarise(scores: Sequence[float], bounds: tuple[float, float] | None = None) -> Summary:
    """Mean, sample standard deviation and the t-based 95 % interval of the mean, the interval
    cut to `bounds` (the score scale: with few items it can reach past it)."""
    n = len(scores)
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = sum(scores) / n
    if n == 1:
        return Summary(1, mean, None, None, None)
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1))
    half = t95(n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Summary(n, mean, low, high, sd)


def summarise_by(
    rows: Iterable[tuple[str, float]], bounds: tuple[float, float] | None = None
) -> dict[str, Summary]:
    """A summary per key of (key, score) pairs, keys in order of first appearance."""
    groups: dict[str, list[float]] = defaultdict(list)
    for key, score in rows:
        groups[key].append(score)
    return {key: summarise(values, bounds) for key, values in groups.items()}


@dataclass(frozen=True)
class Candidate:
    id: int
    task_type: str
    output_format: str


def draw(
    candidates: Sequence[Candidate],
    count: int,
    *,
    task_shares: Mapping[str, float],
    format_shares: Mapping[str, float] | None = None,
    seed: int = 0,
) -> list[int]:
    """Up to `count` candidate ids, without replacement, seeded. Each (task type, output format)
    cell weighs its task type's share times its format's share among the formats that task
    type has (all formats equal without `format_shares`; a format left out weighs 0); a cell
    without enough candidates gives the rest to the others, in proportion. Ids come back in
    candidate order."""
    cells: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for c in candidates:
        cells[(c.task_type, c.output_format)].append(c)
    formats_of: dict[str, list[str]] = defaultdict(list)
    for task, fmt in cells:
        formats_of[task].append(fmt)

    def format_share(fmt: str) -> float:
        return 1.0 if not format_shares else float(format_shares.get(fmt, 0.0))

    weights: dict[tuple[str, str], float] = {}
    for task, fmt in cells:
        task_share = float(task_shares.get(task, 0.0))
        total = sum(format_share(f) for f in formats_of[task])
        weights[(task, fmt)] = task_share * format_share(fmt) / total if total > 0 else 0.0
    # The label stage's allocation: largest remainder, and what a cell cannot take goes to the
    # others in proportion.
    quotas = sampling.allocate(count, weights, {cell: len(v) for cell, v in cells.items()})
    chosen: list[int] = []
    for cell in sorted(cells):
        n = quotas.get(cell, 0)
        if n:
            rng = random.Random(f"{seed}:{cell[0]}:{cell[1]}")
            chosen.extend(c.id for c in rng.sample(cells[cell], n))
    order = {c.id: i for i, c in enumerate(candidates)}
    return sorted(chosen, key=order.__getitem__)


@dataclass(frozen=True)
class Spread:
    items: int  # items re-judged
    judgements: int  # judgements compared (the first one and the repeats)
    mean_sd: float | None  # mean over items of the scores' standard deviation
    mean_range: float | None  # mean over items of max - min
    identical: float | None  # share of items every judgement of which gave the same score


def spread(scores_per_item: Sequence[Sequence[float]]) -> Spread:
    """How much the judge's score moves when the same item is judged again."""
    groups = [list(s) for s in scores_per_item if len(s) >= 2]
    if not groups:
        return Spread(0, 0, None, None, None)
    sds, ranges, same = [], [], 0
    for g in groups:
        m = sum(g) / len(g)
        sds.append(math.sqrt(sum((x - m) ** 2 for x in g) / (len(g) - 1)))
        ranges.append(max(g) - min(g))
        same += max(g) == min(g)
    return Spread(
        items=len(groups),
        judgements=sum(len(g) for g in groups),
        mean_sd=sum(sds) / len(sds),
        mean_range=sum(ranges) / len(ranges),
        identical=same / len(groups),
    )


def order_bias(pairs: Sequence[tuple[float, float]]) -> dict[str, float | int | None]:
    """(score with the reference shown first, score with the answer shown first) per item:
    the mean difference (answer-first minus reference-first), the mean absolute difference and
    the share of items whose score changed."""
    if not pairs:
        return {"items": 0, "mean_shift": None, "mean_abs_shift": None, "changed": None}
    diffs = [b - a for a, b in pairs]
    return {
        "items": len(pairs),
        "mean_shift": sum(diffs) / len(diffs),
        "mean_abs_shift": sum(abs(d) for d in diffs) / len(diffs),
        "changed": sum(d != 0 for d in diffs) / len(diffs),
    }


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r, or None when either side does not vary (or fewer than 3 pairs)."""
    n = len(xs)
    if n != len(ys):
        raise ValueError("xs and ys differ in length")
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / math.sqrt(sxx * syy)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # ties share their mean rank
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rho (Pearson's r of the ranks, ties at their mean rank)."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    return pearson(_ranks(xs), _ranks(ys))


def length_bias(answer_lengths: Sequence[int], scores: Sequence[float]) -> dict:
    """Does a longer answer get a higher score? Spearman's rho of answer length and score."""
    return {"items": len(scores), "rho": spearman([float(x) for x in answer_lengths], scores)}
