from evolution import placeholders


def test_json_braces_are_text_not_placeholders():
    text = '输出：{"结论": "是"}，对话：{dialogue}'
    assert placeholders.names(text) == ["dialogue"]
    assert placeholders.problems(text, allowed={"dialogue"}, required={"dialogue"}) == []


def test_unknown_missing_and_repeated_placeholders_are_named():
    found = placeholders.problems(
        "{scene} {foo} {dialogue} {dialogue}",
        allowed={"scene", "dialogue"},
        required={"dialogue", "role"},
        once={"dialogue"},
    )
    assert [(p.kind, p.names) for p in found] == [
        ("unknown", ("foo",)),
        ("missing", ("role",)),
        ("repeated", ("dialogue",)),
    ]


def test_fill_is_one_pass_so_a_value_is_never_filled_again():
    filled = placeholders.fill("{scene}: {dialogue}", {"scene": "{dialogue}", "dialogue": "对话"})
    assert filled == "{dialogue}: 对话"
    assert placeholders.fill("{role}", {}) == "{role}"  # not given: left for later
