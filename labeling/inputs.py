"""Inputs of the label stage: one serializer per write, shared by the screen and the API view
(see curation/inputs.py). Services receive the typed values; the checks that need the
database beyond a project's own rows stay in the services."""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from curation.inputs import EndpointField, ProjectRowField, RevisionField, WeightsField
from curation.models import Scene, SourceType, TaskType
from evolution.models import Prompt
from labeling.models import Grade
from labeling.services.generate import MAX_SAMPLES, NO_TERM

# Seeds are stored in integer columns (a test set's) or job parameters: 32 bits, signed.
SEED_MIN, SEED_MAX = -(2**31), 2**31 - 1


class KeyedWeightsField(WeightsField):
    """Weights (or target shares) by key. With `model`, the keys are the project's taxonomy
    keys of that model, plus `none` when `none` is true (the dialogues without such a term).
    A form sends `<field>.<key>` fields; one left blank gives no weight (the default stays)."""

    def __init__(self, model=None, *, none: bool = False, **kwargs):
        self.model = model
        self.none = none
        super().__init__(**kwargs)

    def get_value(self, dictionary):
        value = super().get_value(dictionary)
        if html.is_html_input(dictionary) and value is not empty:
            value = {key: given for key, given in value.items() if str(given).strip()}
        return value

    def to_internal_value(self, data):
        weights = super().to_internal_value(data)
        if self.model is None:
            return weights
        project = self.context.get("project")
        known = set(self.model.objects.filter(project=project).values_list("key", flat=True))
        if self.none:
            known.add(NO_TERM)
        unknown = sorted(set(weights) - known)
        if unknown:
            raise serializers.ValidationError(
                gettext("Unknown keys: %(k)s.") % {"k": ", ".join(unknown)}
            )
        return weights


class CheckboxField(serializers.BooleanField):
    """A boolean a screen sends as a checkbox: absent from a form is false (an unticked box
    sends nothing), absent from JSON is the default."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.default_empty_html = False


def seed_field(**kwargs) -> serializers.IntegerField:
    kwargs.setdefault("default", 0)
    return serializers.IntegerField(min_value=SEED_MIN, max_value=SEED_MAX, **kwargs)


class LabelJobStartInput(serializers.Serializer):
    """Start a label job: how many samples, weights by scene, source and task type (by key;
    `none` weighs the dialogues without a scene or a source), the endpoint, a seed."""

    count = serializers.IntegerField(min_value=1, max_value=MAX_SAMPLES)
    endpoint = EndpointField()
    seed = seed_field()
    judge = CheckboxField(
        default=True, help_text="An LLM judge pre-grades each output (a suggestion only)."
    )
    scene_weights = KeyedWeightsField(Scene, none=True)
    source_weights = KeyedWeightsField(SourceType, none=True)
    task_weights = KeyedWeightsField(TaskType)
    prompts = serializers.ListField(
        child=ProjectRowField(Prompt),
        required=False,
        max_length=10_000,
        help_text="Approved prompts to draw from (ids); default: every approved prompt.",
    )


class SampleReviewInput(serializers.Serializer):
    """Accept with a grade (the output, edited or not, must fit the prompt's formats) or reject
    (a grade optional); the revision read."""

    revision = RevisionField()
    decision = serializers.ChoiceField(
        choices=["accept", "reject"],
        error_messages={
            "invalid_choice": _("Accept or reject."),
            "required": _("Accept or reject."),
        },
    )
    grade = serializers.ChoiceField(
        choices=Grade.choices,
        allow_blank=True,
        default="",
        error_messages={"invalid_choice": _("Grade it high, medium or low.")},
    )
    # Absent or null: the output as it is. Trimmed and checked by the service.
    output = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False
    )
    reason = serializers.CharField(allow_blank=True, default="")


class SampleVerifyInput(serializers.Serializer):
    """A lead's second pass: confirm the decision or return the sample to the queue."""

    revision = RevisionField()
    decision = serializers.ChoiceField(
        choices=["confirm", "return"],
        error_messages={
            "invalid_choice": _("Confirm or return."),
            "required": _("Confirm or return."),
        },
    )


class LabelSettingsInput(serializers.Serializer):
    """The review settings (leads). In the API a PATCH changes the fields it names."""

    revision = RevisionField()
    second_pass = serializers.BooleanField(required=False)
    double_share = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        error_messages={
            "invalid": _("A share between 0 and 1."),
            "min_value": _("A share between 0 and 1."),
            "max_value": _("A share between 0 and 1."),
        },
    )
    assignment_minutes = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=24 * 60,
        error_messages={
            "invalid": _("1 to 1440 minutes."),
            "min_value": _("1 to 1440 minutes."),
            "max_value": _("1 to 1440 minutes."),
        },
    )
    annotators_regenerate = serializers.BooleanField(
        required=False, help_text="Annotators may run the model again (leads always may)."
    )

    def validate(self, attrs):
        # A PATCH is partial, which would let a missing revision through.
        if "revision" not in attrs:
            raise serializers.ValidationError(
                {"revision": [self.fields["revision"].error_messages["required"]]}
            )
        return attrs
