"""labeling.sampling: allocation, A-ES priorities, scene/source sampling, task assignment."""

import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from labeling.sampling import (
    DEFAULT_WEIGHT,
    Shortfall,
    allocate,
    assign_tasks,
    draw,
    priority,
    realised_shares,
    requested_shares,
    sample,
)

PLENTY = {"a": 100, "b": 100, "c": 100}


# --- allocate ---------------------------------------------------------------------------------


def test_allocate_largest_remainder_with_tie_to_first_key():
    # Quotas 10 * 1/4 = 2.5, 2.5, 10 * 2/4 = 5. Floors 2 + 2 + 5 = 9, one seat left.
    # Remainders a .5, b .5, c 0: a and b tie, "a" sorts first -> a gets it.
    assert allocate(10, {"a": 1, "b": 1, "c": 2}, PLENTY) == {"a": 3, "b": 2, "c": 5}


def test_allocate_gives_leftover_seats_to_largest_remainders():
    # Quotas 7/6 = 1.17, 14/6 = 2.33, 21/6 = 3.5. Floors 1 + 2 + 3 = 6, one seat left,
    # the largest remainder is c's .5.
    assert allocate(7, {"a": 1, "b": 2, "c": 3}, PLENTY) == {"a": 1, "b": 2, "c": 4}
    # Quotas 8/6 = 1.33, 16/6 = 2.67, 4. Floors 1 + 2 + 4 = 7, b's .67 beats a's .33.
    assert allocate(8, {"a": 1, "b": 2, "c": 3}, PLENTY) == {"a": 1, "b": 3, "c": 4}


def test_allocate_breaks_ties_by_str_of_the_key_not_by_value():
    # str(10) = "10" sorts before str(9) = "9".
    assert allocate(1, {9: 1.0, 10: 1.0}, {9: 5, 10: 5}) == {9: 0, 10: 1}
    # ...and not by the order of the dict either.
    assert allocate(1, {"b": 1.0, "a": 1.0}, {"a": 5, "b": 5}) == {"b": 0, "a": 1}


def test_allocate_exact_ties_are_not_spoiled_by_float_rounding():
    # 0.1 and 0.2 are not exact in binary; quotas 3 * 0.1/0.3 and ... must still be 1, 2 after
    # floors, not 0.999.. -> 0. With exact fractions: 3 * (1/3) = 1, 3 * (2/3) = 2.
    assert allocate(3, {"a": 0.1, "b": 0.2}, PLENTY) == {"a": 1, "b": 2}


def test_allocate_caps_a_key_and_redistributes_by_weight():
    # a's share 2.5 exceeds its single dialogue: a = 1, the other 9 go to b:c = 1:2 -> 3, 6.
    available = {"a": 1, "b": 100, "c": 100}
    assert allocate(10, {"a": 1, "b": 1, "c": 2}, available) == {"a": 1, "b": 3, "c": 6}


def test_allocate_redistributes_repeatedly():
    # Round 1: shares 2, 2, 6; c has 2 -> c = 2, 8 left.
    # Round 2: a and b share 8 -> 4 each; a has 3 -> a = 3, 5 left.
    # Round 3: b takes 5.
    available = {"a": 3, "b": 10, "c": 2}
    assert allocate(10, {"a": 1, "b": 1, "c": 3}, available) == {"a": 3, "b": 5, "c": 2}


def test_allocate_never_exceeds_what_is_available():
    # 20 wanted, only 1 + 2 + 4 = 7 available among positive weights; d (weight 0) is ignored.
    available = {"a": 1, "b": 2, "c": 4, "d": 50}
    result = allocate(20, {"a": 1, "b": 1, "c": 1, "d": 0}, available)
    assert result == {"a": 1, "b": 2, "c": 4, "d": 0}


def test_allocate_zero_weights_get_nothing():
    assert allocate(5, {"a": 0, "b": 1}, {"a": 9, "b": 2}) == {"a": 0, "b": 2}
    assert allocate(5, {"a": 0, "b": 0}, {"a": 9, "b": 9}) == {"a": 0, "b": 0}


def test_allocate_key_missing_from_available_has_nothing():
    assert allocate(4, {"a": 1, "b": 1}, {"b": 10}) == {"a": 0, "b": 4}


def test_allocate_zero_samples():
    assert allocate(0, {"a": 1, "b": 2}, PLENTY) == {"a": 0, "b": 0}


@pytest.mark.parametrize(
    ("n", "weights", "message"),
    [
        (-1, {"a": 1}, "n must not be negative"),
        (3, {"a": 1, "b": -0.5}, "weight of 'b' must not be negative"),
        (3, {"a": float("nan")}, "must be finite"),
    ],
)
def test_allocate_rejects_bad_input(n, weights, message):
    with pytest.raises(ValueError, match=message):
        allocate(n, weights, PLENTY)


def test_allocate_invariants_on_random_cases():
    rng = random.Random(20240601)
    for _ in range(500):
        keys = [f"k{i}" for i in range(rng.randint(1, 6))]
        weights = {key: rng.choice([0, 0.5, 1, 2, 3.7]) for key in keys}
        available = {key: rng.randint(0, 30) for key in keys}
        n = rng.randint(0, 80)
        result = allocate(n, weights, available)

        positive = sum(available[key] for key in keys if weights[key] > 0)
        assert sum(result.values()) == min(n, positive)
        for key in keys:
            assert 0 <= result[key] <= available[key]
            if weights[key] == 0:
                assert result[key] == 0
        # Without capping every key is within one seat of its exact share.
        total_weight = sum(weights.values())
        if total_weight and all(
            n * weights[key] / total_weight <= available[key] for key in keys if weights[key]
        ):
            for key in keys:
                assert abs(result[key] - n * weights[key] / total_weight) < 1


# --- priority ---------------------------------------------------------------------------------


def test_priority_is_in_open_unit_interval_and_deterministic():
    keys = [priority(42, item, 1.0) for item in range(1000)]
    assert all(0 < key < 1 for key in keys)
    assert keys == [priority(42, item, 1.0) for item in range(1000)]
    assert len(set(keys)) == 1000
    # Roughly uniform: the mean of 1000 uniforms is 0.5 +- 0.03 (more than 3 sigma).
    assert abs(sum(keys) / len(keys) - 0.5) < 0.03


def test_priority_is_u_to_the_power_one_over_weight():
    u = priority("job-7", 15, 1.0)
    assert priority("job-7", 15, 2.0) == pytest.approx(u**0.5)
    assert priority("job-7", 15, 0.25) == pytest.approx(u**4)
    # An int seed and its string spelling hash the same text.
    assert priority(7, 15, 1.0) == priority("7", 15, 1.0)
    assert priority(7, 15, 1.0) != priority(8, 15, 1.0)


@pytest.mark.parametrize("weight", [0, -1.0, float("inf")])
def test_priority_needs_a_positive_weight(weight):
    with pytest.raises(ValueError, match="weight must be a positive number"):
        priority(1, 1, weight)


def test_priority_is_the_same_in_another_process_with_another_hash_seed():
    code = "from labeling.sampling import priority; print(repr(priority('s', 12345, 3.0)))"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert float(output) == priority("s", 12345, 3.0)


# --- sample -----------------------------------------------------------------------------------


def small_population():
    # 6 in "refund", 3 in "delivery", 3 without a scene.
    rows = [(i, "refund", "phone" if i % 2 else "chat") for i in range(1, 7)]
    rows += [(i, "delivery", "chat") for i in range(7, 10)]
    rows += [(i, None, None) for i in range(10, 13)]
    return rows


def test_sample_splits_by_scene_then_by_source_and_draws_uniformly_within_a_cell():
    # Changed with issue 13: sources are allocated within a scene like scenes (largest
    # remainder), no longer ranked by an A-ES key weighted by source.
    population = small_population()
    scene_weights = {"refund": 2.0, "delivery": 1.0}  # None is missing -> weight 1.0
    source_weights = {"phone": 3.0, "chat": 1.0}
    picked = sample(
        population, 4, scene_weights=scene_weights, source_weights=source_weights, seed=1
    )

    # allocate(4, {None: 1, delivery: 1, refund: 2}): quotas 1, 1, 2 -> exact.
    scene_of = {i: scene for i, scene, _ in population}
    assert Counter(scene_of[i] for i in picked) == {"refund": 2, "delivery": 1, None: 1}

    # refund's 2 by phone 3 : chat 1 -> quotas 1.5, 0.5, a tie that "chat" wins (sorts first).
    # Within a cell the highest uniform keys priority(seed, id, 1.0) win.
    def best(scene, source, count):
        rows = [i for i, sc, so in population if sc == scene and so == source]
        return sorted(rows, key=lambda i: priority(1, i, 1.0), reverse=True)[:count]

    # Scenes in str order ("None" < "delivery" < "refund"), then sources in str order.
    expected = best(None, None, 1) + best("delivery", "chat", 1)
    expected += best("refund", "chat", 1) + best("refund", "phone", 1)
    assert picked == expected


def test_sample_is_deterministic_and_independent_of_population_order():
    population = [(i, f"scene{i % 5}", f"src{i % 3}") for i in range(1, 501)]
    kwargs = {"scene_weights": {"scene0": 3, "scene1": 1}, "source_weights": {"src0": 2}}
    first = sample(population, 60, seed="job-1", **kwargs)
    shuffled = population[:]
    random.Random(3).shuffle(shuffled)
    assert sample(shuffled, 60, seed="job-1", **kwargs) == first
    assert sample(list(reversed(population)), 60, seed="job-1", **kwargs) == first
    assert sample(population, 60, seed="job-2", **kwargs) != first


def test_sample_never_repeats_an_id_and_collapses_repeated_rows():
    population = [(i, "s", "x") for i in range(50)] * 2  # every row twice, as a join might give
    picked = sample(population, 80, scene_weights={}, source_weights={}, seed=0)
    assert len(picked) == len(set(picked)) == 50


def test_sample_rejects_an_id_in_two_scenes():
    with pytest.raises(ValueError, match="dialogue 3 appears with two scene/source pairs"):
        sample([(3, "a", None), (3, "b", None)], 1, scene_weights={}, source_weights={}, seed=0)


def test_sample_skips_zero_weight_scenes_and_sources():
    population = [(i, "kept" if i < 20 else "dropped", "ok" if i % 2 else "bad") for i in range(40)]
    picked = sample(
        population, 100, scene_weights={"dropped": 0}, source_weights={"bad": 0}, seed=9
    )
    # Only odd ids below 20 are eligible: 10 of them, all taken.
    assert sorted(picked) == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]


def test_sample_of_nothing():
    assert sample([], 5, scene_weights={}, source_weights={}, seed=0) == []
    assert sample([(1, "a", "b")], 0, scene_weights={}, source_weights={}, seed=0) == []


def test_source_weights_bias_the_choice():
    # One scene, 10,000 from each source, 200 picked. With A-ES and a small sampling fraction
    # the chance of being picked is nearly proportional to the weight: 3/(3+1) = 75% expected
    # from "phone"; 60% is far below that (the standard deviation is about 3 points).
    population = [(i, "s", "phone" if i % 2 else "chat") for i in range(20_000)]
    picked = sample(
        population, 200, scene_weights={}, source_weights={"phone": 3.0, "chat": 1.0}, seed=11
    )
    phone = sum(1 for i in picked if i % 2)
    assert phone >= 120
    # Without source weights the two sources come out about even.
    even = sample(population, 200, scene_weights={}, source_weights={}, seed=11)
    assert 70 <= sum(1 for i in even if i % 2) <= 130


def test_realised_scene_shares_match_requested_on_a_large_population():
    rng = random.Random(5)
    scenes = ["家电维修", "房屋租赁", "快递物流", "银行信用卡"]
    population = [
        (i, rng.choice(scenes), rng.choice(["电话", "在线", "邮件"])) for i in range(100_000)
    ]
    scene_weights = {"家电维修": 1, "房屋租赁": 2, "快递物流": 3, "银行信用卡": 4}
    picked = sample(
        population, 10_000, scene_weights=scene_weights, source_weights={"电话": 2.0}, seed=2024
    )
    assert len(picked) == len(set(picked)) == 10_000

    scene_of = {i: scene for i, scene, _ in population}
    realised = realised_shares([scene_of[i] for i in picked])
    requested = requested_shares(scene_weights)
    assert set(realised) == set(requested)
    for scene in scenes:
        assert abs(realised[scene] - requested[scene]) < 0.01


# --- source weights are target shares (issue 13) ----------------------------------------------

OTHER_SOURCES = [
    "im-message",
    "single-text-record",
    "wecom-group-message",
    "mobile-phone-recording",
]


def skewed_scene(per_other: int = 250) -> list[tuple[int, str, str]]:
    """One scene where call recordings are 12 times as many as each other source, ids shuffled
    so that no source sits in one block of ids."""
    sources = ["call-recording"] * (12 * per_other)
    for source in OTHER_SOURCES:
        sources += [source] * per_other
    random.Random(13).shuffle(sources)
    return [(1000 + i, "renting", source) for i, source in enumerate(sources)]


# 29% call recordings, the rest shared evenly by the other four sources.
SKEWED_WEIGHTS = {"call-recording": 0.29, **{source: 0.71 / 4 for source in OTHER_SOURCES}}


def test_source_weights_are_target_shares_even_when_one_source_dominates():
    population = skewed_scene()  # 3,000 call recordings, 250 of each other source
    source_of = {i: source for i, _, source in population}
    for n in (100, 600, 1000):
        picked = sample(population, n, scene_weights={}, source_weights=SKEWED_WEIGHTS, seed="skew")
        assert len(picked) == len(set(picked)) == n
        realised = realised_shares([source_of[i] for i in picked])
        # Largest-remainder rounding: each share within one dialogue of the request. Before
        # issue 13 (A-ES priority by source weight) call recordings came out at about 80%.
        for source, share in requested_shares(SKEWED_WEIGHTS).items():
            assert abs(realised[source] - share) <= 1 / n, (n, source, realised[source])
        assert Counter(source_of[i] for i in picked)["call-recording"] == round(0.29 * n)


def test_a_short_cell_gives_its_shortfall_to_the_scenes_other_sources_by_weight():
    # renting has only 12 IM messages but is asked for 40 of its 200: the 28 missing go to
    # call recordings and group messages in proportion 2 : 3. buying has plenty of everything.
    population = []
    for scene, counts in {
        "renting": {"call-recording": 400, "im-message": 12, "wecom-group-message": 400},
        "buying": {"call-recording": 400, "im-message": 400, "wecom-group-message": 400},
    }.items():
        for source, count in counts.items():
            population += [(len(population) + 1, scene, source) for _ in range(count)]
    population = [(i + 1, scene, source) for i, (_, scene, source) in enumerate(population)]
    weights = {"call-recording": 2, "im-message": 1, "wecom-group-message": 2}
    result = draw(population, 400, scene_weights={}, source_weights=weights, seed=3)

    cell_of = {i: (scene, source) for i, scene, source in population}
    cells = Counter(cell_of[i] for i in result.ids)
    # renting: asked 80 / 40 / 80; im-message has 12; 188 left split 2 : 2 -> 94 each.
    assert cells[("renting", "im-message")] == 12
    assert cells[("renting", "call-recording")] == cells[("renting", "wecom-group-message")] == 94
    assert cells[("buying", "im-message")] == 40 and cells[("buying", "call-recording")] == 80
    assert result.short == [Shortfall("renting", "im-message", asked=40, had=12)]
    assert result.short[0].moved == 28

    im = result.sources["im-message"]
    assert (im.requested, im.asked, im.had, im.count) == (0.2, 80, 412, 52)
    assert result.scenes["renting"].count == result.scenes["buying"].count == 200


def test_a_source_missing_from_a_scene_is_reported_there_and_its_share_moves():
    population = [(i, "selling", "call-recording") for i in range(1, 301)]
    population += [(i, "selling", "im-message") for i in range(301, 601)]
    weights = {"call-recording": 1, "im-message": 1, "vr-recording": 2}
    result = draw(population, 100, scene_weights={}, source_weights=weights, seed=1)
    assert result.short == [Shortfall("selling", "vr-recording", asked=50, had=0)]
    assert result.sources["call-recording"].count == result.sources["im-message"].count == 50
    assert result.sources["vr-recording"].requested == 0.5


def test_draw_picks_uniformly_within_a_cell():
    # 10 dialogues in one cell, 3 picked, 3,000 seeds: each is picked 900 times on average
    # (standard deviation about 25); a bias towards low or high ids would show.
    population = [(i, "s", "x") for i in range(10)]
    hits = Counter()
    for seed in range(3000):
        hits.update(sample(population, 3, scene_weights={}, source_weights={}, seed=seed))
    assert all(800 <= hits[i] <= 1000 for i in range(10)), hits


def test_draw_is_reproducible_whatever_the_input_order():
    population = skewed_scene(per_other=40) + [
        (i, "buying", OTHER_SOURCES[i % 4]) for i in range(10_000, 10_500)
    ]
    kwargs = {"scene_weights": {"renting": 3, "buying": 1}, "source_weights": SKEWED_WEIGHTS}
    first = draw(population, 300, seed="job-9", **kwargs)
    shuffled = population[:]
    random.Random(8).shuffle(shuffled)
    again = draw(list(reversed(shuffled)), 300, seed="job-9", **kwargs)
    assert again == first  # ids, tallies and shortfalls alike
    other = draw(population, 300, seed="job-10", **kwargs).ids
    assert other != first.ids and len(set(other) & set(first.ids)) < 300


def test_draw_is_the_same_in_another_process_with_another_hash_seed():
    # String keys go through sets, whose order depends on PYTHONHASHSEED.
    code = (
        "import random; from labeling.sampling import sample\n"
        "sources = ['call', 'im', 'vr', 'pad', 'badge']\n"
        "rows = [(i, 'scene%d' % (i % 3), sources[i % 5]) for i in range(2000)]\n"
        "print(sample(rows, 150, scene_weights={'scene0': 2}, "
        "source_weights={'call': 3, 'vr': 0.5}, seed='x'))"
    )
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2", "3")
    }
    assert len(outputs) == 1 and len(eval(outputs.pop())) == 150  # noqa: S307 (our own output)


def test_weight_zero_leaves_out_a_source_and_the_dialogues_without_one():
    population = [(i, "renting", "call-recording") for i in range(200)]
    population += [(i, "renting", None) for i in range(200, 400)]
    population += [(i, None, "im-message") for i in range(400, 500)]
    picked = sample(
        population,
        150,
        scene_weights={None: 0},
        source_weights={None: 0, "call-recording": 1, "im-message": 1},
        seed=5,
    )
    assert len(picked) == 150 and all(i < 200 for i in picked)
    result = draw(population, 500, scene_weights={}, source_weights={"call-recording": 0}, seed=5)
    assert sorted(result.ids) == list(range(200, 500))


def test_dialogues_without_a_scene_or_source_are_a_group_of_their_own():
    population = [(i, "renting", "call-recording") for i in range(1, 301)]
    population += [(i, "renting", None) for i in range(301, 401)]
    population += [(i, None, None) for i in range(401, 501)]
    result = draw(
        population,
        100,
        scene_weights={"renting": 3, "buying": 1},
        source_weights={"call-recording": 1},
        seed=2,
    )
    # Scenes renting 3, buying 1 (no dialogue), None DEFAULT_WEIGHT: of 100, 60 / 20 / 20,
    # then buying's 20 shared 3 : 1 -> renting 75, None 25.
    assert DEFAULT_WEIGHT == 1.0
    assert result.scenes[None].requested == 0.2 and result.scenes[None].count == 25
    assert result.scenes["renting"].count == 75 and result.scenes["buying"].asked == 20
    # Within renting the source-less dialogues weigh 1.0 like call recordings: 37.5 each, the
    # tie to None (str "None" sorts first). The no-scene group has no call recording, so its
    # share there (12.5, the tie to None again) moves to its source-less dialogues.
    assert result.sources[None].count == 38 + 25 and result.sources[None].had == 200
    assert result.sources["call-recording"].count == 37
    assert result.short == [Shortfall(None, "call-recording", asked=12, had=0)]
    # The source-less group is not asked for in a scene where it has no dialogue.
    mixed = population[:400] + [(i, "buying", "call-recording") for i in range(501, 601)]
    assert draw(mixed, 200, scene_weights={}, source_weights={}, seed=2).short == []
    assert len(result.ids) == len(set(result.ids)) == 100


def test_draw_invariants_on_random_populations():
    rng = random.Random(77)
    for _ in range(200):
        scenes = ["a", "b", "c", None]
        sources = ["x", "y", "z", None]
        population = [
            (i, rng.choice(scenes), rng.choice(sources)) for i in range(rng.randint(0, 300))
        ]
        scene_weights = {s: rng.choice([0, 1, 2.5]) for s in scenes if rng.random() < 0.7}
        source_weights = {s: rng.choice([0, 1, 4]) for s in sources if rng.random() < 0.7}
        n = rng.randint(0, 200)
        result = draw(
            population, n, scene_weights=scene_weights, source_weights=source_weights, seed=1
        )
        drawable = [
            i
            for i, scene, source in population
            if scene_weights.get(scene, 1.0) > 0 and source_weights.get(source, 1.0) > 0
        ]
        assert len(result.ids) == len(set(result.ids)) == min(n, len(drawable))
        assert set(result.ids) <= set(drawable)
        assert sum(t.count for t in result.scenes.values()) == len(result.ids)
        assert sum(t.count for t in result.sources.values()) == len(result.ids)
        for cell in result.short:
            assert cell.had < cell.asked


# --- assign_tasks and shares -------------------------------------------------------------------


def test_assign_tasks_counts_follow_allocate_in_a_seeded_order():
    weights = {"qa": 2, "summary": 1, "classify": 1}
    tasks = assign_tasks(10, weights, seed=7)
    # Quotas 5, 2.5, 2.5; the tie goes to "classify" (sorts before "summary").
    assert Counter(tasks) == {"qa": 5, "classify": 3, "summary": 2}
    assert assign_tasks(10, weights, seed=7) == tasks
    assert assign_tasks(10, dict(reversed(weights.items())), seed=7) == tasks
    orders = {tuple(assign_tasks(10, weights, seed=seed)) for seed in range(20)}
    assert len(orders) > 1  # the seed does change the order


def test_assign_tasks_edge_cases():
    assert assign_tasks(0, {"qa": 1}, seed=1) == []
    assert assign_tasks(3, {"qa": 1, "none": 0}, seed=1) == ["qa", "qa", "qa"]
    with pytest.raises(ValueError, match="positive weight"):
        assign_tasks(3, {"qa": 0}, seed=1)


def test_realised_and_requested_shares():
    assert realised_shares(["b", "a", "a", "a"]) == {"a": 0.75, "b": 0.25}
    assert realised_shares([]) == {}
    assert requested_shares({"a": 1, "b": 3, "c": 0}) == {"a": 0.25, "b": 0.75, "c": 0.0}
    assert requested_shares({"a": 0}) == {"a": 0.0}
    with pytest.raises(ValueError):
        requested_shares({"a": -1})
