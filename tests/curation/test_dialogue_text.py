"""A dialogue as text: whole everywhere after stage 1, a marked excerpt cut between turns in
seed and evolution prompts only."""

from curation import dialogue_text
from tests.support.corpus import long_session, text_size


def test_the_whole_dialogue_keeps_every_turn_of_a_long_session():
    turns = long_session(5000, start=7)
    assert text_size(turns) > 5000
    text = dialogue_text.render(turns)
    lines = text.splitlines()
    assert len(lines) == len(turns)
    assert lines[-1].endswith(turns[-1]["text"])
    assert all(t["text"] in text for t in turns)


def test_a_role_that_repeats_the_speaker_is_not_written_twice():
    turns = [
        {"speaker": "王经理", "role": "agent", "text": "您好"},
        {"speaker": "customer", "role": "customer", "text": "你好"},
    ]
    assert dialogue_text.render(turns) == "王经理（agent）：您好\ncustomer：你好"


def test_an_excerpt_is_cut_between_turns_and_says_so():
    turns = long_session(4000, start=3)
    excerpt = dialogue_text.excerpt(turns, max_chars=800, language="zh")
    *shown, note = excerpt.splitlines()
    whole_lines = dialogue_text.render(turns).splitlines()
    # Whole turns only, from the start, within the budget; the note counts them.
    assert shown == whole_lines[: len(shown)]
    assert len("\n".join(shown)) <= 800
    assert len("\n".join(whole_lines[: len(shown) + 1])) > 800
    assert note == f"（节选：共 {len(turns)} 轮对话，此处为前 {len(shown)} 轮）"
    english = dialogue_text.excerpt(turns, max_chars=800, language="en")
    assert english.splitlines()[-1] == f"(excerpt: the first {len(shown)} of {len(turns)} turns)"


def test_a_short_dialogue_is_its_own_excerpt_unmarked():
    turns = [{"speaker": "客户", "role": "customer", "text": "周六能看房吗？"}]
    assert dialogue_text.excerpt(turns, max_chars=800) == dialogue_text.render(turns)


def test_a_first_turn_longer_than_the_budget_is_cut_and_marked_never_empty():
    turns = [
        {"speaker": "客户", "role": "customer", "text": "我想了解一下" * 300},
        {"speaker": "经纪人", "role": "agent", "text": "好的"},
    ]
    excerpt = dialogue_text.excerpt(turns, max_chars=200, language="zh")
    first, note = excerpt.splitlines()
    assert first.startswith("客户（customer）：我想了解一下") and first.endswith("此处截断）")
    assert note == "（节选：共 2 轮对话，此处为前 1 轮）"
