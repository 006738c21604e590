"""The task queue (Celery's broker, Redis) out of reach: a clear 503 on screens too.

Services raise QueueUnavailable before they write a job while Redis is down (nothing is
created); any other kombu or redis connection error that escapes a view means the same to the
user. The API's exception handler answers these with the same message (curation.api)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def queue_unavailable_message(exc: BaseException) -> str:
    """The message users see when `exc` says the task queue cannot be reached, else ""."""
    from kombu.exceptions import OperationalError as KombuOperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from curation.services.jobs import QueueUnavailable

    if isinstance(exc, QueueUnavailable):
        return str(exc)
    if isinstance(exc, KombuOperationalError | RedisConnectionError | RedisTimeoutError):
        logger.warning("task queue unreachable: %s", exc)
        return str(QueueUnavailable())
    return ""


class QueueUnavailableMiddleware:
    """A screen whose action needs the task queue while Redis is down answers 503 with the
    reason (a fragment for htmx requests, a small page otherwise), never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        message = queue_unavailable_message(exception)
        if not message:
            return None
        if request.headers.get("HX-Request"):
            body = format_html('<p class="error" role="alert">{}</p>', message)
        else:
            body = format_html(
                '<!doctype html><html lang="{}"><head><meta charset="utf-8"><title>{}</title>'
                '</head><body><main><h1>{}</h1><p role="alert">{}</p><p><a href="/p/">{}</a></p>'
                "</main></body></html>",
                getattr(request, "LANGUAGE_CODE", "en"),
                _("Try again in a moment"),
                _("Try again in a moment"),
                message,
                _("Back to the projects"),
            )
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "10"
        return response
