"""The evaluation's arithmetic, against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from metrics import eval_prompts, evaluation
from metrics.evaluation import Candidate


def test_mean_and_95_percent_interval_by_hand():
    # 6, 7, 8, 9: mean 7.5, sd sqrt(5/3) = 1.2910, t(3) = 3.182, half = 3.182 * 1.2910 / 2.
    s = evaluation.summarise([6, 7, 8, 9])
    assert s.n == 4 and s.mean == 7.5
    assert s.sd == pytest.approx(math.sqrt(5 / 3))
    assert s.low == pytest.approx(7.5 - 2.0540, abs=1e-3)
    assert s.high == pytest.approx(7.5 + 2.0540, abs=1e-3)


def test_one_score_has_no_interval_and_none_has_no_mean():
    assert evaluation.summarise([8]) == evaluation.Summary(1, 8.0, None, None, None)
    assert evaluation.summarise([]).mean is None


def test_t_quantiles_never_narrow_the_interval():
    assert evaluation.t95(1) == 12.706
    assert evaluation.t95(35) == 2.042  # the df-30 value, not the smaller df-40 one
    assert evaluation.t95(1000) == 1.960
    with pytest.raises(ValueError):
        evaluation.t95(0)


def test_summaries_per_key():
    by = evaluation.summarise_by([("a", 2), ("b", 10), ("a", 4)])
    assert by["a"].mean == 3 and by["a"].n == 2 and by["b"].n == 1


def test_draw_meets_task_shares_and_gives_a_short_task_s_rest_to_the_others():
    candidates = (
        [Candidate(i, "summary", "json") for i in range(0, 50)]
        + [Candidate(i, "extraction", "table") for i in range(50, 100)]
        + [Candidate(i, "reasoning", "json") for i in range(100, 103)]
    )
    ids = evaluation.draw(
        candidates, 20, task_shares={"summary": 1, "extraction": 1, "reasoning": 2}, seed=3
    )
    tasks = [c.task_type for c in candidates if c.id in set(ids)]
    assert len(ids) == 20 == len(set(ids))
    # reasoning wanted 10 but has 3; its 7 go to the other two, equally.
    assert tasks.count("reasoning") == 3
    assert {tasks.count("summary"), tasks.count("extraction")} == {8, 9}
    assert ids == sorted(ids)  # candidate order
    again = evaluation.draw(
        candidates, 20, task_shares={"summary": 1, "extraction": 1, "reasoning": 2}, seed=3
    )
    assert again == ids
    other = evaluation.draw(
        candidates, 20, task_shares={"summary": 1, "extraction": 1, "reasoning": 2}, seed=4
    )
    assert other != ids


def test_draw_follows_format_shares_within_a_task():
    candidates = [Candidate(i, "t", "json") for i in range(30)] + [
        Candidate(i, "t", "table") for i in range(30, 60)
    ]
    ids = evaluation.draw(
        candidates, 10, task_shares={"t": 1}, format_shares={"json": 3, "table": 1}, seed=0
    )
    assert sum(1 for i in ids if i < 30) == 8 and sum(1 for i in ids if i >= 30) == 2


def test_spread_order_and_length_bias_by_hand():
    s = evaluation.spread([[7, 7, 7], [6, 8], [5]])  # the lone 5 has no repeat
    assert s.items == 2 and s.judgements == 5
    assert s.mean_sd == pytest.approx((0 + math.sqrt(2)) / 2)
    assert s.mean_range == 1.0 and s.identical == 0.5
    order = evaluation.order_bias([(7, 8), (6, 6), (9, 7)])
    assert order == {"items": 3, "mean_shift": pytest.approx(-1 / 3), "mean_abs_shift": 1.0,
                     "changed": pytest.approx(2 / 3)}  # fmt: skip
    # Longer answers scored higher, strictly: rho = 1; ties share ranks.
    assert evaluation.length_bias([10, 20, 30, 40], [3, 5, 8, 9])["rho"] == pytest.approx(1.0)
    assert evaluation.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9487, abs=1e-4)
    assert evaluation.pearson([1, 1, 1], [1, 2, 3]) is None


def test_judge_template_placeholders_are_checked():
    assert eval_prompts.placeholders_check("Grade this: {question}") == []
    problems = eval_prompts.placeholders_check("Compare {answer} with {reference}")
    assert "unknown placeholders: {answer}, {reference}" in problems[0]
    assert "{question} is missing" in problems[1]
    assert "bad braces" in eval_prompts.placeholders_check("{question} {")[0]


def test_the_order_check_swaps_the_two_blocks_only():
    template = eval_prompts.JUDGE["en"]
    normal = eval_prompts.judge_message(template, "en", question="Q?", reference="R", answer="A")
    swapped = eval_prompts.judge_message(
        template, "en", question="Q?", reference="R", answer="A", answer_first=True
    )
    assert normal.index("Reference answer:\nR") < normal.index("Answer to evaluate:\nA")
    assert swapped.index("Answer to evaluate:\nA") < swapped.index("Reference answer:\nR")
    assert normal.split("\n\nReference answer")[0] == swapped.split("\n\nAnswer to evaluate")[0]


def test_the_interval_is_cut_to_the_score_scale():
    s = evaluation.summarise([1, 10], bounds=(1, 10))  # the t interval spans -50 ... 62
    assert (s.low, s.high, s.mean) == (1, 10, 5.5)


def test_a_format_left_out_is_never_drawn_and_its_task_s_share_moves_on():
    candidates = (
        [Candidate(i, "t1", "json") for i in range(30)]
        + [Candidate(i, "t1", "table") for i in range(30, 60)]
        + [Candidate(i, "t2", "list") for i in range(60, 90)]
    )
    ids = evaluation.draw(
        candidates, 10, task_shares={"t1": 1, "t2": 1}, format_shares={"json": 1, "list": 1}
    )
    assert sum(i < 30 for i in ids) == 5 and sum(i >= 60 for i in ids) == 5
    only_json = evaluation.draw(
        candidates, 10, task_shares={"t1": 1, "t2": 1}, format_shares={"json": 1}
    )
    assert len(only_json) == 10 and all(i < 30 for i in only_json)
