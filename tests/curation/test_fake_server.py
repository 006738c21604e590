"""The OpenAI-compatible fake LLM server, driven over real HTTP by the real openai client."""

import json
import math
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jsonschema
import openai
import pytest
from django.core.management import CommandError, call_command

from curation.llm.fake_server import FakeLLMServer

ROOT = Path(__file__).resolve().parents[2]
CJK = ("\u4e00", "\u9fff")

NESTED_SCHEMA = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "minItems": 2,
            "maxItems": 4,
            "items": {
                "type": "object",
                "properties": {
                    "instruction": {"type": "string", "minLength": 5, "maxLength": 120},
                    "grade": {"type": "string", "enum": ["excellent", "good", "poor"]},
                    "score": {"type": "integer", "minimum": 1, "maximum": 5},
                    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "usable": {"type": "boolean"},
                },
                "required": ["instruction", "grade", "score"],
                "additionalProperties": False,
            },
        },
        "reason": {"type": "string"},
        "note": {"type": ["string", "null"]},
    },
    "required": ["items", "reason"],
    "additionalProperties": False,
}


def has_cjk(text: str) -> bool:
    return any(CJK[0] <= ch <= CJK[1] for ch in text)


def ask(client, content="What is the agency fee for a resale flat?", **kwargs):
    return client.chat.completions.create(
        model="fake-chat", messages=[{"role": "user", "content": content}], **kwargs
    )


@pytest.fixture
def server():
    with FakeLLMServer(hang_seconds=2) as running:
        yield running


@pytest.fixture
def client(server):
    with openai.OpenAI(base_url=server.url, api_key="test", max_retries=0) as real_client:
        yield real_client


def test_models_are_listed(client, server):
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/v1")
    assert {"fake-chat", "fake-embed"} <= {model.id for model in client.models.list()}


def test_chat_completion_has_envelope_and_usage(client):
    completion = ask(client)
    assert completion.id.startswith("chatcmpl-") and completion.created > 0
    assert completion.model == "fake-chat"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content and not has_cjk(choice.message.content)
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    other = client.chat.completions.create(
        model="my-provider-model", messages=[{"role": "user", "content": "hello"}]
    )
    assert other.model == "my-provider-model"


def test_the_same_request_gets_the_same_answer(client):
    first = ask(client, "客户问：押一付三的押金什么时候退？")
    second = ask(client, "客户问：押一付三的押金什么时候退？")
    different = ask(client, "客户问：学区房怎么入学？")
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.id != second.id
    assert different.choices[0].message.content != first.choices[0].message.content


def test_chinese_in_chinese_out(client):
    content = ask(client, "您好，我想了解一下首付比例。").choices[0].message.content
    assert has_cjk(content)


def test_json_mode_follows_the_embedded_schema(client):
    completion = client.chat.completions.create(
        model="fake-chat",
        response_format={"type": "json_object"},
        messages=[
            {
                "role": "system",
                "content": "Grade the instructions. Reply with JSON only.\n"
                f"<json-schema>{json.dumps(NESTED_SCHEMA)}</json-schema>",
            },
            {"role": "user", "content": "对话：客户：物业费一个月多少钱？经纪人：每平米三元。"},
        ],
    )
    data = json.loads(completion.choices[0].message.content)
    jsonschema.validate(data, NESTED_SCHEMA)
    assert has_cjk(data["reason"]) and has_cjk(data["items"][0]["instruction"])


def test_json_mode_without_a_schema_answers_an_object(client):
    content = ask(client, response_format={"type": "json_object"}).choices[0].message.content
    assert set(json.loads(content)) == {"answer"}


def test_json_schema_response_format(client):
    schema = {
        "type": "object",
        "properties": {
            "grade": {"enum": ["A", "B", "C"]},
            "evidence": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/Quote"},
            },
        },
        "required": ["grade", "evidence"],
        "$defs": {
            "Quote": {
                "type": "object",
                "properties": {
                    "turn": {"type": "integer", "minimum": 0, "maximum": 20},
                    "text": {"anyOf": [{"type": "string", "maxLength": 30}, {"type": "null"}]},
                },
                "required": ["turn", "text"],
            }
        },
    }
    completion = ask(
        client,
        "Quote the turns about the handover date.",
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "quotes", "schema": schema, "strict": True},
        },
    )
    jsonschema.validate(json.loads(completion.choices[0].message.content), schema)


def test_streaming_concatenates_to_the_plain_answer(client):
    question = "客户问：二手房交易要交哪些税？"
    plain = ask(client, question).choices[0].message.content
    pieces, finish, usage = [], None, None
    stream = ask(client, question, stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert len([p for p in pieces if p]) > 1
    assert "".join(pieces) == plain
    assert finish == "stop" and usage.completion_tokens > 0


def test_embeddings_are_unit_vectors_and_similar_texts_are_close(client):
    texts = [
        "客户想在朝阳区租一套两居室，预算每月八千元左右。",
        "客户想在朝阳区租一套两居室，预算每月九千元左右。",
        "请问这个小区的物业费是怎么收取的？",
    ]
    for kwargs in ({"dimensions": 256}, {"dimensions": 256, "encoding_format": "float"}):
        response = client.embeddings.create(model="fake-embed", input=texts, **kwargs)
        vectors = [item.embedding for item in response.data]
        assert [len(v) for v in vectors] == [256] * 3
        for vector in vectors:
            assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-5)

        def cosine(a, b):
            return sum(x * y for x, y in zip(a, b, strict=True))

        assert cosine(vectors[0], vectors[1]) > 0.7
        assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3
    single = client.embeddings.create(model="fake-embed", input="hello")
    assert len(single.data[0].embedding) == 384 and single.usage.prompt_tokens > 0
    again = client.embeddings.create(model="fake-embed", input="hello")
    assert again.data[0].embedding == single.data[0].embedding


def test_forced_429_is_a_rate_limit_error_with_retry_after(client, server):
    with pytest.raises(openai.RateLimitError) as caught:
        ask(client, extra_headers={"X-Fake-Fail": "429"})
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.response.headers["retry-after-ms"] == "200"
    assert caught.value.code == "rate_limit_exceeded"
    assert server.stats()["errors"] == {"429": 1}


def test_forced_500_is_an_internal_server_error(client):
    with pytest.raises(openai.InternalServerError) as caught:
        ask(client, extra_headers={"X-Fake-Fail": "500"})
    assert caught.value.status_code == 500


def test_hang_runs_into_the_client_timeout(client):
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        ask(client, extra_headers={"X-Fake-Fail": "hang"}, timeout=0.5)
    assert time.monotonic() - started < 1.9


def test_a_malformed_body_fails_to_parse(client):
    # The openai client does not wrap this one: json.loads' own error surfaces from create().
    with pytest.raises(json.JSONDecodeError):
        ask(client, extra_headers={"X-Fake-Fail": "malformed"})
    with pytest.raises(json.JSONDecodeError):
        list(ask(client, stream=True, extra_headers={"X-Fake-Fail": "malformed"}))


def test_truncated_json_is_a_valid_envelope_with_broken_content(client):
    completion = ask(
        client, response_format={"type": "json_object"}, extra_headers={"X-Fake-Fail": "truncated"}
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(completion.choices[0].message.content)


def test_disconnect_is_a_connection_error(client):
    with pytest.raises(openai.APIConnectionError) as caught:
        ask(client, extra_headers={"X-Fake-Fail": "disconnect"})
    assert not isinstance(caught.value, openai.APITimeoutError)


def test_fail_times_fails_a_key_n_times_then_succeeds(client, server):
    headers = {"X-Fake-Fail": "500", "X-Fake-Fail-Times": "2", "X-Idempotency-Key": "job-1"}
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            ask(client, extra_headers=headers)
    assert ask(client, extra_headers=headers).choices[0].message.content
    # the client's own retries (honouring retry-after-ms: 200) get through the same way
    retrying = client.with_options(max_retries=2)
    headers = {"X-Fake-Fail": "429", "X-Fake-Fail-Times": "2", "X-Idempotency-Key": "job-2"}
    assert ask(retrying, extra_headers=headers).choices[0].message.content
    assert server.stats()["errors"] == {"500": 2, "429": 2}


def test_error_rate_fails_about_half_and_is_counted():
    with FakeLLMServer(error_rate=0.5, seed=7) as server:
        client = openai.OpenAI(base_url=server.url, api_key="test", max_retries=0)
        failures = 0
        for i in range(40):
            try:
                ask(client, f"question {i}")
            except (openai.RateLimitError, openai.InternalServerError):
                failures += 1
        stats = server.stats()
    assert 10 <= failures <= 30
    assert sum(stats["errors"].values()) == failures
    assert set(stats["errors"]) <= {"429", "500"}
    assert stats["completions"] == 40 - failures
    assert stats["paths"]["/v1/chat/completions"] == 40


def test_latency_is_per_request_and_settable(server, client):
    server.latency_ms = 200
    started = time.monotonic()
    ask(client)
    assert time.monotonic() - started >= 0.2
    server.latency_ms = 0
    started = time.monotonic()
    ask(client)
    assert time.monotonic() - started < 0.2


def test_stats_endpoint_and_reset(server, client):
    ask(client)
    stats = httpx.get(server.url.removesuffix("/v1") + "/_stats").json()
    assert stats["completions"] == 1 and stats["paths"]["/v1/chat/completions"] == 1
    server.reset_stats()
    assert server.stats()["completions"] == 0


def test_kind_header_shapes_plain_answers(client):
    def kind(name, content):
        return ask(client, content, extra_headers={"X-Dialinsight-Kind": name})

    judged = kind("judge", "Rate this reply about the deposit.").choices[0].message.content
    assert "Rating: [[" in judged
    instruction = "客户询问学区房的入学政策，请回答。"
    evolved = kind("evolve_instruction", f"#The Given Prompt#:\n{instruction}\n#Rewritten Prompt#:")
    assert evolved.choices[0].message.content.startswith(instruction)
    assert len(evolved.choices[0].message.content) > len(instruction)


def label(client, narrative: str, dialogue: str = "客户：能不能给我做个表格？再分点列一下。"):
    """A label prompt as the label stage sends it: the dialogue as untrusted data (here one that
    itself asks for a table and a list), then the task narrative."""
    from curation.llm.client import UNTRUSTED_NOTE, untrusted

    content = f"对话内容如下：\n{untrusted(dialogue)}\n\n{narrative}"
    return (
        client.chat.completions.create(
            model="fake-chat",
            messages=[
                {"role": "system", "content": UNTRUSTED_NOTE},
                {"role": "user", "content": content},
            ],
            extra_headers={"X-Dialinsight-Kind": "label"},
        )
        .choices[0]
        .message.content
    )


LABEL_PROMPTS = [
    ("请以要点形式列出客户的三项核心诉求。\n请以编号列表输出，每条一句话。", "list"),
    (
        "总结客户对房源的主要顾虑。\n请以 Markdown 表格输出，每行一项。\n示例：\n| 项目 | 内容 |",
        "table",
    ),
    ("判断客户是否同意看房。请用 Markdown 分节输出，每节一个小标题。", "markdown"),
    ("判断客户是否同意看房，以 JSON 格式输出，不要输出 JSON 以外的内容。", "json"),
    ("不要用表格，请用编号列表逐条写出客户的顾虑。", "list"),
    ("请用一段简洁的中文回答，不超过 100 字。", "free_text"),
]


@pytest.mark.parametrize(("narrative", "output_format"), LABEL_PROMPTS)
def test_a_label_answer_takes_the_format_the_prompt_asks_for(client, narrative, output_format):
    from labeling.output_check import check_output

    answer = label(client, narrative)
    assert answer == label(client, narrative)  # deterministic
    assert has_cjk(answer)
    assert check_output(answer, [output_format]) == [], answer
    others = {"table": ["list"], "list": ["table"], "json": ["table"], "markdown": ["json"]}
    for other in others.get(output_format, []):
        assert check_output(answer, [other]), (answer, other)  # not a layout that fits all
    if output_format == "markdown":
        assert answer.startswith("## ")


def test_a_multi_task_label_answer_gives_each_task_its_format(client):
    from labeling.output_check import check_output

    narrative = (
        "请依次完成以下2个任务，每个任务分别给出一个输出，并标明任务序号。\n\n"
        "任务1：判断客户是否同意看房。\n请以 JSON 格式输出，不要输出 JSON 以外的内容。\n\n"
        "任务2：总结客户的顾虑。\n请以 Markdown 表格输出，每行一项。"
    )
    answer = label(client, narrative)
    first, second = answer.split("任务2：")
    assert first.startswith("任务1：") and json.loads(first.removeprefix("任务1：").strip())
    assert check_output(second.strip(), ["table"]) == []
    assert check_output(answer, ["json", "table"]) == []


def test_an_enhancement_keeps_the_whole_task_part(client):
    task_part = (
        "用表格对比客户看过的两套房源。\n请以 Markdown 表格输出，每行一项。\n示例：\n"
        "| 项目 | 内容 |\n| --- | --- |\n\n注意：只依据对话内容作答。"
    )
    answer = (
        client.chat.completions.create(
            model="fake-chat",
            messages=[
                {
                    "role": "user",
                    "content": f"请改写成一段连贯的任务说明。\n\n任务部分：\n{task_part}",
                }
            ],
            extra_headers={"X-Dialinsight-Kind": "enhance_prompt"},
        )
        .choices[0]
        .message.content
    )
    assert answer.endswith(task_part) and answer != task_part


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_management_command_serves_in_the_foreground():
    port = free_port()
    env = {**os.environ, "DEBUG": "true"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "fake_llm_server", "--port", str(port), "--latency-ms", "5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout=15), "the command printed nothing"
        line = process.stdout.readline()
        url = f"http://127.0.0.1:{port}/v1"
        assert line.strip() == f"fake LLM server on {url} (latency 5 ms, error rate 0.0)"
        models = httpx.get(url + "/models", timeout=5).json()
        assert {m["id"] for m in models["data"]} >= {"fake-chat", "fake-embed"}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_management_command_refuses_a_public_host():
    with pytest.raises(CommandError, match="loopback"):
        call_command("fake_llm_server", "--host", "192.0.2.10")
