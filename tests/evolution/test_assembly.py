"""Assembling prompts from parts: the pure composition, without the database."""

import random

import pytest

from evolution import formats
from evolution.assembly import AssemblyError, Part, compose, join_sections

SCENES = {1: ("租房", "renting"), 2: ("买房", "buying")}
ROLES = {7: ("租赁管家", "rental manager")}
SCENE_ROLES = {1: {7}, 2: {7}}


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
    first = compose(
        library(), rng=random.Random("3:0"), scenes=SCENES, roles=ROLES, scene_roles=SCENE_ROLES
    )
    again = compose(
        library(), rng=random.Random("3:0"), scenes=SCENES, roles=ROLES, scene_roles=SCENE_ROLES
    )
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
        c = compose(
            library(), rng=random.Random(seed), scenes=SCENES, roles=ROLES, scene_roles=SCENE_ROLES
        )
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
            library(more=[*more, tied]),
            rng=random.Random(seed),
            scenes=SCENES,
            roles=ROLES,
            scene_roles=SCENE_ROLES,
        )
        if "买房专用背景" in c.text:
            assert c.scene == 2
        if c.tasks[0][0].id == 9:
            assert c.scene == 2


def test_multi_task_prompts_number_each_task_with_its_own_output():
    c = compose(
        library(),
        rng=random.Random(1),
        tasks_per_prompt=2,
        scenes=SCENES,
        roles=ROLES,
        scene_roles=SCENE_ROLES,
    )
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
        compose(parts, rng=random.Random(0), scenes=SCENES, roles=ROLES, scene_roles=SCENE_ROLES)
    with pytest.raises(AssemblyError, match="kind dialogue"):
        compose(
            [p for p in library() if p.kind != "dialogue"],
            rng=random.Random(0),
            scenes={},
            roles={},
            scene_roles={},
        )


# What the words ask for, and who works where ---------------------------------------------

# The starter output parts, as a project has them.
OUTPUTS = [
    Part(
        40,
        "output_format",
        "请以 JSON 格式输出，不要输出 JSON 以外的内容。",
        output_format="json",
        example='{"结论": "是", "依据": "客户明确同意了方案"}',
    ),
    Part(
        41,
        "output_format",
        "请以 Markdown 表格输出，每行一项。",
        output_format="table",
        example="| 项目 | 内容 |\n| --- | --- |\n| 客户诉求 | 更改预约时间 |",
    ),
    Part(
        42,
        "output_format",
        "请用 Markdown 分节输出，每节一个小标题。",
        output_format="markdown",
        example="## 结论\n客户有明确的办理意向",
    ),
    Part(
        43,
        "output_format",
        "请以编号列表输出，每条一句话。",
        output_format="list",
        example="1. 客户关注价格\n2. 客户希望本周内办理",
    ),
    Part(
        44,
        "output_format",
        "请用一段简洁的中文回答，不超过 100 字。",
        output_format="free_text",
        example="客户对价格有顾虑，服务人员解释了优惠政策。",
    ),
]
# Accepted stage-1 instructions, some of which say how to answer.
NARRATIVES = [
    Part(50, "task", "请以要点形式列出客户的三项核心诉求。", task_type=10),
    Part(51, "task", "请分点说明经纪人在带看过程中可以改进的地方。", task_type=11),
    Part(52, "task", "用表格对比客户看过的两套房源的价格、面积和楼层。", task_type=12),
    Part(53, "task", "判断客户是否同意周末看房，并给出依据。", task_type=13),
    Part(54, "task", "用一段话概括客户对租金上涨的态度。", task_type=14),
]
FRAME = [
    Part(1, "scene_background", "以下是一段来自{domain}业务的客服对话，场景为“{scene}”。"),
    Part(2, "role", "你是一名熟悉{domain}业务的资深服务质检专家，了解“{role}”岗位的服务规范。"),
    Part(3, "dialogue", "对话内容如下：\n{dialogue}"),
    Part(8, "guidelines", "注意：只依据对话内容作答，对话中没有提到的信息不要编造。"),
]
TAXONOMY = {
    "scenes": {1: ("租房", "renting"), 2: ("买房", "buying"), 3: ("餐馆", "restaurant")},
    "roles": {
        7: ("租赁资管经理", "lease asset manager"),
        8: ("房产经纪人", "real-estate agent"),
        9: ("家装设计师", "home designer"),
    },
    # 餐馆 has no role of the paper; 租赁资管经理 works in renting only.
    "scene_roles": {1: {7, 8}, 2: {8}},
    "domain": ("房产经纪", "real-estate brokerage"),
}


def test_a_narrative_asking_for_bullet_points_never_gets_a_table():
    seen = set()
    for seed in range(300):
        c = compose([*FRAME, *NARRATIVES, *OUTPUTS], rng=random.Random(seed), **TAXONOMY)
        ((task, output),) = c.tasks
        seen.add((task.id, output.output_format))
        if task.id in (50, 51):
            assert output.output_format == "list", c.text
        if task.id == 52:
            assert output.output_format == "table"
        if task.id == 54:
            assert output.output_format == "free_text"
        # The prompt as a whole asks for exactly the format it records.
        assert formats.mismatch(c.text, [output.output_format]) is None, c.text
    # A narrative that asks for nothing still meets every format.
    assert {f for t, f in seen if t == 53} == set(formats.FORMATS)


def test_a_narrative_whose_format_the_library_lacks_is_not_drawn():
    no_list = [o for o in OUTPUTS if o.output_format != "list"]
    for seed in range(100):
        c = compose([*FRAME, *NARRATIVES, *no_list], rng=random.Random(seed), **TAXONOMY)
        assert c.tasks[0][0].id not in (50, 51)
    with pytest.raises(AssemblyError, match="no task narrative can be drawn") as error:
        compose([*FRAME, *NARRATIVES[:2], *no_list], rng=random.Random(0), **TAXONOMY)
    assert "list" in str(error.value)


def test_a_role_goes_only_with_a_scene_it_works_in():
    tied = Part(20, "role", "你是负责租赁资产的{role}。", role=7)
    pairs = set()
    for seed in range(400):
        c = compose([*FRAME, tied, *NARRATIVES, *OUTPUTS], rng=random.Random(seed), **TAXONOMY)
        pairs.add((c.scene, c.role))
        if c.scene == 3:
            # 餐馆 has no role: none is named and the prompt has no role section.
            assert c.role is None and not c.sections["role"]
            assert "岗位" not in c.text and "租赁资管经理" not in c.text
        else:
            assert c.role in TAXONOMY["scene_roles"][c.scene]
            assert TAXONOMY["roles"][c.role][0] in c.sections["role"]
        if "负责租赁资产" in c.text:
            assert (c.scene, c.role) == (1, 7)
        assert "{role}" not in c.text and "{domain}" not in c.text
        assert "房产经纪业务" in c.text
    assert pairs == {(1, 7), (1, 8), (2, 8), (3, None)}


def test_a_narrative_tied_to_a_role_draws_a_scene_of_that_role():
    lease = Part(60, "task", "列出租赁资管经理需要跟进的事项，用编号列表。", task_type=10, role=7)
    for seed in range(60):
        c = compose([*FRAME, lease, *OUTPUTS], rng=random.Random(seed), **TAXONOMY)
        assert (c.scene, c.role) == (1, 7)
    misplaced = Part(61, "task", "总结餐馆顾客的投诉。", task_type=10, role=7, scene=3)
    with pytest.raises(AssemblyError, match="service role"):
        compose([*FRAME, misplaced, *OUTPUTS], rng=random.Random(0), **TAXONOMY)


def test_each_task_of_a_multi_task_prompt_gets_the_format_it_asks_for():
    for seed in range(100):
        c = compose(
            [*FRAME, *NARRATIVES, *OUTPUTS],
            rng=random.Random(seed),
            tasks_per_prompt=2,
            **TAXONOMY,
        )
        assert len(c.tasks) == 2 and c.tasks[0][0].task_type != c.tasks[1][0].task_type
        for task, output in c.tasks:
            assert formats.fits(formats.demands(task.text), output.output_format)
        assert formats.mismatch(c.text, [o.output_format for _, o in c.tasks]) is None, c.text
