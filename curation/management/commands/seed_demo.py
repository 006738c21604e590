from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from curation.services.demo import DEMO_LLM_URL, DEMO_USERS, demo_seed
from evolution.services.parts import parts_add_starter


class Command(BaseCommand):
    help = "Create the demo project, one user per role and demo dialogues (safe to re-run)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password", default="dialinsight-demo", help="password of new demo users"
        )
        parser.add_argument(
            "--llm-url",
            default=DEMO_LLM_URL,
            help="base URL of the demo endpoint (the fake_llm_server command's, by default)",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="seed even with DEBUG=false (demo users have a known password)",
        )

    def handle(self, *args, password: str, force: bool, llm_url: str, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create demo users with a known password while DEBUG=false; "
                "pass --force if this really is a demo instance."
            )
        project = demo_seed(password=password, llm_url=llm_url)
        # Stage 2 starts from a template library; the demo gets the starter parts.
        parts_add_starter(project=project, actor=project.created_by)
        names = ", ".join(f"{name} ({role.label})" for name, role, _ in DEMO_USERS)
        self.stdout.write(
            f"Demo project '{project.slug}' ready. Users: {names}. Password: {password}"
        )
