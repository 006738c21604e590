"""What every project screen shares: the membership and role check, error shaping."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from curation import selectors
from curation.models import Role


def project_view(required: Role):
    """Load the project named by `slug` for a member holding at least `required`."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args, **kwargs):
            project, role = selectors.project_get_for_user(
                slug=slug, user=request.user, required=required
            )
            request.project = project
            request.project_role = role
            return view(request, project, *args, **kwargs)

        return wrapper

    return decorator


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def error_messages(error: ValidationError) -> dict[str, list[str]]:
    """Messages by field; errors of no one field go under "general" (templates cannot read
    Django's "__all__")."""
    if not hasattr(error, "error_dict"):
        return {"general": error.messages}
    errors = dict(error.message_dict)
    if "__all__" in errors:
        errors["general"] = errors.pop("__all__")
    return errors


def project_context(request: HttpRequest, **extra) -> dict:
    role: Role = request.project_role
    return {
        "project": request.project,
        "role": role,
        "is_lead": role.allows(Role.LEAD),
        "is_project_admin": role.allows(Role.ADMIN),
        **extra,
    }


def int_or_invalid(value) -> int:
    """A posted revision as an int; anything unreadable can never match a stored revision."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
