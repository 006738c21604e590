"""jieba, loaded once per process on first use (its dictionary ships inside the package: nothing
is downloaded, ever; the first load in a fresh temp directory builds jieba's cache there).

Names are found with jieba's part-of-speech tag "nr" (person name), the tag `jieba.posseg`
gives. For speed the text is segmented with `jieba.cut` (about 1 MB/s here, against about
150 KB/s for `jieba.posseg.cut` of the whole text) and only the runs where the two differ -
characters the dictionary does not join, which each cuts with its own HMM - are cut again by
`jieba.posseg` when a surname character is among them; every other word takes the dictionary
tag that `jieba.posseg` would give it (see `tagged`).
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from typing import Any

from . import lexicon

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _load() -> dict[str, Any]:
    if "tokenizer" not in _state:
        with _lock:
            if "tokenizer" not in _state:
                import jieba
                import jieba.posseg

                jieba.setLogLevel(logging.WARNING)
                jieba.dt.initialize()
                _state["posseg"] = jieba.posseg.dt
                _state["tags"] = jieba.posseg.dt.word_tag_tab
                _state["freq"] = jieba.dt.FREQ
                _state["tokenizer"] = jieba.dt
    return _state


def load() -> None:
    """Load jieba's dictionary now (otherwise on the first text that needs it)."""
    _load()


def tokens(text: str) -> list[str]:
    """The words of `text` (jieba.cut, HMM on); concatenated they give `text` back."""
    return _load()["tokenizer"].lcut(text)


SURNAME_CHARS = lexicon.SURNAMES | {name[0] for name in lexicon.COMPOUND_SURNAMES}


@lru_cache(maxsize=65536)
def _posseg_run(run: str) -> tuple[tuple[str, str], ...]:
    return tuple((pair.word, pair.flag) for pair in _load()["posseg"].cut(run))


def tagged(text: str) -> list[tuple[str, str]]:
    """The words of `text` with the tags jieba.posseg gives them, at about jieba.cut's speed.

    jieba.cut and jieba.posseg.cut segment alike except in runs of characters the dictionary
    does not join, where each runs its own HMM (posseg's also tags, and finds names better:
    写|马涛, not 写马涛). So: jieba.cut, then each such run (single characters and unknown
    words) is cut again by jieba.posseg; every other word takes its dictionary tag."""
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

    for word in state["tokenizer"].cut(text):
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


@lru_cache(maxsize=65536)
def tag(word: str) -> str:
    """The part-of-speech tag jieba.posseg gives `word` ("nr": person name)."""
    state = _load()
    known = state["tags"].get(word)
    if known is not None:
        return known
    pairs = list(state["posseg"].cut(word))
    if len(pairs) == 1:
        return pairs[0].flag
    return "x"


def frequency(word: str) -> int:
    """How often `word` occurs in jieba's dictionary (0: not in it)."""
    return _load()["freq"].get(word, 0)


def dictionary() -> dict[str, int]:
    """jieba's dictionary: word -> frequency (prefixes of words have frequency 0)."""
    return _load()["freq"]
