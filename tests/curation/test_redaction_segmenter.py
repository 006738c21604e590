"""The compiled segmenter and the faster detectors of issue 19 find exactly what the pipeline
before them found.

Before: jieba's Python `jieba.cut`, each run of characters the dictionary does not join cut
again by `jieba.posseg` (its Python Viterbi), every text cut whole, every phone-number candidate
parsed each time. Now: rjieba (jieba-rs) cuts, a numpy decoder runs posseg's HMM, only the
pieces of a text where a name can begin are cut, the phone-number verdicts are kept. Each part
is compared here with what it replaces, on the planted corpus, on real CrossWOZ turns and on
random text (hostile characters included: CJK extension A, U+9FD6-U+9FFF, supplementary-plane
ideographs, zero-width characters, Latin letters and digits glued to Chinese).
No database needed."""

from __future__ import annotations

import functools
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import jieba
import jieba.posseg
import phonenumbers
import phonenumbers.phonenumbermatcher
import pytest

from curation.redaction import (
    DialogueRedactor,
    detectors,
    find_spans,
    normalize,
    posseg,
    redact_dialogue,
    segmenter,
)
from curation.redaction.evaluation import evaluate, read_corpus
from curation.redaction.normalize import _DASH_BETWEEN_DIGITS, _TABLE
from tests.support.corpus import DIALOGUES, crosswoz

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "redaction_corpus.jsonl"
HAN = re.compile("[\u4e00-\u9fff]")

needs_crosswoz = pytest.mark.skipif(
    not DIALOGUES.is_file(), reason="../shared/corpora/crosswoz is not beside the repository"
)


# ------------------------------------------------------------------------------ the reference


def jieba_tagged(text: str) -> list[tuple[str, str]]:
    """segmenter.tagged as it was before issue 19: jieba's Python cut, and jieba.posseg for
    the runs of unknown words where a surname character is."""
    segmenter.load()
    freq, tags = jieba.dt.FREQ, jieba.posseg.dt.word_tag_tab
    out: list[tuple[str, str]] = []
    run: list[str] = []

    def flush() -> None:
        if any(len(w) > 1 and not segmenter.SURNAME_CHARS.isdisjoint(w) for w in run):
            out.extend(_jieba_posseg("".join(run)))
        else:
            out.extend((w, tags.get(w, "x")) for w in run)
        run.clear()

    for word in jieba.dt.cut(text):
        if "\u4e00" <= word[0] <= "\u9fff" and (len(word) == 1 or not freq.get(word)):
            run.append(word)
            continue
        if run:
            flush()
        out.append((word, tags.get(word, "x")))
    if run:
        flush()
    return out


@functools.cache
def _jieba_posseg(run: str) -> tuple[tuple[str, str], ...]:
    return tuple((p.word, p.flag) for p in jieba.posseg.dt.cut(run))


def chinese_words(pairs: list[tuple[str, str]]) -> list[tuple[int, str, str]]:
    """(offset, word, tag) of the words that begin with a Chinese character. Digits, Latin
    letters and "-" are grouped differently by the two cutters ("010-81528822": one word or
    three); no detector looks inside them."""
    found, position = [], 0
    for word, flag in pairs:
        if HAN.match(word):
            found.append((position, word, flag))
        position += len(word)
    return found


def boundaries_near_chinese(text: str, words: list[str]) -> set[int]:
    ends, position = set(), 0
    for word in words:
        position += len(word)
        ends.add(position)
    return {
        p for p in ends if HAN.match(text[p - 1 : p] or " ") or HAN.match(text[p : p + 1] or " ")
    }


HOSTILE = list("㐀㐁䶵鿖鿫鿿豈﨩𠀀𠮷😀々〇·•—\u200b\u3000 \t\r\n") + ["\r\n", "A座", "QQ号", "T恤"]


def random_texts(pool: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    chars = sorted(set(pool)) + HOSTILE + list("AZaz09+#&._%-@()（）：，。")
    return ["".join(rng.choice(chars) for _ in range(rng.randint(1, 24))) for _ in range(count)]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Normalised corpus sentences, CrossWOZ turns and random text."""
    rows = read_corpus(CORPUS)
    found = [normalize(row["text"]) for row in rows]
    if DIALOGUES.is_file():
        found += [normalize(t["text"]) for d in crosswoz() for t in d["turns"]]
    pool = "".join(found)
    return found + [normalize(t) for t in random_texts(pool, 3000, seed=19)]


# ------------------------------------------------------------------------------ offline


def test_rjieba_loads_offline_from_its_package(tmp_path):
    """rjieba's dictionary and HMM are compiled into its extension module: with every network
    connection refused and HF_HUB_OFFLINE=1 it loads, writes nothing, and the redaction that
    uses it finds names."""
    script = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network is off in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
import os, rjieba
package = os.path.dirname(rjieba.__file__)
print(sorted(n for n in os.listdir(package) if not n.startswith("__pycache__")))
from curation.redaction import DialogueRedactor, segmenter
segmenter.load()
print("|".join(segmenter.tokens("房东陈晓东明天过来")))
print(DialogueRedactor().redact("转账备注写马涛就可以，江雨萱是我们店的店长"))
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    files, words, redacted = result.stdout.strip().split("\n")
    assert "dict" not in files and ".txt" not in files  # no dictionary file beside the module
    assert words == "房东|陈晓东|明天|过来"
    assert redacted == "转账备注写[NAME_1]就可以，[NAME_2]是我们店的店长"
    assert {p.name for p in tmp_path.iterdir()} <= {"jieba.cache"}  # jieba's own cache only


# ------------------------------------------------------------------------------ the cut


def test_cut_is_jiebas_at_every_chinese_character(texts):
    for text in texts:
        words = segmenter.tokens(text)
        assert "".join(words) == text
        expected = boundaries_near_chinese(text, jieba.lcut(text))
        assert boundaries_near_chinese(text, words) == expected, (text, words)


def test_tagged_gives_todays_chinese_words_and_tags(texts):
    for text in texts[::2]:
        assert chinese_words(segmenter.tagged(text)) == chinese_words(jieba_tagged(text)), text


def test_dictionary_tags_of_rjieba_agree_with_jieba(texts):
    """rjieba's own tags of dictionary words are jieba's (the same dictionary); its guesses for
    unknown words are not used (jieba.posseg cuts and tags those runs)."""
    import rjieba

    tags = jieba.posseg.dt.word_tag_tab
    checked = 0
    for text in texts[:2000]:
        for word, flag in rjieba.tag(text):
            if word in tags:
                checked += 1
                assert flag == tags[word], word
    assert checked > 5000


# ------------------------------------------------------------------------------ posseg


def test_posseg_decoder_is_jieba_posseg(texts):
    rng = random.Random(7)
    samples = []
    for text in texts[::3]:
        start = rng.randrange(len(text))
        samples.append(text[start : start + rng.randint(1, 12)])
    samples += ["金生隆和老诚一锅", "写马涛", "江雨萱", "尹建华", "欧阳娜娜", "鿫王建国", "王㐀华"]
    for sample in samples:
        expected = [(p.word, p.flag) for p in jieba.posseg.dt.cut(sample)]
        assert posseg.cut(sample) == expected, sample


def test_viterbi_is_jiebas_on_random_chinese():
    from jieba.posseg import char_state_tab_P, emit_P, start_P, trans_P
    from jieba.posseg.viterbi import viterbi

    known = sorted(char_state_tab_P)
    rng = random.Random(3)
    for _ in range(1500):
        text = "".join(rng.choice(known) for _ in range(rng.randint(1, 10)))
        if rng.random() < 0.1:
            text += "㐀"  # unknown to the model: jieba's own decoder takes it
        assert posseg.viterbi(text) == viterbi(text, char_state_tab_P, start_P, trans_P, emit_P)


# ------------------------------------------------------------------------------ the pieces


def test_pieces_answer_as_the_whole_text_would(texts):
    """_TextWords (pieces, cut only where asked) against one _Words over the whole text from
    jieba's cut: word starts and ends at every position, and the name candidates."""
    for text in texts[:4000]:
        lazy = detectors._TextWords(text)
        whole = _whole_words(text)
        # what the detectors ask: where a Chinese match starts and ends
        chinese = [bool(HAN.match(char)) for char in text]
        for start in range(len(text)):
            if chinese[start]:
                assert lazy._starts(start) == (start in whole.end_of), (text, start)
            if chinese[start - 1] and start:
                assert lazy._ends(start) == (start in whole.end_set), (text, start)
            for end in range(start + 1, min(len(text), start + 5) + 1):
                if chinese[start] and chinese[end - 1]:
                    assert lazy.single_word(start, end) == whole.single_word(start, end)
        if chinese and chinese[-1]:
            assert lazy._ends(len(text)) == (len(text) in whole.end_set), text
        expected = detectors._segmenter_candidates(text, whole)
        assert sorted(lazy.candidates(), key=str) == sorted(expected, key=str), text


def _whole_words(text: str) -> detectors._Words:
    real = segmenter.tagged
    segmenter.tagged = jieba_tagged
    try:
        return detectors._Words(text)
    finally:
        segmenter.tagged = real


def test_find_spans_is_todays(texts, monkeypatch):
    """Everything found, with the new segmenter and detectors, against the same detectors run
    the way they were: jieba's cut, the whole text segmented, no shortcut for names, the
    phone-number matcher of phonenumbers as it is."""
    detectors.clear_caches()
    now = [find_spans(text) for text in texts]
    monkeypatch.setattr(segmenter, "tagged", jieba_tagged)
    monkeypatch.setattr(segmenter, "tokens", jieba.lcut)
    monkeypatch.setattr(segmenter, "pieces", lambda text: [(0, text)])
    everything = re.compile("")
    for shortcut in ("_NAME_SHAPE", "_TITLE_SHAPE", "_ANY_SURNAME", "_CUE_GATE", "_ASCII_LETTER"):
        monkeypatch.setattr(detectors, shortcut, everything)
    monkeypatch.setattr(detectors, "_Matcher", phonenumbers.PhoneNumberMatcher)
    monkeypatch.setattr(
        detectors,
        "CUE_RULES",
        tuple(r.__class__(*_fields(r), everything) for r in detectors.CUE_RULES),
    )
    detectors.clear_caches()
    try:
        before = [find_spans(text) for text in texts]
    finally:
        detectors.clear_caches()
    assert sum(map(len, now)) > 500
    for text, new, old in zip(texts, now, before, strict=True):
        assert new == old, text


def _fields(rule: detectors.CueRule) -> tuple:
    return rule.type, rule.pattern, rule.english, rule.accept


def test_each_cue_hint_is_in_every_match_of_its_rule(texts):
    """A rule is skipped when its hint is not in the text: every match holds the hint."""
    extra = [
        "WeChat: lily_2020", "weixin abc12345", "VX：lily-2020", "Q我 123456", "扣扣：1234567",
        "My PIN number is 4826", "passcode: hunter22", "A/C no. 55830586587", "user name: bob99",
        "login ID: zhangwei", "membership ID 88776655", "动态密码123456", "登录名zhangwei_bj",
        "The Verification Code is 593021", "OTP 482913", "会员号 12345678",
        "paſsword: hunter22", "ACCOUNT NO. 5583 0586 587",
    ]  # fmt: skip
    for text in texts + extra:
        for rule in detectors.CUE_RULES:
            if rule.pattern.search(text):
                assert rule.hint.search(text), (rule.type, rule.pattern.pattern, text)
                assert detectors._CUE_GATE.search(text), text
                assert not rule.english or detectors._ASCII_LETTER.search(text), text


# ------------------------------------------------------------------------------ the rest


def test_phone_numbers_as_phonenumbers_finds_them(texts):
    more = [
        "电话13812345678谢谢", "abc13812345678", "13812345678def", "¥13812345678",
        "13812345678%", "(0755)8765 4321", "打+86-138-1234-5678找我", "2024/03/15 10:30",
        "第12号，13812345678，第12号", "Tel:010-12345678x", "％13812345678",
    ]  # fmt: skip
    for text in texts + more:
        expected = [
            (m.start, m.end, m.raw_string, m.number)
            for m in phonenumbers.PhoneNumberMatcher(text, "CN", phonenumbers.Leniency.VALID)
        ]
        found = [
            (m.start, m.end, m.raw_string, m.number)
            for m in detectors._Matcher(text, "CN", phonenumbers.Leniency.VALID)
        ]
        assert found == expected, text


def test_each_phone_number_is_parsed_once(monkeypatch):
    """A number that comes back in every turn (and with other neighbours) is parsed once."""
    calls = []
    real = phonenumbers.phonenumbermatcher.parse

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(phonenumbers.phonenumbermatcher, "parse", counting)
    detectors.clear_caches()
    turns = [
        {"speaker": "customer", "text": "我的电话是13912345678，麻烦记一下"},
        {"speaker": "agent", "text": "好的，13912345678是吧？"},
        {"speaker": "customer", "text": "对，打13912345678就行"},
    ]
    redacted, counts = redact_dialogue({"id": "p", "turns": turns})
    assert counts == {"PHONE": 3}
    assert [t["text"] for t in redacted["turns"]][1] == "好的，[PHONE_1]是吧？"
    assert calls.count("13912345678") == 1


def test_pieces_without_a_name_are_not_segmented(monkeypatch):
    """Only pieces where a name can begin are cut: a turn with a surname and a title is cut
    for the title form's piece alone; one without a surname is not cut at all."""
    cut: list[str] = []
    real = segmenter.tagged

    def spy(text: str) -> list[tuple[str, str]]:
        cut.append(text)
        return real(text)

    monkeypatch.setattr(segmenter, "tagged", spy)
    detectors.clear_caches()
    assert find_spans("请问这个酒店的电话是多少？附近有地铁站吗？") == []
    assert cut == []
    spans = find_spans("您好，麻烦找一下王先生，谢谢。")
    assert [(s.type, s.key) for s in spans] == [("NAME", "王先生")]
    assert cut == ["麻烦找一下王先生"]


def test_normalize_is_the_table_translation():
    rng = random.Random(5)
    pool = [0x20, 0x41, 0x31, 0x4E00, 0x3000, 0xFF10, 0xFF21, 0xFF41, 0x200B, 0x2013, 0x0660]
    for _ in range(20000):
        text = "".join(
            chr(rng.choice(pool) + rng.randint(0, 12)) for _ in range(rng.randint(0, 12))
        )
        assert normalize(text) == _DASH_BETWEEN_DIGITS.sub("-", text.translate(_TABLE)), text


def test_corpus_figures_are_not_below_the_jieba_pipeline():
    """The figures of the pipeline before issue 19 (README): every type but NAME found in
    full, 205 of 207 names, no false positive."""
    report = evaluate(read_corpus(CORPUS))
    for kind, score in report.scores.items():
        assert score.precision == 1.0, (kind, report.table())
        if kind != "NAME":
            assert score.recall == 1.0, (kind, report.table())
    assert report.scores["NAME"].found >= 205, report.table()


@needs_crosswoz
def test_crosswoz_redaction_is_unchanged_by_the_caches():
    """Redacting the same dialogues again, with every cache warm, gives the same result."""
    dialogues = list(crosswoz()[:60])
    detectors.clear_caches()
    cold = [redact_dialogue(d) for d in dialogues]
    warm = [redact_dialogue(d) for d in dialogues]
    assert cold == warm
    assert sum(c["PHONE"] for _, c in cold) >= 20


def test_a_redactor_forgets_clean_texts_when_it_learns_names():
    """Texts found clean are not scanned again in the dialogue, until a new name is known."""
    redactor = DialogueRedactor()
    assert redactor.redact("Quincy Zed will come at 3") == "Quincy Zed will come at 3"
    assert redactor.redact("Quincy Zed will come at 3") == "Quincy Zed will come at 3"
    redactor.add_known_names(["Quincy Zed"])
    assert redactor.redact("Quincy Zed will come at 3") == "[NAME_1] will come at 3"
    assert redactor.counts == {"NAME": 1}
