"""Weighted, seeded sampling of dialogues for a label job (paper §2.3: dialogues are sampled with
weights by scene, source and task type).

Pure Python (no Django) so that it can be tested without a database and reused by commands.

* `allocate` splits a number of samples across keys in proportion to weights, within what each
  key has available (largest-remainder rounding, exact arithmetic).
* `draw` allocates across scenes, then within each scene across sources the same way, and
  picks uniformly without replacement within each (scene, source) cell; it reports the
  requested and realised counts and the cells that had fewer dialogues than their share (what
  such a cell lacks goes to the scene's other sources, in proportion to their weights).
  `sample` is `draw` giving the ids only. Source weights are therefore target shares: 29% asked
  of call recordings gives 29% call recordings, however many more of them there are.
* `priority` is the Efraimidis–Spirakis A-ES key of one dialogue (with weight 1.0 a uniform,
  seeded key: the cells are drawn by the highest keys).
* `assign_tasks` draws the task types of a job.
* `realised_shares` / `requested_shares` show the realised distribution beside the requested one.

A dialogue without a scene or a source (key None) is a group of its own, like any key that the
weight tables do not mention: it weighs DEFAULT_WEIGHT unless the table gives it a weight
(0 excludes it).

Everything is reproducible: the same input and seed give the same output in every process
(hashes come from hashlib, never from Python's salted `hash()`), whatever the input order.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import random
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)
S = TypeVar("S", bound=Hashable)
T = TypeVar("T", bound=Hashable)

# A scene or source that the weight tables do not mention (including None) weighs this much.
DEFAULT_WEIGHT = 1.0


def _check_weights(weights: Mapping[K, float]) -> None:
    for key, weight in weights.items():
        if not isinstance(weight, numbers.Real) or isinstance(weight, bool):
            raise ValueError(f"weight of {key!r} must be a number, got {weight!r}")
        if not math.isfinite(weight):
            raise ValueError(f"weight of {key!r} must be finite, got {weight!r}")
        if weight < 0:
            raise ValueError(f"weight of {key!r} must not be negative, got {weight!r}")


def _largest_remainder(seats: int, weights: dict[K, Fraction], order: list[K]) -> dict[K, int]:
    """Split `seats` in proportion to positive `weights`: floors first, then one more seat each
    to the largest remainders; equal remainders go to the key that comes first in `order`."""
    total = sum(weights.values())
    quotas = {key: seats * weight / total for key, weight in weights.items()}
    result = {key: math.floor(quota) for key, quota in quotas.items()}
    leftover = seats - sum(result.values())
    position = {key: index for index, key in enumerate(order)}
    by_remainder = sorted(weights, key=lambda key: (-(quotas[key] - result[key]), position[key]))
    for key in by_remainder[:leftover]:
        result[key] += 1
    return result


def allocate(n: int, weights: Mapping[K, float], available: Mapping[K, int]) -> dict[K, int]:
    """Split `n` samples across the keys of `weights` in proportion to the weights, giving no key
    more than `available[key]` (a key missing from `available` has nothing available).

    What a key cannot take is shared among the others in proportion to their weights, as often
    as needed. Keys with weight 0 get 0. The result has every key of `weights`, in that order,
    and sums to min(n, total available among keys with a positive weight).
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"n must be an integer, got {n!r}")
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    _check_weights(weights)
    for key, count in available.items():
        if count < 0:
            raise ValueError(f"available count of {key!r} must not be negative, got {count}")

    # Ties go to the key whose str() sorts first; the index keeps keys with equal str() apart.
    keys = list(weights)
    order = [key for _, _, key in sorted((str(key), index, key) for index, key in enumerate(keys))]

    result: dict[K, int] = {key: 0 for key in keys}
    capacity = {key: available.get(key, 0) for key in keys}
    # Fractions: float quotas would make exact ties (2.5 vs 2.5) depend on rounding noise.
    open_keys = {
        key: Fraction(weight) for key, weight in weights.items() if weight > 0 and capacity[key] > 0
    }
    remaining = min(n, sum(capacity[key] for key in open_keys))

    while remaining > 0:
        total = sum(open_keys.values())
        full = [
            key for key, weight in open_keys.items() if remaining * weight / total >= capacity[key]
        ]
        if not full:
            # Every ideal share fits, and rounding up a share never passes the capacity (a
            # share below an integer capacity rounds up to at most that capacity).
            for key, count in _largest_remainder(remaining, open_keys, order).items():
                result[key] += count
            break
        # A key whose share reaches its capacity takes all it has; its excess goes back into
        # the pool. The others' shares only grow, so those capped now would be capped anyway.
        for key in full:
            result[key] = capacity[key]
            remaining -= capacity[key]
            del open_keys[key]
    return result


def priority(seed: int | str, item_id: int, weight: float) -> float:
    """The A-ES key u ** (1 / weight) of one item: the items with the highest keys are a
    weighted sample without replacement (Efraimidis & Spirakis, 2006).

    u in (0, 1) comes from blake2b of "seed:item_id", so it is the same in every process and
    independent of the order in which items are seen.
    """
    if not isinstance(weight, numbers.Real) or not math.isfinite(weight) or weight <= 0:
        raise ValueError(f"weight must be a positive number, got {weight!r}")
    digest = hashlib.blake2b(f"{seed}:{item_id}".encode(), digest_size=8).digest()
    # 52 bits so that (2x + 1) / 2**53 is exact in a float and lies strictly inside (0, 1).
    bits = int.from_bytes(digest, "big") >> 12
    u = (2 * bits + 1) / 2**53
    return u ** (1.0 / weight)


@dataclass(frozen=True)
class Tally:
    """One scene or source of a draw."""

    requested: float  # its weight over the weights of every key in play
    asked: int  # what the weights ask of it (for a source, summed over the scenes)
    had: int  # its dialogues in the population
    count: int  # its dialogues picked


@dataclass(frozen=True)
class Shortfall:
    """A (scene, source) cell that had fewer dialogues than its share of the scene."""

    scene: Any
    source: Any
    asked: int
    had: int

    @property
    def moved(self) -> int:
        """What the scene's other sources took in its place."""
        return self.asked - self.had


@dataclass(frozen=True)
class Draw:
    """What `draw` picked, and how that compares with what the weights asked."""

    ids: list[int]
    scenes: dict[Any, Tally] = field(default_factory=dict)
    sources: dict[Any, Tally] = field(default_factory=dict)
    # By scene, then source (both in str order).
    short: list[Shortfall] = field(default_factory=list)


def _unique_rows(population: list[tuple[int, K, S]]) -> dict[int, tuple[K, S]]:
    # The same row listed twice (a join, say) counts once; one id in two scenes is an error,
    # because which row won would depend on the input order.
    rows: dict[int, tuple[K, S]] = {}
    for dialogue_id, scene, source in population:
        if dialogue_id in rows and rows[dialogue_id] != (scene, source):
            raise ValueError(
                f"dialogue {dialogue_id} appears with two scene/source pairs: "
                f"{rows[dialogue_id]!r} and {(scene, source)!r}"
            )
        rows[dialogue_id] = (scene, source)
    return rows


def _asked(n: int, weights: Mapping[K, float]) -> dict[K, int]:
    """What the weights ask of each key, as if every key had plenty."""
    return allocate(n, weights, {key: n for key in weights})


def draw(
    population: list[tuple[int, K, S]],
    n: int,
    *,
    scene_weights: Mapping[K, float],
    source_weights: Mapping[S, float],
    seed: int | str,
) -> Draw:
    """Pick `n` dialogue ids from rows (dialogue_id, scene_key, source_key).

    `n` is split across scenes with `allocate` (scene weights; what a scene has counts only its
    dialogues of sources with a positive weight). Each scene's count is split across sources
    the same way (source weights, dialogues of the scene per source), so what a source lacks
    in a scene goes to that scene's other sources in proportion to their weights. Within each
    (scene, source) cell the dialogues with the highest `priority(seed, id, 1.0)` are taken: a
    uniform, seeded draw without replacement. Keys that the weight tables do not mention (None
    included) weigh DEFAULT_WEIGHT, and a source the table does not mention is asked for a share
    only of the scenes in which it has dialogues; dialogues of a weight-0 scene or source are
    never picked.

    The Draw also tells, for each scene and source, its requested share (its weight over all
    the weights in play), what the weights asked of it, what it had and what was picked, and
    which (scene, source) cells had fewer dialogues than they were asked for.

    Ids come back grouped by scene, then by source (both sorted by str), highest key first
    within a cell.
    """
    _check_weights(scene_weights)
    _check_weights(source_weights)
    rows = _unique_rows(population)

    cells: dict[K, dict[S, list[int]]] = {}
    for dialogue_id, (scene, source) in rows.items():
        cells.setdefault(scene, {}).setdefault(source, []).append(dialogue_id)

    # Sorted keys make the result independent of the population's order.
    scenes = sorted(set(scene_weights) | set(cells), key=str)
    scene_weight = {scene: scene_weights.get(scene, DEFAULT_WEIGHT) for scene in scenes}
    all_sources = sorted(
        set(source_weights) | {source for by in cells.values() for source in by}, key=str
    )
    source_weight = {source: source_weights.get(source, DEFAULT_WEIGHT) for source in all_sources}

    drawable = {
        scene: sum(
            len(ids) for source, ids in cells.get(scene, {}).items() if source_weight[source] > 0
        )
        for scene in scenes
    }
    scene_counts = allocate(n, scene_weight, drawable)
    scene_asked = _asked(n, scene_weight)

    picked: list[int] = []
    short: list[Shortfall] = []
    source_asked = dict.fromkeys(all_sources, 0)
    source_counts = dict.fromkeys(all_sources, 0)
    for scene in scenes:
        by_source = cells.get(scene, {})
        # Every source of the weight table is asked for its share of every scene, even one
        # without a dialogue there (that shortfall is shown and goes to the scene's other
        # sources); a source the table does not name (None, say) only where it has dialogues.
        sources = [s for s in all_sources if s in source_weights or s in by_source]
        weights = {source: source_weight[source] for source in sources}
        had = {source: len(by_source.get(source, ())) for source in sources}
        counts = allocate(scene_counts[scene], weights, had)
        asked = _asked(scene_counts[scene], weights)
        for source in sources:
            source_asked[source] += asked[source]
            source_counts[source] += counts[source]
            if asked[source] > had[source]:
                short.append(Shortfall(scene, source, asked[source], had[source]))
            if counts[source]:
                # The id breaks ties between equal keys.
                ranked = sorted(by_source[source], key=lambda i: (-priority(seed, i, 1.0), i))
                picked.extend(ranked[: counts[source]])

    scene_requested = requested_shares(scene_weight)
    source_requested = requested_shares(source_weight)
    return Draw(
        ids=picked,
        scenes={
            scene: Tally(
                requested=scene_requested[scene],
                asked=scene_asked[scene],
                had=sum(len(ids) for ids in cells.get(scene, {}).values()),
                count=scene_counts[scene],
            )
            for scene in scenes
        },
        sources={
            source: Tally(
                requested=source_requested[source],
                asked=source_asked[source],
                had=sum(len(by.get(source, ())) for by in cells.values()),
                count=source_counts[source],
            )
            for source in all_sources
        },
        short=short,
    )


def sample(
    population: list[tuple[int, K, S]],
    n: int,
    *,
    scene_weights: Mapping[K, float],
    source_weights: Mapping[S, float],
    seed: int | str,
) -> list[int]:
    """The ids of `draw` (see there)."""
    return draw(
        population, n, scene_weights=scene_weights, source_weights=source_weights, seed=seed
    ).ids


def assign_tasks(n: int, task_weights: Mapping[T, float], seed: int | str) -> list[T]:
    """`n` task types whose counts follow the weights (see `allocate`), in a seeded shuffle."""
    _check_weights(task_weights)
    if n > 0 and not any(weight > 0 for weight in task_weights.values()):
        raise ValueError("at least one task type needs a positive weight")
    counts = allocate(n, task_weights, {task: n for task in task_weights})
    # Build the list in a fixed order so the shuffle does not depend on the dict's order.
    tasks: list[T] = []
    for task in sorted(counts, key=str):
        tasks.extend([task] * counts[task])
    random.Random(str(seed)).shuffle(tasks)
    return tasks


def realised_shares(keys: list[K]) -> dict[K, float]:
    """Share of each distinct key among `keys` (sorted by str); {} when there are none."""
    if not keys:
        return {}
    counts = Counter(keys)
    return {key: counts[key] / len(keys) for key in sorted(counts, key=str)}


def requested_shares(weights: Mapping[K, float]) -> dict[K, float]:
    """The weights normalised to sum to 1 (all 0.0 when no weight is positive)."""
    _check_weights(weights)
    total = sum(weights.values())
    if total == 0:
        return {key: 0.0 for key in weights}
    return {key: weight / total for key, weight in weights.items()}
