from evolution.diff import diff


def test_chinese_is_diffed_by_character():
    assert diff("请总结需求", "请详细总结需求") == [
        ("equal", "请"),
        ("insert", "详细"),
        ("equal", "总结需求"),
    ]


def test_english_is_diffed_by_word():
    segments = diff("Summarise the needs", "Summarise all the needs")
    assert segments == [("equal", "Summarise"), ("insert", " all"), ("equal", " the needs")]


def test_replacements_show_both_sides():
    assert diff("预算五百万", "预算六百万") == [
        ("equal", "预算"),
        ("delete", "五"),
        ("insert", "六"),
        ("equal", "百万"),
    ]
