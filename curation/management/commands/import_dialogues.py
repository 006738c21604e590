from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from curation import importing
from curation.models import Project
from curation.services.imports import import_start
from curation.services.jobs import job_run_here


class Command(BaseCommand):
    help = (
        "Import dialogues (JSONL, JSON array or CSV, see the README's schema) into a project, "
        "redacting personal data first. Runs here, not on the workers, and prints the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument("--format", choices=importing.FORMATS, default="")
        parser.add_argument(
            "--partial",
            action="store_true",
            help="store the valid dialogues even when others are rejected",
        )
        parser.add_argument("--user", default="", help="who the audit log names (a username)")

    def handle(self, *args, file: Path, project: str, format: str, partial: bool, user: str, **o):
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"No project with the slug {project!r}.")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"No user {user!r}.")
        if not file.is_file():
            raise CommandError(f"Cannot read {file}: not a file.")
        try:
            # Copied into IMPORT_UPLOAD_DIR by the import, never read whole here; the size is
            # checked first.
            job = import_start(
                project=target,
                upload=file,
                filename=file.name,
                actor=actor,
                fmt=format,
                partial=partial,
                dispatch=False,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        job = job_run_here(job_id=job.pk)
        result = job.result or {}
        for problem in result.get("problems", []):
            # "line 3, turn 4 text: contains a NUL character (U+0000)"
            joint = ", " if problem.get("field") else ": "
            self.stderr.write(f"line {problem['line']}{joint}{problem['reason']}")
        if result.get("problems_not_shown"):
            self.stderr.write(f"... and {result['problems_not_shown']} more problems")
        if job.error_summary and not result.get("problems"):
            self.stderr.write(job.error_summary)
        self.stdout.write(
            f"imported={result.get('imported', 0)} duplicate={result.get('duplicates', 0)} "
            f"rejected={result.get('rejected', 0)}"
        )
        redacted = result.get("redacted") or {}
        if redacted:
            self.stdout.write(
                "redacted " + " ".join(f"{kind}={n}" for kind, n in sorted(redacted.items()))
            )
        if not result.get("imported") and (result.get("rejected") or job.status == "failed"):
            raise CommandError(job.error_summary or "Nothing was stored.")
