from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvolutionConfig(AppConfig):
    """Stage 1 and stage 2 of the method: instruction and prompt evolution (issue 5)."""

    name = "evolution"
    verbose_name = _("Evolution")

    def ready(self) -> None:
        from evolution.services import assembly, evolve, seeds  # noqa: F401 - register job kinds
