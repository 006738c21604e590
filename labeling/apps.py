from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LabelingConfig(AppConfig):
    """Label production and review (issue 6)."""

    name = "labeling"
    verbose_name = _("Labeling")
