"""Reading which output formats a prompt's words demand, in Chinese and English."""

import pytest

from evolution.formats import FORMATS, Mismatch, demands, derive, fits, mismatch, rule
from evolution.prompt_parts import STARTER_PARTS
from labeling.output_check import FORMATS as CHECKED_FORMATS

DEMANDS = [
    # The reproduced defect: a stage-1 instruction asking for bullet points.
    ("请以要点形式列出客户的三项核心诉求", {"list"}),
    ("请从对话中提取客户关心的问题，并用要点形式列出。", {"list"}),
    ("请分点说明经纪人在带看过程中的不足之处。", {"list"}),
    ("逐条列出客户提到的房源要求，并给每条加编号。", {"list"}),
    ("请以编号列表输出，每条一句话。", {"list", "free_text"}),
    ("以条目形式罗列签约前需要准备的材料。", {"list"}),
    ("请用 Markdown 列表列出客户的预算、面积和区域偏好。", {"list"}),
    ("请以 Markdown 表格输出，每行一项。", {"table"}),
    ("用表格对比客户看过的两套房源的价格、面积和楼层。", {"table"}),
    ("请以 JSON 格式输出，不要输出 JSON 以外的内容。", {"json"}),
    ("输出为json格式，字段包括意向等级和依据。", {"json"}),
    ("除 JSON 外不要输出任何内容。", {"json"}),
    ("请用 Markdown 分节输出，每节一个小标题。", {"markdown"}),
    ("按“客户画像”“核心诉求”“跟进建议”三个小标题组织回答。", {"markdown"}),
    ("请用一段简洁的中文回答，不超过 100 字。", {"free_text"}),
    ("用一段话概括客户对租金上涨的态度。", {"free_text"}),
    ("用两三句话说明客户为什么犹豫。", {"free_text"}),
    # Refusals.
    ("不要用表格，用编号列表逐条写出客户的顾虑。", {"list"}),
    ("请不要以表格形式输出，而是用一段话说明。", {"free_text"}),
    ("不需要 Markdown 格式，直接输出 JSON。", {"json"}),
    ("无需分点，不要加小标题，用一段话回答即可。", {"free_text"}),
    ("请勿使用表格或列表。", set()),
    # Refusals of something else do not reach the format.
    ("不要编造对话中没有的信息并用表格输出结果。", {"table"}),
    ("以要点形式列出，不得超过3个要点。", {"list"}),
    # No format: a summary of key points, a listing number, the dialogue itself.
    ("总结对话要点，判断客户是否有购房意向。", set()),
    ("提取客户咨询的房源编号和报价。", set()),
    ("以下是一段来自房产经纪业务的客服对话，场景为“租房”。", set()),
    ("请依次完成以下2个任务，每个任务分别给出一个输出，并标明任务序号。", set()),
    # English.
    ("List the customer's three core demands as bullet points.", {"list"}),
    ("Give the answer as a numbered list, no more than 5 items.", {"list"}),
    ("Answer in a Markdown table with one row per listing.", {"table"}),
    ("Compare the two flats in a table.", {"table"}),
    ("Return only valid JSON.", {"json"}),
    ("Do not output anything other than the JSON object.", {"json"}),
    ("Answer with a heading for each section.", {"markdown"}),
    ("Write one short paragraph on the customer's concerns.", {"free_text"}),
    ("Do not use a table; answer in plain text.", {"free_text"}),
    ("Use bullet points, not a table.", {"list"}),
    ("Avoid Markdown and never use bullet points.", set()),
    ("Do not make anything up and give the answer as a table.", {"table"}),
    ("Summarize the dialogue in one sentence.", {"free_text"}),
]


@pytest.mark.parametrize(("text", "expected"), DEMANDS)
def test_demanded_formats_are_read_from_the_words(text, expected):
    assert demands(text) == expected


def test_the_dialogue_and_the_examples_ask_for_nothing():
    text = (
        "请判断客户的购房意向，以 JSON 输出。\n示例：\n"
        '{"结论": "客户要求用表格列出房源", "依据": "分点说明"}\n\n'
        "对话：\n<untrusted_dialogue>\n客户：你给我做个表格，再分点列一下\n</untrusted_dialogue>"
    )
    assert demands(text) == {"json"}


def test_every_starter_output_part_demands_its_own_format():
    for kind, _name, text, output_format, _example in STARTER_PARTS:
        if kind == "output_format":
            found = demands(text)
            assert fits(found, output_format), (text, found)
            others = [f for f in FORMATS if f != output_format]
            assert not any(fits(found, f) for f in others), (text, found)


def test_what_a_narrative_fits():
    bullets = demands("请以要点形式列出客户的三项核心诉求")
    assert fits(bullets, "list") and not fits(bullets, "table") and not fits(bullets, "json")
    anything = demands("判断客户是否同意周末看房。")
    assert all(fits(anything, f) for f in FORMATS)
    prose = demands("用一段话说明客户的顾虑。")
    assert fits(prose, "free_text") and not fits(prose, "list")
    torn = demands("用表格列出房源，并以 JSON 输出结论。")
    assert not any(fits(torn, f) for f in FORMATS)


def test_mismatch_names_what_was_lost_and_what_came_in():
    assert mismatch("总结客户的需求，以 Markdown 表格输出。", ["table"]) is None
    lost = mismatch("总结客户对房源的主要顾虑。", ["table"])
    assert lost == Mismatch(missing=("table",))
    changed = mismatch("总结客户的顾虑，用要点形式列出。", ["table"])
    assert changed == Mismatch(missing=("table",), extra=("list",))
    # A free-text task may ask for prose, never for a structure.
    assert mismatch("用一段话总结。", ["free_text"]) is None
    assert mismatch("分点总结。", ["free_text"]) == Mismatch(extra=("list",))
    both = mismatch("用表格列出，再以 JSON 输出。", ["table"])
    assert both == Mismatch(several=("json", "table"))
    several = "任务1：判断意向，以 JSON 输出。\n\n任务2：列出顾虑，以编号列表输出。"
    assert mismatch(several, ["json", "list"]) is None
    assert mismatch(several, ["json", "table"]) == Mismatch(missing=("table",), extra=("list",))


def test_derive_gives_a_single_task_the_format_its_text_asks_for():
    assert derive("总结顾虑，以编号列表输出。", ["table"]) == (["list"], None)
    assert derive("总结顾虑。", ["table"]) == (["free_text"], None)
    formats, problem = derive("用表格列出房源，并以 JSON 输出结论。", ["table"])
    assert formats == ["table"] and problem == Mismatch(several=("json", "table"))
    # Several tasks keep their formats while the text still asks for each.
    text = "任务1：以 JSON 输出。\n\n任务2：用 Markdown 表格输出。"
    assert derive(text, ["json", "table"]) == (["json", "table"], None)
    assert derive("任务1：以 JSON 输出。\n\n任务2：总结。", ["json", "table"])[1] == Mismatch(
        missing=("table",)
    )


def test_a_format_worded_in_a_way_not_read_is_kept_rather_than_lost():
    # A lead's own output part: a table in words this reading does not know.
    assembled = "总结客户关注的房源信息。\n请整理成左右两栏对照的形式，左栏写项目，右栏写内容。"
    assert demands(assembled) == set()
    # A rewrite keeping it is not refused, and approving it keeps the table to check …
    assert mismatch(assembled.replace("总结", "归纳"), ["table"], original=assembled) is None
    assert derive(assembled, ["table"], original=assembled) == (["table"], None)
    # … but a rewrite that asks for something else still is refused.
    bullets = "归纳客户关注的房源信息，用要点形式列出。"
    assert mismatch(bullets, ["table"], original=assembled) == Mismatch(extra=("list",))
    # Where the assembled words did name the table, losing it is refused.
    named = "总结客户关注的房源信息。\n请以 Markdown 表格输出，每行一项。"
    assert mismatch("总结客户关注的房源信息。", ["table"], original=named) == Mismatch(
        missing=("table",)
    )


def test_the_rule_in_both_languages():
    assert rule(["table"], "zh") == "输出规则：Markdown 表格（必须有 |---| 分隔行）"
    assert (
        rule(["table"], "en") == "Output rule: a Markdown table (a |---| separator row is required)"
    )
    assert rule(["list"], "zh-hans").startswith("输出规则：列表")
    several = rule(["json", "list"], "zh")
    assert "任务1：JSON" in several and "任务2：列表" in several
    assert rule([], "en") == "" and rule([""], "zh") == ""


def test_the_formats_read_are_the_formats_checked():
    assert set(FORMATS) == set(CHECKED_FORMATS)
