import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from curation.exceptions import ConflictError
from curation.inputs import MembershipAddInput, validated
from curation.models import AuditEvent, Membership, Role, Scene, ServiceRole, SourceType, TaskType
from curation.services.projects import (
    membership_add,
    membership_remove,
    membership_set_role,
    project_create,
    project_update,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_project_create_seeds_the_papers_taxonomy_and_makes_the_creator_admin():
    staff = UserFactory(is_staff=True)
    project = project_create(name="Beike 2024", creator=staff)

    assert project.slug == "beike-2024"
    assert Membership.objects.get(project=project, user=staff).role == Role.ADMIN
    assert set(Scene.objects.filter(project=project).values_list("name_en", flat=True)) == {
        "Buying a home",
        "Selling a home",
        "Renting",
        "Home improvement",
    }
    assert SourceType.objects.filter(project=project).count() == 10
    assert ServiceRole.objects.filter(project=project).count() == 6
    extraction = TaskType.objects.get(project=project, key="information-extraction")
    assert "The customer's emotion" in extraction.requirements_en
    assert "客户情绪" in extraction.requirements_zh
    assert TaskType.objects.filter(project=project).count() == 6
    event = AuditEvent.objects.get(action="project.create")
    assert event.actor == staff and event.after["name"] == "Beike 2024"


def test_only_staff_create_projects():
    with pytest.raises(PermissionDenied):
        project_create(name="Mine", creator=UserFactory())


def test_a_slug_made_from_a_long_name_fits_its_column():
    staff = UserFactory(is_staff=True)
    name = "Shanghai Pudong rental apartments customer service dialogues " * 3  # 186 chars
    project = project_create(name=name.strip(), creator=staff)
    assert len(project.slug) <= 80 and project.slug.startswith("shanghai-pudong-rental")
    assert not project.slug.endswith("-")


def test_project_create_refuses_a_taken_slug_and_names_it():
    staff = UserFactory(is_staff=True)
    project_create(name="Demo", creator=staff)
    with pytest.raises(ValidationError) as error:
        project_create(name="Demo", creator=staff)
    assert "demo" in error.value.message_dict["slug"][0]


def test_stale_project_update_is_refused_and_keeps_the_first_save(team):
    project = team.project
    project_update(project=project, actor=team.admin, revision=1, name="First", description="")
    with pytest.raises(ConflictError):
        project_update(project=project, actor=team.lead, revision=1, name="Second", description="")
    project.refresh_from_db()
    assert project.name == "First" and project.revision == 2


def test_membership_lifecycle_is_audited(team):
    newcomer = UserFactory(username="newcomer")
    membership = membership_add(
        project=team.project, username="newcomer", role="annotator", actor=team.admin
    )
    membership_set_role(membership=membership, role="lead", actor=team.admin)
    membership_remove(membership=membership, actor=team.admin)

    assert not Membership.objects.filter(user=newcomer).exists()
    actions = list(
        AuditEvent.objects.filter(target_type="curation.membership")
        .order_by("id")
        .values_list("action", "before", "after")
    )
    assert actions == [
        ("membership.add", None, {"user": "newcomer", "role": "annotator"}),
        (
            "membership.set_role",
            {"user": "newcomer", "role": "annotator"},
            {"user": "newcomer", "role": "lead"},
        ),
        ("membership.remove", {"user": "newcomer", "role": "lead"}, None),
    ]


def test_membership_add_names_the_problem(team):
    with pytest.raises(ValidationError) as error:
        membership_add(project=team.project, username="ghost", role="lead", actor=team.admin)
    assert "ghost" in error.value.message_dict["username"][0]
    with pytest.raises(ValidationError) as error:
        validated(MembershipAddInput, {"username": "outsider", "role": "boss"})
    assert "boss" in error.value.message_dict["role"][0]
    with pytest.raises(ValidationError) as error:
        membership_add(project=team.project, username="lead-user", role="lead", actor=team.admin)
    assert "already a member" in error.value.message_dict["username"][0]


def test_the_last_project_admin_cannot_be_demoted_or_removed(team):
    admin_membership = Membership.objects.get(project=team.project, user=team.admin)
    with pytest.raises(ValidationError):
        membership_set_role(membership=admin_membership, role="lead", actor=team.admin)
    with pytest.raises(ValidationError):
        membership_remove(membership=admin_membership, actor=team.admin)
    admin_membership.refresh_from_db()
    assert admin_membership.role == Role.ADMIN
