from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from curation.demo_data import DEMO_DIALOGUES
from curation.importing import content_hash
from curation.llm.safety import check_base_url
from curation.models import Dialogue, Membership, ModelEndpoint, Project, Role, Scene, SourceType
from curation.services.taxonomy import taxonomy_seed_project

DEMO_PROJECT_SLUG = "demo"
# (username, role in the demo project or None, site admin)
DEMO_USERS = [
    ("admin", Role.ADMIN, True),
    ("lead", Role.LEAD, False),
    ("annotator", Role.ANNOTATOR, False),
    ("annotator2", Role.ANNOTATOR, False),
]


DEMO_LLM_URL = "http://127.0.0.1:8765/v1"


@transaction.atomic
def demo_seed(*, password: str, llm_url: str = DEMO_LLM_URL) -> Project:
    """The quick start's demo project, one user per role, demo dialogues, and the project's own
    LLM test server as its endpoint (so every stage runs offline). Safe to re-run."""
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
            "domain_zh": "房产经纪",
            "domain_en": "real-estate brokerage",
            "created_by": users["admin"],
        },
    )
    taxonomy_seed_project(project=project)
    for username, role, _site_admin in DEMO_USERS:
        Membership.objects.get_or_create(
            project=project, user=users[username], defaults={"role": role}
        )
    ModelEndpoint.objects.update_or_create(
        project=project,
        name="Offline test LLM",
        defaults={
            "base_url": check_base_url(llm_url),
            "model": "fake-chat",
            "max_concurrency": 8,
            "temperature": 0.7,
        },
    )
    scenes = {s.key: s for s in Scene.objects.filter(project=project)}
    sources = {s.key: s for s in SourceType.objects.filter(project=project)}
    rows = []
    for item in DEMO_DIALOGUES:
        turns = [
            {"speaker": speaker, "role": role, "text": text}
            for speaker, role, text in item["turns"]
        ]
        rows.append(
            Dialogue(
                project=project,
                external_id=item["id"],
                scene=scenes.get(item["scene"]),
                source=sources.get(item["source"]),
                turns=turns,
                metadata={"demo": True},
                search_text="\n".join(turn["text"] for turn in turns),
                content_hash=content_hash(turns),
            )
        )
    Dialogue.objects.bulk_create(rows, ignore_conflicts=True)
    return project
