"""Label production (paper §2.3): samples drawn from dialogues and approved prompts, the model's
output, and people's review with a quality grade."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from curation.models import Dialogue, Job, ModelEndpoint, Project, Scene, SourceType, TaskType
from evolution.models import Prompt


class Grade(models.TextChoices):
    HIGH = "high", _("high")
    MEDIUM = "medium", _("medium")
    LOW = "low", _("low")


class LabelSettings(models.Model):
    """How a project reviews labels; leads change it on the label screen."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="label_settings")
    # Leads confirm or return every decided sample before it counts.
    second_pass = models.BooleanField(_("second-pass review by leads"), default=False)
    # The share of samples a second annotator also grades, for agreement figures.
    double_share = models.FloatField(_("share annotated twice"), default=0.1)
    # How long a claimed sample stays with its annotator before others may take it.
    assignment_minutes = models.PositiveIntegerField(_("assignment lasts (minutes)"), default=30)
    # Running the model again spends LLM calls: leads always may, annotators only when allowed.
    annotators_regenerate = models.BooleanField(
        _("annotators may run the model again"), default=False
    )
    revision = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"label settings of {self.project_id}"


class Sample(models.Model):
    class State(models.TextChoices):
        GENERATING = "generating", _("generating")
        READY = "ready", _("to review")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    class Check(models.TextChoices):
        OK = "", _("fine")
        EMPTY = "empty", _("empty")
        REFUSED = "refused", _("refused")
        NOT_JSON = "not_json", _("not JSON")
        BAD_FORMAT = "bad_format", _("wrong format")
        FAILED = "failed", _("model call failed")
        TOO_LONG = "too_long", _("does not fit the model's context")

    class Verify(models.TextChoices):
        NONE = "", _("not verified")
        CONFIRMED = "confirmed", _("confirmed")
        RETURNED = "returned", _("returned")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="samples")
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    seq = models.PositiveIntegerField(default=0)
    dialogue = models.ForeignKey(Dialogue, on_delete=models.PROTECT, related_name="samples")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="samples")
    # Denormalised from dialogue and prompt, for the queue's filters and the distributions.
    task_type = models.ForeignKey(TaskType, on_delete=models.PROTECT)
    scene = models.ForeignKey(Scene, on_delete=models.PROTECT, null=True, blank=True)
    source = models.ForeignKey(SourceType, on_delete=models.PROTECT, null=True, blank=True)
    # The instruction and the rendered input exactly as the model read them; the prompt text
    # (with its {dialogue} placeholder) as it was used, for the training data.
    instruction = models.TextField(blank=True)
    prompt_text = models.TextField(blank=True)
    rendered_input = models.TextField(blank=True)
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.SET_NULL, null=True, blank=True)
    model_output = models.TextField(blank=True)
    # Earlier outputs of the model, kept when a sample is regenerated: nothing is lost.
    attempts = models.JSONField(default=list, blank=True)
    output = models.TextField(_("output"), blank=True)
    output_check = models.CharField(
        max_length=12, choices=Check.choices, default=Check.OK, blank=True
    )
    output_check_detail = models.CharField(max_length=300, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    judge_grade = models.CharField(max_length=6, choices=Grade.choices, blank=True)
    judge_reason = models.TextField(blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.GENERATING
    )
    grade = models.CharField(_("grade"), max_length=6, choices=Grade.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    double = models.BooleanField(default=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_until = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    verify = models.CharField(
        max_length=10, choices=Verify.choices, default=Verify.NONE, blank=True
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["project", "state", "id"], name="sample_queue"),
            models.Index(fields=["project", "task_type", "state"], name="sample_task"),
            models.Index(fields=["assigned_to", "assigned_until"], name="sample_assignment"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "seq"], condition=models.Q(job__isnull=False), name="sample_job_seq"
            )
        ]

    def __str__(self) -> str:
        return f"sample {self.pk}"

    @property
    def formats(self) -> list[str]:
        return [task.get("output_format", "") for task in self.prompt.tasks]


class Annotation(models.Model):
    """One person's decision on a sample. A doubly annotated sample has two, by two people; the
    first one is the sample's decision, the second only counts for agreement."""

    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decision = models.CharField(max_length=10)
    # A rejection needs no grade (an unusable output has no quality to grade).
    grade = models.CharField(max_length=6, choices=Grade.choices, blank=True)
    output = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sample", "id"]
        constraints = [
            models.UniqueConstraint(fields=["sample", "annotator"], name="annotation_once")
        ]

    def __str__(self) -> str:
        return f"{self.sample_id} by {self.annotator_id}"
