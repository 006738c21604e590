"""The inputs of stage 1 (instructions) and stage 2 (prompts): one serializer per write, shared
by the screen and the API (issue 14 point 3; the building blocks are in `curation/inputs.py`).

Each checks types, choices, ranges and lengths, and what depends only on the values sent (a
rejection names its reason); a wrong value is a 400 naming the field, or the form again with
the message. The services take the typed values and keep the rules that need the database:
states, placeholders, the library's kinds, role-scene pairs, a project's own rows.

Screens use `validated(XInput, request.POST, project=project)`; API views `api_values(XInput,
request, project=project)`. A list reads repeated form fields (`ids=1&ids=2`) or a JSON list.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty

from curation.inputs import (
    EndpointField,
    ProjectRowField,
    RevisionField,
    TermKeyField,
    flat_errors,
)
from curation.models import Scene, ServiceRole, TaskType
from evolution.models import Instruction, TemplatePart
from evolution.services import assembly, instructions, parts, prompt_review, seeds

MAX_ID = 2**63 - 1  # BigAutoField
MAX_REVISION = 2**31 - 1  # PositiveIntegerField
# Seeds are kept in job parameters; 32 bits, signed, as the label stage's.
SEED_MIN, SEED_MAX = -(2**31), 2**31 - 1
MAX_IDS = 100_000
MAX_PROMPT = 20_000  # an operator's or the meta-prompt's text
MAX_ROUNDS = 5
S = Instruction.State


def _filled(message, **params):
    """`message` translated when it is shown (in the reader's language), numbers filled in."""
    return lazy(lambda: str(message) % params, str)()


def _messages(message, *keys: str) -> dict:
    return dict.fromkeys(keys, message)


# Fields ------------------------------------------------------------------------------------


class Text(serializers.CharField):
    """Text, and only text: a number, list or object where text goes is refused (DRF would turn
    42 into "42"). Line breaks are stored as "\\n", whatever the browser sent."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data).replace("\r\n", "\n")


class Revision(RevisionField):
    """The revision read, within what the column holds: a larger number is refused here rather
    than read as stale."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", MAX_REVISION)
        message = _("Send the revision you read; it guards against overwriting.")
        kwargs.setdefault(
            "error_messages",
            _messages(
                message,
                "required",
                "null",
                "invalid",
                "min_value",
                "max_value",
                "max_string_length",
            ),
        )
        super().__init__(**kwargs)


class Whole(serializers.IntegerField):
    """A whole number in [low, high]; any other value gets `message` (a range in words)."""

    def __init__(self, low: int, high: int, message, **kwargs):
        kwargs.setdefault(
            "error_messages",
            _messages(message, "invalid", "min_value", "max_value", "max_string_length"),
        )
        super().__init__(min_value=low, max_value=high, **kwargs)


def seed_field() -> Whole:
    return Whole(
        SEED_MIN,
        SEED_MAX,
        _filled(
            _("A seed is a whole number from %(low)d to %(high)d."), low=SEED_MIN, high=SEED_MAX
        ),
        required=False,
        default=0,
        help_text="Random seed: the same seed and the same data give the same result.",
    )


class Flag(serializers.BooleanField):
    """A yes / no that is left as it is when not sent, in JSON and in a form alike (a screen
    sends "off" for its unticked box itself)."""

    default_empty_html = empty


class Ids(serializers.ListField):
    """Ids (whole numbers, each once, in order); the service keeps those of the project and of
    the right state. A list longer than `max_length` is refused before its items are read."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.IntegerField(min_value=1, max_value=MAX_ID))
        kwargs.setdefault("max_length", MAX_IDS)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list) and self.max_length and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return sorted(set(super().to_internal_value(data)))


class ProjectRows(Ids):
    """Rows of the project by id, looked up in one query; an id of no row of the project (of
    another project, or of none) is refused."""

    default_error_messages = {"not_own": _("Choose one or more of the project's own.")}

    def __init__(self, model, **kwargs):
        self.model = model
        kwargs.setdefault("max_length", 1000)
        kwargs.setdefault("allow_empty", False)
        own = _("Choose one or more of the project's own.")
        kwargs.setdefault("error_messages", {"empty": own, "not_a_list": own})
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            ids = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, dict):  # not a list, empty, too long
                raise
            self.fail("not_own")  # an item that is no id names no row of the project either
        project = self.context.get("project")
        rows = self.model.objects.filter(project=project, pk__in=ids).in_bulk() if project else {}
        if len(rows) != len(ids):
            self.fail("not_own")
        return [rows[pk] for pk in ids]


class Term(TermKeyField):
    """A taxonomy term of the project by key or by id (the screens' selects send ids)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int) or "\x00" in str(data):
            self.fail("invalid")
        text = str(data).strip()
        # Python refuses int() of more than 4300 digits; no id has 20.
        by_id = text.isascii() and text.isdigit() and len(text) < 20
        lookup = {"pk": int(text)} if by_id else {"key": text}
        term = self.get_queryset().filter(**lookup).first()
        if term is None:
            raise serializers.ValidationError(
                _("“%(v)s” is not one of this project's.") % {"v": text[:60]}
            )
        return term


def _endpoint() -> EndpointField:
    choose = _("Choose an endpoint of this project.")
    return EndpointField(
        error_messages=_messages(choose, "required", "null", "does_not_exist", "incorrect_type")
    )


def _instruction_text(**kwargs) -> Text:
    kwargs.setdefault("max_length", instructions.MAX_TEXT)
    return Text(
        error_messages={
            "blank": _("An instruction cannot be empty."),
            "max_length": _filled(_("At most %(n)d characters."), n=kwargs["max_length"]),
        },
        **kwargs,
    )


def _reason() -> Text:
    return Text(
        required=False,
        allow_blank=True,
        max_length=300,
        error_messages={"max_length": _filled(_("At most %(n)d characters."), n=300)},
        help_text="Why it is rejected (required to reject).",
    )


# Stage 1: instructions ---------------------------------------------------------------------


class InstructionReviewInput(serializers.Serializer):
    """Keep, drop or edit an instruction to curate, with the revision read."""

    revision = Revision()
    state = serializers.ChoiceField(
        choices=[S.KEPT, S.DROPPED, S.DRAFT],
        required=False,
        error_messages={"invalid_choice": _("Keep or drop.")},
    )
    text = _instruction_text(required=False)


class InstructionsBulkReviewInput(serializers.Serializer):
    """Keep or drop many instructions still to curate at once."""

    ids = Ids(help_text="Instructions to curate; others are left as they are.")
    state = serializers.ChoiceField(
        choices=[S.KEPT, S.DROPPED], error_messages={"invalid_choice": _("Keep or drop.")}
    )


class InstructionScreenInput(serializers.Serializer):
    """Accept, reject (with a reason) or rewrite an evolved instruction."""

    revision = Revision()
    decision = serializers.ChoiceField(
        choices=["accept", "reject", "rewrite"],
        error_messages=_messages(_("Accept, reject or rewrite."), "invalid_choice", "null"),
    )
    reason = _reason()
    text = _instruction_text(
        required=False, allow_blank=True, help_text="The rewrite (required to rewrite)."
    )

    def validate(self, attrs: dict) -> dict:
        decision = attrs["decision"]
        if decision == "reject" and not attrs.get("reason"):
            raise serializers.ValidationError({"reason": _("Say why it is rejected.")})
        if decision == "rewrite" and not attrs.get("text"):
            raise serializers.ValidationError({"text": _("An instruction cannot be empty.")})
        return attrs


class SeedsGenerateInput(serializers.Serializer):
    """Draft seed instructions for every task type x scene x role (of the scene) chosen."""

    task_types = ProjectRows(TaskType)
    scenes = ProjectRows(Scene)
    roles = ProjectRows(ServiceRole)
    per_combination = Whole(
        1,
        seeds.MAX_PER_COMBINATION,
        _filled(_("Ask for 1 to %(n)d per combination."), n=seeds.MAX_PER_COMBINATION),
    )
    endpoint = _endpoint()


class EvolutionStartInput(serializers.Serializer):
    """Evolve kept or accepted instructions for 1 to 5 rounds with the chosen operators."""

    instructions = Ids(
        source="instruction_ids",
        required=False,
        default=list,
        help_text="Kept or accepted instructions (the screen evolves those under its filter).",
    )
    operators = serializers.ListField(
        child=Text(max_length=40),
        source="operator_keys",
        max_length=50,
        allow_empty=False,
        error_messages=_messages(_("Choose operators of this project."), "empty", "not_a_list"),
    )
    rounds = Whole(1, MAX_ROUNDS, _("Evolve for 1 to 5 rounds."))
    endpoint = _endpoint()
    seed = seed_field()


class OperatorUpdateInput(serializers.Serializer):
    """Change an operator's names, prompts or `active`; what is not sent stays as it is."""

    revision = Revision()
    name_en = Text(
        required=False, max_length=100, error_messages={"blank": _("This name cannot be empty.")}
    )
    name_zh = Text(
        required=False, max_length=100, error_messages={"blank": _("This name cannot be empty.")}
    )
    # Blank is let through: the service then says which placeholders the prompt must hold.
    prompt_zh = Text(required=False, allow_blank=True, max_length=MAX_PROMPT)
    prompt_en = Text(required=False, allow_blank=True, max_length=MAX_PROMPT)
    active = Flag(required=False)


# Stage 2: prompts --------------------------------------------------------------------------


class _PartFields(serializers.Serializer):
    name = Text(required=False, allow_blank=True, max_length=100)
    text = Text(
        required=False,
        allow_blank=True,
        max_length=parts.MAX_TEXT,
        error_messages={"max_length": _filled(_("At most %(n)d characters."), n=parts.MAX_TEXT)},
    )
    scene = Term(Scene, required=False, allow_null=True, help_text="Key or id; empty for any.")
    service_role = Term(
        ServiceRole, required=False, allow_null=True, help_text="Key or id; empty for any."
    )
    task_type = Term(
        TaskType, required=False, allow_null=True, help_text="Key or id; empty for any."
    )
    instruction = ProjectRowField(
        Instruction,
        required=False,
        allow_null=True,
        help_text="The accepted instruction a task narrative comes from.",
    )
    output_format = serializers.ChoiceField(
        choices=TemplatePart.OutputFormat.choices,
        required=False,
        allow_blank=True,
        error_messages={
            "invalid_choice": _filled(
                _("Choose one of: %(f)s."), f=", ".join(TemplatePart.OutputFormat.values)
            ),
        },
    )
    example = Text(required=False, allow_blank=True, max_length=parts.MAX_TEXT)


class PartCreateInput(_PartFields):
    """A new part of the template library; placeholders are checked by its kind."""

    kind = serializers.ChoiceField(
        choices=TemplatePart.Kind.choices,
        error_messages={
            "invalid_choice": _filled(
                _("Choose one of: %(kinds)s."), kinds=", ".join(TemplatePart.Kind.values)
            )
        },
    )
    active = serializers.BooleanField(required=False, default=True)


class PartUpdateInput(_PartFields):
    """Change a part (its kind stays); what is not sent stays as it is."""

    revision = Revision()
    active = Flag(required=False)


class MetaPromptUpdateInput(serializers.Serializer):
    """Change the structure-enhancement prompt; it must hold {tasks}."""

    revision = Revision()
    prompt_zh = Text(required=False, allow_blank=True, max_length=MAX_PROMPT)
    prompt_en = Text(required=False, allow_blank=True, max_length=MAX_PROMPT)


class AssemblyStartInput(serializers.Serializer):
    """Assemble `count` prompts from the active parts, seeded."""

    count = Whole(
        1,
        assembly.MAX_PROMPTS,
        _filled(_("Assemble 1 to %(n)d prompts."), n=assembly.MAX_PROMPTS),
    )
    seed = seed_field()
    tasks_per_prompt = Whole(
        1,
        assembly.MAX_TASKS,
        _filled(_("A prompt has 1 to %(n)d tasks."), n=assembly.MAX_TASKS),
        required=False,
        default=1,
    )


class EnhancementStartInput(serializers.Serializer):
    """Enhance the chosen prompts still as assembled."""

    prompts = Ids(
        source="prompt_ids",
        required=False,
        default=list,
        help_text="Prompts still as assembled (the screen enhances those under its filter).",
    )
    endpoint = _endpoint()


class PromptReviewInput(serializers.Serializer):
    """Approve (with an optional last edit), reject with a reason, or save an edit."""

    revision = Revision()
    decision = serializers.ChoiceField(
        choices=prompt_review.DECISIONS,
        error_messages=_messages(_("Approve, reject or save."), "invalid_choice", "null"),
    )
    text = Text(
        required=False,
        max_length=prompt_review.MAX_TEXT,
        error_messages={
            "blank": _("A prompt cannot be empty."),
            "max_length": _filled(_("At most %(n)d characters."), n=prompt_review.MAX_TEXT),
        },
    )
    reason = _reason()

    def validate(self, attrs: dict) -> dict:
        if attrs["decision"] == "reject" and not attrs.get("reason"):
            raise serializers.ValidationError({"reason": _("Say why it is rejected.")})
        return attrs


def api_values(input_class: type[serializers.Serializer], request, **context: Any) -> dict:
    """The typed values of an API request's body, or a 400 naming each wrong field."""
    serializer = input_class(data=request.data, context=context)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# Reads -------------------------------------------------------------------------------------


class QueueFilterInput(serializers.Serializer):
    """A queue's filters: a state, taxonomy keys, a part's kind, and the id a page starts
    after. A value no state, key or id can be is refused, never sent to the database."""

    state = Text(required=False, allow_blank=True, max_length=20)
    task_type = Text(required=False, allow_blank=True, max_length=60)
    scene = Text(required=False, allow_blank=True, max_length=60)
    kind = Text(required=False, allow_blank=True, max_length=20)
    after = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ID)


def queue_filters(source: QueryDict) -> tuple[dict, dict[str, list[str]]]:
    """The filters of a query string or form that are valid, and the messages of the others,
    which are left out (a queue stays usable after a bad link)."""
    serializer = QueueFilterInput(data=source)
    if serializer.is_valid():
        return dict(serializer.validated_data), {}
    errors = flat_errors(serializer.errors)
    rest = source.copy()
    for name in errors:
        rest.pop(name, None)
    serializer = QueueFilterInput(data=rest)
    serializer.is_valid()
    return dict(serializer.validated_data), errors


def api_filters(request) -> dict:
    """The filters of an API list's query string, or a 400 naming each wrong one."""
    serializer = QueueFilterInput(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
