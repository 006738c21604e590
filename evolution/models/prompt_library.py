"""Stage 2: template parts, the structure-enhancement meta-prompt, and the prompts assembled
from parts (paper §2.2)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from curation.models import Job, ModelEndpoint, Project, Scene, ServiceRole, TaskType
from evolution.models.instructions import Instruction


class TemplatePart(models.Model):
    """One reusable piece of a prompt. A part with a scene, service role or task type only goes
    with that one; a part without goes with any."""

    class Kind(models.TextChoices):
        SCENE = "scene_background", _("scene background")
        ROLE = "role", _("role description")
        DIALOGUE = "dialogue", _("dialogue presentation")
        TASK = "task", _("task narrative")
        OUTPUT = "output_format", _("output format")
        GUIDELINES = "guidelines", _("guidelines")

    class OutputFormat(models.TextChoices):
        JSON = "json", "JSON"
        TABLE = "table", _("table")
        MARKDOWN = "markdown", "Markdown"
        LIST = "list", _("list")
        FREE_TEXT = "free_text", _("free text")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="template_parts")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    text = models.TextField(_("text"))
    scene = models.ForeignKey(Scene, on_delete=models.PROTECT, null=True, blank=True)
    service_role = models.ForeignKey(ServiceRole, on_delete=models.PROTECT, null=True, blank=True)
    task_type = models.ForeignKey(TaskType, on_delete=models.PROTECT, null=True, blank=True)
    # A task narrative comes from an accepted instruction.
    instruction = models.ForeignKey(
        Instruction, on_delete=models.PROTECT, null=True, blank=True, related_name="parts"
    )
    output_format = models.CharField(
        _("output format"), max_length=12, choices=OutputFormat.choices, blank=True
    )
    example = models.TextField(_("example"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    revision = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "id"]
        indexes = [models.Index(fields=["project", "kind", "active"], name="part_kind")]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "instruction"],
                condition=models.Q(instruction__isnull=False),
                name="part_unique_instruction",
            )
        ]

    def __str__(self) -> str:
        return self.name


class MetaPrompt(models.Model):
    """The project's structure-enhancement prompt (paper §2.2 step 3), editable by leads."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="meta_prompt")
    prompt_zh = models.TextField()
    prompt_en = models.TextField()
    revision = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"meta-prompt of {self.project_id}"


class Prompt(models.Model):
    """A full prompt: scene background, role and dialogue presentation spliced around the task
    narrative. Its text keeps one `{dialogue}` placeholder, filled when it is used."""

    class State(models.TextChoices):
        ASSEMBLED = "assembled", _("assembled")
        ENHANCED = "enhanced", _("enhanced")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    seq = models.PositiveIntegerField(default=0)
    language = models.CharField(max_length=5, default="zh")
    scene = models.ForeignKey(Scene, on_delete=models.PROTECT, null=True, blank=True)
    service_role = models.ForeignKey(ServiceRole, on_delete=models.PROTECT, null=True, blank=True)
    # The first task's type; `tasks` lists every task of a multi-task prompt, in order, each with
    # its task type, instruction, output format and example.
    task_type = models.ForeignKey(TaskType, on_delete=models.PROTECT)
    tasks = models.JSONField(default=list)
    # The parts used, with the revision each had: [{"id", "kind", "revision"}].
    parts = models.JSONField(default=list)
    # The pieces the enhancement splices: background, role, dialogue, narrative.
    sections = models.JSONField(default=dict)
    assembled_text = models.TextField()
    text = models.TextField(_("prompt"))
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.ASSEMBLED
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.SET_NULL, null=True, blank=True)
    enhance_job = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The exact messages sent to the model that merged the narrative.
    prompt_sent = models.JSONField(default=list, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "state", "id"], name="prompt_queue")]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "seq"], condition=models.Q(job__isnull=False), name="prompt_job_seq"
            )
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def multi_task(self) -> bool:
        return len(self.tasks) > 1

    @property
    def output_format(self) -> str:
        """Its output formats, one per task, joined by "+" ("json", "json+table")."""
        return "+".join(t.get("output_format", "") for t in (self.tasks or [{}]))


class PromptRevision(models.Model):
    """The text of a prompt before a person edited it."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["prompt", "number"]
        constraints = [
            models.UniqueConstraint(fields=["prompt", "number"], name="prompt_revision_unique")
        ]

    def __str__(self) -> str:
        return f"{self.prompt_id} r{self.number}"
