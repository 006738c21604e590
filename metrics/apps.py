from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    """Dataset versions and their quality metrics (issue 7)."""

    name = "metrics"
    verbose_name = _("Metrics")
