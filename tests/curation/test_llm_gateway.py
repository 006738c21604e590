"""The gateway against the project's own OpenAI-compatible server: real HTTP, real openai client."""

import http.server
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from curation.llm import client
from curation.llm.fake_server import FakeLLMServer
from curation.llm.limits import EndpointLimiter, Limits
from curation.llm.safety import UnsafeURL, check_base_url
from curation.models import AuditEvent, LLMCall, ModelEndpoint
from curation.services import llm as llm_services

SCHEMA = {
    "type": "object",
    "required": ["grade", "reasons"],
    "properties": {
        "grade": {"type": "string", "enum": ["high", "medium", "low"]},
        "reasons": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "string"}},
        "score": {"type": "integer", "minimum": 1, "maximum": 10},
    },
}
MESSAGES = [{"role": "user", "content": "请为这段对话的标签打分：客户想租两居室。"}]


@pytest.fixture(scope="module")
def fake():
    with FakeLLMServer(latency_ms=0) as server:
        yield server


@pytest.fixture
def endpoint(db, team, fake):
    return ModelEndpoint.objects.create(
        project=team.project,
        name="fake",
        base_url=fake.url,
        model="fake-chat",
        max_concurrency=4,
        price_prompt_per_million=Decimal("2"),
        price_completion_per_million=Decimal("8"),
    )


def config(fake, **headers) -> client.EndpointConfig:
    return client.EndpointConfig(
        key="test",
        base_url=fake.url,
        model="fake-chat",
        api_key="k",
        timeout=2.0,
        headers=tuple(headers.items()),
    )


def limiter() -> EndpointLimiter:
    return EndpointLimiter(None, "gateway-test", Limits(max_concurrency=4))


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def test_chat_records_usage_and_cost(endpoint):
    result = llm_services.llm_chat(endpoint=endpoint, messages=MESSAGES, kind="label")
    assert result.content and result.prompt_tokens > 0 and result.completion_tokens > 0
    call = LLMCall.objects.get()
    assert call.status == "ok" and call.prompt_tokens == result.prompt_tokens
    expected = (Decimal(2) * result.prompt_tokens + Decimal(8) * result.completion_tokens) / 10**6
    assert call.cost == expected.quantize(Decimal("0.000001"))


def test_json_answers_are_parsed_and_validated(endpoint):
    result = llm_services.llm_chat(
        endpoint=endpoint, messages=MESSAGES, kind="judge", schema=SCHEMA
    )
    assert result.data["grade"] in {"high", "medium", "low"}
    assert 1 <= len(result.data["reasons"]) <= 3


def test_a_rerun_never_pays_twice(endpoint, fake):
    llm_services.llm_chat(endpoint=endpoint, messages=MESSAGES, kind="label")
    served = fake.stats()["completions"]
    again = llm_services.llm_chat(endpoint=endpoint, messages=MESSAGES, kind="label")
    assert fake.stats()["completions"] == served
    assert again.attempts == 0
    assert list(LLMCall.objects.order_by("id").values_list("status", flat=True)) == ["ok", "cached"]


def test_429_is_retried_honouring_retry_after(fake):
    sleeps = Sleeps()
    result = client.chat(
        config(fake, **{"X-Fake-Fail": "429", "X-Fake-Fail-Times": "2"}),
        MESSAGES,
        params={"max_tokens": 200},
        limiter=limiter(),
        sleep=sleeps,
        idempotency_key="retry-429",
    )
    assert result.attempts == 3 and result.content
    assert len(sleeps) == 2 and all(s >= 0.2 for s in sleeps)  # retry-after-ms: 200


def test_persistent_5xx_fails_with_a_reason_and_no_provider_body(fake):
    sleeps = Sleeps()
    with pytest.raises(client.LLMError) as error:
        client.chat(
            config(fake, **{"X-Fake-Fail": "500"}),
            MESSAGES,
            params={},
            limiter=limiter(),
            sleep=sleeps,
            max_attempts=3,
        )
    assert str(error.value) == "the provider answered HTTP 500, 3 attempts"
    assert len(sleeps) == 2 and sleeps[1] > 0


def test_a_hung_provider_times_out(fake):
    fake_hang = config(fake, **{"X-Fake-Fail": "hang"})
    quick = client.EndpointConfig(**{**fake_hang.__dict__, "timeout": 0.3, "key": "hang"})
    with pytest.raises(client.LLMError, match="did not answer in time"):
        client.chat(quick, MESSAGES, params={}, limiter=limiter(), sleep=Sleeps(), max_attempts=2)


def test_a_malformed_body_is_retried(fake):
    result = client.chat(
        config(fake, **{"X-Fake-Fail": "malformed", "X-Fake-Fail-Times": "1"}),
        MESSAGES,
        params={},
        limiter=limiter(),
        sleep=Sleeps(),
        idempotency_key="malformed-once",
    )
    assert result.attempts == 2


def test_truncated_json_gets_one_repair_then_fails_clearly(fake):
    repaired = client.chat(
        config(fake, **{"X-Fake-Fail": "truncated", "X-Fake-Fail-Times": "1"}),
        MESSAGES,
        params={},
        limiter=limiter(),
        schema=SCHEMA,
        sleep=Sleeps(),
        idempotency_key="trunc-once",
    )
    assert repaired.data["grade"] in {"high", "medium", "low"}
    with pytest.raises(client.LLMOutputError, match="not valid JSON for the schema"):
        client.chat(
            config(fake, **{"X-Fake-Fail": "truncated"}),
            MESSAGES,
            params={},
            limiter=limiter(),
            schema=SCHEMA,
            sleep=Sleeps(),
        )


def test_redirects_are_not_followed():
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        redirecting = client.EndpointConfig(
            key="r",
            base_url=f"http://127.0.0.1:{server.server_port}/v1",
            model="m",
            api_key="k",
            timeout=2.0,
        )
        with pytest.raises(client.LLMError, match="redirects are not followed"):
            client.chat(redirecting, MESSAGES, params={}, limiter=limiter(), sleep=Sleeps())
    finally:
        server.shutdown()


def test_a_missing_key_variable_is_named(endpoint):
    endpoint.api_key_env = "DIALINSIGHT_TEST_KEY_NOT_SET"
    with pytest.raises(client.LLMError, match="DIALINSIGHT_TEST_KEY_NOT_SET"):
        llm_services.llm_chat(endpoint=endpoint, messages=MESSAGES, kind="label", use_cache=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/v1",
        "http://metadata.google.internal/v1",
        "http://[fd00:ec2::254]/v1",
        "http://100.100.100.200/v1",
        "http://[::ffff:169.254.169.254]/v1",
        "http://169.254.10.1/v1",
        "http://user:secret@api.example.com/v1",
        "ftp://api.example.com/v1",
        "http:///v1",
    ],
)
def test_unsafe_base_urls_are_refused(url):
    with pytest.raises(UnsafeURL):
        check_base_url(url, resolve=False)


def test_local_and_remote_base_urls_are_allowed():
    assert check_base_url("http://127.0.0.1:8765/v1/") == "http://127.0.0.1:8765/v1"
    assert check_base_url("https://api.deepseek.com/v1", resolve=False)


@pytest.mark.django_db
def test_only_site_admins_add_endpoints_or_change_base_urls(team, fake):
    values = {
        "name": "qwen",
        "base_url": fake.url,
        "model": "qwen-max",
        "api_key_env": "QWEN_API_KEY",
    }
    with pytest.raises(PermissionDenied):
        llm_services.endpoint_create(project=team.project, values=values, actor=team.admin)
    endpoint = llm_services.endpoint_create(
        project=team.project, values=values, actor=team.site_admin
    )
    with pytest.raises(PermissionDenied):
        llm_services.endpoint_update(
            endpoint=endpoint,
            changes={"base_url": "http://127.0.0.1:1/v1"},
            revision=endpoint.revision,
            actor=team.admin,
        )
    llm_services.endpoint_update(
        endpoint=endpoint,
        changes={"temperature": 0.2, "requests_per_minute": 600},
        revision=endpoint.revision,
        actor=team.admin,
    )
    endpoint.refresh_from_db()
    assert endpoint.temperature == 0.2 and endpoint.requests_per_minute == 600
    assert AuditEvent.objects.filter(action="endpoint.update", actor=team.admin).exists()


@pytest.mark.django_db
def test_an_api_key_is_refused_where_its_variable_name_belongs(team, fake):
    from curation.inputs import EndpointCreateInput, validated

    with pytest.raises(ValidationError) as error:
        validated(
            EndpointCreateInput,
            {"name": "x", "base_url": fake.url, "model": "m", "api_key_env": "sk-abc123"},
        )
    assert "api_key_env" in error.value.message_dict
    assert not ModelEndpoint.objects.filter(name="x").exists()


def test_usage_is_summed_per_endpoint_on_screen_and_api(endpoint, team):
    llm_services.llm_chat(endpoint=endpoint, messages=MESSAGES, kind="label")
    llm_services.llm_chat(endpoint=endpoint, messages=MESSAGES, kind="label")
    call = LLMCall.objects.filter(status="ok").get()
    page = team.client("annotator").get(f"/p/{team.project.slug}/endpoints/").content.decode()
    assert "2 calls (1 cached, 0 failed)" in page
    assert f"{call.prompt_tokens} prompt + {call.completion_tokens} completion tokens" in page
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(team.annotator)
    usage = api.get(f"/api/projects/{team.project.slug}/endpoints/{endpoint.pk}/usage/").json()
    assert usage["calls"] == 2 and usage["cached"] == 1
    assert usage["prompt_tokens"] == call.prompt_tokens
