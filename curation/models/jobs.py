from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .projects import Project


class Job(models.Model):
    """A long operation, split into items that Celery tasks handle one by one.

    The counts are the truth the progress bar shows; they move only when an item's state
    changes, in the same conditional update, so each item counts exactly once.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        PAUSED = "paused", _("paused")
        CANCELLED = "cancelled", _("cancelled")
        FAILED = "failed", _("failed")
        DONE = "done", _("done")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(_("kind"), max_length=40)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error_summary = models.CharField(_("error summary"), max_length=500, blank=True)
    # What the job produced, by kind (an import: counts and the report of rejected lines).
    result = models.JSONField(_("result"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    # When an item last settled: a running job that stops progressing may have lost messages.
    progressed_at = models.DateTimeField(null=True)
    # When its start message was last sent (None: run by its caller, dispatch=False): a queued
    # job not started a few seconds after has its start sent again (the message was lost).
    sent_at = models.DateTimeField(null=True)
    # While its items are prepared: "hostname|pid" of the preparer, and until when its lease
    # holds (renewed while it works). A job whose preparer's lease ran out is prepared again.
    claimed_by = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="job_project_time")]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED)


class JobItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    seq = models.PositiveIntegerField()
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # "hostname|pid" of the process working on it, and until when that claim holds (a short
    # lease its worker's heartbeat renews while it works: only an expired lease frees it).
    claimed_by = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="jobitem_unique_seq")]
        indexes = [models.Index(fields=["job", "status"], name="jobitem_job_status")]

    def __str__(self) -> str:
        return f"{self.job} item {self.seq}"
