"""Model endpoints and the gateway every feature calls: usage, cost and a response cache."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import threading
import time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import job_kinds
from curation.llm import client, tokens
from curation.llm.limits import EndpointLimiter, Limits
from curation.models import (
    Job,
    JobItem,
    LLMCacheEntry,
    LLMCall,
    ModelEndpoint,
    Project,
)
from curation.services.audit import audit_record, audit_snapshot
from curation.services.revisions import revision_update

ENDPOINT_FIELDS = [
    "name",
    "base_url",
    "model",
    "api_key_env",
    "temperature",
    "max_tokens",
    "context_tokens",
    "max_concurrency",
    "requests_per_minute",
    "tokens_per_minute",
    "json_mode",
    "price_prompt_per_million",
    "price_completion_per_million",
]


# --- endpoints -----------------------------------------------------------------------------------


def api_key_variable_allowed(name: str) -> bool:
    """Whether an endpoint may read its API key from the variable `name`: one the deployment
    allows (LLM_API_KEY_VARIABLES), never one of the settings' own (its value would be sent to
    the endpoint as a bearer token)."""
    from dialinsight_site.settings import SETTINGS_VARIABLES

    if name in SETTINGS_VARIABLES:
        return False
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in settings.LLM_API_KEY_VARIABLES)


def user_can_add_endpoints(user) -> bool:
    """Only site admins add endpoints or set base URLs: a base URL decides where our requests
    (and keys) go."""
    return bool(user.is_authenticated and user.is_superuser)


def _check_fields(values: dict[str, Any]) -> None:
    """`values` come typed and bounded from `EndpointCreateInput` / `EndpointUpdateInput`;
    what is left here needs the deployment's settings."""
    unknown = set(values) - set(ENDPOINT_FIELDS)
    if unknown:
        raise TypeError(f"not endpoint fields: {', '.join(sorted(unknown))}")
    name = values.get("api_key_env")
    if name and not api_key_variable_allowed(name):
        raise ValidationError(
            {
                "api_key_env": _(
                    "%(name)s is not a variable this deployment allows for API keys "
                    "(allowed: %(allowed)s; never one of the settings' own)."
                )
                % {"name": name, "allowed": ", ".join(settings.LLM_API_KEY_VARIABLES)}
            }
        )


@transaction.atomic
def endpoint_create(*, project: Project, values: dict[str, Any], actor) -> ModelEndpoint:
    """Add an endpoint with `values` (name, base_url and model at least; the rest defaults)."""
    if not user_can_add_endpoints(actor):
        raise PermissionDenied(_("Only site admins may add endpoints or set base URLs."))
    _check_fields(values)
    try:
        with transaction.atomic():
            endpoint = ModelEndpoint.objects.create(project=project, **values)
    except IntegrityError:
        raise ValidationError({"name": _("An endpoint of this name exists.")}) from None
    audit_record(
        actor=actor,
        action="endpoint.create",
        target=endpoint,
        project=project,
        after=audit_snapshot(endpoint, ENDPOINT_FIELDS),
    )
    return endpoint


@transaction.atomic
def endpoint_update(
    *, endpoint: ModelEndpoint, changes: dict[str, Any], revision: int, actor
) -> ModelEndpoint:
    """Change the fields in `changes`; refused with ConflictError if someone saved the
    endpoint since `revision`."""
    _check_fields(changes)
    if not user_can_add_endpoints(actor):
        # Where requests go and which secret they carry are the site's decisions.
        if "base_url" in changes and changes["base_url"] != endpoint.base_url:
            raise PermissionDenied(_("Only site admins may change an endpoint's base URL."))
        if "api_key_env" in changes and changes["api_key_env"] != endpoint.api_key_env:
            raise PermissionDenied(_("Only site admins may change an endpoint's API key variable."))
    before = audit_snapshot(endpoint, ENDPOINT_FIELDS)
    try:
        with transaction.atomic():
            revision_update(
                instance=endpoint,
                revision=revision,
                conflict=_("Someone else changed this endpoint since you opened it; reload."),
                **changes,
            )
    except IntegrityError:
        raise ValidationError({"name": _("An endpoint of this name exists.")}) from None
    audit_record(
        actor=actor,
        action="endpoint.update",
        target=endpoint,
        project=endpoint.project,
        before=before,
        after=audit_snapshot(endpoint, ENDPOINT_FIELDS),
    )
    return endpoint


def endpoint_test(*, endpoint: ModelEndpoint, actor) -> Job:
    """Check the connection in the background; the endpoint shows the outcome."""
    from curation.services.jobs import job_create

    return job_create(
        project=endpoint.project,
        kind="endpoint.test",
        payloads=[{"endpoint": endpoint.pk}],
        creator=actor,
        params={"endpoint": endpoint.pk, "endpoint_name": endpoint.name},
    )


# --- the gateway ---------------------------------------------------------------------------------

_limiters: dict[tuple, EndpointLimiter] = {}
_limiters_lock = threading.Lock()
_redis = None


def _redis_client():
    global _redis
    if not settings.REDIS_URL:
        return None
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
    return _redis


def endpoint_limiter(endpoint: ModelEndpoint) -> EndpointLimiter:
    limits = Limits(
        max_concurrency=endpoint.max_concurrency,
        requests_per_minute=endpoint.requests_per_minute,
        tokens_per_minute=endpoint.tokens_per_minute,
    )
    key = (endpoint.pk, limits)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = EndpointLimiter(
                _redis_client(),
                f"endpoint:{endpoint.pk}",
                limits,
                lease_seconds=settings.CELERY_TASK_TIME_LIMIT,
            )
            _limiters[key] = limiter
        return limiter


def endpoint_config(endpoint: ModelEndpoint) -> client.EndpointConfig:
    if endpoint.api_key_env and not api_key_variable_allowed(endpoint.api_key_env):
        # Checked again at call time: a row saved before the rule, or a changed deployment.
        raise client.LLMError(
            _("The API key variable %(name)s is not allowed in this deployment.")
            % {"name": endpoint.api_key_env}
        )
    api_key = os.environ.get(endpoint.api_key_env, "") if endpoint.api_key_env else ""
    if endpoint.api_key_env and not api_key:
        raise client.LLMError(
            _("The environment variable %(name)s that should hold the API key is not set.")
            % {"name": endpoint.api_key_env}
        )
    return client.EndpointConfig(
        key=f"endpoint:{endpoint.pk}",
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key=api_key,
        timeout=settings.LLM_TIMEOUT_SECONDS,
        json_mode=endpoint.json_mode,
    )


def cache_key(endpoint: ModelEndpoint, messages, params, schema) -> str:
    material = json.dumps(
        [endpoint.base_url, endpoint.model, messages, params, schema],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _cost(endpoint: ModelEndpoint, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
    if endpoint.price_prompt_per_million is None and endpoint.price_completion_per_million is None:
        return None
    million = Decimal(1_000_000)
    prompt = (endpoint.price_prompt_per_million or 0) * prompt_tokens / million
    completion = (endpoint.price_completion_per_million or 0) * completion_tokens / million
    return (prompt + completion).quantize(Decimal("0.000001"))


# Chat templates add a few tokens around each message (role markers, separators).
TOKENS_PER_MESSAGE = 4


def input_tokens(messages: list[dict[str, str]]) -> int:
    """The tokens `messages` take, counted with Qwen's BPE (an estimate for other models)."""
    texts = [str(m.get("content") or "") for m in messages]
    return sum(tokens.count_many(texts)) + TOKENS_PER_MESSAGE * len(messages) + 3


def context_check(endpoint: ModelEndpoint, messages: list[dict[str, str]], max_tokens: int) -> None:
    """Refuse an input that would not fit the endpoint's declared context window together with
    `max_tokens` of answer; nothing is cut, the reason says by how much it is over."""
    if not endpoint.context_tokens:
        return
    needed = input_tokens(messages)
    if needed + max_tokens > endpoint.context_tokens:
        raise client.LLMContextError(
            _(
                "The input has about %(input)d tokens; with %(answer)d tokens for the answer it "
                "does not fit the %(context)d-token context of %(endpoint)s. Nothing was sent "
                "or cut: shorten the prompt or use a model with a longer context."
            )
            % {
                "input": needed,
                "answer": max_tokens,
                "context": endpoint.context_tokens,
                "endpoint": endpoint.name,
            }
        )


def llm_chat(
    *,
    endpoint: ModelEndpoint,
    messages: list[dict[str, str]],
    kind: str,
    schema: dict | None = None,
    params: dict[str, Any] | None = None,
    job_item: JobItem | None = None,
    use_cache: bool = True,
) -> client.ChatResult:
    """A chat completion through the endpoint's limits, with usage recorded and answers cached.

    Raises client.LLMError with a reason that is safe to show.
    """
    params = {
        "temperature": endpoint.temperature,
        "max_tokens": endpoint.max_tokens,
        **(params or {}),
    }
    key = cache_key(endpoint, messages, params, schema)
    call = LLMCall(project_id=endpoint.project_id, endpoint=endpoint, job_item=job_item, kind=kind)
    if use_cache:
        hit = LLMCacheEntry.objects.filter(key=key).first()
        if hit is not None:
            data = client.parse_json(hit.content, schema) if schema is not None else None
            call.status = LLMCall.Status.CACHED
            call.save()
            return client.ChatResult(content=hit.content, data=data, attempts=0)
    try:
        context_check(endpoint, messages, int(params.get("max_tokens") or 0))
        result = client.chat(
            endpoint_config(endpoint),
            messages,
            params=params,
            schema=schema,
            kind=kind,
            limiter=endpoint_limiter(endpoint),
            idempotency_key=f"item:{job_item.pk}" if job_item else None,
        )
    except client.LLMError as error:
        call.status = LLMCall.Status.FAILED
        call.error = str(error)[:300]
        call.save()
        raise
    call.status = LLMCall.Status.OK
    call.attempts = result.attempts
    call.prompt_tokens = result.prompt_tokens
    call.completion_tokens = result.completion_tokens
    call.latency_ms = result.latency_ms
    call.cost = _cost(endpoint, result.prompt_tokens, result.completion_tokens)
    with transaction.atomic():
        call.save()
        if use_cache:
            _cache_store(key, endpoint, result)
    return result


def _cache_store(key: str, endpoint: ModelEndpoint, result: client.ChatResult) -> None:
    # One INSERT ... ON CONFLICT DO NOTHING: two workers caching one answer is harmless.
    entry = LLMCacheEntry(
        key=key,
        endpoint=endpoint,
        content=result.content,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
    )
    LLMCacheEntry.objects.bulk_create([entry], ignore_conflicts=True)


# --- job kinds -----------------------------------------------------------------------------------


def _handle_endpoint_test(item: JobItem) -> dict[str, Any]:
    endpoint = ModelEndpoint.objects.filter(pk=item.payload.get("endpoint")).first()
    if endpoint is None:
        raise job_kinds.ItemFailed(_("The endpoint was deleted."))
    messages = [{"role": "user", "content": "Reply with the single word: ok"}]
    try:
        result = llm_chat(
            endpoint=endpoint,
            messages=messages,
            kind="test_connection",
            job_item=item,
            params={"max_tokens": 16},
            use_cache=False,
        )
    except client.LLMError as error:
        ModelEndpoint.objects.filter(pk=endpoint.pk).update(
            last_test_ok=False, last_test_message=str(error)[:300], last_tested_at=timezone.now()
        )
        raise job_kinds.ItemFailed(str(error)) from None
    message = _("Answered in %(ms)d ms.") % {"ms": result.latency_ms}
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(
        last_test_ok=True, last_test_message=message, last_tested_at=timezone.now()
    )
    return {"latency_ms": result.latency_ms, "answer": result.content[:200]}


_endpoints: dict[int, tuple[float, ModelEndpoint | None]] = {}
ENDPOINT_REFRESH_SECONDS = 5.0


def endpoint_for_work(pk: int | None) -> ModelEndpoint | None:
    """The endpoint, re-read at most every few seconds per process: items of a batch job share
    it, and an edit of its limits reaches the workers within ENDPOINT_REFRESH_SECONDS."""
    now = time.monotonic()
    cached = _endpoints.get(pk) if pk is not None else None
    if cached and cached[0] > now:
        return cached[1]
    endpoint = ModelEndpoint.objects.filter(pk=pk).first()
    _endpoints[pk] = (now + ENDPOINT_REFRESH_SECONDS, endpoint)
    return endpoint


def _handle_chat(item: JobItem) -> dict[str, Any]:
    """One chat completion per item (payload: messages, optional schema): batch LLM work."""
    endpoint = endpoint_for_work(item.job.params.get("endpoint"))
    if endpoint is None:
        raise job_kinds.ItemFailed(_("The endpoint was deleted."))
    try:
        result = llm_chat(
            endpoint=endpoint,
            messages=item.payload["messages"],
            kind=item.payload.get("kind", "chat"),
            schema=item.payload.get("schema"),
            job_item=item,
        )
    except client.LLMError as error:
        raise job_kinds.ItemFailed(str(error)) from None
    return {"content": result.content, "data": result.data}


job_kinds.register(job_kinds.JobKind("endpoint.test", job_kinds.Queue.LLM, _handle_endpoint_test))
job_kinds.register(job_kinds.JobKind("llm.chat", job_kinds.Queue.LLM, _handle_chat))
