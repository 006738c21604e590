"""Inputs of dataset versions and the evaluation: one serializer per write (and per export's
query), shared by the screen and the API view (see curation/inputs.py). Services receive the
typed values; the checks that need the database beyond a project's own rows stay there."""

from __future__ import annotations

from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from curation.inputs import EndpointField, ProjectRowField, RevisionField, TermKeyField
from curation.models import Scene, TaskType
from labeling.inputs import CheckboxField, KeyedWeightsField, seed_field
from labeling.models import Grade, Sample
from metrics import export
from metrics.models import DatasetVersion, TestSet
from metrics.services.evaluation import MAX_ITEMS

MAX_ID = 2**63 - 1
MAX_TEMPLATE = 20_000


def _same(message, *kinds: str) -> dict:
    """One message for several ways of being wrong."""
    return dict.fromkeys(kinds, message)


class OptionalDateField(serializers.DateField):
    """A date (YYYY-MM-DD), or none: empty or null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data == "":
            return True, None
        return super().validate_empty_values(data)


class KeyField(TermKeyField):
    """A taxonomy key; one PostgreSQL cannot hold (a NUL byte) is no key, never a 500."""

    def to_internal_value(self, data):
        if isinstance(data, str) and ("\x00" in data or len(data) > 200):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data[:50])
        return super().to_internal_value(data)


# -- versions -----------------------------------------------------------------------------


class VersionFiltersInput(serializers.Serializer):
    """Which samples a version takes: none given, every accepted one."""

    states = serializers.ListField(
        child=serializers.ChoiceField(choices=[Sample.State.ACCEPTED, Sample.State.REJECTED]),
        required=False,
        max_length=2,
    )
    grades = serializers.ListField(
        child=serializers.ChoiceField(choices=Grade.choices), required=False, max_length=3
    )
    task_types = serializers.ListField(child=KeyField(TaskType), required=False, max_length=1000)
    scenes = serializers.ListField(child=KeyField(Scene), required=False, max_length=1000)
    since = OptionalDateField(help_text="Reviewed on or after (YYYY-MM-DD).")
    until = OptionalDateField(help_text="Reviewed on or before (YYYY-MM-DD).")

    def validate(self, attrs):
        # The service and the stored filters name terms by key.
        for field in ("task_types", "scenes"):
            if field in attrs:
                attrs[field] = [term.key for term in attrs[field]]
        return attrs


class VersionCreateInput(serializers.Serializer):
    """Compose a version: a name, filters, optionally a diversity selection (the top n of each
    cluster of similar prompts), the embedding backend and its threshold."""

    name = serializers.CharField(error_messages=_same(_("A version needs a name."), "blank"))
    description = serializers.CharField(allow_blank=True, default="")
    filters = VersionFiltersInput(required=False)
    top_n = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=1000,
        error_messages=_same(_("Keep 1 to 1000 per cluster."), "min_value", "max_value"),
    )
    embedding = serializers.CharField(
        default="tokens",
        allow_blank=True,
        max_length=200,
        help_text="tokens, minilm, endpoint:NAME",
    )
    threshold = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=1,
        error_messages=_same(_("A cosine threshold between 0 and 1."), "min_value", "max_value"),
    )

    def validate_embedding(self, value: str) -> str:
        return value.strip() or "tokens"


class VersionFreezeInput(serializers.Serializer):
    revision = RevisionField()


class VersionSubmitInput(serializers.Serializer):
    revision = RevisionField()


class VersionDecideInput(serializers.Serializer):
    """Approve or reject a submitted version (a note says why it is rejected)."""

    revision = RevisionField()
    decision = serializers.ChoiceField(
        choices=["approve", "reject"],
        error_messages=_same(_("Approve or reject."), "invalid_choice", "required"),
    )
    note = serializers.CharField(allow_blank=True, default="")


class VersionExportQuery(serializers.Serializer):
    # A fixed message: the value asked for is never echoed back.
    fmt = serializers.ChoiceField(
        choices=export.FORMATS,
        help_text="The export's format.",
        error_messages={"invalid_choice": "Use one of: " + ", ".join(export.FORMATS) + "."},
    )


class VersionCompareQuery(serializers.Serializer):
    v = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=100,
        help_text="Version ids; the first four are compared.",
    )


# -- evaluation ---------------------------------------------------------------------------

# Translated when shown, in the reader's language.
_draw_message = lazy(lambda: gettext("Draw 1 to %(n)d items.") % {"n": MAX_ITEMS}, str)


class TestSetCreateInput(serializers.Serializer):
    """Draw a test set: target shares per task type (key) and output format, the grades a
    reference may have (default high), a seed; `hold_out_prompts` keeps its prompts out of
    versions too."""

    __test__ = False  # not a test, whatever pytest thinks of the name

    name = serializers.CharField(error_messages=_same(_("A test set needs a name."), "blank"))
    description = serializers.CharField(allow_blank=True, default="")
    size = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ITEMS,
        error_messages=_same(_draw_message(), "min_value", "max_value"),
    )
    seed = seed_field()
    task_shares = KeyedWeightsField(TaskType)
    # The output formats a prompt can ask for are checked by the service (a multi-task
    # prompt's formats are joined by "+").
    format_shares = KeyedWeightsField()
    grades = serializers.ListField(
        child=serializers.ChoiceField(choices=Grade.choices), required=False, max_length=3
    )
    hold_out_prompts = CheckboxField(default=True)


class EvalRunStartInput(serializers.Serializer):
    """Start a run: the test set, the model's and the judge's endpoints, optionally the dataset
    version the model was trained on."""

    test_set = ProjectRowField(
        TestSet,
        error_messages=_same(
            _("Choose a test set of this project."), "required", "null", "does_not_exist",
            "incorrect_type",
        ),
    )  # fmt: skip
    model_endpoint = EndpointField()
    judge_endpoint = EndpointField()
    trained_on = ProjectRowField(
        DatasetVersion,
        required=False,
        allow_null=True,
        error_messages=_same(
            _("Choose a version of this project."), "does_not_exist", "incorrect_type"
        ),
    )
    name = serializers.CharField(allow_blank=True, default="")


class EvalReliabilityInput(serializers.Serializer):
    """Judge a sample of the run's answers again: `items` answers, `repeats` times each."""

    items = serializers.IntegerField(
        default=20,
        min_value=1,
        max_value=500,
        error_messages=_same(
            _("Re-judge 1 to 500 items, 1 to 5 times each."), "min_value", "max_value"
        ),
    )
    repeats = serializers.IntegerField(
        default=3,
        min_value=1,
        max_value=5,
        error_messages=_same(
            _("Re-judge 1 to 500 items, 1 to 5 times each."), "min_value", "max_value"
        ),
    )


class RunExportQuery(serializers.Serializer):
    fmt = serializers.ChoiceField(
        choices=["csv", "json"],
        default="json",
        error_messages={"invalid_choice": "Use csv or json."},
    )


class JudgePromptUpdateInput(serializers.Serializer):
    """A judge prompt: its language, the template (with {question}; {domain} optional) and
    the revision read (0 for a language still on its default)."""

    language = serializers.ChoiceField(
        choices=["zh", "en"], help_text="In the API, the URL's language."
    )
    template = serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=MAX_TEMPLATE
    )
    revision = RevisionField()
