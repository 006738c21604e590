from django.db import models
from django.utils.translation import gettext_lazy as _

from .projects import Project
from .taxonomy import Scene, ServiceRole, SourceType


class Dialogue(models.Model):
    """One customer-service dialogue, stored only after personal data was removed.

    turns: [{"speaker": str, "role": str, "text": str, "time": str | None}, ...]
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="dialogues")
    external_id = models.CharField(_("id"), max_length=200)
    scene = models.ForeignKey(Scene, on_delete=models.PROTECT, null=True, blank=True)
    source = models.ForeignKey(SourceType, on_delete=models.PROTECT, null=True, blank=True)
    service_role = models.ForeignKey(ServiceRole, on_delete=models.PROTECT, null=True, blank=True)
    turns = models.JSONField(_("turns"), default=list)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    # All turn texts in one column, for text search (a trigram index on PostgreSQL).
    search_text = models.TextField(default="", editable=False)
    # SHA-256 of the normalised redacted content: an exact duplicate is skipped on import.
    content_hash = models.CharField(max_length=64, default="", editable=False)
    # What redaction removed, by type ({"PHONE": 2, "NAME": 1}); the raw values are never kept.
    redaction_counts = models.JSONField(default=dict, editable=False)
    import_job = models.ForeignKey(
        "curation.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="dialogue_unique_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["project", "content_hash"], name="dialogue_hash"),
            models.Index(fields=["project", "scene", "-id"], name="dialogue_scene"),
            models.Index(fields=["project", "source", "-id"], name="dialogue_source"),
            # Scene and source together: without it, a rare pair scans a whole scene.
            models.Index(
                fields=["project", "scene", "source", "-id"], name="dialogue_scene_source"
            ),
            models.Index(fields=["project", "service_role", "-id"], name="dialogue_role"),
        ]
        verbose_name = _("dialogue")
        verbose_name_plural = _("dialogues")

    def __str__(self) -> str:
        return self.external_id


class DialogueStage(models.Model):
    """A validated, redacted dialogue of an import that is still running. The import publishes
    all of them at once at its end (or none), so nothing is ever half-stored."""

    job = models.ForeignKey("curation.Job", on_delete=models.CASCADE, related_name="+")
    line = models.PositiveIntegerField()
    external_id = models.CharField(max_length=200)
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, null=True)
    source = models.ForeignKey(SourceType, on_delete=models.CASCADE, null=True)
    service_role = models.ForeignKey(ServiceRole, on_delete=models.CASCADE, null=True)
    turns = models.JSONField(default=list)
    metadata = models.JSONField(default=dict)
    search_text = models.TextField(default="")
    content_hash = models.CharField(max_length=64)
    redaction_counts = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["job", "line"], name="stage_job_line")]

    def __str__(self) -> str:
        return self.external_id
