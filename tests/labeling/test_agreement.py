"""labeling.agreement: percent agreement, Cohen's kappa, per-annotator figures."""

from itertools import product

import pytest

from labeling.agreement import cohen_kappa, per_annotator, percent_agreement


def table_to_pairs(table, categories=("high", "medium", "low")):
    """Rows of `table` are the first annotator's grades, columns the second's."""
    pairs = []
    for first, row in zip(categories, table, strict=True):
        for second, count in zip(categories, row, strict=True):
            pairs += [(first, second)] * count
    return pairs


def test_no_pairs_gives_none():
    assert percent_agreement([]) is None
    assert cohen_kappa([]) is None


def test_percent_agreement():
    assert percent_agreement([("high", "high"), ("low", "medium"), ("low", "low")]) == 2 / 3
    assert percent_agreement([("medium", "low")]) == 0.0


def test_kappa_on_a_hand_computed_3x3_table():
    #                second: high medium low | total
    # first high              5     1     0  |   6
    # first medium            1     4     1  |   6
    # first low               0     1     2  |   3
    # total                   6     6     3  |  15
    # p_o = (5 + 4 + 2) / 15 = 11/15
    # p_e = (6*6 + 6*6 + 3*3) / 15**2 = 81/225 = 0.36
    # kappa = (11/15 - 0.36) / (1 - 0.36) = (165 - 81) / (225 - 81) = 84/144 = 7/12
    pairs = table_to_pairs([[5, 1, 0], [1, 4, 1], [0, 1, 2]])
    assert percent_agreement(pairs) == pytest.approx(11 / 15)
    assert cohen_kappa(pairs) == pytest.approx(7 / 12)


def test_kappa_textbook_example():
    # Wikipedia, "Cohen's kappa", worked example: 50 grant proposals read by A and B.
    # Both yes 20, A yes / B no 5, A no / B yes 10, both no 15.
    # p_o = 35/50 = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4.
    pairs = table_to_pairs([[20, 5], [10, 15]], categories=("yes", "no"))
    assert cohen_kappa(pairs, categories=("yes", "no")) == pytest.approx(0.4)


def test_kappa_perfect_agreement_is_one():
    pairs = [("high", "high"), ("medium", "medium"), ("low", "low"), ("high", "high")]
    assert cohen_kappa(pairs) == 1.0


def test_kappa_when_both_always_give_the_same_single_grade():
    # p_e = 1, so the formula would divide by zero; full agreement still counts as 1.
    assert cohen_kappa([("medium", "medium")] * 5) == 1.0


def test_kappa_at_chance_is_zero():
    # Every combination once: p_o = 3/9, and each annotator uses each grade a third of the time,
    # so p_e = 3 * (1/3 * 1/3) = 1/3 = p_o.
    pairs = list(product(("high", "medium", "low"), repeat=2))
    assert cohen_kappa(pairs) == pytest.approx(0.0)


def test_kappa_of_systematic_disagreement_is_negative():
    # p_o = 0, p_e = 1/2 * 1/2 + 1/2 * 1/2 = 1/2: kappa = (0 - 1/2) / (1 - 1/2) = -1.
    assert cohen_kappa([("high", "low"), ("low", "high")]) == pytest.approx(-1.0)


def test_kappa_rejects_an_unknown_grade():
    with pytest.raises(ValueError, match="'excellent' is not one of"):
        cohen_kappa([("high", "excellent")])


def test_per_annotator():
    rows = [
        ("ann", "bob", "high", "high"),
        ("ann", "bob", "low", "medium"),
        ("carl", "ann", "medium", "medium"),
        ("bob", "carl", "high", "low"),
    ]
    result = per_annotator(rows)
    assert list(result) == ["ann", "bob", "carl"]

    # ann, own grade first: (high, high), (low, medium), (medium, medium).
    # Agreement 2/3. Counts ann h1 m1 l1, others h1 m2: chance = 1*1 + 1*2 = 3 (of 9);
    # kappa = (3*2 - 3) / (9 - 3) = 1/2.
    assert result["ann"]["pairs"] == 3
    assert result["ann"]["agreement"] == pytest.approx(2 / 3)
    assert result["ann"]["kappa"] == pytest.approx(1 / 2)

    # bob: (high, high), (medium, low), (high, low). Agreement 1/3.
    # Counts bob h2 m1, others h1 l2: chance = 2*1 = 2; kappa = (3*1 - 2) / (9 - 2) = 1/7.
    assert result["bob"]["pairs"] == 3
    assert result["bob"]["agreement"] == pytest.approx(1 / 3)
    assert result["bob"]["kappa"] == pytest.approx(1 / 7)

    # carl: (medium, medium), (low, high). Agreement 1/2.
    # Counts carl m1 l1, others m1 h1: chance = 1; kappa = (2*1 - 1) / (4 - 1) = 1/3.
    assert result["carl"] == {"pairs": 2, "agreement": 0.5, "kappa": pytest.approx(1 / 3)}


def test_per_annotator_edge_cases():
    assert per_annotator([]) == {}
    with pytest.raises(ValueError, match="paired with themselves"):
        per_annotator([("ann", "ann", "high", "low")])
