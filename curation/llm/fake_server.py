"""The project's own OpenAI-compatible LLM server, for tests, benchmarks and the offline demo.

Real HTTP on loopback (stdlib ``ThreadingHTTPServer``, HTTP/1.1 keep-alive), so the real
``openai`` client and its ``httpx`` transport are exercised end to end; nothing mocks the client.

    with FakeLLMServer(latency_ms=50) as server:
        client = openai.OpenAI(base_url=server.url, api_key="test")

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions`` (plain and ``stream: true``),
``POST /v1/embeddings``, ``GET /_stats``; extras for subprocess use: ``POST /_reset`` (zero the
counters) and ``POST /_config`` (``{"latency_ms": .., "error_rate": ..}``).

Answers are deterministic: the same messages (+ response_format + kind header) give the same
content, streamed or not. Chinese in, Chinese out. JSON is returned when ``response_format`` asks
for it or when a ``<json-schema>`` block is present; the schema comes from
``response_format.json_schema.schema`` or else from the last ``<json-schema>...</json-schema>``
block of the messages, and the answer is a valid instance of it (no schema: ``{"answer": ...}``).
A ``max_tokens``/``max_completion_tokens`` smaller than the (character-estimated) answer cuts it
and reports ``finish_reason: "length"``, as a real model would.

The ``X-Dialinsight-Kind`` header shapes plain answers: a ``label`` answer is laid out as its
prompt asks (a Markdown table with a separator row, a numbered list, Markdown sections, JSON, or
free text; task by task for a prompt of several numbered tasks), read by a small detector here
that ignores the untrusted dialogue; ``enhance_prompt`` keeps the whole task part of the
meta-prompt (after "任务部分：" / "Task part:") under one lead sentence.

Failures: ``error_rate`` (drawn from ``random.Random(seed)`` in request order) picks one of
``errors``; request headers force them deterministically:

* ``X-Fake-Fail: <kind>`` fails this request (``none`` forces success);
* ``X-Fake-Fail-Times: N`` + ``X-Idempotency-Key: K`` fails only the first N requests seen with K
  (kind from ``X-Fake-Fail``, else the first configured kind); without a key the request body is
  the key, so a client retrying the same request succeeds on try N+1;
* ``X-Fake-Latency-Ms: N`` overrides the latency of this request.

Kinds: ``429`` (Retry-After: 1, retry-after-ms: 200), ``500``, ``503``, ``400``, ``401`` (OpenAI
style error bodies), ``hang`` (answers only after ``hang_seconds``), ``malformed`` (200 whose body
is not JSON; in a stream an event that is not JSON), ``truncated`` (200, valid envelope, content
cut in the middle), ``disconnect`` (connection closed without a response).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHAT_MODEL = "fake-chat"
EMBED_MODEL = "fake-embed"
DEFAULT_DIMENSIONS = 384
MAX_DIMENSIONS = 8192

ERROR_KINDS = (
    "429",
    "500",
    "503",
    "400",
    "401",
    "hang",
    "malformed",
    "truncated",
    "disconnect",
)
_HTTP_ERRORS = {
    "429": (
        429,
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for fake-chat: please try again in 200ms.",
    ),
    "500": (
        500,
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    "503": (503, "server_error", None, "The engine is currently overloaded, please try again."),
    "400": (400, "invalid_request_error", None, "Injected bad request (X-Fake-Fail: 400)."),
    "401": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SCHEMA_BLOCK = re.compile(r"<json-schema>(.*?)</json-schema>", re.S | re.I)
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


# --------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def estimate_tokens(text: str) -> int:
    """About one token per CJK character and one per four other characters."""
    if not text:
        return 0
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def _message_text(message: dict) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return ""


def prompt_tokens(messages: list) -> int:
    return 3 + sum(4 + estimate_tokens(_message_text(m)) for m in messages)


def _cut_to_tokens(text: str, limit: int) -> str:
    if limit <= 0:
        return ""
    low, high = 0, len(text)
    while low < high:  # longest prefix whose estimate fits
        middle = (low + high + 1) // 2
        if estimate_tokens(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def _truncate_json_text(text: str) -> str:
    cut = text[: max(1, len(text) // 2)]
    try:
        json.loads(cut)
    except ValueError:
        return cut
    return "[" + cut  # a top-level scalar cut in half can still parse


def schema_from_messages(messages: list) -> dict | None:
    """The JSON schema of the last ``<json-schema>`` block of the messages, if any parses."""
    blocks = []
    for message in messages:
        blocks.extend(_SCHEMA_BLOCK.findall(_message_text(message)))
    for block in reversed(blocks):
        fenced = _FENCE.match(block)
        try:
            schema = json.loads(fenced.group(1) if fenced else block)
        except ValueError:
            continue
        if isinstance(schema, dict):
            return schema
    return None


# --------------------------------------------------------------------------------------------
# Plausible real-estate text, in Chinese or English
# --------------------------------------------------------------------------------------------

# (keywords, Chinese topic, English topic, Chinese detail, English detail)
_TOPICS = (
    (
        ("首付", "down payment"),
        "首付比例",
        "the down payment",
        "首套房的首付比例一般在两到三成，具体以您所在城市的政策和银行审批为准",
        "first-time buyers usually put down 20 to 30 percent, depending on local policy "
        "and the bank's approval",
    ),
    (
        ("利率", "房贷", "贷款", "mortgage", "loan"),
        "房贷利率",
        "mortgage rates",
        "商业贷款利率以LPR为基准浮动，各家银行的加点不同，建议多对比几家",
        "commercial mortgage rates float on the benchmark rate and each bank adds its own "
        "margin, so it pays to compare a few",
    ),
    (
        ("看房", "带看", "viewing", "visit"),
        "看房预约",
        "booking a viewing",
        "看房可以提前一天预约，我和业主确认好时间后陪您一起去看",
        "viewings can be booked a day ahead; I confirm the time with the owner and go with you",
    ),
    (
        ("押一付三", "押金", "租金", "deposit", "rent"),
        "押金和租金支付方式",
        "the deposit and rent payments",
        "租房通常是押一付三，押金在退租验房无误后全额退还",
        "rentals usually take one month's deposit plus three months' rent, and the deposit "
        "is refunded in full after the move-out inspection",
    ),
    (
        ("中介费", "服务费", "佣金", "agency fee", "commission"),
        "中介服务费",
        "the agency fee",
        "中介服务费按成交价的一定比例收取，签约前会在合同中写明",
        "the agency fee is a percentage of the price and is written into the contract "
        "before signing",
    ),
    (
        ("学区", "入学", "学校", "school"),
        "学区和入学政策",
        "school districts and enrollment",
        "学区划分每年可能调整，入学资格以教育局当年公布的政策为准",
        "school catchments can change every year, so eligibility follows the education "
        "bureau's current notice",
    ),
    (
        ("税", "tax"),
        "二手房交易税费",
        "the taxes on a resale purchase",
        "二手房交易主要涉及契税、增值税和个税，满五唯一的房子可以免征个税",
        "a resale purchase mainly involves deed tax, VAT and income tax, and a home held "
        "over five years as the owner's only one is exempt from income tax",
    ),
    (
        ("物业", "property management"),
        "物业费",
        "property management fees",
        "物业费按建筑面积每月收取，不同小区标准不同，一般每平方米两到五元",
        "property management fees are charged monthly per square metre and vary by community",
    ),
    (
        ("公积金", "provident fund"),
        "公积金贷款",
        "provident fund loans",
        "公积金贷款需要连续缴存满一定期限，额度和缴存基数、账户余额有关",
        "a provident fund loan needs a minimum contribution period, and the amount depends "
        "on your contribution base and balance",
    ),
    (
        ("定金", "订金", "earnest"),
        "定金退还",
        "refunding the earnest money",
        "定金能否退还要看合同约定，因卖方原因违约的一般双倍返还",
        "whether earnest money is refundable depends on the contract; if the seller defaults "
        "it is usually returned double",
    ),
    (
        ("交房", "handover", "move-in"),
        "交房时间",
        "the handover date",
        "交房时间以购房合同约定为准，逾期交房开发商需要承担违约责任",
        "the handover date is set in the purchase contract and the developer owes "
        "compensation for delays",
    ),
    (
        ("续租", "续签", "合同", "lease", "contract"),
        "租房合同续签",
        "renewing the lease",
        "续签建议提前一个月和房东沟通，租金调整幅度可以协商",
        "it is best to talk to the landlord a month before renewal, and the rent increase "
        "is negotiable",
    ),
    (
        ("户型", "朝向", "采光", "layout", "floor plan"),
        "户型和朝向",
        "the layout and orientation",
        "这套房是南北通透的两居室，采光和通风都比较好",
        "this is a two-bedroom unit facing north and south, with good light and ventilation",
    ),
    (
        ("装修", "renovat", "furnish"),
        "装修情况",
        "the renovation",
        "房子五年前精装修过，主要家电都可以留给您",
        "the flat was fully renovated five years ago and the main appliances can stay",
    ),
)

_ZH = {
    "instruction": (
        "请根据对话内容，向客户解释{t}的相关规定，语气要专业、礼貌。",
        "客户询问{t}，请以经纪人的身份给出简洁、准确的回复。",
        "总结这段对话中客户对{t}的主要顾虑，并给出经纪人的应对建议。",
        "假设你是贝壳的房产经纪人，请用不超过100字回答客户关于{t}的问题。",
        "请从对话中提取与{t}有关的关键信息，并用要点形式列出。",
        "客户第一次买房，对{t}不太了解，请一步步为他说明。",
    ),
    "closing": (
        "如果您方便，我可以帮您预约看房。",
        "有其他问题随时联系我。",
        "具体情况我再帮您跟业主确认一下。",
        "需要的话我可以把所需材料清单发给您。",
    ),
    "reason": (
        "回答准确回应了客户关于{t}的问题，信息完整、语气专业。",
        "回复涉及{t}，但缺少具体数字，说服力一般。",
        "指令清晰，与对话中{t}的内容紧密相关。",
        "回答基本正确，但没有提醒客户{t}方面可能存在的风险。",
    ),
    "summary": (
        "客户咨询{t}，经纪人做了解释并约定后续跟进。",
        "对话围绕{t}展开，客户比较关心费用和时间安排。",
        "客户对{t}有疑问，经纪人给出了建议并提供了参考案例。",
    ),
    "label": (
        "租房咨询",
        "购房咨询",
        "贷款咨询",
        "看房预约",
        "税费咨询",
        "物业服务",
        "合同问题",
        "投诉建议",
    ),
    "constraint": (
        "要求在回答中给出一个具体的数字示例。",
        "要求回答控制在150字以内。",
        "要求同时考虑客户是首次购房者的情况。",
        "要求分点列出需要准备的材料。",
        "要求提醒客户可能存在的风险。",
        "要求使用通俗易懂的语言，避免专业术语。",
    ),
    "place": ("北京朝阳区", "上海浦东新区", "深圳南山区", "杭州西湖区", "成都高新区"),
    "phrase": "{t}相关说明",
    "answer": "您好，关于{t}，{d}。",
    "greeting": "您好！",
    "farewell": "如有其他问题，欢迎随时联系我。",
    "judge": "评价：{r}",
    "ok": "OK，连接正常。",
    "restructure": (
        "# 角色\n你是一名专业、耐心的房产经纪人。\n# 任务\n{s}\n# 要求\n1. {c1}\n2. {c2}\n"
        "# 输出格式\n用简洁的段落回答，必要时分点说明。"
    ),
    "enhance": "请仔细阅读上面的对话，按下面的说明完成任务。",
    "task": "任务{n}：",
    "table": "| 项目 | 内容 |\n| --- | --- |\n| {t} | {d} |\n| 后续跟进 | {c} |",
    "list": "1. {a}\n2. {d}。\n3. {c}",
    "markdown": "## 结论\n{a}\n\n## 依据\n{d}。\n\n## 后续跟进\n{c}",
    "json_keys": ("结论", "依据"),
}

_EN = {
    "instruction": (
        "Based on the dialogue, explain the rules on {t} to the customer in a professional, "
        "polite tone.",
        "The customer asks about {t}; reply as the agent, briefly and accurately.",
        "Summarize the customer's main concerns about {t} in this dialogue and suggest how "
        "the agent should respond.",
        "As a real-estate agent, answer the customer's question about {t} in under 100 words.",
        "Extract the key facts about {t} from the dialogue and list them as bullet points.",
        "The customer is a first-time buyer who knows little about {t}; walk them through it "
        "step by step.",
    ),
    "closing": (
        "If it suits you, I can book a viewing for you.",
        "Feel free to contact me with any other questions.",
        "I will double-check the details with the owner for you.",
        "If you like, I can send you the list of documents needed.",
    ),
    "reason": (
        "The reply addresses the customer's question about {t} accurately and professionally.",
        "The reply covers {t} but gives no concrete figures, so it is only partly convincing.",
        "The instruction is clear and closely tied to the discussion of {t}.",
        "Mostly correct, but it does not warn the customer about the risks around {t}.",
    ),
    "summary": (
        "The customer asked about {t}; the agent explained it and agreed to follow up.",
        "The dialogue centers on {t}; the customer cares most about cost and timing.",
        "The customer had doubts about {t}, and the agent gave advice with an example.",
    ),
    "label": (
        "rental inquiry",
        "purchase inquiry",
        "mortgage inquiry",
        "viewing request",
        "tax question",
        "property management",
        "contract issue",
        "complaint",
    ),
    "constraint": (
        "Include one concrete numerical example in the answer.",
        "Keep the answer under 150 words.",
        "Also consider that the customer is a first-time buyer.",
        "List the required documents as bullet points.",
        "Point out the risks the customer should be aware of.",
        "Use plain language the customer can follow and avoid jargon.",
    ),
    "place": ("Chaoyang, Beijing", "Pudong, Shanghai", "Nanshan, Shenzhen", "Xihu, Hangzhou"),
    "phrase": "notes on {t}",
    "answer": "Hello, regarding {t}: {d}.",
    "greeting": "Hello! ",
    "farewell": " Feel free to reach out if you have any other questions.",
    "judge": "Evaluation: {r}",
    "ok": "OK",
    "restructure": (
        "# Role\nYou are a professional, patient real-estate agent.\n# Task\n{s}\n"
        "# Requirements\n1. {c1}\n2. {c2}\n# Output format\nAnswer in short paragraphs, "
        "with bullet points where useful."
    ),
    "enhance": "Read the dialogue above carefully and complete the task as described below.",
    "task": "Task {n}: ",
    "table": "| Item | Detail |\n| --- | --- |\n| {t} | {d} |\n| Follow-up | {c} |",
    "list": "1. {a}\n2. {d}.\n3. {c}",
    "markdown": "## Conclusion\n{a}\n\n## Basis\n{d}.\n\n## Follow-up\n{c}",
    "json_keys": ("conclusion", "basis"),
}

_SUBJECT_TAGS = re.compile(
    r"<(instruction|prompt|given_prompt|question|query|text|input|response|answer)>"
    r"(.*?)</\1>",
    re.S | re.I,
)
_GIVEN_PROMPT = re.compile(
    r"#\s*(?:The\s+)?Given\s+Prompt\s*#\s*:?\s*(.*?)(?=\n\s*#[^#\n]+#|\Z)", re.S | re.I
)
_ZH_MARKER = re.compile(r"(?:原始指令|原指令|指令|原文|问题)[：:]\s*(.+?)(?=\n\s*\n|\Z)", re.S)


# The task part of the structure-enhancement meta-prompt ("任务部分：{tasks}").
_TASK_PART = re.compile(r"(?:任务部分|Task part)\s*[：:]\s*(.+)\Z", re.S | re.I)

# A small reader of the output format a label prompt asks for, so that the fake model answers
# in it. Self-contained on purpose (the server imports nothing of the product); it reads the
# usual wordings, with a refusal just before them ("不要用表格", "do not use a table") and an
# exception ("不要输出 JSON 以外的内容") understood.
_DIALOGUE_BLOCK = re.compile(r"<untrusted_dialogue>.*?</untrusted_dialogue>", re.S)
_EXAMPLE_BLOCK = re.compile(
    r"^[ \t]*(?:输出示例|示例|样例|Example(?: output)?)\s*[：:]"
    r".*?(?=\n\s*\n|\n\s*(?:任务\s*\d|Task\s+\d)|\Z)",
    re.S | re.I | re.M,
)
_TASK_MARK = re.compile(r"(?:^|\n)\s*(?:任务\s*\d+\s*[：:]|Task\s+\d+\s*:)", re.I)
_FORMAT_WORDS = (
    # "Markdown 表格" is a table and "Markdown 列表" a list, not Markdown sections.
    ("table", re.compile(r"markdown\s*表格|markdown[\s-]*tables?|表格|\btables?\b", re.I)),
    ("json", re.compile(r"(?<![A-Za-z])json(?![A-Za-z])", re.I)),
    (
        "list",
        re.compile(
            r"markdown\s*(?:编号)?列表|markdown[\s-]*(?:bullet(?:ed)?\s+|numbered\s+)?lists?|"
            r"列表|要点形式|以要点|分点|逐条|编号|条目|\bbullet|\bnumbered\s+list|"
            r"\b(?:as|in|into)\s+an?\s+list\b",
            re.I,
        ),
    ),
    ("markdown", re.compile(r"(?<![A-Za-z])markdown(?![A-Za-z])|小标题|分节|\bheadings?\b", re.I)),
)
_FORMAT_NEGATION = re.compile(
    r"(?:不要|不用|无需|不需要|避免|禁止|请勿|不使用|不以|而不是|不|\bdo not|\bdon't|\bnot|\bno|"
    r"\bwithout|\bavoid|\binstead of|\brather than)[^，。；;,\n]{0,6}$",
    re.I,
)
_FORMAT_EXCEPTION = re.compile(r"\s*(?:格式|对象)?\s*(?:以外|之外)")
_FORMAT_CLAUSE = re.compile(r"[。！？!?；;，,\n]|\.(?:\s|$)")


def asked_format(text: str) -> str:
    """The first output format the text asks for and does not refuse: "table", "json",
    "list", "markdown", or "" for none (free text)."""
    text = _EXAMPLE_BLOCK.sub("", _DIALOGUE_BLOCK.sub("", text))
    found: list[tuple[int, str]] = []
    offset = 0
    for clause in _FORMAT_CLAUSE.split(text):
        taken: list[tuple[int, int]] = []
        for name, pattern in _FORMAT_WORDS:
            for match in pattern.finditer(clause):
                start, end = match.span()
                if any(start < b and a < end for a, b in taken):
                    continue
                taken.append((start, end))
                refused = _FORMAT_NEGATION.search(clause[:start]) is not None
                if refused and _FORMAT_EXCEPTION.match(clause, end):
                    refused = False  # "不要输出 JSON 以外的内容" asks for JSON
                if not refused:
                    found.append((offset + start, name))
        offset += len(clause) + 1
    return min(found)[1] if found else ""


def _task_segments(text: str) -> list[str]:
    """The text of each numbered task ("任务1：…", "Task 2: …"); one segment without numbers."""
    text = _DIALOGUE_BLOCK.sub("", text)
    marks = [m.start() for m in _TASK_MARK.finditer(text)]
    if len(marks) < 2:
        return [text]
    head = text[: marks[0]]
    bounds = [*marks, len(text)]
    # Words before the first task apply to all of them.
    return [head + "\n" + text[bounds[i] : bounds[i + 1]] for i in range(len(marks))]


def _subject(text: str) -> str:
    """The instruction or text a prompt is about: tagged, Evol-Instruct style, or last paragraph."""
    text = _SCHEMA_BLOCK.sub("", text)
    for pattern in (_SUBJECT_TAGS, _GIVEN_PROMPT, _ZH_MARKER):
        found = [m for m in pattern.finditer(text)]
        if found:
            group = found[-1].group(found[-1].lastindex)
            if group.strip():
                return group.strip()[:600]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return paragraphs[-1][:600] if paragraphs else ""


class _Composer:
    """Deterministic sentences for one request (its digest salts every choice)."""

    def __init__(
        self, *, zh: bool, digest: str, context: str, last_user: str, json_mode: bool = False
    ):
        self.zh = zh
        self.json_mode = json_mode
        self.words = _ZH if zh else _EN
        self.digest = digest
        lowered = context.lower()
        matched = [t for t in _TOPICS if any(k.lower() in lowered for k in t[0])]
        self.topics = matched or list(_TOPICS)
        self.last_user = last_user

    def rng(self, salt: str) -> random.Random:
        return random.Random(f"{self.digest}:{salt}")

    def _topic(self, r: random.Random) -> tuple[str, str]:
        topic = r.choice(self.topics)
        return (topic[1], topic[3]) if self.zh else (topic[2], topic[4])

    def pick(self, key: str, salt: str) -> str:
        r = self.rng(f"{key}:{salt}")
        name, _ = self._topic(r)
        return r.choice(self.words[key]).format(t=name)

    def instruction(self, salt: str) -> str:
        return self.pick("instruction", salt)

    def reason(self, salt: str) -> str:
        return self.pick("reason", salt)

    def summary(self, salt: str) -> str:
        return self.pick("summary", salt)

    def label(self, salt: str) -> str:
        return self.rng(f"label:{salt}").choice(self.words["label"])

    def topic_name(self, salt: str) -> str:
        return self._topic(self.rng(f"topic:{salt}"))[0]

    def constraint(self, salt: str) -> str:
        return self.rng(f"constraint:{salt}").choice(self.words["constraint"])

    def place(self, salt: str) -> str:
        return self.rng(f"place:{salt}").choice(self.words["place"])

    def phrase(self, salt: str) -> str:
        return self.words["phrase"].format(t=self.topic_name(salt))

    def answer(self, salt: str) -> str:
        r = self.rng(f"answer:{salt}")
        name, detail = self._topic(r)
        text = self.words["answer"].format(t=name, d=detail)
        return text + ("" if self.zh else " ") + r.choice(self.words["closing"])

    def evolved(self, salt: str) -> str:
        base = _subject(self.last_user) or self.instruction(salt)
        if base and base[-1] not in "。.!?！？；;":
            base += "。" if self.zh else "."
        return base + ("" if self.zh else " ") + self.constraint(salt)

    def rewrite(self, salt: str) -> str:
        base = _subject(self.last_user)
        if not base:
            return self.answer(salt)
        return self.words["greeting"] + base + self.words["farewell"]

    def enhanced(self, salt: str) -> str:
        """A structure enhancement: the task part kept whole, formats and examples included,
        under one lead sentence (a real model rewrites more; what matters is what it keeps)."""
        text = _SCHEMA_BLOCK.sub("", self.last_user)
        found = _TASK_PART.search(text)
        base = found.group(1).strip() if found else _subject(text)
        return self.words["enhance"] + "\n\n" + (base or self.instruction(salt))

    def formatted(self, output_format: str, salt: str) -> str:
        """A plausible answer in the output format a label prompt asks for."""
        r = self.rng(f"formatted:{salt}")
        name, detail = self._topic(r)
        answer = self.words["answer"].format(t=name, d=detail)
        closing = r.choice(self.words["closing"])
        if output_format == "table":
            return self.words["table"].format(t=name, d=detail, c=closing)
        if output_format == "list":
            return self.words["list"].format(a=answer, d=detail, c=closing)
        if output_format == "markdown":
            return self.words["markdown"].format(a=answer, d=detail, c=closing)
        if output_format == "json":
            keys = self.words["json_keys"]
            return json.dumps({keys[0]: answer, keys[1]: detail}, ensure_ascii=False)
        return self.answer(salt)

    def labelled(self, salt: str) -> str:
        """The answer to a label prompt, in the format each of its tasks asks for. In JSON mode
        the caller wraps it, so it stays a sentence."""
        segments = _task_segments(self.last_user)
        if len(segments) == 1:
            output_format = asked_format(segments[0])
            if output_format == "json" and self.json_mode:
                return self.answer(salt)
            return self.formatted(output_format, salt)
        return "\n\n".join(
            self.words["task"].format(n=n)
            + "\n"
            + self.formatted(asked_format(segment), f"{salt}:{n}")
            for n, segment in enumerate(segments, start=1)
        )

    def restructured(self, salt: str) -> str:
        base = _subject(self.last_user) or self.instruction(salt)
        c1 = self.constraint(salt + ":1")
        c2 = self.constraint(salt + ":2")
        if c2 == c1:
            c2 = self.constraint(salt + ":3")
        return self.words["restructure"].format(s=base, c1=c1, c2=c2)

    def seed_list(self, salt: str) -> str:
        count = 3 + self.rng(f"count:{salt}").randrange(3)
        items: list[str] = []
        attempt = 0
        while len(items) < count and attempt < 40:
            candidate = self.instruction(f"{salt}:{attempt}")
            attempt += 1
            if candidate not in items:
                items.append(candidate)
        return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))

    def judge(self, salt: str) -> str:
        score = self.rng(f"score:{salt}").choice((5, 6, 7, 7, 8, 8, 9))
        return self.words["judge"].format(r=self.reason(salt)) + f"\nRating: [[{score}]]"

    def plain(self, kind: str, salt: str) -> str:
        if kind == "judge":
            return self.judge(salt)
        if kind in ("evolve_instruction", "evolve"):
            return self.evolved(salt)
        if kind == "restructure_prompt":
            return self.restructured(salt)
        if kind == "enhance_prompt":
            return self.enhanced(salt)
        if kind == "label":
            return self.labelled(salt)
        if kind == "seed_instructions":
            return self.seed_list(salt)
        if kind == "rewrite":
            return self.rewrite(salt)
        if kind == "test_connection":
            return self.words["ok"]
        return self.answer(salt)  # everything else: a plausible agent reply


# --------------------------------------------------------------------------------------------
# JSON schema -> valid instance
# --------------------------------------------------------------------------------------------

_CATEGORIES = (
    (
        "reason",
        (
            "reason",
            "rationale",
            "explanation",
            "justification",
            "critique",
            "feedback",
            "comment",
            "why",
            "analysis",
            "note",
        ),
    ),
    ("constraint", ("constraint", "requirement", "rule")),
    ("instruction", ("instruction", "question", "prompt", "query", "task", "seed")),
    ("summary", ("summary", "abstract", "description")),
    ("topic", ("topic", "subject")),
    ("language", ("language", "lang", "locale")),
    ("place", ("city", "district", "region", "location", "address")),
    ("email", ("email",)),
    ("url", ("url", "uri", "link")),
    ("label", ("title", "name", "label", "tag", "category", "intent", "type", "kind", "class")),
    (
        "answer",
        (
            "answer",
            "response",
            "reply",
            "output",
            "completion",
            "rewrite",
            "rewritten",
            "content",
            "text",
            "message",
            "body",
        ),
    ),
)
_SCORE_WORDS = ("score", "rating", "grade", "level", "rank", "quality")
_FRACTION_WORDS = ("confidence", "probability", "ratio", "weight", "similarity")


def _category(name: str) -> str:
    lowered = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()
    if lowered == "id" or lowered.endswith("_id") or lowered in ("uuid", "key"):
        return "id"
    for category, words in _CATEGORIES:
        if any(word in lowered for word in words):
            return category
    return "phrase"


class _SchemaFaker:
    def __init__(self, root: dict, composer: _Composer, kind: str):
        self.root = root
        self.composer = composer
        self.kind = kind

    def _resolve(self, schema):
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 20:
            seen += 1
            ref = schema["$ref"]
            if not ref.startswith("#"):
                return {k: v for k, v in schema.items() if k != "$ref"}
            target = self.root
            for part in ref[1:].split("/"):
                if not part:
                    continue
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part, {}) if isinstance(target, dict) else {}
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **extra} if isinstance(target, dict) else extra
        return schema

    def make(self, schema, path: str, name: str, depth: int = 0):
        schema = self._resolve(schema)
        if schema is True or not isinstance(schema, dict):
            schema = {}
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.composer.rng(f"enum:{path}").choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                resolved = [self._resolve(o) for o in options]
                chosen = next(
                    (o for o in resolved if not (isinstance(o, dict) and o.get("type") == "null")),
                    resolved[0],
                )
                rest = {k: v for k, v in schema.items() if k != key}
                merged = {**rest, **(chosen if isinstance(chosen, dict) else {})}
                return self.make(merged, path, name, depth)
        if isinstance(schema.get("allOf"), list):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self._resolve(part)
                if not isinstance(part, dict):
                    continue
                for k, v in part.items():
                    if k == "properties":
                        merged["properties"] = {**merged.get("properties", {}), **v}
                    elif k == "required":
                        merged["required"] = list(merged.get("required", [])) + list(v)
                    else:
                        merged.setdefault(k, v)
            return self.make(merged, path, name, depth)

        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            if "properties" in schema or "required" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                kind = "string"
        if kind == "object":
            return self._object(schema, path, depth)
        if kind == "array":
            return self._array(schema, path, name, depth)
        if kind == "integer":
            return self._integer(schema, path, name)
        if kind == "number":
            return self._number(schema, path, name)
        if kind == "boolean":
            return self.composer.rng(f"bool:{path}").random() < 0.6
        if kind == "null":
            return None
        return self._string(schema, path, name)

    def _object(self, schema: dict, path: str, depth: int) -> dict:
        properties = schema.get("properties") or {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        names = list(properties) if depth < 6 else [n for n in properties if n in required]
        names += [r for r in required if r not in names]
        return {
            key: self.make(properties.get(key, {}), f"{path}.{key}", key, depth + 1)
            for key in names
        }

    def _array(self, schema: dict, path: str, name: str, depth: int) -> list:
        low = max(int(schema.get("minItems") or 0), 0)
        high = schema.get("maxItems")
        high = int(high) if isinstance(high, int | float) else max(low, 3)
        if depth >= 6:
            count = low
        else:
            wanted = 1 + self.composer.rng(f"len:{path}").randrange(3)
            count = min(max(wanted, low), high) if high >= low else low
        prefix = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else []
        items = schema.get("items", {})
        if not isinstance(items, dict | bool):
            items = {}
        unique = bool(schema.get("uniqueItems"))
        result: list = []
        for index in range(count):
            item_schema = prefix[index] if index < len(prefix) else items
            value = self.make(item_schema, f"{path}[{index}]", name, depth + 1)
            attempt = 0
            while unique and value in result and attempt < 30:
                attempt += 1
                value = self.make(item_schema, f"{path}[{index}]~{attempt}", name, depth + 1)
            if unique and value in result:
                if len(result) >= low:
                    break
            result.append(value)
        return result

    @staticmethod
    def _bounds(schema: dict, integer: bool, name: str) -> tuple[float, float]:
        low = schema.get("minimum")
        high = schema.get("maximum")
        step = 1 if integer else 0.01
        ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(ex_low, int | float) and not isinstance(ex_low, bool):
            low = ex_low + step if low is None else max(low, ex_low + step)
        if isinstance(ex_high, int | float) and not isinstance(ex_high, bool):
            high = ex_high - step if high is None else min(high, ex_high - step)
        lowered = name.lower()
        if any(w in lowered for w in _FRACTION_WORDS) and not integer:
            default = (0.0, 1.0)
        elif any(w in lowered for w in _SCORE_WORDS):
            default = (1, 10)
        else:
            default = (0, 100)
        if low is None and high is None:
            low, high = default
        elif low is None:
            low = min(default[0], high)
        elif high is None:
            high = max(default[1], low)
        return low, high

    def _integer(self, schema: dict, path: str, name: str) -> int:
        low, high = self._bounds(schema, True, name)
        low, high = math.ceil(low), math.floor(high)
        if high < low:
            return int(low)
        multiple = schema.get("multipleOf")
        r = self.composer.rng(f"int:{path}")
        if isinstance(multiple, int) and multiple > 0:
            first, last = math.ceil(low / multiple), math.floor(high / multiple)
            if first <= last:
                return r.randint(first, last) * multiple
        return r.randint(low, high)

    def _number(self, schema: dict, path: str, name: str) -> float:
        low, high = self._bounds(schema, False, name)
        if high < low:
            return float(low)
        value = round(self.composer.rng(f"num:{path}").uniform(low, high), 2)
        return float(min(max(value, low), high))

    def _string(self, schema: dict, path: str, name: str) -> str:
        composer = self.composer
        fmt = schema.get("format")
        if fmt == "date":
            day = composer.rng(f"date:{path}").randrange(365)
            text = time.strftime("%Y-%m-%d", time.gmtime(1_704_067_200 + day * 86_400))
        elif fmt == "date-time":
            second = composer.rng(f"dt:{path}").randrange(365 * 86_400)
            text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_704_067_200 + second))
        elif fmt == "email":
            text = f"agent{composer.rng(path).randrange(1000)}@example.com"
        elif fmt in ("uri", "url"):
            text = f"https://example.com/listing/{composer.rng(path).randrange(100000)}"
        elif fmt == "uuid":
            raw = hashlib.sha256(f"{composer.digest}:{path}".encode()).hexdigest()
            text = f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:32]}"
        else:
            text = self._text_for(_category(name), path)
        low = int(schema.get("minLength") or 0)
        extra = 0
        while len(text) < low:
            extra += 1
            text += ("" if composer.zh else " ") + composer.answer(f"{path}:pad{extra}")
        high = schema.get("maxLength")
        if isinstance(high, int) and len(text) > high:
            text = text[: max(high, 0)]
        return text

    def _text_for(self, category: str, path: str) -> str:
        composer, kind = self.composer, self.kind
        if category == "instruction":
            if kind in ("evolve_instruction", "evolve"):
                return composer.evolved(path)
            if kind == "restructure_prompt":
                return composer.restructured(path)
            if kind == "enhance_prompt":
                return composer.enhanced(path)
            return composer.instruction(path)
        if category == "answer":
            if kind == "rewrite":
                return composer.rewrite(path)
            if kind == "judge":
                return composer.reason(path)
            return composer.answer(path)
        if category == "reason":
            return composer.reason(path)
        if category == "summary":
            return composer.summary(path)
        if category == "topic":
            return composer.topic_name(path)
        if category == "constraint":
            return composer.constraint(path)
        if category == "label":
            return composer.label(path)
        if category == "language":
            return "zh" if composer.zh else "en"
        if category == "place":
            return composer.place(path)
        if category == "email":
            return f"agent{composer.rng(path).randrange(1000)}@example.com"
        if category == "url":
            return f"https://example.com/listing/{composer.rng(path).randrange(100000)}"
        if category == "id":
            return "item-" + hashlib.sha256(f"{composer.digest}:{path}".encode()).hexdigest()[:8]
        return composer.phrase(path)


# --------------------------------------------------------------------------------------------
# Public generation functions (pure; used by the handler, usable by tests)
# --------------------------------------------------------------------------------------------


def wants_json(request: dict) -> bool:
    response_format = request.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in (
        "json_object",
        "json_schema",
    ):
        return True
    return schema_from_messages(request.get("messages") or []) is not None


def request_schema(request: dict) -> dict | None:
    response_format = request.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if isinstance(schema, dict):
            return schema
    return schema_from_messages(request.get("messages") or [])


def chat_contents(request: dict, kind: str | None = None, n: int = 1) -> list[str]:
    """The answers (one per choice) the server gives to a chat completion request."""
    messages = request.get("messages") or []
    kind = (kind or "").strip().lower()
    texts = [_message_text(m) for m in messages]
    context = _SCHEMA_BLOCK.sub("", "\n".join(texts))
    last_user = next(
        (
            _message_text(m)
            for m in reversed(messages)
            if isinstance(m, dict) and m.get("role") == "user"
        ),
        texts[-1] if texts else "",
    )
    digest = hashlib.sha256(
        json.dumps(
            {
                "messages": messages,
                "format": request.get("response_format"),
                "kind": kind,
                # Another model, or another seed, answers otherwise (as real ones do): two
                # models evaluated on one test set differ, a judge asked again may too.
                "model": request.get("model"),
                "seed": request.get("seed"),
            },
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        ).encode()
    ).hexdigest()
    as_json = wants_json(request)
    composer = _Composer(
        zh=is_chinese(context),
        digest=digest,
        context=context,
        last_user=last_user,
        json_mode=as_json,
    )
    schema = request_schema(request) if as_json else None
    contents = []
    for index in range(n):
        salt = "$" if index == 0 else f"${index}"
        if not as_json:
            contents.append(composer.plain(kind, salt))
            continue
        if schema is None:
            value = {"answer": composer.plain(kind, salt)}
        else:
            value = _SchemaFaker(schema, composer, kind).make(schema, salt, "")
        contents.append(json.dumps(value, ensure_ascii=False))
    return contents


def _ngram_features(text: str):
    normalized = " ".join(text.lower().split())
    if not normalized:
        normalized = "\u2205"
    for size, weight in ((1, 0.5), (2, 1.0), (3, 1.0)):
        padded = f"^{normalized}$" if size > 1 else normalized
        for start in range(max(len(padded) - size + 1, 1)):
            yield f"{size}:{padded[start : start + size]}", weight


def fake_embedding(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """A unit vector from hashed character n-grams: similar texts get similar vectors."""
    vector = [0.0] * dimensions
    for gram, weight in _ngram_features(text):
        value = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")
        vector[value % dimensions] += weight if (value >> 40) & 1 else -weight
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        vector[0], norm = 1.0, 1.0
    return [v / norm for v in vector]


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.param = param
        self.status = status


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True
    owner: FakeLLMServer

    def server_bind(self):
        # HTTPServer.server_bind() would do a reverse DNS lookup (socket.getfqdn).
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = host, port

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response has a length or is chunked
    server_version = "FakeLLM/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300  # an idle keep-alive connection is closed after this many seconds
    server: _HTTPServer

    @property
    def owner(self) -> FakeLLMServer:
        return self.server.owner

    def setup(self):
        super().setup()
        self.owner._track(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.owner._untrack(self.connection)

    def log_message(self, format, *args):
        if self.owner.verbose:
            sys.stderr.write(f"fake-llm {self.address_string()} {format % args}\n")

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    # -- plumbing ----------------------------------------------------------------------------

    def _dispatch(self, method: str):
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        owner = self.owner
        owner._enter(path)
        self._request_id = f"req_{owner._next_id():012x}"
        try:
            body = self._read_body()
            routes = {
                ("GET", "/v1/models"): self._models,
                ("POST", "/v1/chat/completions"): self._chat,
                ("POST", "/v1/embeddings"): self._embeddings,
                ("GET", "/_stats"): self._stats,
                ("POST", "/_reset"): self._reset,
                ("POST", "/_config"): self._config,
            }
            handler = routes.get((method, path))
            if handler is None and method == "GET" and path.startswith("/v1/models/"):
                handler = self._model
            if handler is None:
                self._error(404, "invalid_request_error", None, f"Unknown URL {method} {path}.")
                return
            handler(path, body)
        except _BadRequest as exc:
            self._error(exc.status, "invalid_request_error", None, str(exc), param=exc.param)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        finally:
            owner._leave()

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return self._read_chunked()
            return b""
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise _BadRequest("Invalid Content-Length.") from None
        return self.rfile.read(size) if size > 0 else b""

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(data)
            data += self.rfile.read(size)
            self.rfile.readline()

    @staticmethod
    def _json_body(body: bytes) -> dict:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise _BadRequest("We could not parse the JSON body of your request.") from None
        if not isinstance(data, dict):
            raise _BadRequest("The request body must be a JSON object.")
        return data

    def _send(self, status: int, body: bytes, content_type: str, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", self._request_id)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.owner._count("status", str(status))

    def _send_json(self, status: int, payload, headers=()):
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._send(status, body, "application/json", headers)

    def _error(self, status, error_type, code, message, param=None, headers=()):
        payload = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
        self._send_json(status, payload, headers)

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _stream_start(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", self._request_id)
        self.end_headers()
        self.owner._count("status", "200")

    def _stream_event(self, data: bytes):
        event = b"data: " + data + b"\n\n"
        self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")

    def _stream_end(self):
        self._stream_event(b"[DONE]")
        self.wfile.write(b"0\r\n\r\n")

    # -- failures ----------------------------------------------------------------------------

    def _prelude(self, body: bytes, injectable: bool) -> str | None:
        """Decide the injected failure, sleep the latency, answer HTTP errors and drops.

        Returns the failure the caller still has to act on (hang/malformed/truncated), or None.
        After a hang the request is answered normally."""
        owner = self.owner
        failure = owner._decide_failure(self.headers, self.path, body, injectable)
        latency = self.headers.get("X-Fake-Latency-Ms")
        try:
            latency_ms = float(latency) if latency is not None else float(owner.latency_ms)
        except ValueError:
            raise _BadRequest("X-Fake-Latency-Ms must be a number.") from None
        if latency_ms > 0:
            time.sleep(latency_ms / 1000)
        if failure is None:
            return None
        owner._count("errors", failure)
        if failure in _HTTP_ERRORS:
            status, error_type, code, message = _HTTP_ERRORS[failure]
            headers = [("Retry-After", "1"), ("retry-after-ms", "200")] if status == 429 else []
            self._error(status, error_type, code, message, headers=headers)
            return "answered"
        if failure == "disconnect":
            self._drop()
            return "answered"
        if failure == "hang":
            if owner._stopping.wait(owner.hang_seconds):
                self._drop()
                return "answered"
            return None
        return failure

    # -- endpoints ---------------------------------------------------------------------------

    def _models(self, path: str, body: bytes):
        failure = self._prelude(body, injectable=False)
        if failure == "answered":
            return
        if failure in ("malformed", "truncated"):
            self._send(200, b'{"object": "list", "data": [{"id": "fake-', "application/json")
            return
        created = 1_700_000_000
        data = [
            {"id": model, "object": "model", "created": created, "owned_by": "dialinsight-fake"}
            for model in (CHAT_MODEL, EMBED_MODEL)
        ]
        self._send_json(200, {"object": "list", "data": data})

    def _model(self, path: str, body: bytes):
        model = path[len("/v1/models/") :]
        self._send_json(
            200,
            {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "fake"},
        )

    def _stats(self, path: str, body: bytes):
        self._send_json(200, self.owner.stats())

    def _reset(self, path: str, body: bytes):
        self.owner.reset_stats()
        self._send_json(200, self.owner.stats())

    def _config(self, path: str, body: bytes):
        data = self._json_body(body)
        owner = self.owner
        try:
            if "latency_ms" in data:
                owner.latency_ms = max(float(data["latency_ms"]), 0.0)
            if "error_rate" in data:
                owner.error_rate = min(max(float(data["error_rate"]), 0.0), 1.0)
            if "hang_seconds" in data:
                owner.hang_seconds = max(float(data["hang_seconds"]), 0.0)
        except (TypeError, ValueError):
            raise _BadRequest("latency_ms, error_rate and hang_seconds must be numbers.") from None
        self._send_json(
            200,
            {
                "latency_ms": owner.latency_ms,
                "error_rate": owner.error_rate,
                "hang_seconds": owner.hang_seconds,
            },
        )

    def _chat(self, path: str, body: bytes):
        request = self._json_body(body)
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _BadRequest("'messages' must be a non-empty array.", param="messages")
        n = request.get("n") or 1
        if not isinstance(n, int) or not 1 <= n <= 16:
            raise _BadRequest("'n' must be an integer between 1 and 16.", param="n")
        failure = self._prelude(body, injectable=True)
        if failure == "answered":
            return
        stream = bool(request.get("stream"))
        if failure == "malformed":
            if stream:
                self._stream_start()
                self._stream_event(b'{"id": "chatcmpl-broken", "choices": [{"delta": <html>')
                self._stream_end()
            else:
                garbage = b'{"id": "chatcmpl-broken", "choices": [<html>502 Bad Gateway'
                self._send(200, garbage, "application/json")
            return

        contents = chat_contents(request, self.headers.get("X-Dialinsight-Kind"), n)
        finish = ["stop"] * n
        limit = request.get("max_completion_tokens") or request.get("max_tokens")
        for i, content in enumerate(contents):
            if failure == "truncated":
                if wants_json(request):
                    contents[i] = _truncate_json_text(content)
                else:
                    contents[i] = content[: max(1, len(content) // 2)]
            elif isinstance(limit, int) and estimate_tokens(content) > limit:
                contents[i] = _cut_to_tokens(content, limit)
                finish[i] = "length"
        model = str(request.get("model") or CHAT_MODEL)
        usage_prompt = prompt_tokens(messages)
        usage_completion = sum(estimate_tokens(c) for c in contents)
        usage = {
            "prompt_tokens": usage_prompt,
            "completion_tokens": usage_completion,
            "total_tokens": usage_prompt + usage_completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }
        completion_id = f"chatcmpl-{self.owner._next_id():024x}"
        created = int(time.time())
        self.owner._served_completion(stream, usage_prompt, usage_completion)
        if not stream:
            choices = [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": c, "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish[i],
                }
                for i, c in enumerate(contents)
            ]
            self._send_json(
                200,
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": choices,
                    "usage": usage,
                },
            )
            return

        options = request.get("stream_options") or {}
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))

        def chunk(choices, usage_value=None):
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": choices,
            }
            if include_usage:
                payload["usage"] = usage_value
            return json.dumps(payload, ensure_ascii=False).encode()

        def delta(i, value, finish_reason=None):
            return [{"index": i, "delta": value, "logprobs": None, "finish_reason": finish_reason}]

        self._stream_start()
        for i, content in enumerate(contents):
            self._stream_event(chunk(delta(i, {"role": "assistant", "content": ""})))
            step = 4 if is_chinese(content) else 12
            for start in range(0, len(content), step):
                self._stream_event(chunk(delta(i, {"content": content[start : start + step]})))
            self._stream_event(chunk(delta(i, {}, finish[i])))
        if include_usage:
            self._stream_event(chunk([], usage))
        self._stream_end()

    def _embeddings(self, path: str, body: bytes):
        request = self._json_body(body)
        raw = request.get("input")
        if isinstance(raw, str):
            inputs = [raw]
        elif isinstance(raw, list) and raw and all(isinstance(x, int) for x in raw):
            inputs = [" ".join(map(str, raw))]  # one input given as token ids
        elif isinstance(raw, list) and raw:
            inputs = []
            for item in raw:
                if isinstance(item, str):
                    inputs.append(item)
                elif isinstance(item, list) and all(isinstance(x, int) for x in item):
                    inputs.append(" ".join(map(str, item)))
                else:
                    raise _BadRequest("'input' must be a string or an array of strings.", "input")
        else:
            raise _BadRequest("'input' must be a non-empty string or array.", param="input")
        dimensions = request.get("dimensions") or DEFAULT_DIMENSIONS
        if not isinstance(dimensions, int) or not 1 <= dimensions <= MAX_DIMENSIONS:
            raise _BadRequest(f"'dimensions' must be between 1 and {MAX_DIMENSIONS}.", "dimensions")
        encoding = request.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise _BadRequest("'encoding_format' must be 'float' or 'base64'.", "encoding_format")
        failure = self._prelude(body, injectable=True)
        if failure == "answered":
            return
        if failure in ("malformed", "truncated"):
            garbage = b'{"object": "list", "data": [{"object": "embedding", "embedding": [0.1'
            self._send(200, garbage, "application/json")
            return
        data = []
        for index, text in enumerate(inputs):
            vector = fake_embedding(text, dimensions)
            if encoding == "base64":
                packed = struct.pack(f"<{dimensions}f", *vector)
                value = base64.b64encode(packed).decode()
            else:
                value = vector
            data.append({"object": "embedding", "index": index, "embedding": value})
        tokens = sum(estimate_tokens(text) for text in inputs)
        self.owner._served_embeddings(len(inputs), tokens)
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": str(request.get("model") or EMBED_MODEL),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def _empty_stats() -> dict:
    return {
        "requests": 0,
        "connections": 0,
        "paths": {},
        "status": {},
        "errors": {},
        "completions": 0,
        "stream_completions": 0,
        "embedding_requests": 0,
        "embedding_inputs": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "in_flight": 0,
        "max_in_flight": 0,
    }


class FakeLLMServer:
    """An OpenAI-compatible HTTP server on loopback; see the module docstring.

    ``latency_ms``, ``error_rate`` and ``hang_seconds`` may be changed while it runs."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        error_rate: float = 0.0,
        seed: int = 0,
        errors=("429", "500"),
        hang_seconds: float = 30.0,
        verbose: bool = False,
    ):
        if isinstance(errors, str):
            errors = [e for e in errors.split(",") if e.strip()]
        kinds = tuple(str(e).strip().lower() for e in errors)
        unknown = [k for k in kinds if k not in ERROR_KINDS]
        if unknown:
            raise ValueError(f"unknown error kinds {unknown}; known: {', '.join(ERROR_KINDS)}")
        if not 0.0 <= float(error_rate) <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        self.host = host
        self.port = port
        self.latency_ms = latency_ms
        self.error_rate = float(error_rate)
        self.seed = seed
        self.errors = kinds
        self.hang_seconds = float(hang_seconds)
        self.verbose = verbose
        self._lock = threading.Lock()
        self._life = threading.RLock()
        self._rng = random.Random(seed)
        self._keys: dict[str, int] = {}
        self._ids = 0
        self._stats = _empty_stats()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._serving = False
        self._stopping = threading.Event()
        self._address: tuple[str, int] | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def bind(self) -> FakeLLMServer:
        """Listen on host:port (port 0 picks a free one); start()/serve_forever() call this."""
        with self._life:
            if self._httpd is None:
                server_class = _HTTPServer6 if ":" in self.host else _HTTPServer
                httpd = server_class((self.host, self.port), _Handler)
                httpd.owner = self
                self._httpd = httpd
                self._stopping = threading.Event()
                self._address = httpd.server_address[:2]
            return self

    def start(self) -> FakeLLMServer:
        """Serve in a background (daemon) thread."""
        with self._life:
            if self._thread is not None:
                return self
            self.bind()
            self._serving = True
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-llm-{self._address[1]}",
                daemon=True,
            )
            self._thread.start()
            return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until stop() or KeyboardInterrupt (which propagates)."""
        with self._life:
            self.bind()
            self._serving = True
            httpd = self._httpd
        try:
            httpd.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        with self._life:
            httpd = self._httpd
            if httpd is None:
                return
            self._stopping.set()  # ends hangs early
            if self._serving:
                httpd.shutdown()
            with self._lock:
                connections = list(self._connections)
            for connection in connections:  # ends idle keep-alive connections
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            httpd.server_close()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=5)
            self._thread = None
            self._httpd = None
            self._serving = False

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._address is None:
            raise RuntimeError("FakeLLMServer is not bound yet: call start() or bind() first")
        host, port = self._address
        if host in ("0.0.0.0", ""):  # noqa: S104 - only naming the loopback address to call
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/v1"

    # -- statistics ----------------------------------------------------------------------------

    def stats(self) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._stats))

    def reset_stats(self) -> None:
        with self._lock:
            in_flight = self._stats["in_flight"]
            self._stats = _empty_stats()
            self._stats["in_flight"] = self._stats["max_in_flight"] = in_flight

    # -- used by the handler -------------------------------------------------------------------

    def _track(self, connection):
        with self._lock:
            self._connections.add(connection)
            self._stats["connections"] += 1

    def _untrack(self, connection):
        with self._lock:
            self._connections.discard(connection)

    def _next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def _enter(self, path: str):
        with self._lock:
            stats = self._stats
            stats["requests"] += 1
            stats["paths"][path] = stats["paths"].get(path, 0) + 1
            stats["in_flight"] += 1
            stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])

    def _leave(self):
        with self._lock:
            self._stats["in_flight"] -= 1

    def _count(self, group: str, key: str):
        with self._lock:
            counters = self._stats[group]
            counters[key] = counters.get(key, 0) + 1

    def _served_completion(self, stream: bool, prompt: int, completion: int):
        with self._lock:
            self._stats["completions"] += 1
            if stream:
                self._stats["stream_completions"] += 1
            self._stats["prompt_tokens"] += prompt
            self._stats["completion_tokens"] += completion

    def _served_embeddings(self, inputs: int, tokens: int):
        with self._lock:
            self._stats["embedding_requests"] += 1
            self._stats["embedding_inputs"] += inputs
            self._stats["prompt_tokens"] += tokens

    def _decide_failure(self, headers, path: str, body: bytes, injectable: bool) -> str | None:
        forced = headers.get("X-Fake-Fail")
        if forced is not None:
            forced = forced.strip().lower()
            if forced != "none" and forced not in ERROR_KINDS:
                raise _BadRequest(
                    f"Unknown X-Fake-Fail kind {forced!r}; known: none, {', '.join(ERROR_KINDS)}."
                )
        times = headers.get("X-Fake-Fail-Times")
        if times is not None:
            try:
                limit = int(times)
            except ValueError:
                raise _BadRequest("X-Fake-Fail-Times must be an integer.") from None
            key = headers.get("X-Idempotency-Key") or headers.get("Idempotency-Key")
            if not key:
                key = hashlib.sha256(path.encode() + b"\n" + body).hexdigest()
            with self._lock:
                seen = self._keys[key] = self._keys.get(key, 0) + 1
            if seen > limit or forced == "none":
                return None
            return forced or (self.errors[0] if self.errors else "500")
        if forced is not None:
            return None if forced == "none" else forced
        if not injectable:
            return None
        with self._lock:
            rate = self.error_rate
            if rate > 0 and self.errors and self._rng.random() < rate:
                return self._rng.choice(self.errors)
        return None
