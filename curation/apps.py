from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CurationConfig(AppConfig):
    """Projects, members, taxonomy, dialogues and the audit log."""

    name = "curation"
    verbose_name = _("Curation")

    def ready(self) -> None:
        # Job kinds register themselves when their service module loads.
        from curation.services import imports, llm  # noqa: F401
