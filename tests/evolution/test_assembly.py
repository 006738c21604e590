"""Assembling prompts from parts: the pure composition, without the database."""

import random

import pytest

from evolution.assembly import AssemblyError, Part, compose, join_sections

SCENES = {1: ("租房", "renting"), 2: ("买房", "buying")}
ROLES = {7: ("租赁管家", "rental manager")}


def library(**extra):
    parts = [
        Part(1, "scene_background", "场景：{scene}。"),
        Part(2, "role", "你是{role}。"),
        Part(3, "dialogue", "对话如下：\n{dialogue}"),
        Part(4, "task", "总结客户的需求。", task_type=10),
        Part(5, "task", "判断客户是否愿意看房。", task_type=11),
        Part(6, "output_format", "以 JSON 输出。", output_format="json", example='{"a": 1}'),
        Part(7, "output_format", "列表输出：{example}", output_format="list", example="1. 甲"),
        Part(8, "guidelines", "只依据对话作答。"),
    ]
    return parts + extra.get("more", [])


def test_same_seed_same_prompt_and_every_kind_used_once():
    first = compose(library(), rng=random.Random("3:0"), scenes=SCENES, roles=ROLES)
    again = compose(library(), rng=random.Random("3:0"), scenes=SCENES, roles=ROLES)
    assert first.text == again.text and first.used == again.used
    kinds = [p.kind for p in first.used]
    assert sorted(kinds) == sorted(
        ["scene_background", "role", "dialogue", "task", "output_format", "guidelines"]
    )
    text = first.text
    assert text.count("{dialogue}") == 1
    assert "{scene}" not in text and "{role}" not in text  # filled at assembly
    assert first.scene in SCENES and SCENES[first.scene][0] in text
    assert "租赁管家" in text and first.language == "zh"
    # The sections splice in order: background, role, dialogue, then the narrative.
    assert text == join_sections(first.sections)
    assert text.index("场景") < text.index("你是") < text.index("对话如下") < text.index("只依据")


def test_output_example_goes_where_the_part_says_or_after_it():
    outputs = set()
    for seed in range(30):
        c = compose(library(), rng=random.Random(seed), scenes=SCENES, roles=ROLES)
        narrative = c.sections["narrative"]
        fmt = c.tasks[0][1].output_format
        outputs.add(fmt)
        if fmt == "json":
            assert '以 JSON 输出。\n示例：\n{"a": 1}' in narrative
        else:
            assert "列表输出：1. 甲" in narrative
    assert outputs == {"json", "list"}  # random combinations reach every format


def test_parts_tied_to_a_scene_only_go_with_it():
    more = [Part(9, "task", "只在买房场景的任务。", task_type=12, scene=2)]
    tied = Part(20, "scene_background", "买房专用背景。", scene=2)
    for seed in range(40):
        c = compose(
            library(more=[*more, tied]), rng=random.Random(seed), scenes=SCENES, roles=ROLES
        )
        if "买房专用背景" in c.text:
            assert c.scene == 2
        if c.tasks[0][0].id == 9:
            assert c.scene == 2


def test_multi_task_prompts_number_each_task_with_its_own_output():
    c = compose(library(), rng=random.Random(1), tasks_per_prompt=2, scenes=SCENES, roles=ROLES)
    assert len(c.tasks) == 2
    assert {t.task_type for t, _ in c.tasks} == {10, 11}  # different kinds of work
    narrative = c.sections["narrative"]
    assert "以下2个任务" in narrative and "任务1：" in narrative and "任务2：" in narrative


def test_an_output_format_that_fits_no_task_is_a_clear_error():
    parts = [p for p in library() if p.kind != "output_format"]
    parts.append(
        Part(30, "output_format", "表格。", task_type=99, output_format="table", example="|a|")
    )
    with pytest.raises(AssemblyError, match="no output format fits"):
        compose(parts, rng=random.Random(0), scenes=SCENES, roles=ROLES)
    with pytest.raises(AssemblyError, match="kind dialogue"):
        compose(
            [p for p in library() if p.kind != "dialogue"],
            rng=random.Random(0),
            scenes={},
            roles={},
        )
