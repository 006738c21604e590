"""The paper's formulas on a fixture small enough to work out by hand."""

import numpy as np
import pytest

from metrics.quality import Row, compute, keep_top_n, richness, shares


def words(texts):
    return [len(t.split()) for t in texts]


def by_first_word(vectors, threshold):
    """A stand-in community detection: the test's 'embedding' puts prompts with the same first
    word on the same axis."""
    groups: dict[int, list[int]] = {}
    for i, v in enumerate(vectors):
        groups.setdefault(int(np.argmax(v)), []).append(i)
    return sorted(groups.values(), key=len, reverse=True)


def first_word_axis(texts):
    axes = {w: i for i, w in enumerate(sorted({t.split()[0] for t in texts}))}
    out = np.zeros((len(texts), len(axes)), dtype=np.float32)
    for i, t in enumerate(texts):
        out[i, axes[t.split()[0]]] = 1
    return out


ROWS = [
    # prompt tokens 3, dialogue tokens 6 -> input 1/3*6 + 2/3*3 = 4
    Row("summarise the call", "a b c d e f", "x", "high", "summary", "json"),
    # prompt 6, dialogue 3 -> 1 + 4 = 5
    Row("summarise it in three short lines", "a b c", "x", "high", "summary", "list"),
    # prompt 3, dialogue 9 -> 3 + 2 = 5
    Row("extract the budget", "a b c d e f g h i", "x", "medium", "extraction", "json"),
    # prompt 4, dialogue 0 -> 0 + 8/3
    Row("judge if customer interested", "", "x", None, "reasoning", "json"),
]


def test_every_metric_matches_the_hand_worked_values():
    result = compute(
        ROWS,
        count_tokens=words,
        embed=first_word_axis,
        find_communities=by_first_word,
        threshold=0.82,
        top_n=1,
    )
    assert result["samples"] == 4
    assert result["prompt_complexity"] == pytest.approx((3 + 6 + 3 + 4) / 4)  # 4.0
    assert result["input_complexity"] == pytest.approx((4 + 5 + 5 + 8 / 3) / 4)
    # Communities: {summarise x2}, {extract}, {judge} -> 3 communities of 4 samples.
    assert result["communities"] == 3
    assert result["richness"] == pytest.approx(0.75)
    assert result["redundancy"] == pytest.approx(0.25)
    # Shares among the graded samples (3): 2 high, 1 medium.
    assert result["label_quality"] == pytest.approx({"high": 2 / 3, "medium": 1 / 3, "low": 0.0})
    assert result["task_types"] == pytest.approx(
        {"summary": 0.5, "extraction": 0.25, "reasoning": 0.25}
    )
    assert result["output_formats"] == pytest.approx({"json": 0.75, "list": 0.25})


def test_top_n_counts_at_most_n_per_community():
    # Sizes 5, 2, 1 with top_n 2: (2 + 2 + 1) / 8.
    assert richness([5, 2, 1], 2, 8) == pytest.approx(5 / 8)
    assert richness([5, 2, 1], 1, 8) == pytest.approx(3 / 8)
    assert richness([], 1, 0) == 0.0


def test_diversity_selection_keeps_the_best_of_each_community():
    rank = {0: 2, 1: 0, 2: 1, 3: 0}.get
    assert keep_top_n([[0, 1, 2], [3]], 2, lambda i: (rank(i), i)) == [1, 2, 3]


def test_empty_and_ungraded_datasets():
    result = compute(
        [], count_tokens=words, embed=first_word_axis, find_communities=by_first_word, threshold=0.8
    )
    assert result["samples"] == 0 and result["richness"] == 0.0
    assert result["label_quality"] == {"high": 0.0, "medium": 0.0, "low": 0.0}
    assert shares([None, "", None]) == {}
