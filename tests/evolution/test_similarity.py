from evolution.similarity import near_duplicate, rouge_l, tokens


def test_tokens_are_chinese_characters_and_latin_words():
    assert tokens("请总结客户的需求 in 3 points") == [
        "请",
        "总",
        "结",
        "客",
        "户",
        "的",
        "需",
        "求",
        "in",
        "3",
        "points",
    ]


def test_rouge_l_of_identical_disjoint_and_partial_texts():
    assert rouge_l("总结客户需求", "总结客户需求") == 1.0
    assert rouge_l("总结客户需求", "列出房源价格") == 0.0
    # LCS 6: precision 6/6, recall 6/10, F1 = 2 * 1 * 0.6 / 1.6 = 0.75
    assert abs(rouge_l("总结客户需求", "请总结客户的全部需求") - 0.75) < 1e-9


def test_near_duplicates_are_above_point_seven():
    existing = ["请总结这段对话中客户的购房需求，包括预算和区域。"]
    assert near_duplicate("请总结这段对话中客户的购房需求，包括预算与区域。", existing)
    assert not near_duplicate("根据对话预测客户是否会投诉，并说明理由。", existing)
    assert not near_duplicate("Summarise the customer's needs.", existing)
