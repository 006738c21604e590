"""One detector per type of personal data. Each takes normalised text (see normalize.py) and
returns `Span`s; `find_spans` runs them all, drops what overlaps an existing placeholder and
resolves overlaps by type priority.

Types: PHONE, ID, CARD, EMAIL, WECHAT, QQ, PASSWORD, CODE, ACCOUNT, ADDRESS, NAME.

Libraries, and what they decide:

* phonenumbers (Google's libphonenumber metadata): `PhoneNumberMatcher(text, "CN")` at leniency
  VALID finds mobile, landline, 400/800 and +86 numbers in any of their usual spellings
  (138 1234 5678, +86-138-1234-5678, (0755)8765 4321, 010-12345678, glued to Chinese); a
  regex adds 11-digit mobiles in ranges the metadata does not know yet and 7-8 digit local
  numbers after a cue word (电话, 座机, phone ...).
* python-stdnum: `stdnum.cn.ric` checks the 18-digit resident ID's check digit and birth date
  (the county table is not required: new counties would be missed); a 15-digit ID is checked by
  turning it into its 18-digit form and asking the same; `stdnum.luhn` checks bank cards.
* jieba: person names by the "nr" tag of jieba.posseg (see segmenter.py: the cut by jieba-rs,
  compiled), and word boundaries that keep surname+title patterns from firing inside words
  (高总价, 小程序, 公司经理).

Speed (issue 19; the same findings, tests/curation/test_redaction_segmenter.py compares): a
text is segmented only in the pieces where a name can begin or a title or cue-word match asks
about word boundaries (_TextWords), and those pieces' words are kept; phonenumbers' verdict on
a candidate is kept (_checked_number); each cue rule is tried only on texts holding its hint;
cheap character-class searches decide first whether the name patterns can match at all.
* jionlp (not a dependency: it pulls a 150 MB segmenter and prints a banner on stdout when
  imported): its ID pattern (province code + birth date) and its cue-word approach for QQ
  numbers are used here.

Regexes never use \\b next to Chinese: digits glued to Chinese characters ("电话13812345678谢谢")
are found with digit look-arounds instead.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from stdnum import luhn
from stdnum.cn import ric

from . import lexicon, segmenter

TYPES = (
    "EMAIL",
    "ID",
    "CARD",
    "QQ",
    "PHONE",
    "WECHAT",
    "CODE",
    "PASSWORD",
    "ACCOUNT",
    "ADDRESS",
    "NAME",
)
PRIORITY = {name: rank for rank, name in enumerate(TYPES)}


@dataclass(frozen=True, slots=True)
class Span:
    """What a detector found. [start, end) is the mention (张先生, the digits of a phone);
    [cut_start, cut_end) is the part that is replaced (张 in 张先生): titles and cue words stay.
    `key` identifies the value inside a dialogue (digits only, lower-cased e-mail ...), so
    that one value gets one placeholder whatever its spelling."""

    start: int
    end: int
    type: str
    key: str
    cut_start: int
    cut_end: int
    rank: int = 0  # order among spans of one type (lower wins a tie)

    @property
    def length(self) -> int:
        return self.end - self.start


def _span(
    type_: str,
    start: int,
    end: int,
    key: str,
    cut: tuple[int, int] | None = None,
    rank: int = 0,
) -> Span:
    cut_start, cut_end = cut or (start, end)
    return Span(start, end, type_, key, cut_start, cut_end, rank)


HAN = "\u4e00-\u9fff"
_HAN_RE = re.compile(f"[{HAN}]")
_DIGITS = re.compile(r"[^0-9Xx]")

# Existing placeholders are left alone: [姓名] [电话] [NAME_1] [PHONE_2] 【姓名】 ...
PLACEHOLDER_RE = re.compile(
    rf"\[(?:[A-Z]{{2,}}[A-Z0-9]*(?:_[A-Z0-9]+)*|[{HAN}]{{1,8}}(?:_?[0-9]+)?)\]"
    rf"|【[{HAN}]{{1,8}}(?:_?[0-9]+)?】"
)
NUMBERED_PLACEHOLDER_RE = re.compile(r"\[([A-Z]+)_([0-9]+)\]")


def digits_of(value: str) -> str:
    return _DIGITS.sub("", value).upper()


# --------------------------------------------------------------------------------------------
# EMAIL

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)


def detect_email(text: str) -> list[Span]:
    if "@" not in text:
        return []
    return [_span("EMAIL", m.start(), m.end(), m.group().lower()) for m in _EMAIL.finditer(text)]


# --------------------------------------------------------------------------------------------
# ID: 18-digit resident ID (check digit and birth date by stdnum.cn.ric) and 15-digit old IDs

_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65"
    " 71 81 82 83 91".split()
)
_ID18 = re.compile(
    r"(?<![0-9])([1-9][0-9]{5})[ -]?((?:18|19|20)[0-9]{2}[01][0-9][0-3][0-9])[ -]?"
    r"([0-9]{3}[0-9Xx])(?![0-9A-Za-z])"
)
_ID15 = re.compile(r"(?<![0-9])[1-9][0-9]{5}[0-9]{2}[01][0-9][0-3][0-9][0-9]{3}(?![0-9])")


def valid_id18(number: str) -> bool:
    """Check digit and birth date, by python-stdnum (the county table is not consulted)."""
    number = number.upper()
    if len(number) != 18 or number[:2] not in _PROVINCES:
        return False
    if ric.calc_check_digit(number) != number[-1]:
        return False
    try:
        ric.get_birth_date(number)
    except Exception:  # stdnum raises InvalidComponent for an impossible date
        return False
    return True


def valid_id15(number: str) -> bool:
    """A 15-digit (pre-1999) ID: province, and a real 19YY birth date (its 18-digit form)."""
    if len(number) != 15 or number[:2] not in _PROVINCES:
        return False
    body = number[:6] + "19" + number[6:]
    return valid_id18(body + ric.calc_check_digit(body + "0"))


def detect_id(text: str) -> list[Span]:
    found = []
    for m in _ID18.finditer(text):
        number = "".join(m.groups()).upper()
        if valid_id18(number):
            found.append(_span("ID", m.start(), m.end(), number))
    for m in _ID15.finditer(text):
        if valid_id15(m.group()):
            found.append(_span("ID", m.start(), m.end(), m.group()))
    return found


# --------------------------------------------------------------------------------------------
# CARD: 16-19 digits, optionally grouped, Luhn-valid (stdnum.luhn), issuer digit 3-6 or 9

_CARD = re.compile(
    r"(?<![0-9])(?<![0-9][ -])[3-69][0-9]{3,5}(?:[ -]?[0-9]{1,6}){2,6}(?![0-9])(?![ -][0-9])"
)


def detect_card(text: str) -> list[Span]:
    found = []
    for m in _CARD.finditer(text):
        number = digits_of(m.group())
        if 16 <= len(number) <= 19 and luhn.is_valid(number):
            found.append(_span("CARD", m.start(), m.end(), number))
    return found


# --------------------------------------------------------------------------------------------
# PHONE

_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])")
_LOCAL_AFTER_CUE = re.compile(
    r"(?:电话|座机|固话|手机|联系方式|传真|分机|[Tt]el\.?|TEL|[Pp]hone|[Cc]all)"
    r"(?:号码|号|是|为|打|拨|[:：=]|\s){0,4}"
    r"(?<![0-9])([2-9][0-9]{2,3}[ -]?[0-9]{4})(?![0-9])"
)
# How mainland numbers are written: trunk 0 or country code first, or a mobile, or 400/800.
_WRITTEN_LIKE_A_PHONE = re.compile(r"[(（]?(?:\+|00|0|86|1[3-9]|[48]00)")
_PHONE_HINT = re.compile(r"[0-9][0-9 ()（）+-]{5,}[0-9]")


@lru_cache(maxsize=4096)
def _checked_number(candidate: str, before: str, after: str) -> object | None:
    """phonenumbers' verdict on a candidate its matcher found (its `_parse_and_verify`: parse
    for CN, then the VALID checks): the number, or None. The verdict depends on the
    candidate and on the characters right before and after it, and of those only on whether
    they refuse it (a Latin letter, a currency sign: see `_refuses`), nothing else of the text:
    it is asked on those three alone, once for each, and kept (a number recurs in a dialogue,
    short numbers such as floors and prices everywhere)."""
    matcher = phonenumbers.PhoneNumberMatcher(before + candidate + after, "CN", _LENIENCY)
    match = phonenumbers.PhoneNumberMatcher._parse_and_verify(matcher, candidate, len(before))
    return None if match is None else match.number


@lru_cache(maxsize=4096)
def _refuses(char: str) -> bool:
    """Whether phonenumbers (at leniency VALID) refuses a candidate next to `char`."""
    matcher = phonenumbers.PhoneNumberMatcher
    return matcher._is_invalid_punctuation_symbol(char) or matcher._is_latin_letter(char)


class _Matcher(phonenumbers.PhoneNumberMatcher):
    """phonenumbers' matcher, whose parsing and validation of each candidate is kept
    (_checked_number); what it finds is the same."""

    def _parse_and_verify(self, candidate: str, offset: int) -> object:
        end = offset + len(candidate)
        # a neighbour that does not refuse the candidate counts as none (as at the text's ends)
        before, after = self.text[offset - 1 : offset], self.text[end : end + 1]
        checked = _checked_number(
            candidate, before if before and _refuses(before) else "",
            after if after and _refuses(after) else "",
        )  # fmt: skip
        if checked is None:
            return None
        return phonenumbers.PhoneNumberMatch(offset, candidate, checked)


_LENIENCY = phonenumbers.Leniency.VALID
_E164 = phonenumbers.PhoneNumberFormat.E164


def detect_phone(text: str) -> list[Span]:
    if not _PHONE_HINT.search(text):
        return []
    found = []
    for match in _Matcher(text, "CN", _LENIENCY):
        if not _WRITTEN_LIKE_A_PHONE.match(match.raw_string):
            continue  # 2584286316: valid as 025-84286316, but nobody writes it so
        key = phonenumbers.format_number(match.number, _E164)
        found.append(_span("PHONE", match.start, match.end, key))
    for m in _MOBILE.finditer(text):
        digits = digits_of(m.group())
        found.append(_span("PHONE", m.start(), m.end(), "+86" + digits[-11:], rank=1))
    for m in _LOCAL_AFTER_CUE.finditer(text):
        found.append(_span("PHONE", m.start(1), m.end(1), "local:" + digits_of(m.group(1)), rank=2))
    return found


# --------------------------------------------------------------------------------------------
# Cue words: WECHAT, QQ, PASSWORD, CODE, ACCOUNT. The value after the cue is replaced.

_ZH_SEP = (
    r"(?:[\s:：=]|是|为|就是|也是|号码|号|改成|改为|设成|设为|设置成|设置为|设的是|发的是|叫)*"
)
_EN_SEP = r"(?:\s*(?:is|was|will be|are|:|=|#|to)\s*|\s+)"
# "the password for the smart lock is ...", "the code of the gate is ..."
_EN_QUALIFIER = (
    r"(?:\s+(?:for|of|to|on|at)\s+(?:the|my|your|our|this|that)?\s*[A-Za-z-]+(?:\s+[A-Za-z-]+)?)?"
)
_QUOTE_OPEN = "\"'“‘「"

_TRAILING = ".,;:!?)'\"”’」"


@dataclass(frozen=True, slots=True)
class CueRule:
    type: str
    pattern: re.Pattern[str]
    english: bool
    accept: Callable[[str, str, str], bool]  # (value, separator, cue) -> keep it?
    # What every match of the cue contains (密码 for 密码|动态密码, "pass|pwd|pin" for the English
    # password cues): a text without it is not searched with the whole pattern, whose cue
    # alternatives and look-behinds are tried at every character.
    hint: re.Pattern[str]


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


_EN_VALUE_STOP = frozenset(
    """
    correct wrong required incorrect invalid expired same different changed reset protected
    needed sent below above ready fine okay the a an on in at for not still also here there
    """.split()
)


def _en_value_ok(value: str, sep: str) -> bool:
    if value.lower() in _EN_VALUE_STOP:
        return False
    if _has_digit(value) or any(not c.isalnum() for c in value):
        return True
    return ":" in sep or "=" in sep  # a bare word after "password:" is a password


_CODE_BLOCKERS = re.compile(
    r"(?:zip|postal|post|area|country|dialing|dialling|qr|QR|promo|promotion|discount|coupon|"
    r"source|dress|bar|district|tax|invitation|referral|building|access\s+control|color|colour)"
    r"\s*$",
    re.IGNORECASE,
)


def _rule(
    type_: str,
    cues: str,
    value: str,
    *,
    english: bool,
    accept: Callable[[str, str, str], bool],
    hint: str,
    sep: str | None = None,
) -> CueRule:
    separator = sep if sep is not None else (_EN_QUALIFIER + _EN_SEP if english else _ZH_SEP)
    flags = re.IGNORECASE if english else 0
    pattern = re.compile(
        rf"(?P<cue>{cues})(?P<sep>{separator})[{_QUOTE_OPEN}]?(?P<value>{value})", flags
    )
    return CueRule(type_, pattern, english, accept, re.compile(hint, flags))


def _any(value: str, sep: str, cue: str) -> bool:
    return True


def _en_ok(value: str, sep: str, cue: str) -> bool:
    return _en_value_ok(value, sep)


def _en_digit(value: str, sep: str, cue: str) -> bool:
    return _has_digit(value) and value.lower() not in _EN_VALUE_STOP


_USER_OR_LOGIN = re.compile(r"(?i)user|login")


def _en_account(value: str, sep: str, cue: str) -> bool:
    if _USER_OR_LOGIN.match(cue):
        return _en_value_ok(value, sep)
    return _has_digit(value)


def _wechat_ok(value: str, sep: str, cue: str) -> bool:
    if _HAN_RE.search(cue):  # 微信, 威信: Latin text right after them is the id
        return True
    return _en_value_ok(value, sep) or "id" in sep.lower()


_ASCII_VALUE = r"[!-Z\\^-~][!-~]{2,40}"  # printable ASCII, not starting with "[" (a placeholder)

CUE_RULES = (
    _rule(
        "WECHAT",
        r"微信(?:号|账号|ID|id)?|威信|薇信|[Vv]信|(?<![A-Za-z])(?:VX|vx|Vx|wx|WX|Wx|"
        r"[Ww]ei[Xx]in|[Ww]e[Cc]hat(?:\s*(?:ID|id|account))?)(?![A-Za-z])",
        r"[A-Za-z][-_A-Za-z0-9]{5,19}(?![-_A-Za-z0-9])|[1-9][0-9]{4,11}(?![0-9])",
        english=False,
        accept=_wechat_ok,
        hint=r"信|[VvWw][Xx]|[Ww]ei[Xx]in|[Ww]e[Cc]hat",
        sep=r"(?:[\s:：=]|是|为|就是|也是|号码|号|搜|加|[Ii][Dd]|is|me|at|on)*",
    ),
    _rule(
        "QQ",
        r"(?<![A-Za-z@.])(?:QQ|qq|Qq|扣扣)(?![A-Za-z])|(?<![A-Za-z])[Qq]我",
        r"[1-9][0-9]{4,11}(?![0-9])",
        english=False,
        accept=_any,
        hint=r"[Qq][Qq]|扣扣|[Qq]我",
        sep=r"(?:[\s:：=#，,]|是|为|就是|也是|号码|号|[Nn]umber|[Nn]o\.?|is|ID|id)*",
    ),
    _rule(
        "CODE",
        r"验证码|校验码|动态码|动态密码|短信码|确认码|授权码|安全码|提取码",
        r"[A-Za-z0-9]{4,8}(?![A-Za-z0-9])|[0-9]{3}[ -][0-9]{3}(?![0-9])",
        english=False,
        accept=_any,
        hint="码",
    ),
    _rule(
        "CODE",
        r"验证码|校验码|动态码",
        r"(?<!尾号)(?<!后四位)(?<!末四位)[0-9]{4,8}(?![0-9])",
        english=False,
        accept=_any,
        hint="码",
        sep=r"[^。！？!?\n0-9]{1,12}?",
    ),
    _rule(
        "CODE",
        r"(?<![A-Za-z])(?:(?:verification|security|confirmation|authentication|auth|sms|text|"
        r"one[- ]time|login|access|door|entry|gate|lock|otp)\s+code|OTP|code)(?![A-Za-z])",
        r"[A-Za-z0-9]{4,8}(?![A-Za-z0-9])|[0-9]{3}[ -][0-9]{3}(?![0-9])",
        english=True,
        accept=_en_digit,
        hint="code|otp",
    ),
    _rule(
        "PASSWORD",
        r"(?<!动态)(?<!短信)密码|口令",
        _ASCII_VALUE,
        english=False,
        accept=_any,
        hint="密码|口令",
    ),
    _rule(
        "PASSWORD",
        r"(?<!动态)(?<!短信)密码",
        _ASCII_VALUE,
        english=False,
        accept=_any,
        hint="密码",
        sep=r"[^。！？!?\n:：]{1,8}?[:：是为]\s*",
    ),
    _rule(
        "PASSWORD",
        r"(?<![A-Za-z])(?:password|passcode|passwd|pwd|PIN(?:\s+(?:code|number))?)(?![A-Za-z])",
        _ASCII_VALUE,
        english=True,
        accept=_en_ok,
        hint="pass|pwd|pin",
        sep=_EN_QUALIFIER + r"(?:\s*(?:is|was|will be|remains|:|=|to)\s*)+",
    ),
    _rule(
        "ACCOUNT",
        r"(?:银行|收款|付款|对公|公积金|社保|会员|登录|登陆)?(?:账号|帐号|账户|帐户|户号|卡号|会员号|用户名|登录名)",
        r"[0-9](?:[0-9 -]{3,40}[0-9])|[A-Za-z0-9][A-Za-z0-9_.@-]{3,40}",
        english=False,
        accept=_any,
        hint="[号户名]",
    ),
    _rule(
        "ACCOUNT",
        r"(?<![A-Za-z])(?:(?:bank\s+)?account(?:\s+(?:number|no\.?|ID))?|acct\.?(?:\s+no\.?)?|"
        r"A/C(?:\s+no\.?)?|user\s*name|login(?:\s+ID)?|member(?:ship)?\s+(?:number|no\.?|ID))"
        r"(?![A-Za-z])",
        r"[0-9](?:[0-9 -]{3,40}[0-9])|[A-Za-z0-9][A-Za-z0-9_.@-]{3,40}",
        english=True,
        accept=_en_account,
        hint="acc|a/c|user|login|member",
        sep=_EN_QUALIFIER + r"(?:\s*(?:is|was|:|=|#)\s*|\s+)+",
    ),
)
# A character that every rule's hint holds (case-insensitive, as the English hints are).
_CUE_GATE = re.compile("[信VvWwQq扣码密口号户名copaulm]", re.IGNORECASE)
# Every English cue holds an ASCII letter that no other character matches case-insensitively
# (c, o, d, e, p, w, n, a, u ...): Chinese text without one skips the English rules.
_ASCII_LETTER = re.compile("[A-Za-z]")


def detect_cues(text: str) -> list[Span]:
    if not _CUE_GATE.search(text):
        return []
    latin = _ASCII_LETTER.search(text) is not None
    found = []
    for rule in CUE_RULES:
        if (rule.english and not latin) or not rule.hint.search(text):
            continue
        for m in rule.pattern.finditer(text):
            value, start = m.group("value"), m.start("value")
            if rule.type in ("PASSWORD", "ACCOUNT"):
                value = value.rstrip(_TRAILING + " -")
            if len(value) < 4:
                continue
            if rule.english and rule.type == "CODE" and m.group("cue").lower() == "code":
                if _CODE_BLOCKERS.search(text[max(0, m.start() - 20) : m.start()]):
                    continue
            if not rule.accept(value, m.group("sep"), m.group("cue")):
                continue
            key = digits_of(value) if value.replace(" ", "").replace("-", "").isdigit() else value
            found.append(_span(rule.type, start, start + len(value), key))
    return found


# --------------------------------------------------------------------------------------------
# ADDRESS: a street with a house number (望京西路48号院3号楼2单元501), a compound with building,
# unit and room (阳光花园5栋1单元1202), and English street addresses (No. 48 Wangjing West Road).

# Characters that end a place name to the left: verbs, pronouns, particles ("我住在|望京西路").
_STOP = "在住是到去的于从我你他她们址为了就也都把往离"
_NAME_CHAR = rf"(?:(?![{_STOP}])[{HAN}])"
_ADMIN = rf"(?:{_NAME_CHAR}{{2,7}}?(?:省|自治区|市|区|县|新区|开发区|镇|乡|街道))"
_STREET = rf"(?:{_NAME_CHAR}{{1,10}}?(?:大街|大道|路|街|巷|胡同|弄))"
_NUM = r"[0-9]+(?:-[0-9]+)?"
_UNIT_TAIL = (
    rf"(?:院|号院)?(?:{_NUM}(?:号楼|栋|幢|座|号院))?(?:[A-Za-z]座|[A-Za-z]栋)?"
    rf"(?:{_NUM}(?:单元|门))?(?:[A-Za-z]?{_NUM}(?:室|号|房)?)?"
)
_STREET_ADDRESS = re.compile(
    rf"(?:{_ADMIN}{{0,3}}){_STREET}{_NUM}(?:号|弄)(?:{_NUM}号(?!楼|院))?"
    rf"(?:[0-9]+-[0-9]+-[0-9]+|{_UNIT_TAIL})"
    rf"|(?:{_ADMIN}{{0,3}}){_STREET}{_NUM}-{_NUM}-{_NUM}"
)
_COMPOUND_ADDRESS = re.compile(
    rf"(?:{_ADMIN}{{0,3}}){_NAME_CHAR}{{1,8}}?(?:小区|花园|家园|公寓|新村|嘉园|苑|园|城|府|湾|庭|里|大厦)"
    rf"{_NUM}(?:号楼|栋|幢|座)(?:{_NUM}单元)?{_NUM}(?:室|号|房)?(?![0-9])"
)
_NOT_STREETS = ("知道", "街道", "通道", "过道", "频道", "车道", "跑道", "味道", "难道", "走道")
_EN_ADDRESS = re.compile(
    r"(?:(?:Room|Rm\.?|Apt\.?|Apartment|Flat|Unit|Suite)\s*[0-9]+[A-Z]?,?\s*)?"
    r"(?:(?:Unit|Building|Bldg\.?|Block|Tower)\s*[0-9]+[A-Z]?,?\s*)*"
    r"(?:No\.\s*)?[0-9]{1,5}[A-Z]?,?\s+(?:[A-Z][a-z]+\s+){1,4}"
    r"(?:Road|Rd\.?|Street|St\.?|Avenue|Ave\.?|Lane|Ln\.?|Boulevard|Blvd\.?|Drive|Dr\.?|Hutong)"
    r"(?![A-Za-z])"
)
_ADDRESS_HINT = re.compile(
    r"[0-9](?:号|弄|-[0-9]+-|栋|幢|座)|(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Blvd|Drive|Hutong)"
)


# Word tags that cannot be part of a place name: verbs, prepositions, pronouns, adverbs,
# conjunctions, particles, measure words ("房子挨着|学院路38号").
_NOT_PLACE_TAGS = frozenset("v p r d c y q m f uj ul uz ug ud uv zg".split())
_FIRST_DIGIT = re.compile(r"[0-9]")
_SUFFIX_WORDS = frozenset(
    "路 街 大街 大道 道 巷 胡同 弄 小区 花园 家园 公寓 新村 嘉园 苑 园 城 府 湾 庭 里 大厦".split()
)


def _trim_place(text: str, start: int, end: int) -> int:
    """Move the start of an address past the words that cannot belong to a place name. The
    word before a bare suffix stays (建设|路 and 解放|大街 are streets)."""
    digit = _FIRST_DIGIT.search(text, start, end)
    if digit is None:
        return start
    words = segmenter.tokens(text[start : digit.start()])
    last = -2 if words and words[-1] in _SUFFIX_WORDS else -1
    cut = position = 0
    for word in words[:last]:
        position += len(word)
        if segmenter.tag(word) in _NOT_PLACE_TAGS:
            cut = position
    return start + cut


# The address regexes run only in a window around a street or compound suffix followed by a
# number, so that their cost does not grow with the square of a long turn's length.
_STREET_CORE = re.compile(r"(?:大街|大道|路|街|巷|胡同|弄)[0-9]")
_COMPOUND_CORE = re.compile(r"(?:小区|花园|家园|公寓|新村|嘉园|苑|园|城|府|湾|庭|里|大厦)[0-9]")
_WINDOW = 40  # a place name (province ... street) is at most 35 characters long


def _around(pattern: re.Pattern[str], core: re.Pattern[str], text: str) -> list[re.Match[str]]:
    matches: list[re.Match[str]] = []
    done = 0
    for hit in core.finditer(text):
        if hit.start() < done:
            continue
        lo, hi = max(done, hit.start() - _WINDOW), min(len(text), hit.end() + _WINDOW)
        for m in pattern.finditer(text, lo, hi):
            if m.start() <= hit.start() < m.end():
                matches.append(m)
                done = m.end()
                break
    return matches


def detect_address(text: str) -> list[Span]:
    if not _ADDRESS_HINT.search(text):
        return []
    found = []
    for pattern, core in ((_STREET_ADDRESS, _STREET_CORE), (_COMPOUND_ADDRESS, _COMPOUND_CORE)):
        for m in _around(pattern, core, text):
            start = _trim_place(text, m.start(), m.end())
            value = text[start : m.end()]
            if any(word in value for word in _NOT_STREETS):
                continue
            found.append(_span("ADDRESS", start, m.end(), value))
    for m in _EN_ADDRESS.finditer(text):
        found.append(_span("ADDRESS", m.start(), m.end(), m.group()))
    return found


# --------------------------------------------------------------------------------------------
# NAME

_SURNAME = "(?:" + "|".join(lexicon.COMPOUND_SURNAMES) + "|[" + "".join(lexicon.SURNAMES) + "])"
_TITLE_FORM = re.compile(
    rf"(?P<name>{_SURNAME})(?P<title>{'|'.join(sorted(lexicon.TITLES, key=len, reverse=True))})"
)
_SURNAME_FIRST = "".join(sorted(segmenter.SURNAME_CHARS))
_COMPOUND_SECOND = "".join(sorted({name[1] for name in lexicon.COMPOUND_SURNAMES}))
# Every segmenter candidate holds a surname directly followed by a given-name character (see
# _segmenter_candidates: 尹|建华 and 王雨 alike): a piece without one is not cut for names.
# Two character classes (a compound surname's second character counts as a given-name one
# here): far faster to search for than the surnames' alternation, and it lets through all the
# pieces that one would.
_NAME_SHAPE = re.compile(
    f"[{_SURNAME_FIRST}][{''.join(sorted(lexicon.GIVEN_CHARS))}{_COMPOUND_SECOND}]"
)
# Likewise for the title forms: a surname character (or a compound's second one) right before
# the first character of a title.
_TITLE_SHAPE = re.compile(
    f"[{_SURNAME_FIRST}{_COMPOUND_SECOND}][{''.join(sorted({t[0] for t in lexicon.TITLES}))}]"
)
_ANY_SURNAME = re.compile(f"[{_SURNAME_FIRST}]")
_SMALL_OLD_FORM = re.compile(rf"(?P<pre>[小老])(?P<name>[{''.join(lexicon.SURNAMES)}])")
_NAME_CUE = re.compile(
    r"(?:我叫|叫做|名叫|我是|本人是?|姓名|名字|联系人|房东|业主|户主|租客|承租人|出租人|买方|卖方|"
    r"经纪人|置业顾问|签约人|收款人|户名|开户名|账户名|找|问一下|麻烦)"
    rf"(?:是|为|叫|[:：\s])*(?P<name>{_SURNAME}[{HAN}]{{1,2}})"
)
_NR_TAGS = ("nr", "nrfg", "nrt")
_MAX_NR_FREQUENCY = 1000  # jieba's dictionary tags 阳光 (3451), 齐全 (1417) "nr" too


def _is_surname_start(word: str) -> int:
    """Length of the surname `word` begins with (0: none)."""
    if word[:2] in lexicon.COMPOUND_SURNAMES:
        return 2
    return 1 if word[:1] in lexicon.SURNAMES else 0


def _plausible_name(word: str, next_word: str = "") -> bool:
    """A segmenter word that may be a person's name: surname + one or two characters, all
    Chinese, not a known non-name, not the head of a place or shop name."""
    surname = _is_surname_start(word)
    if not surname or not 1 <= len(word) - surname <= 2:
        return False
    if not all("\u4e00" <= c <= "\u9fff" for c in word) or word in lexicon.NOT_NAMES:
        return False
    if next_word and next_word.startswith(lexicon.PLACE_SUFFIXES):
        return False
    return segmenter.frequency(word) < _MAX_NR_FREQUENCY


def _dictionary_word(word: str) -> bool:
    """A dictionary word that jieba does not tag as a name (小时, 施工, 高中)."""
    return segmenter.frequency(word) > 0 and not segmenter.tag(word).startswith(_NR_TAGS)


class _Words:
    """The words of one text (or piece of text) with their jieba.posseg tags and offsets."""

    def __init__(self, text: str) -> None:
        pairs = segmenter.tagged(text)
        self.words = [word for word, _ in pairs]
        self.tags = [flag for _, flag in pairs]
        self.starts: list[int] = []
        self.end_of: dict[int, int] = {}
        position = 0
        for word in self.words:
            self.starts.append(position)
            self.end_of[position] = position + len(word)
            position += len(word)
        self.end_set = set(self.end_of.values())

    def aligned(self, start: int, end: int) -> bool:
        return start in self.end_of and end in self.end_set

    def single_word(self, start: int, end: int) -> bool:
        return self.end_of.get(start) == end

    def word(self, index: int) -> str:
        return self.words[index] if 0 <= index < len(self.words) else ""


PIECE_CACHE = 8192  # pieces of text (a clause each, typically) whose words are kept


@lru_cache(maxsize=PIECE_CACHE)
def _piece(piece: str) -> tuple[_Words, tuple[Span, ...]]:
    """The words of one piece of text (segmenter.pieces) and the segmenter's name candidates
    in it, offsets relative to the piece. Kept: the second scan after replacing and recurring
    phrases do not cut the same piece again."""
    words = _Words(piece)
    if _NAME_SHAPE.search(piece) is None:
        return words, ()
    return words, tuple(_segmenter_candidates(piece, words))


class _TextWords:
    """The words of a text, cut only where a detector asks about them.

    A text is cut in pieces (segmenter.pieces): runs of Chinese, Latin letters and digits;
    every other character (punctuation, spaces) is a word of its own, which no run of unknown
    words and no name crosses. A piece is segmented only when a name can begin in it
    (_NAME_SHAPE: a surname and a given-name character, without which no segmenter candidate
    is possible) or when a title form or cue-word match inside it asks whether it is aligned
    with the words: most pieces are never cut. The answers are those of one `_Words` over the
    whole text (tests/curation/test_redaction_segmenter.py checks it)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._offsets: list[int] | None = None
        self._pieces: list[str] = []

    def _split(self) -> list[int]:
        if self._offsets is None:
            parts = segmenter.pieces(self.text)
            self._offsets = [offset for offset, _ in parts]
            self._pieces = [piece for _, piece in parts]
        return self._offsets

    def _at(self, position: int) -> int:
        """Index of the piece holding the character at `position` (-1: a separator)."""
        offsets = self._split()
        index = bisect_right(offsets, position) - 1
        if index >= 0 and position < offsets[index] + len(self._pieces[index]):
            return index
        return -1

    def _starts(self, position: int) -> bool:
        """A word starts at `position`."""
        if position >= len(self.text):
            return False
        index = self._at(position)
        if index < 0:
            return True
        return position - self._offsets[index] in _piece(self._pieces[index])[0].end_of

    def _ends(self, position: int) -> bool:
        """A word ends at `position`."""
        if position <= 0:
            return False
        index = self._at(position - 1)
        if index < 0:
            return True
        return position - self._offsets[index] in _piece(self._pieces[index])[0].end_set

    def aligned(self, start: int, end: int) -> bool:
        return self._starts(start) and self._ends(end)

    def single_word(self, start: int, end: int) -> bool:
        index = self._at(start) if start < len(self.text) else -1
        if index < 0:
            return start < len(self.text) and end == start + 1
        offset = self._offsets[index]
        return _piece(self._pieces[index])[0].end_of.get(start - offset) == end - offset

    def candidates(self) -> list[Span]:
        """The segmenter's name candidates (_segmenter_candidates) over the whole text."""
        if _NAME_SHAPE.search(self.text) is None:
            return []
        found: list[Span] = []
        self._split()
        for offset, piece in zip(self._offsets, self._pieces, strict=True):
            if _NAME_SHAPE.search(piece) is None:
                continue
            for span in _piece(piece)[1]:
                found.append(
                    _span("NAME", span.start + offset, span.end + offset, span.key, rank=span.rank)
                )
        return found


_MEASURE_ZHANG = re.compile(r"[这那一两几每哪整半数0-9]张")


def _given(chars: str) -> bool:
    return 1 <= len(chars) <= 2 and all(c in lexicon.GIVEN_CHARS for c in chars)


def _name_word(word: str) -> bool:
    """`word` is a dictionary word that is no name (高明, 金华, 王国, 江山)."""
    return not _dictionary_word(word)


def _rare_name_shaped(word: str) -> bool:
    surname = _is_surname_start(word)
    return bool(surname) and _given(word[surname:]) and segmenter.frequency(word) < 10


_CITY_BEFORE = re.compile(r"(?:北京|上海|天津|重庆|广州|深圳|杭州|南京|成都|武汉|西安|苏州|中国)$")
_BUSINESS_AFTER = re.compile(
    rf"[{HAN}]{{0,4}}?(?:店|馆|酒店|宾馆|饭店|餐厅|面包房|烤鸭|大厦|公司|集团|中心|广场|公园|"
    rf"影城|城|苑|府|湾|园|小区|公寓)(?![{HAN}])|·"
)


def _business_name(text: str, start: int, end: int) -> bool:
    """北京|金龙建国温泉酒店, 文宇|奶酪店(南锣鼓巷店): the head of a hotel, shop or compound
    name, not a person."""
    return bool(_CITY_BEFORE.search(text, max(0, start - 2), start)) or bool(
        _BUSINESS_AFTER.match(text, end)
    )


def _segmenter_names(text: str, words: _TextWords) -> list[Span]:
    """Names from jieba.posseg's words: a word tagged "nr", and a surname the segmenter left
    alone followed by a given name (尹|建华, 邹|婷婷, 王雨|萱, 欧阳|娜娜)."""
    found: list[Span] = []
    for span in words.candidates():
        if not _business_name(text, span.start, span.end):
            found.append(span)
    return found


def _segmenter_candidates(text: str, words: _Words) -> list[Span]:
    found = []
    surname_chars = segmenter.SURNAME_CHARS
    for index, word in enumerate(words.words):
        if word[0] not in surname_chars:
            continue
        flag, start = words.tags[index], words.starts[index]
        if _MEASURE_ZHANG.match(text, max(0, start - 1)) and start > 0:
            continue  # 这张卡, 两张照片: 张 counts here
        following = words.word(index + 1)
        after = words.word(index + 2)
        if word in lexicon.COMPOUND_SURNAMES or (len(word) == 1 and word in lexicon.SURNAMES):
            # surname + given name split by the segmenter
            given = following
            if _HAN_RE.match(given or " ") and _given(given):
                name = word + given
                if _plausible_name(name, after) and _name_word(name):
                    found.append(_span("NAME", start, start + len(name), name, rank=2))
                    continue
        if flag in ("ns", "nz") and _rare_name_shaped(word):
            flag = "nr"  # 马建国 and 唐洋 are in the dictionary as (rare) places
        if not 2 <= len(word) <= 4 or not flag.startswith(_NR_TAGS):
            continue
        if not _plausible_name(word, following) or not _given(word[_is_surname_start(word) :]):
            continue
        end = start + len(word)
        # 王雨|萱: a two-character name and one more given-name character
        if (
            len(word) == 2
            and following[:1] in lexicon.GIVEN_CHARS
            and (len(following) == 1 or following not in segmenter.dictionary())
            and _plausible_name(word + following[:1], following[1:] or after)
            and _name_word(word + following[:1])
        ):
            end += 1
        found.append(_span("NAME", start, end, text[start:end], rank=2))
    return found


def _chinese_names(text: str) -> list[Span]:
    if _ANY_SURNAME.search(text) is None:
        return []  # each of the four ways below starts from a surname
    words = _TextWords(text)
    found = []
    # 1. surname + title: 张先生, 王女士, 李经理, 欧阳总
    for m in _TITLE_FORM.finditer(text) if _TITLE_SHAPE.search(text) else ():
        if not words.aligned(m.start(), m.end()):
            continue
        form = m.group()
        if form in lexicon.FORM_NOT_NAMES or form in lexicon.NOT_NAMES:
            continue
        found.append(_span("NAME", m.start(), m.end(), form, m.span("name")))
    # 2. 小王, 老李
    for m in _SMALL_OLD_FORM.finditer(text):
        if not words.aligned(m.start(), m.end()):
            continue
        form = m.group()
        if form in lexicon.FORM_NOT_NAMES:
            continue
        found.append(_span("NAME", m.start(), m.end(), form, m.span("name"), rank=1))
    # 3. the segmenter's person names (jieba.posseg tag "nr", and split surname + given name)
    found.extend(_segmenter_names(text, words))
    # 4. after a cue word: 我叫王小明, 房东刘建华, 联系人：陈晓东
    for m in _NAME_CUE.finditer(text):
        start = m.start("name")
        for end in (m.end("name"), m.end("name") - 1):
            if end - start < 2 or not words.aligned(start, end):
                continue
            name = text[start:end]
            if words.single_word(start, end) and _dictionary_word(name):
                break
            if _plausible_name(name, text[end : end + 2]):
                found.append(_span("NAME", start, end, name, rank=3))
            break
    return found


_EN_TITLE = re.compile(
    r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Madam|Manager|Director|Auntie|Uncle|Teacher|"
    r"Boss|Master)\.?\s+(?P<name>[A-Z][a-z]+(?:[ -][A-Z][a-z]+)?)(?![A-Za-z])"
)
_EN_CUE = re.compile(
    r"(?:[Mm]y name is|[Nn]ame(?:'s| is|:)|[Tt]his is|I am|I'm|[Cc]all me|[Aa]sk for|"
    r"[Ss]peak (?:to|with)|[Tt]alk to|[Cc]ontact(?: person)?(?: is|:)?|[Ll]andlord(?: is|,|:)|"
    r"[Oo]wner(?: is|,|:)|[Aa]gent(?: is|,|:)|[Tt]enant(?: is|,|:)|[Ss]igned by|"
    r"[Hh]olders?(?: is|:))"
    r"\s+(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)?)(?![A-Za-z])"
)
_PINYIN_SYLLABLE = (
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|ai|ei|ao|ou|an|en|in|un|ia|ie|iu|ua|uo|ui|"
    r"ue|er|a|o|e|i|u|v)"
)
_PINYIN_GIVEN = re.compile(rf"(?:{_PINYIN_SYLLABLE}){{1,2}}")
_EN_CAPS = re.compile(r"(?<![A-Za-z])(?=([A-Z][a-z]+)[ ]([A-Z][a-z]+)(?![A-Za-z]))")
_EN_SINGLE = re.compile(r"(?<![A-Za-z])([A-Z][a-z]+)(?![A-Za-z])")
_AMBIGUOUS_GIVEN = frozenset(
    "Grace Joy Ivy Rose Mark Frank Will Bill Max Jack Amber Carol Jean Faith Hope Sandy Stella "
    "Ruth Iris Lily Coco Ben Sam Tom Tim Joe Dan Ken Victoria Virginia Madison Charlotte".split()
)


def _pinyin_given(word: str) -> bool:
    return _PINYIN_GIVEN.fullmatch(word.lower()) is not None


def _english_names(text: str) -> list[Span]:
    found = []
    for m in _EN_TITLE.finditer(text):
        name = m.group("name")
        parts = name.split(" ")
        if parts[0] in lexicon.ENGLISH_NOT_NAMES:
            continue
        if len(parts) == 2 and parts[1] in lexicon.ENGLISH_NOT_NAMES:
            end = m.start("name") + len(parts[0])
            found.append(
                _span("NAME", m.start(), end, text[m.start() : end], (m.start("name"), end))
            )
            continue
        found.append(_span("NAME", m.start(), m.end(), m.group(), m.span("name")))
    for m in _EN_CUE.finditer(text):
        parts = m.group("name").split(" ")
        if parts[0] in lexicon.ENGLISH_NOT_NAMES:
            continue
        start = m.start("name")
        end = m.end("name")
        if len(parts) == 2 and parts[1] in lexicon.ENGLISH_NOT_NAMES:
            end = start + len(parts[0])
        found.append(_span("NAME", start, end, text[start:end], rank=1))
    for m in _EN_CAPS.finditer(text):
        first, second = m.groups()
        if first in lexicon.ENGLISH_NOT_NAMES or second in lexicon.ENGLISH_NOT_NAMES:
            continue
        if (
            (first in lexicon.PINYIN_SURNAMES and _pinyin_given(second))
            or (second in lexicon.PINYIN_SURNAMES and _pinyin_given(first))
            or (first in lexicon.ENGLISH_GIVEN_NAMES)
        ):
            end = m.start() + len(first) + 1 + len(second)
            found.append(_span("NAME", m.start(), end, text[m.start() : end], rank=2))
    for m in _EN_SINGLE.finditer(text):
        word = m.group()
        if word in lexicon.ENGLISH_GIVEN_NAMES and word not in _AMBIGUOUS_GIVEN:
            found.append(_span("NAME", m.start(), m.end(), word, rank=3))
    return found


_LATIN_WORD = re.compile(r"[A-Z][a-z]")


def detect_names(text: str, known: re.Pattern[str] | None = None) -> list[Span]:
    found = []
    if known is not None:
        for m in known.finditer(text):
            found.append(_span("NAME", m.start(), m.end(), m.group(), rank=4))
    if _HAN_RE.search(text):
        found.extend(_chinese_names(text))
    if _LATIN_WORD.search(text):
        found.extend(_english_names(text))
    return found


_LATIN_START = re.compile(r"[A-Za-z]")


def known_names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for the names given (speakers, metadata): longest first; Latin names only as
    whole words."""
    parts = []
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        escaped = re.escape(name)
        if _LATIN_START.match(name):
            escaped = rf"(?<![A-Za-z]){escaped}(?![A-Za-z])"
        parts.append(escaped)
    return re.compile("|".join(parts)) if parts else None


# --------------------------------------------------------------------------------------------


def find_spans(text: str, known: re.Pattern[str] | None = None) -> list[Span]:
    """All personal data in normalised `text`: non-overlapping spans in text order. Spans that
    touch an existing placeholder are dropped; overlaps go to the type first in TYPES (an
    e-mail before the phone number inside it, a card before an account number), then to the
    longer span."""
    candidates = [
        *detect_email(text),
        *detect_id(text),
        *detect_card(text),
        *detect_phone(text),
        *detect_cues(text),
        *detect_address(text),
        *detect_names(text, known),
    ]
    if not candidates:
        return []
    taken: list[tuple[int, int]] = [m.span() for m in PLACEHOLDER_RE.finditer(text)]
    chosen: list[Span] = []
    candidates.sort(key=lambda s: (PRIORITY[s.type], -s.length, s.rank, s.start))
    for span in candidates:
        if any(span.start < end and start < span.end for start, end in taken):
            continue
        taken.append((span.start, span.end))
        chosen.append(span)
    chosen.sort(key=lambda s: s.start)
    return chosen


def clear_caches() -> None:
    """Forget the cached pieces, phone-number verdicts, runs and tags (benchmarks start
    cold)."""
    _piece.cache_clear()
    _checked_number.cache_clear()
    _refuses.cache_clear()
    segmenter.clear_caches()
