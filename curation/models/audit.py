from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .projects import Project


class AuditEvent(models.Model):
    """Who did what to which item, when, with the item's state before and after.

    Rows are only ever inserted; the admin shows them read-only.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="audit_events", null=True, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=80)
    target_type = models.CharField(_("item type"), max_length=80)
    target_id = models.CharField(_("item id"), max_length=64)
    target_repr = models.CharField(_("item"), max_length=200)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="audit_project_time"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_repr}"
