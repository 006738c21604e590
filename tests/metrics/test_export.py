"""The export formats stream: nothing is held but the element being written."""

import itertools
import json

from metrics.export import Example, alpaca, llamafactory_entry, openai_lines, sharegpt


def endless():
    for n in itertools.count():
        yield Example(f"指令{n}", f"对话{n}", f"对话{n}\n指令{n}", f"输出{n}")


def test_formats_are_lazy_streams():
    # An endless input still gives its first elements: nothing is collected first.
    first = list(itertools.islice(openai_lines(endless()), 3))
    assert json.loads(first[2])["messages"][1]["content"] == "输出2"
    head = "".join(itertools.islice(sharegpt(endless()), 3))
    assert head.startswith('[\n{"conversations"') and "对话1" in head


def test_small_streams_are_valid_json_and_keep_chinese_readable():
    examples = [Example("指令", "对话", "对话\n指令", '{"结论": "是"}')]
    text = "".join(alpaca(examples))
    assert json.loads(text) == [
        {"instruction": "指令", "input": "对话", "output": '{"结论": "是"}'}
    ]
    assert "指令" in text  # not \\u escaped
    assert json.loads("".join(sharegpt([]))) == []
    assert llamafactory_entry("d", "d.json")["d"]["file_name"] == "d.json"
