from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A member's role in one project. Each role may do what the roles before it may."""

    ANNOTATOR = "annotator", _("Annotator")
    LEAD = "lead", _("Lead")
    ADMIN = "admin", _("Project admin")

    @property
    def rank(self) -> int:
        return _RANKS[self.value]

    def allows(self, required: "Role") -> bool:
        return self.rank >= Role(required).rank


_RANKS = {Role.ANNOTATOR.value: 1, Role.LEAD.value: 2, Role.ADMIN.value: 3}


class Project(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    # The business the dialogues come from ("房产经纪", "酒店预订"): starter template parts, seed,
    # evolution and judge prompts name it instead of assuming real estate.
    domain_zh = models.CharField(_("domain (Chinese)"), max_length=100, blank=True)
    domain_en = models.CharField(_("domain (English)"), max_length=100, blank=True)
    # The system message of every exported training sample (empty: none).
    training_system_prompt = models.TextField(_("system prompt of the training data"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped by every edit so that two people editing one project never overwrite each other.
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self) -> str:
        return self.name

    def domain(self, language: str) -> str:
        """The project's domain in `language` ("zh" or "en"), a neutral phrase when unset."""
        if language.startswith("zh"):
            return self.domain_zh or self.domain_en or "客户服务"
        return self.domain_en or self.domain_zh or "customer service"


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user"),
        ]
        ordering = ["project", "user__username"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"
