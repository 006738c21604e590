import pytest
from django.core.management import CommandError, call_command

from curation.models import Dialogue, Membership, Project, Role

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_every_role_a_user_and_is_safe_to_rerun(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    project = Project.objects.get(slug="demo")
    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles == {
        "admin": Role.ADMIN,
        "lead": Role.LEAD,
        "annotator": Role.ANNOTATOR,
        "annotator2": Role.ANNOTATOR,
    }
    dialogues = Dialogue.objects.filter(project=project)
    assert dialogues.count() == 5
    assert {d.scene.key for d in dialogues} == {"buying", "selling", "renting", "home-improvement"}
    assert project.task_types.count() == 6


def test_seed_demo_refuses_production_without_force(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not Project.objects.filter(slug="demo").exists()
