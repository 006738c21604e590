from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .projects import Project


class TaxonomyTerm(models.Model):
    """A term of a project's taxonomy, named in English and Chinese.

    Terms are deactivated rather than deleted once data refers to them, so that history keeps its
    meaning.
    """

    key = models.SlugField(_("key"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200)
    weight = models.DecimalField(_("weight"), max_digits=8, decimal_places=3, default=1)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        language = get_language() or "en"
        return self.name_zh if language.startswith("zh") and self.name_zh else self.name_en

    @property
    def weight_text(self) -> str:
        """The weight without trailing zeros: 2.5, not 2.500."""
        return format(self.weight.normalize(), "f")


class Scene(TaxonomyTerm):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="scenes")

    class Meta(TaxonomyTerm.Meta):
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="scene_unique_key")]
        verbose_name = _("scene")
        verbose_name_plural = _("scenes")


class SourceType(TaxonomyTerm):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="source_types")

    class Meta(TaxonomyTerm.Meta):
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="sourcetype_unique_key")
        ]
        verbose_name = _("source type")
        verbose_name_plural = _("source types")


class ServiceRole(TaxonomyTerm):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="service_roles")
    # The scenes the role works in: prompts and seeds pair a role only with these.
    scenes = models.ManyToManyField(
        Scene, blank=True, related_name="roles", verbose_name=_("scenes")
    )

    class Meta(TaxonomyTerm.Meta):
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="servicerole_unique_key")
        ]
        verbose_name = _("service role")
        verbose_name_plural = _("service roles")


class TaskType(TaxonomyTerm):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="task_types")
    # The requirements a task of this type covers (paper's Table 5), one string each.
    requirements_en = models.JSONField(_("requirements (English)"), default=list, blank=True)
    requirements_zh = models.JSONField(_("requirements (Chinese)"), default=list, blank=True)

    class Meta(TaxonomyTerm.Meta):
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="tasktype_unique_key")
        ]
        verbose_name = _("task type")
        verbose_name_plural = _("task types")

    @property
    def requirements(self) -> list[str]:
        language = get_language() or "en"
        if language.startswith("zh") and self.requirements_zh:
            return self.requirements_zh
        return self.requirements_en


# The taxonomy's kinds as they appear in URLs and the API.
TAXONOMY_MODELS: dict[str, type[TaxonomyTerm]] = {
    "scenes": Scene,
    "source-types": SourceType,
    "roles": ServiceRole,
    "task-types": TaskType,
}
