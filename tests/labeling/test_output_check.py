"""labeling.output_check: empty, refused, JSON, table and list checks, multi-task prompts."""

import json

import pytest

from labeling.output_check import check_output, extract_json, problem_kind

TABLE = """| 字段 | 内容 |
| --- | :---: |
| 客户诉求 | 退款 |"""


# --- empty and refused ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t　\n"])
def test_empty_output(text):
    problems = check_output(text, ["json"])
    assert problems == ["empty: the output is empty"]
    assert problem_kind(problems) == "empty"


@pytest.mark.parametrize(
    "text",
    [
        "抱歉，我无法完成这个请求。",
        "很抱歉, 我不能提供这些信息",
        "对不起，我不能回答这个问题。",
        "不好意思，但是我无法处理该对话",
        "作为一个AI语言模型，我没有个人观点。",
        "作为人工智能，我不能……",
        "我无法满足您的要求。",
        "**抱歉，我无法**生成该内容",
        "I'm sorry, but I can't help with that.",
        "I’m sorry, but I cannot do this.",  # curly apostrophe
        "Sorry, I can't assist with that request.",
        "I cannot help with this request.",
        "As an AI language model, I do not have opinions.",
    ],
)
def test_refusals_at_the_start(text):
    problems = check_output(text, ["free_text"])
    assert problems == ["refused: the model refused"]
    assert problem_kind(problems) == "refused"


@pytest.mark.parametrize(
    "text",
    [
        # The same words further in are content, not a refusal.
        '{"客服回复": "抱歉，我无法为您办理退款"}',
        "客户说：抱歉，我无法接受这个价格。",
        "我无语了，快递又晚了",  # starts with 我 but is not "我无法"
        "As an aid to the agent, the summary lists three points.",
    ],
)
def test_not_refusals(text):
    assert problem_kind(check_output(text, ["free_text"])) != "refused"


# --- a single JSON task -----------------------------------------------------------------------


def test_valid_json_passes():
    assert check_output('{"情绪": "不满", "诉求": ["退款", "道歉"]}', ["json"]) == []
    assert check_output("[1, 2, 3]", ["json"]) == []  # any JSON value, not only objects


def test_fenced_json_passes_and_is_extracted():
    text = '```json\n{"意图": "查询物流"}\n```\n'
    assert check_output(text, ["json"]) == []
    assert extract_json(text) == {"意图": "查询物流"}
    assert extract_json('  ```\n{"a": 1}```') == {"a": 1}


def test_invalid_json_gives_the_error_position():
    # Line 2, column 9: the value is an unquoted Chinese word.
    text = '{\n  "情绪": 不满\n}'
    problems = check_output(text, ["json"])
    assert problems == [
        "not_json: the output is not valid JSON (Expecting value) at line 2 column 9"
    ]
    assert problem_kind(problems) == "not_json"


def test_error_position_in_a_fenced_block_counts_the_fence_line():
    # Line 1 is the fence; on line 2 "b" has no value: "}" at column 14 is unexpected.
    text = '```json\n{"a": 1, "b":}\n```'
    with pytest.raises(json.JSONDecodeError) as caught:
        extract_json(text)
    assert (caught.value.lineno, caught.value.colno) == (2, 14)
    assert caught.value.doc == text
    assert check_output(text, ["json"]) == [
        "not_json: the output is not valid JSON (Expecting value) at line 2 column 14"
    ]


def test_prose_around_json_is_not_json_for_a_single_task():
    text = '好的，以下是结果：{"情绪": "平静"}'
    assert problem_kind(check_output(text, ["json"])) == "not_json"
    assert "line 1 column 1" in check_output(text, ["json"])[0]


# --- a single table or list task --------------------------------------------------------------


def test_table_needs_a_separator_row():
    assert check_output(TABLE, ["table"]) == []
    assert check_output("字段|内容\n---|---\n诉求|退款", ["table"]) == []  # no outer pipes
    problems = check_output("| 字段 | 内容 |\n| 客户诉求 | 退款 |", ["table"])
    assert problems == ["bad_format: expected a table, but there is no |---| separator row"]
    assert problem_kind(problems) == "bad_format"
    assert problem_kind(check_output("客户诉求：退款\n---\n情绪：不满", ["table"])) == "bad_format"


@pytest.mark.parametrize(
    "text",
    [
        "1. 核实订单\n2. 办理退款",
        "1、核实订单\n2、办理退款",
        "- 核实订单\n- 办理退款",
        "* 核实订单",
        "• 核实订单",
        "客服应当：\n一、核实订单\n二、办理退款",
        "（一）核实订单",
        "① 核实订单",
    ],
)
def test_list_items(text):
    assert check_output(text, ["list"]) == []


@pytest.mark.parametrize(
    "text",
    ["客服应先核实订单，再办理退款。", "3.5元的运费由商家承担", "**核实订单**", "-5度的冷库"],
)
def test_not_a_list(text):
    problems = check_output(text, ["list"])
    assert problems == ["bad_format: expected a list, but no line starts with 1. - * • or 一、"]


@pytest.mark.parametrize("output_format", ["markdown", "free_text"])
def test_markdown_and_free_text_only_need_text(output_format):
    assert check_output("客户对物流延迟不满，要求退款。", [output_format]) == []


# --- several tasks ----------------------------------------------------------------------------


def test_multi_task_finds_a_json_object_anywhere():
    text = '任务一：\n{"情绪": "不满"}\n\n任务二：\n客户要求退款。'
    assert check_output(text, ["json", "free_text"]) == []
    # A broken brace first, a good object later: the scan goes on from the next "{".
    assert check_output('任务一：{坏的 任务二：{"a": 1}', ["json", "list"]) == []


def test_multi_task_does_not_check_table_or_list_layout():
    assert check_output("没有表格，也没有列表", ["table", "list"]) == []


def test_multi_task_reports_each_json_task_without_an_object():
    problems = check_output("任务一：情绪不满\n任务三：{情绪: 不满}", ["json", "list", "json"])
    assert problems == [
        "not_json: task 1 expects JSON, but the output has no JSON object",
        "not_json: task 3 expects JSON, but the output has no JSON object",
    ]
    assert problem_kind(problems) == "not_json"


def test_multi_task_still_checks_empty_and_refused():
    assert problem_kind(check_output(" ", ["json", "table"])) == "empty"
    assert problem_kind(check_output("抱歉，我无法完成这些任务", ["json", "table"])) == "refused"


# --- misc -------------------------------------------------------------------------------------


def test_problem_kind_of_no_problems():
    assert problem_kind([]) is None


def test_unknown_format_is_an_error():
    with pytest.raises(ValueError, match="unknown output format 'yaml'"):
        check_output("a: 1", ["yaml"])


def test_the_check_enforces_the_format_the_prompts_words_ask_for():
    # The reproduced defect: bullet points asked for, a table enforced. The formats an approved
    # prompt gets are read from its final text (evolution.formats.derive), and the check holds
    # the answer to those.
    from evolution.formats import derive

    table = "| 诉求 | 说明 |\n| --- | --- |\n| 看房 | 客户希望周末看房 |"
    bullets = "1. 客户希望周末看房\n2. 客户预算三百万\n3. 客户关注学区"
    for text, good, bad in (
        ("请以要点形式列出客户的三项核心诉求。", bullets, table),
        ("不要用列表，请以 Markdown 表格汇总客户的三项核心诉求。", table, bullets),
    ):
        formats, problem = derive(text, ["table"])
        assert problem is None
        assert check_output(good, formats) == []
        assert problem_kind(check_output(bad, formats)) == "bad_format"
