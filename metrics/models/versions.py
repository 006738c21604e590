"""Dataset versions (paper §3.3): composed from filters, frozen into an immutable snapshot with
a content hash, approved by a lead, exported; their quality metrics laid out like Table 3."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from curation.models import Project
from labeling.models import Sample

# The kind of the job that freezes a version (metrics.services.versions registers it).
FREEZE_JOB = "versions.freeze"


class DatasetVersion(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        FREEZING = "freezing", _("freezing")
        FROZEN = "frozen", _("frozen")
        SUBMITTED = "submitted", _("submitted")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="versions")
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    # What goes in: {"states": [...], "grades": [...], "task_types": [keys], "scenes": [keys],
    # "since": "YYYY-MM-DD" | "", "until": ...}; and the optional diversity selection.
    filters = models.JSONField(default=dict, blank=True)
    top_n = models.PositiveIntegerField(_("keep top n per cluster"), null=True, blank=True)
    embedding = models.CharField(max_length=120, default="tokens")
    threshold = models.FloatField(null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    sample_count = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    frozen_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="version_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def frozen(self) -> bool:
        return self.state not in (self.State.DRAFT, self.State.FREEZING)


class VersionItem(models.Model):
    """A sample as it was when its version froze; later edits of the sample do not reach it."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="+")
    # The whole prompt without its dialogue (background, role, presentation, narrative, format,
    # guidelines): what prompt complexity and richness count.
    prompt = models.TextField()
    instruction = models.TextField(default="")  # the task narrative alone, for people to read
    dialogue = models.TextField()  # the whole redacted dialogue
    rendered_input = models.TextField()  # prompt and dialogue as the labelling model read them
    # The training sample every export format writes: system text (may be empty) and the user
    # text (the prompt with the whole dialogue in place, no internal markers).
    system = models.TextField(default="")
    training_prompt = models.TextField(default="")
    output = models.TextField()
    task_type = models.CharField(max_length=60)
    # The task types of a multi-task prompt's sub-tasks, joined by "+".
    subtasks = models.CharField(max_length=300, default="", blank=True)
    output_format = models.CharField(max_length=60, blank=True)
    scene = models.CharField(max_length=60, blank=True)
    label_quality = models.CharField(max_length=6, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="item_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.version_id}#{self.position}"


class EmbeddingCache(models.Model):
    """A text's vector under one embedding model, so no text is embedded twice."""

    model = models.CharField(max_length=120)
    text_hash = models.CharField(max_length=64)
    vector = models.BinaryField()  # float32, little-endian

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "text_hash"], name="embedding_unique")
        ]

    def __str__(self) -> str:
        return f"{self.model}:{self.text_hash[:8]}"


class TokenCount(models.Model):
    """A text's number of tokens under one tokenizer, so no text is tokenised twice."""

    tokenizer = models.CharField(max_length=60)
    text_hash = models.CharField(max_length=64)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tokenizer", "text_hash"], name="token_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tokenizer}:{self.text_hash[:8]}={self.count}"
