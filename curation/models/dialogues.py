from django.db import models
from django.utils.translation import gettext_lazy as _

from .projects import Project
from .taxonomy import Scene, SourceType


class Dialogue(models.Model):
    """One customer-service dialogue, stored only after personal data was removed.

    turns: [{"speaker": str, "role": str, "text": str, "time": str | None}, ...]
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="dialogues")
    external_id = models.CharField(_("id"), max_length=200)
    scene = models.ForeignKey(Scene, on_delete=models.PROTECT, null=True, blank=True)
    source = models.ForeignKey(SourceType, on_delete=models.PROTECT, null=True, blank=True)
    turns = models.JSONField(_("turns"), default=list)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="dialogue_unique_external_id"
            )
        ]
        verbose_name = _("dialogue")
        verbose_name_plural = _("dialogues")

    def __str__(self) -> str:
        return self.external_id
