from django.db import models
from django.utils.translation import gettext_lazy as _

from .projects import Project


class JsonMode(models.TextChoices):
    JSON_OBJECT = "json_object", _("JSON object (most providers)")
    JSON_SCHEMA = "json_schema", _("JSON schema (OpenAI, vLLM)")
    PROMPT_ONLY = "prompt", _("Schema in the prompt only")


class ModelEndpoint(models.Model):
    """An OpenAI-compatible endpoint a project calls. The API key never enters the database:
    only the name of the environment variable that holds it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="endpoints")
    name = models.CharField(_("name"), max_length=100)
    base_url = models.URLField(_("base URL"), max_length=300)
    model = models.CharField(_("model"), max_length=200)
    api_key_env = models.CharField(_("API key variable"), max_length=100, blank=True)
    temperature = models.FloatField(_("temperature"), default=0.7)
    max_tokens = models.PositiveIntegerField(_("max tokens"), default=1024)
    # The model's context window in tokens, where known: an input that would not fit with
    # max_tokens of answer is refused with the reason, never cut.
    context_tokens = models.PositiveIntegerField(
        _("context window (tokens)"), null=True, blank=True
    )
    max_concurrency = models.PositiveIntegerField(_("concurrent requests"), default=8)
    requests_per_minute = models.PositiveIntegerField(
        _("requests per minute"), null=True, blank=True
    )
    tokens_per_minute = models.PositiveIntegerField(_("tokens per minute"), null=True, blank=True)
    json_mode = models.CharField(
        _("JSON mode"), max_length=20, choices=JsonMode.choices, default=JsonMode.JSON_OBJECT
    )
    price_prompt_per_million = models.DecimalField(
        _("price per million prompt tokens"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    price_completion_per_million = models.DecimalField(
        _("price per million completion tokens"),
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
    )
    last_test_ok = models.BooleanField(null=True, editable=False)
    last_test_message = models.CharField(max_length=300, blank=True, editable=False)
    last_tested_at = models.DateTimeField(null=True, editable=False)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="endpoint_unique_name")
        ]
        verbose_name = _("model endpoint")
        verbose_name_plural = _("model endpoints")

    def __str__(self) -> str:
        return f"{self.name} ({self.model})"


class LLMCacheEntry(models.Model):
    """A provider answer, keyed by endpoint, messages and parameters: a re-run never pays twice."""

    key = models.CharField(max_length=64, unique=True)
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.CASCADE, related_name="+")
    content = models.TextField()
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key[:12]


class LLMCall(models.Model):
    """Usage of one gateway call: tokens, latency, cost, outcome."""

    class Status(models.TextChoices):
        OK = "ok", _("ok")
        CACHED = "cached", _("cached")
        FAILED = "failed", _("failed")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="llm_calls")
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.SET_NULL, null=True)
    job_item = models.ForeignKey(
        "curation.JobItem", on_delete=models.SET_NULL, null=True, related_name="llm_calls"
    )
    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices)
    attempts = models.PositiveSmallIntegerField(default=1)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, null=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["project", "-created_at"], name="llmcall_project_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"
