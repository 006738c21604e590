"""Word segmentation and part-of-speech tags for the name and address detectors: jieba's
dictionary and models, cut by jieba-rs (through rjieba, compiled), with jieba.posseg's tags.

Both packages carry their dictionary inside them: nothing is downloaded, ever (the first load of
jieba in a fresh temp directory builds its cache there).

Names are found with jieba.posseg's tag "nr" (person name). `tagged` gives the words and tags of
`jieba.posseg.cut`, at the cost of a compiled cut (issue 19):

* the words come from rjieba's `cut`, jieba-rs's port of `jieba.cut` (same dictionary, same HMM):
  about 25x faster than jieba's Python. Its words are jieba's at every Chinese character (the
  two differ only in how they split runs of digits, Latin letters and "-" : "010-81528822" is one
  word for jieba-rs, three for jieba; no detector looks inside those). Characters that jieba-rs
  counts as Chinese and jieba does not (CJK extension A, U+9FD6-U+9FFF, compatibility
  ideographs, the supplementary planes) are cut apart first, as jieba cuts them;
* `jieba.cut` and `jieba.posseg.cut` segment alike except in runs of characters the dictionary
  does not join, where each runs its own HMM (posseg's also tags, and finds names better:
  写|马涛, not 写马涛). Each such run is cut again the way jieba.posseg cuts it (posseg.py:
  the same HMM, decoded in numpy) when a surname character is among them; every other word
  takes its dictionary tag, the tag jieba.posseg gives it;
* `pieces` splits a text where a jieba block ends (punctuation, spaces ...): neither cutter
  crosses those characters and no run spans them, so each piece can be cut alone. The name
  detector cuts only the pieces it asks about and keeps their words (detectors._TextWords).

jieba's Python segmenter is still loaded: its dictionary gives frequencies and tags, and its
POS tokenizer handles the rare text the numpy decoder leaves to it.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from typing import Any

from . import lexicon, posseg

_lock = threading.Lock()
_state: dict[str, Any] = {}

# What jieba-rs counts as Chinese and jieba does not: cut apart before jieba-rs sees it.
_RS_ONLY_HAN = "\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_RS_ONLY = re.compile(f"[{_RS_ONLY_HAN}]")
_RS_ONLY_SPLIT = re.compile(f"([{_RS_ONLY_HAN}])")


def _load() -> dict[str, Any]:
    if "cut" not in _state:
        with _lock:
            if "cut" not in _state:
                import jieba
                import jieba.posseg
                import rjieba

                jieba.setLogLevel(logging.WARNING)
                jieba.dt.initialize()
                posseg.cut("王")  # loads its model now, not under the first text
                _state["tags"] = jieba.posseg.dt.word_tag_tab
                _state["freq"] = jieba.dt.FREQ
                _state["cut"] = rjieba.Jieba().cut
    return _state


def load() -> None:
    """Load the dictionaries and models now (otherwise on the first text that needs them)."""
    _load()


def tokens(text: str) -> list[str]:
    """The words of `text` (jieba.cut's, HMM on); concatenated they give `text` back."""
    cut = _load()["cut"]
    if _RS_ONLY.search(text) is None:
        return cut(text)
    words: list[str] = []
    for part in _RS_ONLY_SPLIT.split(text):
        if len(part) == 1 and _RS_ONLY.match(part):
            words.append(part)
        elif part:
            words.extend(cut(part))
    return words


SURNAME_CHARS = lexicon.SURNAMES | {name[0] for name in lexicon.COMPOUND_SURNAMES}


@lru_cache(maxsize=65536)
def _posseg_run(run: str) -> tuple[tuple[str, str], ...]:
    return tuple(posseg.cut(run))


def _tag_words(words: list[str]) -> list[tuple[str, str]]:
    """jieba.cut's `words`, tagged as jieba.posseg would cut and tag their text: runs of
    characters the dictionary does not join are cut again by posseg when a name may start
    there; every other word takes its dictionary tag."""
    state = _load()
    freq, tags = state["freq"], state["tags"]
    out: list[tuple[str, str]] = []
    run: list[str] = []

    def flush() -> None:
        if any(len(word) > 1 and not SURNAME_CHARS.isdisjoint(word) for word in run):
            out.extend(_posseg_run("".join(run)))
        else:  # no name can start here: finalseg's words will do
            out.extend((word, tags.get(word, "x")) for word in run)
        run.clear()

    for word in words:
        # jieba's words are all Chinese or none (a dictionary word such as "T恤" aside)
        if "\u4e00" <= word[0] <= "\u9fff" and (len(word) == 1 or not freq.get(word)):
            run.append(word)
            continue
        if run:
            flush()
        out.append((word, tags.get(word, "x")))
    if run:
        flush()
    return out


def tagged(text: str) -> list[tuple[str, str]]:
    """The words of `text` with the tags jieba.posseg gives them (see the module docstring)."""
    return _tag_words(tokens(text))


_PIECE = re.compile("[A-Za-z0-9+#&._%\\-\u4e00-\u9fd5\r\n]+")


def pieces(text: str) -> list[tuple[int, str]]:
    """(offset, piece) for the pieces of `text` that can be cut apart (see the module
    docstring); every other character is a word of its own and ends any run. [(0, text)] when
    the text holds a character that only jieba-rs counts as Chinese: jieba takes those one by
    one, yet a run of unknown words goes on across them, so such a text is cut whole."""
    if _RS_ONLY.search(text) is not None:
        return [(0, text)]
    return [(m.start(), m.group()) for m in _PIECE.finditer(text)]


def clear_caches() -> None:
    """Forget the cached runs and tags (benchmarks start cold)."""
    _posseg_run.cache_clear()
    tag.cache_clear()


@lru_cache(maxsize=65536)
def tag(word: str) -> str:
    """The part-of-speech tag jieba.posseg gives `word` ("nr": person name)."""
    state = _load()
    known = state["tags"].get(word)
    if known is not None:
        return known
    pairs = posseg.cut(word)
    if len(pairs) == 1:
        return pairs[0][1]
    return "x"


def frequency(word: str) -> int:
    """How often `word` occurs in jieba's dictionary (0: not in it)."""
    return _load()["freq"].get(word, 0)


def dictionary() -> dict[str, int]:
    """jieba's dictionary: word -> frequency (prefixes of words have frequency 0)."""
    return _load()["freq"]
