from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from curation.models import Job, ModelEndpoint, Project, Scene, ServiceRole, TaskType


class Instruction(models.Model):
    """A task instruction of stage 1, with its lineage: seeds have no parent; an evolved one has
    its parent, the operator and the generation; a person's rewrite is a new revision."""

    class State(models.TextChoices):
        DRAFT = "draft", _("to curate")
        KEPT = "kept", _("kept")
        DROPPED = "dropped", _("dropped")
        EVOLVED = "evolved", _("to screen")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")
        ELIMINATED = "eliminated", _("eliminated")

    class Origin(models.TextChoices):
        SEED = "seed", _("seed")
        EVOLVED = "evolved", _("evolved")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="instructions")
    task_type = models.ForeignKey(TaskType, on_delete=models.PROTECT)
    scene = models.ForeignKey(Scene, on_delete=models.PROTECT, null=True, blank=True)
    service_role = models.ForeignKey(ServiceRole, on_delete=models.PROTECT, null=True, blank=True)
    text = models.TextField(_("instruction"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.SEED)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    # The seed at the top of its family tree (itself for a seed), for the lineage view.
    root = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="descendants"
    )
    generation = models.PositiveSmallIntegerField(default=0)
    # Why it was eliminated (automatically) or rejected (by a person).
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    operator = models.CharField(max_length=40, blank=True)
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.SET_NULL, null=True, blank=True)
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The exact messages sent to the model that wrote it.
    prompt_sent = models.JSONField(default=list, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["project", "state", "id"], name="instruction_queue"),
            models.Index(fields=["project", "task_type", "state"], name="instruction_task"),
            # The counts per state under a scene filter read this index alone.
            models.Index(fields=["project", "scene", "state"], name="instruction_scene"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class InstructionRevision(models.Model):
    """The text of an instruction before a person edited it, with who edited and when."""

    instruction = models.ForeignKey(Instruction, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instruction", "number"]
        constraints = [
            models.UniqueConstraint(fields=["instruction", "number"], name="revision_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.instruction_id} r{self.number}"


class EvolutionOperator(models.Model):
    """An Evol-Instruct operator of a project: its rewriting prompt, in Chinese and English, is
    data that leads may edit. `{instruction}` and `{dialogue}` are filled in."""

    class Kind(models.TextChoices):
        DEPTH = "depth", _("in depth")
        BREADTH = "breadth", _("in breadth")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="operators")
    key = models.SlugField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name_en = models.CharField(max_length=100)
    name_zh = models.CharField(max_length=100)
    prompt_zh = models.TextField()
    prompt_en = models.TextField()
    active = models.BooleanField(default=True)
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="operator_unique_key")
        ]

    def __str__(self) -> str:
        return self.name_en
