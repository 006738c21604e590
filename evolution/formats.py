"""Which output formats a prompt's text demands, in Chinese or English: pure Python, no Django.

A prompt is assembled from a task narrative and an output-format part, rewritten by an LLM and
edited by people; the label stage then checks the model's answer against the prompt's formats.
When the words and the recorded format disagree ("请以要点形式列出…" beside a table part), the
check enforces something the prompt does not ask for. So the words are read here, and the same
reading decides which output part may follow a narrative, whether an enhancement kept its
format and what an approved prompt's formats become.

The reading is a lexicon of wordings (表格, JSON, 要点, 分点, 小标题, 一段话, bullet points,
a paragraph, ...) with negation ("不要用表格", "do not use a table") and exceptions ("不要输出
JSON 以外的内容", "nothing other than JSON" still demand JSON). It is a heuristic: what it misses
is a wording to add here, with a test.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

JSON, TABLE, MARKDOWN, LIST, FREE_TEXT = "json", "table", "markdown", "list", "free_text"
FORMATS = (JSON, TABLE, MARKDOWN, LIST, FREE_TEXT)  # the values of TemplatePart.OutputFormat
STRUCTURED = (JSON, TABLE, MARKDOWN, LIST)

_NOT_LATIN = r"(?<![A-Za-z])"
_END_LATIN = r"(?![A-Za-z])"

# (format, pattern), most specific first: "Markdown 表格" is a table, not Markdown sections, and
# a span taken by one pattern is not read again by a later one.
_MENTIONS: list[tuple[str, re.Pattern[str]]] = [
    (
        TABLE,
        re.compile(
            _NOT_LATIN + r"markdown\s*(?:格式|形式)?的?\s*表格|"
            r"\bmarkdown[\s-]*(?:formatted\s+|style\s+)?tables?\b",
            re.I,
        ),
    ),
    (
        LIST,
        re.compile(
            _NOT_LATIN + r"markdown\s*(?:格式|形式)?的?\s*(?:编号|有序|无序)?列表|"
            r"\bmarkdown[\s-]*(?:bullet(?:ed)?\s+|numbered\s+|ordered\s+|unordered\s+)?lists?\b",
            re.I,
        ),
    ),
    (JSON, re.compile(_NOT_LATIN + r"json" + _END_LATIN, re.I)),
    (TABLE, re.compile(r"表格|制表|二维表|列成表|\btables?\b|\btabular\b", re.I)),
    (
        LIST,
        re.compile(
            r"编号列表|有序列表|无序列表|列表|项目符号|"
            r"要点(?:的)?(?:形式|式|列出|罗列)|(?:以|用|按|分)要点|列出[^，。；,;\n]{0,6}?要点|"
            r"分点|逐条|逐项|分条|一条一条|"
            r"(?:编号|序号)(?:列表|列出|形式|的形式)|(?:以|用|按|带|加|标上|数字)编号|"
            r"条目(?:式|形式|的形式|列出)|(?:以|用|按|分)条目|"
            r"\bbullet(?:ed)?(?:\s+(?:points?|list|form|format))?\b|\bbullets\b|"
            r"\bnumbered\s+(?:list|items?|points?|form|lines?)\b|"
            r"\b(?:as|in|into|with)\s+(?:an?\s+)?(?:short\s+|simple\s+|ordered\s+|unordered\s+)?"
            r"list\b|\ban?\s+list\b|\blist\s+(?:form|format)\b|\bitemi[sz]ed\b|"
            r"\bpoint\s+by\s+point\b|\bone\s+(?:item|point)\s+per\s+line\b",
            re.I,
        ),
    ),
    (
        MARKDOWN,
        re.compile(
            _NOT_LATIN + r"markdown" + _END_LATIN + r"|小标题|分节|各节|章节|多级标题|二级标题|"
            r"一级标题|标题层级|(?:加|带|用|以|配|附)(?:上)?标题|"
            r"\b(?:sub)?headings?\b|\bsection\s+(?:titles|headers)\b|\bin\s+sections\b|"
            r"\bsections\s+with\b",
            re.I,
        ),
    ),
    (
        FREE_TEXT,
        re.compile(
            r"[一两二三四五几数]+句话|一段话|"
            r"一段(?:(?!对话)[^，。；;,\n]){0,6}?(?:(?<!对)话|文字|中文|英文|文本|描述|说明|总结|"
            r"概括|概述|回答|回复|陈述|叙述)|"
            r"段落|自然段|纯文本|自由文本|连贯的(?:文字|叙述)|成段|"
            r"\b(?:a|one|single|two|three|short|brief|concise)\s+"
            r"(?:short\s+|brief\s+|concise\s+|single\s+|coherent\s+)?paragraphs?\b|"
            r"\bparagraph\s+form\b|\bplain\s+text\b|\bfree\s+text\b|\bprose\b|"
            r"\b(?:a|one|two|three|single)\s+(?:short\s+|brief\s+)?sentences?\b",
            re.I,
        ),
    ),
]

# Clauses: negation reaches no further than one. Commas end a clause, the enumeration comma
# (、) does not ("不要用表格、列表" refuses both).
_CLAUSE_END = re.compile(r"[。！？!?；;，,\n]|\.(?:\s|$)|(?:而是|而用|改用|换成|\bbut\b)")
# A negation reaches the mention when at most this much text lies between them, and none of it
# starts another action ("不要编造信息并用表格输出": the table is wanted).
_NEGATION = re.compile(
    r"不要|不用|不必|不需要?|无需|无须|不得|不能|不可|不应该?|不该|不宜|避免|禁止|严禁|请勿|切勿|"
    r"勿|(?<![分区识告派鉴类特级])别(?=[用使输写给加带做把以按])|不使用|不采用|不以|而不是|而非|并非|不是|没有|不含|"
    r"不包含|不带|去掉|去除|省略|不允许|不准|"
    r"\b(?:don't|do\s+not|does\s+not|doesn't|never|no|not|without|avoid|instead\s+of|"
    r"rather\s+than|nor|neither|nothing|none)\b",
    re.I,
)
_SHORT_NEGATION = re.compile(r"[不无非没]")  # "不分点", "无表格", "非 JSON": right before it
_BREAK = re.compile(r"并|且|然后|再|同时|另外|此外|\band\b|\bthen\b|\bbut\b", re.I)
# "不得超过 3 个要点", "no more than 5 bullet points": a limit, not a refusal.
_QUANTITY = re.compile(
    r"超过|多于|少于|低于|高于|以内|\b(?:more|less|fewer|longer|shorter)\s+than\b|\bexceed",
    re.I,
)
_MAX_GAP_ZH = 8
_MAX_GAP_EN_WORDS = 5
# An exception turns a refusal into a demand: "不要输出 JSON 以外的内容", "除 JSON 外不要…",
# "nothing other than JSON", "no text outside the JSON".
_EXCEPT_AFTER = re.compile(r"\s*(?:格式|形式|对象|代码|数据|结构|内容)?\s*(?:以外|之外)")
_EXCEPT_BEFORE_ZH = re.compile(r"除(?:了)?(?:(?!并|且)[^，。；;,\n]){0,6}$")
_EXCEPT_BEFORE_EN = re.compile(
    r"\b(?:other\s+than|except(?:\s+for)?|besides|apart\s+from|aside\s+from|outside(?:\s+of)?|"
    r"beyond|(?P<only>only|just))\s+"
    r"(?:(?:a|an|the|one|valid|single|plain|pure|raw|strict|well-formed)\s+){0,3}$",
    re.I,
)
# An example after "示例：" / "Example:" shows a format's content, it does not ask for one.
_EXAMPLE = re.compile(
    r"^[ \t]*(?:输出示例|示例|样例|Example(?: output)?)\s*(?:如下)?\s*[：:]"
    r".*?(?=\n\s*\n|\n\s*(?:任务\s*\d|Task\s+\d)|\Z)",
    re.S | re.I | re.M,
)
_UNTRUSTED = re.compile(r"<untrusted_dialogue>.*?</untrusted_dialogue>", re.S)


@dataclass(frozen=True)
class Mention:
    format: str
    start: int
    end: int
    negated: bool


def _gap_is_short(gap: str) -> bool:
    if _BREAK.search(gap) or _QUANTITY.search(gap):
        return False
    latin_words = re.findall(r"[A-Za-z']+", gap)
    cjk = re.findall(r"[\u4e00-\u9fff]", gap)
    return len(cjk) <= _MAX_GAP_ZH and len(latin_words) <= _MAX_GAP_EN_WORDS


def _negated(clause: str, start: int, end: int) -> bool:
    before = clause[:start]
    if _EXCEPT_BEFORE_ZH.search(before):
        return False  # 除 JSON 外…: an exception is what remains wanted
    cues = list(_NEGATION.finditer(before))
    negated_clause = bool(cues)
    exception = _EXCEPT_BEFORE_EN.search(before)
    if exception:
        if exception.group("only"):
            return False  # "only JSON"
        # "nothing other than JSON" demands JSON; "any format other than a table" does not.
        return not negated_clause
    if _EXCEPT_AFTER.match(clause, end):
        return not negated_clause  # "不要输出 JSON 以外的内容" / "用 JSON 以外的格式"
    if cues and _gap_is_short(before[cues[-1].end() :]):
        return True
    short = list(_SHORT_NEGATION.finditer(before))
    return bool(short) and len(before[short[-1].end() :].strip()) <= 1


def _clauses(text: str) -> list[str]:
    out, start = [], 0
    for match in _CLAUSE_END.finditer(text):
        out.append(text[start : match.start()])
        start = match.end()
    out.append(text[start:])
    return [c for c in out if c.strip()]


def clean(text: str) -> str:
    """The text whose words are read: no dialogue (data, not instructions), no examples."""
    return _EXAMPLE.sub("", _UNTRUSTED.sub("", text))


def mentions(text: str) -> list[Mention]:
    """Every format wording of the text, in clause order, with whether it is refused."""
    out: list[Mention] = []
    for clause in _clauses(clean(text)):
        taken: list[tuple[int, int]] = []
        found: list[Mention] = []
        for output_format, pattern in _MENTIONS:
            for match in pattern.finditer(clause):
                start, end = match.span()
                if any(start < b and a < end for a, b in taken):
                    continue
                taken.append((start, end))
                found.append(Mention(output_format, start, end, _negated(clause, start, end)))
        out.extend(sorted(found, key=lambda m: m.start))
    return out


def demands(text: str) -> frozenset[str]:
    """The formats the text demands (values of FORMATS); empty when it asks for none."""
    return frozenset(m.format for m in mentions(text) if not m.negated)


def structured(found: frozenset[str] | set[str]) -> frozenset[str]:
    return frozenset(f for f in found if f in STRUCTURED)


def fits(found: frozenset[str] | set[str], output_format: str) -> bool:
    """Whether an output-format part of `output_format` may follow a narrative demanding
    `found`: a narrative that demands nothing fits any; one that demands a structured format
    fits only that one; one that asks for prose only free text; two structured ones, none."""
    wanted = structured(found)
    if wanted:
        return wanted == {output_format}
    if FREE_TEXT in found:
        return output_format == FREE_TEXT
    return True


@dataclass(frozen=True)
class Mismatch:
    """How a text's demands differ from its tasks' formats. `missing`: formats a task has that
    the text no longer demands; `extra`: structured formats it demands that no task has;
    `several`: a single-task text demanding two or more structured formats."""

    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    several: tuple[str, ...] = ()


def _ordered(values) -> tuple[str, ...]:
    return tuple(f for f in FORMATS if f in values)


def _unread(formats: Sequence[str], original: str | None) -> frozenset[str]:
    """The structured formats of `formats` that the words of `original` (the text the tasks
    got their formats with) do not name either: a custom part worded in a way this reading
    does not know. Those are not asked of a later text."""
    if original is None:
        return frozenset()
    return structured(set(formats)) - demands(original)


def mismatch(text: str, formats: Sequence[str], *, original: str | None = None) -> Mismatch | None:
    """None when `text` demands exactly each task's format (a free-text task: no structured
    format); otherwise what differs. For a multi-task prompt the formats are compared as a set:
    which task a wording belongs to is not read. With `original` (the assembled text), a format
    whose wording its words did not name either is not required of `text`."""
    found = structured(demands(text))
    wanted = structured(set(formats))
    if len(formats) == 1 and len(found) > 1:
        return Mismatch(several=_ordered(found))
    missing = wanted - found - _unread(formats, original)
    extra = found - wanted
    if not (missing or extra):
        return None
    return Mismatch(missing=_ordered(missing), extra=_ordered(extra))


def derive(
    text: str, formats: Sequence[str], *, original: str | None = None
) -> tuple[list[str], Mismatch | None]:
    """The formats a prompt's final text gives its tasks, or the mismatch that refuses it.

    One task: the one structured format the text demands, free text when it demands none; two
    or more refuse it. Several tasks: the text must still demand each task's format (and no
    other), and the formats stay as they are. With `original` (the assembled text), a format
    whose wording was never readable stays as it was rather than turning into free text."""
    if len(formats) <= 1:
        found = structured(demands(text))
        if len(found) > 1:
            return list(formats), Mismatch(several=_ordered(found))
        if not found and _unread(formats, original):
            return list(formats), None
        return [next(iter(found)) if found else FREE_TEXT], None
    return list(formats), mismatch(text, formats, original=original)


# Human-readable rules: what the label stage's check enforces (labeling.output_check).
_RULES = {
    "zh": {
        JSON: "JSON（必须能被解析，JSON 以外不要有其他内容）",
        TABLE: "Markdown 表格（必须有 |---| 分隔行）",
        LIST: "列表（至少一行以 1. - * • 或 一、 开头）",
        MARKDOWN: "Markdown（分节，每节一个小标题）",
        FREE_TEXT: "自由文本（不检查格式）",
        "single": "输出规则：{rule}",
        "several": "输出规则：{rules}。多个任务时，只检查 JSON 任务的输出里有 JSON 对象。",
        "task": "任务{n}：{rule}",
        "join": "；",
    },
    "en": {
        JSON: "JSON (it must parse, with nothing outside the JSON)",
        TABLE: "a Markdown table (a |---| separator row is required)",
        LIST: "a list (at least one line starting with 1. - * • or 一、)",
        MARKDOWN: "Markdown (sections, each with a heading)",
        FREE_TEXT: "free text (the layout is not checked)",
        "single": "Output rule: {rule}",
        "several": "Output rules: {rules}. With several tasks, only a JSON object in the output "
        "is checked, for JSON tasks.",
        "task": "task {n}: {rule}",
        "join": "; ",
    },
}


def name(output_format: str, language: str) -> str:
    """The format's rule without the "Output rule:" lead."""
    words = _RULES["zh" if language.startswith("zh") else "en"]
    return words.get(output_format, output_format)


def rule(formats: Sequence[str], language: str) -> str:
    """The output rule of a prompt whose tasks have `formats`, in Chinese ("zh…") or English;
    empty when there is no task."""
    words = _RULES["zh" if language.startswith("zh") else "en"]
    if not formats or not all(f in FORMATS for f in formats):
        return ""  # a prompt without recorded formats has no rule to show
    if len(formats) == 1:
        return words["single"].format(rule=name(formats[0], language))
    rules = words["join"].join(
        words["task"].format(n=n, rule=name(f, language)) for n, f in enumerate(formats, start=1)
    )
    return words["several"].format(rules=rules)
