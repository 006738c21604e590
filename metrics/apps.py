from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    """Dataset versions and their quality metrics (issue 7)."""

    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self) -> None:
        from metrics.services import versions  # noqa: F401 - registers the freeze job kind
