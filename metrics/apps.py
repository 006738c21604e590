from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    """Dataset versions with their quality metrics, and the evaluation of models."""

    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self) -> None:
        # Both register their job kinds.
        from metrics.services import evaluation, versions  # noqa: F401
