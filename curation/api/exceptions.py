from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from curation.exceptions import ConflictError
from curation.middleware import queue_unavailable_message


def exception_handler(exc, context):
    """Services raise Django's ValidationError and ConflictError; the API answers 400 and 409.
    The task queue (Redis) out of reach is a 503 that says so, never a 500."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ConflictError):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    message = queue_unavailable_message(exc)
    if message:
        return Response(
            {"detail": message},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "10"},
        )
    return drf_exception_handler(exc, context)
