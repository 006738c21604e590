"""Text normalisation that runs before any detector (and whose result is what gets stored).

What it does, in one `str.translate` and one small regex:

* every Unicode decimal digit (full-width ０-９, Arabic-Indic, ...) becomes its ASCII digit;
* full-width Latin letters (Ａ-Ｚ, ａ-ｚ) and the full-width symbols that occur inside personal
  data (＠ ＋ － ． ＿ ＃ ［ ］ ／ ＝) become ASCII;
* zero-width and invisible format characters (U+200B-U+200F, U+2060-U+2064, U+FEFF, soft hyphen,
  bidi controls, ...) are removed, so that "138\u200b1234\u200b5678" is one number;
* the other Unicode spaces (ideographic space U+3000, no-break space, thin spaces) become " ";
* dash variants between two digits (‐ ‑ ‒ – — ― − ﹣) become "-".

Chinese punctuation (，。：；！？（）“”、…) is left as it is: unlike blanket NFKC, the text still
reads as Chinese (NFKC would turn "，" into "," and "：" into ":").
"""

from __future__ import annotations

import re
import sys
import unicodedata

# Characters that carry no visible content and can hide inside numbers or e-mail addresses.
ZERO_WIDTH = (
    "\u00ad"  # soft hyphen
    "\u034f"  # combining grapheme joiner
    "\u061c"  # Arabic letter mark
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u180e"  # Mongolian vowel separator
    "\u200b\u200c\u200d\u200e\u200f"  # zero-width space / non-joiner / joiner, LRM, RLM
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2060\u2061\u2062\u2063\u2064"  # word joiner, invisible operators
    "\u2066\u2067\u2068\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space (BOM)
)

SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
SPACES += "\u202f\u205f\u3000"

FULLWIDTH_SYMBOLS = "＠＋－．＿＃［］／＝"


def _table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if code > 0x7F and char.isdecimal():
            table[code] = str(unicodedata.decimal(char))
    for code in range(0xFF21, 0xFF3B):  # Ａ-Ｚ
        table[code] = chr(code - 0xFEE0)
    for code in range(0xFF41, 0xFF5B):  # ａ-ｚ
        table[code] = chr(code - 0xFEE0)
    for char in FULLWIDTH_SYMBOLS:
        table[ord(char)] = chr(ord(char) - 0xFEE0)
    for char in ZERO_WIDTH:
        table[ord(char)] = None
    for char in SPACES:
        table[ord(char)] = " "
    return table


_TABLE = _table()
_DASHES = "\u2010-\u2015\u2212\ufe58\ufe63"
_DASH_BETWEEN_DIGITS = re.compile(f"(?<=[0-9])[{_DASHES}](?=[0-9])")


def _char_class(codes: list[int]) -> str:
    """A regex character class of `codes` (sorted), as ranges."""
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )


# Any character that `normalize` changes. Most texts have none (Chinese punctuation stays):
# one search then spares them the per-character table lookups of str.translate.
_CHANGED = re.compile(f"[{_char_class(sorted(_TABLE))}{_DASHES}]")


def normalize(text: str) -> str:
    """The normalised text (see the module docstring); idempotent."""
    if _CHANGED.search(text) is None:
        return text
    return _DASH_BETWEEN_DIGITS.sub("-", text.translate(_TABLE))
