from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LabelingConfig(AppConfig):
    """Label production and review (issue 6)."""

    name = "labeling"
    verbose_name = _("Labeling")

    def ready(self) -> None:
        from labeling.services import generate  # noqa: F401 - registers the label job kind
