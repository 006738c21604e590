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


def form_renamed(post, *, prefixes: dict[str, str] | None = None, names=None):
    """A copy of a posted form with its fields renamed to what the operation's input
    serializer reads, so that screens keep their field names: `prefixes` renames every field
    starting with one ("scene-renting" -> "scene_weights.renting"), `names` one field each
    ("states" -> "filters.states"). Other fields stay as they are."""
    data = post.copy()
    for name in list(data.keys()):
        new = (names or {}).get(name)
        if new is None:
            old = next((p for p in prefixes or {} if name.startswith(p)), None)
            if old is None:
                continue
            new = prefixes[old] + name[len(old) :]
        data.setlist(new, data.pop(name))
    return data


def errors_beside(error: ValidationError, fields, *, strip: str = "") -> dict[str, list[str]]:
    """error_messages for a form that shows the messages of `fields` beside them: the other
    fields' messages go under "general", each named ("revision: ..."), so that none is lost.
    `strip` takes a nesting prefix off the names ("filters.since" -> "since")."""
    out: dict[str, list[str]] = {}
    for name, problems in error_messages(error).items():
        name = name.removeprefix(strip) if strip else name
        if name in fields or name == "general":
            out.setdefault(name, []).extend(problems)
        else:
            out.setdefault("general", []).extend(f"{name}: {p}" for p in problems)
    return out
