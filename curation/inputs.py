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

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings
from rest_framework.utils import html

from curation.llm.safety import UnsafeURL, check_base_url
from curation.models import (
    JsonMode,
    ModelEndpoint,
    Role,
    Scene,
    ServiceRole,
    SourceType,
    TaskType,
)


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
        kwargs.setdefault("max_value", 2**31 - 1)  # the column's range
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

    def to_internal_value(self, data):
        # An id the database column cannot hold (a 30-digit number, a float, a bool) is no row
        # of ours: refused here rather than passed to the database as an overflow.
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        text = str(data).strip()
        if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**63:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(int(text))


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

    def to_internal_value(self, data):
        # PostgreSQL refuses a NUL character in a text parameter: such a key is no key of ours.
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value="\\x00")
        return super().to_internal_value(data)


class WeightsField(serializers.DictField):
    """Weights by key: {"buying": 2, "renting": 1}; each a number of 0 or more."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.FloatField(min_value=0, max_value=1e6))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


# --- the curation app's operations ---------------------------------------------------------------
# Messages are the ones the screens showed before the input layer (already in the catalogue).

FORM_ONLY = frozenset({"csrfmiddlewaretoken"})
NUMBER_CODES = (
    "invalid",
    "required",
    "null",
    "min_value",
    "max_value",
    "max_string_length",
    "overflow",
    "max_digits",
    "max_decimal_places",
    "max_whole_digits",
)
INT_MAX = 2**31 - 1  # the PositiveIntegerField columns are 32-bit
ENV_NAME = r"^[A-Z_][A-Z0-9_]{0,99}$"
SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def _formatted(msgid: str, **params: Any):
    """A catalogue message with its values, translated when it is shown (not at import)."""
    return lazy(lambda: gettext(msgid) % params, str)()


def _same(message, *codes: str) -> dict:
    return dict.fromkeys(codes, message)


def _at_most(n: int):
    return _formatted(gettext_noop("At most %(n)d characters."), n=n)


class _Posted:
    """A field sent blank is a blank value (refused, or None where empty is allowed), never
    "left out": an emptied form field is reported, not silently kept as it was."""

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            value = dictionary[self.field_name]
            if value == "" and self.allow_null:
                return None
            return value
        return super().get_value(dictionary)

    def run_validation(self, data=empty):
        if data == "" and self.allow_null and not getattr(self, "allow_blank", False):
            data = None
        return super().run_validation(data)


class _Text(_Posted, serializers.CharField):
    pass


class _Lines(_Text):
    """Text of several lines, with Windows line ends made plain."""

    def to_internal_value(self, data):
        return super().to_internal_value(data).replace("\r\n", "\n")


class _Int(_Posted, serializers.IntegerField):
    pass


class _Float(_Posted, serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool):  # float(True) is 1.0: a yes/no is not a number
            self.fail("invalid")
        return super().to_internal_value(data)


class _Decimal(_Posted, serializers.DecimalField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", None)
        kwargs.setdefault("decimal_places", None)
        super().__init__(**kwargs)


class _Choice(_Posted, serializers.ChoiceField):
    pass


class _Flag(serializers.BooleanField):
    """A yes/no left out is not given (an HTML form's unticked box is "off" for the screen to
    send: see the taxonomy views), so that a multipart PATCH never switches it off."""

    default_empty_html = empty


class _StrictInput(serializers.Serializer):
    """Refuses fields it does not know, naming them: a misspelt field is never dropped quietly."""

    def to_internal_value(self, data):
        unknown = []
        if isinstance(data, Mapping):
            unknown = sorted(
                str(name)[:40] for name in data if name not in self.fields and name not in FORM_ONLY
            )
        errors: dict = {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            errors = dict(error.detail)
        if unknown:
            errors.setdefault(api_settings.NON_FIELD_ERRORS_KEY, []).append(
                gettext("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown[:10])}
            )
        if errors:
            raise serializers.ValidationError(errors)
        return value


class _Changes:
    """An edit: every field but the revision may be left out, and is then left as it is."""

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            if name != "revision":
                field.required = False
        return fields


# --- projects and members ------------------------------------------------------------------------


def _project_name():
    return _Text(
        max_length=200,
        error_messages={
            **_same(_("A project needs a name."), "required", "blank", "null"),
            "max_length": _at_most(200),
        },
    )


def _domain(**kwargs):
    return _Text(
        max_length=100, allow_blank=True, error_messages={"max_length": _at_most(100)}, **kwargs
    )


class ProjectCreateInput(serializers.Serializer):
    """A new project (site staff): its name, an optional slug (made from the name when left
    out), a description and its domain in Chinese and English."""

    name = _project_name()
    slug = _Text(
        max_length=80, allow_blank=True, default="", error_messages={"max_length": _at_most(80)}
    )
    description = _Lines(allow_blank=True, default="", max_length=20000)
    domain_zh = _domain(default="")
    domain_en = _domain(default="")


class ProjectUpdateInput(serializers.Serializer):
    """A project's settings with the revision read; a setting left out stays as it is."""

    name = _project_name()
    description = _Lines(allow_blank=True, required=False, max_length=20000)
    domain_zh = _domain(required=False)
    domain_en = _domain(required=False)
    training_system_prompt = _Lines(
        allow_blank=True,
        required=False,
        max_length=4000,
        error_messages={"max_length": _at_most(4000)},
    )
    revision = RevisionField()


class RoleField(serializers.ChoiceField):
    """A member's role, as a `Role`."""

    def __init__(self, **kwargs):
        super().__init__(choices=Role.choices, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and data in Role.values:
            return Role(data)
        raise serializers.ValidationError(
            gettext("“%(role)s” is not a role; use one of %(roles)s.")
            % {"role": str(data)[:40], "roles": ", ".join(Role.values)}
        )


class MembershipAddInput(serializers.Serializer):
    """Add an active user to the project by username, with a role."""

    username = _Text(max_length=150, allow_blank=True)
    role = RoleField()


class MembershipRoleInput(serializers.Serializer):
    """Change a member's role (a project keeps at least one project admin)."""

    role = RoleField()


# --- taxonomy ------------------------------------------------------------------------------------


class TermSlugField(_Text):
    """A term's key, made a slug ("Home Office" -> "home-office")."""

    def to_internal_value(self, data):
        key = slugify(super().to_internal_value(data))
        if not key:
            self.fail("invalid")
        return key


def _term_name():
    return _Text(
        max_length=200,
        error_messages={
            **_same(_("This name cannot be empty."), "required", "blank", "null"),
            "max_length": _("At most 200 characters."),
        },
    )


class _TermInput(_StrictInput):
    key = TermSlugField(
        max_length=60,
        error_messages={
            **_same(
                _("A key needs latin letters, digits or hyphens."),
                "required",
                "blank",
                "null",
                "invalid",
            ),
            "max_length": _at_most(60),
        },
    )
    name_en = _term_name()
    name_zh = _term_name()
    weight = _Decimal(
        required=False,
        min_value=0,
        max_value=99999,
        error_messages=_same(_("A weight is a number from 0 to 99999."), *NUMBER_CODES),
    )
    position = _Int(
        required=False,
        min_value=0,
        max_value=INT_MAX,
        error_messages=_same(
            _("A position is a whole number from 0."), "invalid", "null", "min_value"
        ),
    )
    active = _Flag(required=False)

    def validate_weight(self, value):
        return value.quantize(Decimal("0.001"))


class ScenesField(serializers.ListField):
    """The project's scenes a role works in, by key (the API) or by id (the screen's boxes);
    blanks are dropped, and a text of keys separated by commas or spaces is read too."""

    default_error_messages = {"not_a_list": _("Give the scenes as a list of scene keys.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.CharField(max_length=60))
        kwargs.setdefault("max_length", 1000)
        kwargs.setdefault("help_text", "Keys of the project's scenes the role works in.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.replace(",", " ").split()
        if (
            not isinstance(data, list | tuple)
            or len(data) > self.max_length
            or any(isinstance(v, bool) or not isinstance(v, str | int) for v in data)
        ):
            self.fail("not_a_list", input_type=type(data).__name__)
        names = list(dict.fromkeys(str(v).strip() for v in data if str(v).strip()))
        # Only what could be a key or an id reaches the database (never a NUL, never 10**30).
        keys = [n for n in names if len(n) <= 60 and SLUG.match(n)]
        ids = [int(n) for n in names if n.isascii() and n.isdigit() and len(n) <= 18]
        rows = Scene.objects.filter(project=self.context.get("project")).filter(
            Q(key__in=keys) | Q(pk__in=ids)
        )
        by_key = {scene.key: scene for scene in rows}
        by_id = {str(scene.pk): scene for scene in by_key.values()}
        found, unknown = [], []
        for name in names:
            scene = by_key.get(name) or by_id.get(name)
            if scene is None:
                unknown.append(name[:60])
            elif scene not in found:
                found.append(scene)
        if unknown:
            raise serializers.ValidationError(
                gettext("Not scenes of this project: %(names)s.")
                % {"names": ", ".join(f"“{n}”" for n in unknown[:10])}
            )
        return found


class LinesField(serializers.ListField):
    """Texts, one per line: a list, or one text (a form's textarea) split at its line ends.
    Blank lines are dropped."""

    default_error_messages = {
        "not_a_list": _("Give the requirements as a list of texts, one per line.")
    }

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "child",
            serializers.CharField(
                max_length=1000, allow_blank=True, error_messages={"max_length": _at_most(1000)}
            ),
        )
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)

    def get_value(self, dictionary):
        if html.is_html_input(dictionary):
            if self.field_name not in dictionary:
                return empty
            values = dictionary.getlist(self.field_name)
            return values[0] if len(values) == 1 else values
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.splitlines()
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            self.fail("not_a_list", input_type=type(data).__name__)
        try:
            lines = super().to_internal_value(data)
        except serializers.ValidationError as error:
            # One message a line, so that a form's textarea can show them beside it.
            detail = error.detail if isinstance(error.detail, dict) else {}
            raise serializers.ValidationError(
                [
                    gettext("Line %(n)d: %(problem)s") % {"n": int(index) + 1, "problem": problem}
                    for index, problems in detail.items()
                    for problem in problems
                ]
                or error.detail
            ) from None
        return [line.strip() for line in lines if line.strip()]


class _RoleTermInput(_TermInput):
    scenes = ScenesField(required=False)


class _TaskTypeTermInput(_TermInput):
    requirements_en = LinesField(required=False)
    requirements_zh = LinesField(required=False)


class TermCreateInput(_TermInput):
    """A new scene or source type: key, English and Chinese names, weight, position, active."""


class TermUpdateInput(_Changes, _TermInput):
    """An edit of a scene or source type with the revision read; fields left out are kept."""

    revision = RevisionField()


class ServiceRoleCreateInput(_RoleTermInput):
    """A new service role, with the keys of the scenes it works in."""


class ServiceRoleUpdateInput(_Changes, _RoleTermInput):
    """An edit of a service role; `scenes` left out keeps them, an empty list clears them."""

    revision = RevisionField()


class TaskTypeCreateInput(_TaskTypeTermInput):
    """A new task type, with its requirements in English and Chinese (one text each)."""


class TaskTypeUpdateInput(_Changes, _TaskTypeTermInput):
    """An edit of a task type with the revision read; fields left out are kept."""

    revision = RevisionField()


TERM_INPUTS: dict[type, tuple[type[serializers.Serializer], type[serializers.Serializer]]] = {
    Scene: (TermCreateInput, TermUpdateInput),
    SourceType: (TermCreateInput, TermUpdateInput),
    ServiceRole: (ServiceRoleCreateInput, ServiceRoleUpdateInput),
    TaskType: (TaskTypeCreateInput, TaskTypeUpdateInput),
}


# --- model endpoints -----------------------------------------------------------------------------


class BaseURLField(_Text):
    """An endpoint's base URL: http(s), no credentials, no link-local or cloud metadata address
    (also when its name resolves to one); normalised without its trailing slash."""

    def to_internal_value(self, data):
        url = super().to_internal_value(data)
        try:
            urlsplit(url).port  # noqa: B018 - reading it checks it (0-65535, digits)
            return check_base_url(url)
        except UnsafeURL as error:
            raise serializers.ValidationError(str(error)) from None
        except ValueError:  # urlsplit's own: a broken IPv6 literal, a port out of range
            raise serializers.ValidationError(
                gettext("Give a URL like https://api.example.com/v1.")
            ) from None


def _required_text(max_length: int):
    return _Text(
        max_length=max_length,
        error_messages={
            **_same(_("This field is required."), "required", "blank", "null"),
            "max_length": _at_most(max_length),
        },
    )


def _number(field_class, low, high, **kwargs):
    message = _formatted(
        gettext_noop("Give a number from %(low)s to %(high)s."), low=low, high=high
    )
    return field_class(
        required=False,
        min_value=low,
        max_value=high,
        error_messages=_same(message, *NUMBER_CODES),
        **kwargs,
    )


class _EndpointInput(_StrictInput):
    name = _required_text(100)
    base_url = BaseURLField(
        max_length=300,
        error_messages={
            **_same(_("This field is required."), "required", "blank", "null"),
            "max_length": _at_most(300),
        },
    )
    model = _required_text(200)
    api_key_env = _Text(
        required=False,
        allow_blank=True,
        max_length=100,
        validators=[
            RegexValidator(
                ENV_NAME,
                _(
                    "Give the NAME of an environment variable (like OPENAI_API_KEY), "
                    "never the key itself."
                ),
            )
        ],
        help_text="The NAME of the variable holding the API key (site admins only).",
    )
    temperature = _number(_Float, 0, 2)
    max_tokens = _number(_Int, 1, 200000)
    context_tokens = _number(_Int, 256, 10**8, allow_null=True)
    max_concurrency = _number(_Int, 1, 1024)
    requests_per_minute = _number(_Int, 1, 10**9, allow_null=True)
    tokens_per_minute = _number(_Int, 1, 10**9, allow_null=True)
    json_mode = _Choice(
        choices=JsonMode.choices,
        required=False,
        error_messages=_same(
            _formatted(gettext_noop("Use one of %(modes)s."), modes=", ".join(JsonMode.values)),
            "invalid_choice",
            "null",
        ),
    )
    price_prompt_per_million = _number(_Decimal, 0, 10**6, allow_null=True)
    price_completion_per_million = _number(_Decimal, 0, 10**6, allow_null=True)


class EndpointCreateInput(_EndpointInput):
    """A new endpoint (site admins): name, base URL and model; the rest has defaults."""


class EndpointUpdateInput(_Changes, _EndpointInput):
    """An endpoint's settings with the revision read; fields left out are kept. Only site
    admins change the base URL or the API key variable (checked by the service)."""

    revision = RevisionField()


# --- jobs ----------------------------------------------------------------------------------------


class JobActionInput(serializers.Serializer):
    """What to do with a job: cancel, pause, resume, or retry its failed items."""

    action = _Choice(
        choices=["cancel", "pause", "resume", "retry"],
        error_messages=_same(
            _("Choose cancel, pause, resume or retry."), "required", "null", "invalid_choice"
        ),
    )


# --- reads: the filters of lists -----------------------------------------------------------------


class DialogueFilterInput(serializers.Serializer):
    """The dialogue list's filters: taxonomy keys and a text the dialogue contains."""

    scene = serializers.CharField(max_length=60, allow_blank=True, default="")
    source = serializers.CharField(max_length=60, allow_blank=True, default="")
    role = serializers.CharField(max_length=60, allow_blank=True, default="")
    q = serializers.CharField(max_length=500, allow_blank=True, default="")


class DialoguePageInput(DialogueFilterInput):
    """The dialogue screen's filters and its page: the dialogues older than `before` (an id)."""

    before = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, allow_null=True
    )


class AuditFilterInput(serializers.Serializer):
    """The audit log's filter: actions starting with a text."""

    action = serializers.CharField(max_length=100, allow_blank=True, default="")


def api_validated(input_class: type[serializers.Serializer], request, **context: Any) -> dict:
    """The API counterpart of `validated`: the typed values of the request body, or a 400
    naming each wrong field."""
    serializer = input_class(data=request.data, context=context)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- Dialogue import (curation.services.imports) -------------------------------------------------
# Appended below the building blocks, as other operations' inputs are: imports kept here.
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile  # noqa: E402
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler  # noqa: E402
from django.utils.translation import gettext_lazy  # noqa: E402

from curation import importing  # noqa: E402

# Room for the import form's other fields (CSRF token, format, partial) in a request's length.
IMPORT_FORM_ROOM = 64 * 1024


class _ImportPart(TemporaryUploadedFile):
    """An upload being received, in IMPORT_UPLOAD_DIR (mode 0600, deleted when the request ends
    unless the import moves it): the import renames it, never copies it."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        directory = Path(settings.IMPORT_UPLOAD_DIR)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        file = tempfile.NamedTemporaryFile(suffix=".part", dir=directory)
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class ImportUploadHandler(TemporaryFileUploadHandler):
    """The only upload handler of the import screen and API action (set before the body is
    read): the file is streamed to disk whatever its size, and reading stops as soon as it
    passes IMPORT_MAX_BYTES, or before its first byte when the request's declared length
    already does; `refused` then tells the input why no file came."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.IMPORT_MAX_BYTES
        self.received = 0
        self.refused = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + IMPORT_FORM_ROOM:
            self.refused = True  # the fields before the file (the CSRF token) are still read
        return None

    def new_file(self, *args, **kwargs):
        super(TemporaryFileUploadHandler, self).new_file(*args, **kwargs)
        if self.refused:
            raise StopUpload(connection_reset=True)
        self.file = _ImportPart(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.refused = True
            raise StopUpload(connection_reset=True)
        self.file.write(raw_data)


def import_upload_handlers(request) -> ImportUploadHandler:
    """Make ImportUploadHandler the request's only upload handler; call it before anything
    reads the body (the view is csrf_exempt and checks CSRF itself afterwards)."""
    handler = ImportUploadHandler(request)
    request.upload_handlers = [handler]
    return handler


class DialogueImportInput(serializers.Serializer):
    """A dialogue import: the file (multipart), its format (from the file name when blank) and
    whether to store the valid dialogues when others are rejected."""

    # Context `upload_refused`: ImportUploadHandler stopped reading a file over the limit.

    file = serializers.FileField(
        allow_empty_file=True,
        error_messages={
            "required": gettext_lazy("Choose a file to import (multipart field “file”)."),
            "invalid": gettext_lazy("Choose a file to import (multipart field “file”)."),
        },
        help_text="JSON Lines, a JSON array or CSV; UTF-8 or GB18030. At most IMPORT_MAX_BYTES.",
    )
    format = serializers.ChoiceField(
        choices=importing.FORMATS,
        required=False,
        allow_blank=True,
        default="",
        help_text="jsonl, json or csv; blank: from the file name.",
    )
    partial = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Store the valid dialogues even if others are rejected.",
    )

    def to_internal_value(self, data):
        if self.context.get("upload_refused"):
            raise serializers.ValidationError(
                {
                    "file": [
                        gettext_lazy("The file is larger than the limit of %(limit)d bytes.")
                        % {"limit": settings.IMPORT_MAX_BYTES}
                    ]
                }
            )
        return super().to_internal_value(data)

    def validate_file(self, upload):
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise serializers.ValidationError(
                gettext_lazy("The file has %(size)d bytes; the limit is %(limit)d.")
                % {"size": upload.size, "limit": settings.IMPORT_MAX_BYTES}
            )
        if not upload.size:
            raise serializers.ValidationError(gettext_lazy("The file is empty."))
        return upload

    def validate(self, attrs):
        if not attrs.get("format"):
            try:
                attrs["format"] = importing.guess_format(attrs["file"].name)
            except importing.FileRefused as error:
                raise serializers.ValidationError({"format": [str(error)]}) from None
        return attrs
