"""Weighted, seeded sampling of dialogues for a label job (paper §2.3: dialogues are sampled with
weights by scene, source and task type).

Pure Python (no Django) so that it can be tested without a database and reused by commands.

* `allocate` splits a number of samples across keys in proportion to weights, within what each
  key has available (largest-remainder rounding, exact arithmetic).
* `priority` is the Efraimidis–Spirakis A-ES key of one dialogue; taking the highest keys is
  weighted sampling without replacement.
* `sample` allocates across scenes, then picks within each scene by source weight.
* `assign_tasks` draws the task types of a job.
* `realised_shares` / `requested_shares` show the realised distribution beside the requested one.

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
from fractions import Fraction
from typing import TypeVar

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


def sample(
    population: list[tuple[int, K, S]],
    n: int,
    *,
    scene_weights: Mapping[K, float],
    source_weights: Mapping[S, float],
    seed: int | str,
) -> list[int]:
    """Pick `n` dialogue ids from rows (dialogue_id, scene_key, source_key).

    `n` is split across scenes with `allocate` (scene weights, dialogues per scene); within a
    scene the dialogues with the highest `priority(seed, id, source_weight)` are taken. Scenes
    and sources that the weight tables do not mention (None included) weigh 1.0; dialogues of a
    weight-0 scene or source are never picked.

    Ids come back grouped by scene (scenes sorted by str), highest priority first within a scene.
    """
    _check_weights(scene_weights)
    _check_weights(source_weights)

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

    by_scene: dict[K, list[tuple[float, int]]] = {}
    for dialogue_id, (scene, source) in rows.items():
        source_weight = source_weights.get(source, DEFAULT_WEIGHT)
        if source_weight == 0:
            continue
        key = priority(seed, dialogue_id, source_weight)
        by_scene.setdefault(scene, []).append((key, dialogue_id))

    # Sorting the scenes first makes the result independent of the population's order.
    scenes = sorted(by_scene, key=str)
    counts = allocate(
        n,
        {scene: scene_weights.get(scene, DEFAULT_WEIGHT) for scene in scenes},
        {scene: len(by_scene[scene]) for scene in scenes},
    )

    picked: list[int] = []
    for scene in scenes:
        # The id breaks ties between equal keys (possible when u ** (1/w) underflows).
        ranked = sorted(by_scene[scene], key=lambda pair: (-pair[0], pair[1]))
        picked.extend(dialogue_id for _, dialogue_id in ranked[: counts[scene]])
    return picked


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
