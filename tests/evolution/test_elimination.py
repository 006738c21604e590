import pytest

from evolution.elimination import elimination_reason

PARENT = "请总结这段对话中客户的购房需求，包括预算和区域。"


@pytest.mark.parametrize(
    ("child", "reason"),
    [
        (PARENT + "要求按重要程度排序，并给出理由。", ""),
        ("抱歉，我无法完成这个请求。", "the model refused"),
        ("Sorry, I can't help with that.", "the model refused"),
        ("改写后的指令：" + PARENT + "并列出时间。", "copies the rewriting prompt's wording"),
        ("总结需求", "too short"),
        (PARENT * 4, "too long"),
        (PARENT.replace("和", "与"), "no new information over its parent"),
        ("", "the model refused"),
    ],
)
def test_elimination_reasons(child, reason):
    assert elimination_reason(PARENT, child) == reason
