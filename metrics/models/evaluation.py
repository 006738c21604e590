"""Evaluation (paper §3.4): held-out multi-task test sets whose references are curated labels,
and runs in which a model answers a test set and an LLM judge scores each answer against its
reference."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from curation.models import Dialogue, Job, ModelEndpoint, Project
from evolution.models import Prompt
from labeling.models import Sample
from metrics.models.versions import DatasetVersion

EVAL_JOB = "eval.run"
RELIABILITY_JOB = "eval.reliability"


class TestSet(models.Model):
    """A fixed set of items drawn from accepted samples whose dialogues and prompts are kept out
    of every dataset version (a version freeze leaves them out in turn)."""

    __test__ = False  # not a pytest class

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="test_sets")
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    size = models.PositiveIntegerField(_("size asked for"))
    task_shares = models.JSONField(default=dict)  # target share by task type key
    format_shares = models.JSONField(default=dict, blank=True)  # by output format; {}: equal
    grades = models.JSONField(default=list)  # grades a reference may have
    # Its prompts kept out of versions too (the default), or its dialogues only: a project
    # with few prompts may not be able to spare any.
    hold_out_prompts = models.BooleanField(_("hold out the prompts too"), default=True)
    seed = models.IntegerField(default=0)
    item_count = models.PositiveIntegerField(default=0)
    # What dataset versions also hold (metrics.selectors.evaluation.testset_overlap), worked out
    # when the test set is drawn and again whenever a version is frozen.
    overlap = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="testset_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class TestItem(models.Model):
    """One task of a test set: the instruction and input as the model reads them, and the
    curated label as the reference."""

    __test__ = False

    test_set = models.ForeignKey(TestSet, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="+")
    dialogue = models.ForeignKey(Dialogue, on_delete=models.PROTECT, related_name="+")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="+")
    task_type = models.CharField(max_length=60)
    subtasks = models.CharField(max_length=300, default="", blank=True)  # multi-task: "a+b"
    output_format = models.CharField(max_length=60, blank=True)
    instruction = models.TextField()
    input = models.TextField()  # the prompt with its dialogue, as the model reads it
    reference = models.TextField()

    class Meta:
        ordering = ["test_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["test_set", "position"], name="testitem_position")
        ]
        indexes = [models.Index(fields=["dialogue"], name="testitem_dialogue")]

    def __str__(self) -> str:
        return f"{self.test_set_id}#{self.position}"


class JudgePrompt(models.Model):
    """The project's judge prompt in one language (editable data; defaults in
    metrics.eval_prompts). A run keeps the text it used."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="judge_prompts")
    language = models.CharField(max_length=5, choices=[("zh", "中文"), ("en", "English")])
    template = models.TextField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "language"], name="judgeprompt_language")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.language}"


class EvalRun(models.Model):
    """One model answering one test set, scored by one judge."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="eval_runs")
    test_set = models.ForeignKey(TestSet, on_delete=models.PROTECT, related_name="runs")
    name = models.CharField(_("name"), max_length=100)
    model_endpoint = models.ForeignKey(
        ModelEndpoint, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    model_name = models.CharField(max_length=200)  # as it was when the run started
    judge_endpoint = models.ForeignKey(
        ModelEndpoint, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    judge_model = models.CharField(max_length=200)
    judge_templates = models.JSONField(default=dict)  # {"zh": ..., "en": ...} as used
    trained_on = models.ForeignKey(
        DatasetVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="eval_runs",
        verbose_name=_("trained on"),
    )
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, related_name="+")
    summary = models.JSONField(default=dict, blank=True)
    reliability = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="evalrun_name")]

    def __str__(self) -> str:
        return self.name


class EvalAnswer(models.Model):
    """A model's answer to one test item and the judge's score of it. A failed judgement is
    marked with its reason and counted nowhere (never as a zero)."""

    class Judged(models.TextChoices):
        PENDING = "pending", _("pending")
        DONE = "done", _("judged")
        FAILED = "failed", _("failed")

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(TestItem, on_delete=models.PROTECT, related_name="+")
    answer = models.TextField(blank=True)
    answer_error = models.CharField(max_length=300, blank=True)  # the model's call failed
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    judged = models.CharField(max_length=8, choices=Judged.choices, default=Judged.PENDING)
    score = models.PositiveSmallIntegerField(null=True, blank=True)  # 1..10
    reason = models.TextField(blank=True)
    judge_error = models.CharField(max_length=300, blank=True)
    judge_attempts = models.PositiveSmallIntegerField(default=0)
    # Reliability checks: {"repeats": [scores], "swapped": score} (see metrics.evaluation).
    checks = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "item__position"]
        constraints = [models.UniqueConstraint(fields=["run", "item"], name="evalanswer_item")]
        indexes = [models.Index(fields=["run", "judged"], name="evalanswer_judged")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.item_id}"
