from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from curation.demo_data import DEMO_DIALOGUES
from curation.models import Dialogue, Membership, Project, Role, Scene, SourceType
from curation.services.taxonomy import taxonomy_seed_project

DEMO_PROJECT_SLUG = "demo"
# (username, role in the demo project or None, site admin)
DEMO_USERS = [
    ("admin", Role.ADMIN, True),
    ("lead", Role.LEAD, False),
    ("annotator", Role.ANNOTATOR, False),
    ("annotator2", Role.ANNOTATOR, False),
]


@transaction.atomic
def demo_seed(*, password: str) -> Project:
    """The quick start's demo project, one user per role and demo dialogues. Safe to re-run."""
    User = get_user_model()
    users = {}
    for username, _role, site_admin in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": site_admin, "is_superuser": site_admin}
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        users[username] = user
    project, _created = Project.objects.get_or_create(
        slug=DEMO_PROJECT_SLUG,
        defaults={
            "name": "Real-estate demo",
            "description": (
                "Demo dialogues between agents and customers "
                "(buying, selling, renting, home improvement)."
            ),
            "created_by": users["admin"],
        },
    )
    taxonomy_seed_project(project=project)
    for username, role, _site_admin in DEMO_USERS:
        Membership.objects.get_or_create(
            project=project, user=users[username], defaults={"role": role}
        )
    scenes = {s.key: s for s in Scene.objects.filter(project=project)}
    sources = {s.key: s for s in SourceType.objects.filter(project=project)}
    Dialogue.objects.bulk_create(
        [
            Dialogue(
                project=project,
                external_id=item["id"],
                scene=scenes.get(item["scene"]),
                source=sources.get(item["source"]),
                turns=[
                    {"speaker": speaker, "role": role, "text": text}
                    for speaker, role, text in item["turns"]
                ],
                metadata={"demo": True},
            )
            for item in DEMO_DIALOGUES
        ],
        ignore_conflicts=True,
    )
    return project
