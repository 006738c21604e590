"""Reading request bodies the same way in every API view."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError


def payload(request) -> dict:
    """The request body as a plain dict, whether it came as JSON or as a form."""
    data = request.data
    return data.dict() if hasattr(data, "dict") else dict(data)


def pop_revision(data: dict) -> int:
    """The revision the client read, taken out of the edit; edits without one are refused."""
    revision = data.pop("revision", None)
    if isinstance(revision, str) and revision.isdigit():
        revision = int(revision)
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise ValidationError(
            {"revision": ["Send the revision you read; it guards against overwriting."]}
        )
    return revision
