"""The one input layer: every write, on a screen and in the API, is validated by one DRF
serializer per operation (`<app>/inputs.py`, named `<Operation>Input`), and the service receives
the typed values it gives.

Screens validate a POSTed QueryDict with `validated(...)`, which raises Django's
ValidationError with a message per field (rendered by `curation.views.common.error_messages`);
API views call `serializer.is_valid(raise_exception=True)`, a 400 naming the field. A list field
reads repeated form fields (`ids=1&ids=2`) or a JSON list; a dict field reads `name.key` form
fields or a JSON object. A wrongly typed value is never a 500.

The building blocks here are the ones every app uses: the revision an edit read, a project's
own rows by id and its taxonomy terms by key (scoped by the `project` in the serializer's
context), and weights by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from rest_framework import serializers

from curation.models import ModelEndpoint


def validated(input_class: type[serializers.Serializer], data: Any, **context: Any) -> dict:
    """The typed values of `data` for one operation, or a Django ValidationError naming each
    wrong field ("weights.buying" for a key inside a dict, "ids.2" for an item of a list)."""
    serializer = input_class(data=data, context=context)
    if not serializer.is_valid():
        raise ValidationError(flat_errors(serializer.errors))
    return dict(serializer.validated_data)


def flat_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as {"field.key": [messages]}; errors of no field under "__all__"."""
    out: dict[str, list[str]] = {}
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            name = "__all__" if key == "non_field_errors" else str(key)
            out.update(flat_errors(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        out.setdefault(prefix or "__all__", []).extend(str(e) for e in errors)
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if value:
                out.update(flat_errors(value, f"{prefix}.{index}" if prefix else str(index)))
    elif errors:
        out.setdefault(prefix or "__all__", []).append(str(errors))
    return out


class RevisionField(serializers.IntegerField):
    """The revision the client read: an edit made from a stale page is refused (409)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault(
            "help_text", "The revision you read; a newer one is a 409 and nothing is written."
        )
        super().__init__(**kwargs)


class ProjectRowField(serializers.PrimaryKeyRelatedField):
    """A row of the project in the serializer's context, by id: another project's row reads
    as not existing."""

    def __init__(self, model, **kwargs):
        self.model = model
        kwargs.setdefault("queryset", model.objects.none())
        super().__init__(**kwargs)

    def get_queryset(self):
        project = self.context.get("project")
        if project is None:
            return self.model.objects.none()
        return self.model.objects.filter(project=project)


class EndpointField(ProjectRowField):
    """An endpoint of the project."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "error_messages",
            {
                "does_not_exist": "Choose an endpoint of this project.",
                "incorrect_type": "Choose an endpoint of this project (its id).",
            },
        )
        super().__init__(ModelEndpoint, **kwargs)


class TermKeyField(serializers.SlugRelatedField):
    """A taxonomy term of the project by its key (scene, source type, role, task type)."""

    def __init__(self, model, **kwargs):
        self.model = model
        kwargs.setdefault("queryset", model.objects.none())
        super().__init__(slug_field="key", **kwargs)

    def get_queryset(self):
        project = self.context.get("project")
        if project is None:
            return self.model.objects.none()
        return self.model.objects.filter(project=project)


class WeightsField(serializers.DictField):
    """Weights by key: {"buying": 2, "renting": 1}; each a number of 0 or more."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.FloatField(min_value=0, max_value=1e6))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
