from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from curation.exceptions import ConflictError
from curation.inputs import (
    ServiceRoleCreateInput,
    ServiceRoleUpdateInput,
    TaskTypeCreateInput,
    TermUpdateInput,
    validated,
)
from curation.models import AuditEvent, Scene, TaskType
from curation.services.taxonomy import (
    taxonomy_term_create,
    taxonomy_term_delete,
    taxonomy_term_update,
)
from tests.factories import DialogueFactory

pytestmark = pytest.mark.django_db


def test_update_changes_the_term_and_records_before_and_after(team):
    scene = Scene.objects.get(project=team.project, key="renting")
    taxonomy_term_update(
        term=scene,
        changes={"weight": Decimal("2.5"), "name_zh": "租赁"},
        revision=scene.revision,
        actor=team.lead,
    )
    scene.refresh_from_db()
    assert scene.weight == Decimal("2.500") and scene.name_zh == "租赁"
    event = AuditEvent.objects.get(action="taxonomy.scene.update")
    assert event.actor == team.lead
    assert event.before["weight"] == "1.000" and event.after["weight"] == "2.500"
    assert event.before["name_zh"] == "租房" and event.after["name_zh"] == "租赁"


def test_second_of_two_concurrent_edits_is_refused(team):
    scene = Scene.objects.get(project=team.project, key="renting")
    opened_at = scene.revision
    taxonomy_term_update(term=scene, changes={"weight": 3}, revision=opened_at, actor=team.lead)
    with pytest.raises(ConflictError):
        taxonomy_term_update(
            term=scene, changes={"weight": 5}, revision=opened_at, actor=team.admin
        )
    scene.refresh_from_db()
    assert scene.weight == Decimal("3.000")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"weight": "-1"}, "weight"),
        ({"weight": "heavy"}, "weight"),
        ({"weight": "NaN"}, "weight"),
        ({"name_en": "  "}, "name_en"),
        ({"key": "!!!"}, "key"),
        ({"position": "first"}, "position"),
        ({"colour": "red"}, "__all__"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(team, data, field):
    scene = Scene.objects.get(project=team.project, key="renting")
    with pytest.raises(ValidationError) as error:
        validated(TermUpdateInput, {**data, "revision": scene.revision}, project=team.project)
    assert field in error.value.message_dict
    fresh = Scene.objects.get(pk=scene.pk)
    assert (fresh.weight, fresh.name_en, fresh.revision) == (
        scene.weight,
        scene.name_en,
        scene.revision,
    )
    assert not AuditEvent.objects.filter(action="taxonomy.scene.update").exists()


def test_task_type_requirements_come_one_per_line(team):
    values = validated(
        TaskTypeCreateInput,
        {
            "key": "compliance",
            "name_en": "Compliance check",
            "name_zh": "合规检查",
            "weight": "0.5",
            "requirements_en": "Promises the agent must not make\n\nFees mentioned",
            "requirements_zh": ["经纪人不得做出的承诺", "提及的费用"],
        },
        project=team.project,
    )
    task = taxonomy_term_create(
        project=team.project, model=TaskType, values=values, actor=team.lead
    )
    assert task.requirements_en == ["Promises the agent must not make", "Fees mentioned"]
    assert task.requirements_zh == ["经纪人不得做出的承诺", "提及的费用"]


def test_create_refuses_a_taken_key(team):
    with pytest.raises(ValidationError) as error:
        taxonomy_term_create(
            project=team.project,
            model=Scene,
            values={"key": "renting", "name_en": "Renting", "name_zh": "租房"},
            actor=team.lead,
        )
    assert "renting" in error.value.message_dict["key"][0]


def test_a_term_in_use_cannot_be_deleted_only_deactivated(team):
    scene = Scene.objects.get(project=team.project, key="buying")
    DialogueFactory(project=team.project, scene=scene)
    with pytest.raises(ValidationError):
        taxonomy_term_delete(term=scene, actor=team.lead)
    assert Scene.objects.filter(pk=scene.pk).exists()
    assert not AuditEvent.objects.filter(action="taxonomy.scene.delete").exists()


def test_unused_term_is_deleted_with_an_audit_record(team):
    scene = Scene.objects.get(project=team.project, key="home-improvement")
    pk = scene.pk
    taxonomy_term_delete(term=scene, actor=team.lead)
    assert not Scene.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(action="taxonomy.scene.delete")
    assert event.target_id == str(pk) and event.before["key"] == "home-improvement"


# --- the scenes a role works in (issue 13) ------------------------------------------------------


def role_scenes(role) -> list[str]:
    return sorted(role.scenes.values_list("key", flat=True))


def test_a_roles_scenes_are_edited_by_key_or_id_and_audited_before_and_after(team):
    from curation.models import ServiceRole

    role = ServiceRole.objects.get(project=team.project, key="rental-cloud-manager")
    assert role_scenes(role) == ["renting"]  # as the paper pairs them
    selling = Scene.objects.get(project=team.project, key="selling")
    changes = validated(
        ServiceRoleUpdateInput,
        {"scenes": ["renting", str(selling.pk), "renting"], "weight": "2", "revision": 1},
        project=team.project,
    )
    taxonomy_term_update(
        term=role, revision=changes.pop("revision"), changes=changes, actor=team.lead
    )
    role.refresh_from_db()
    assert role_scenes(role) == ["renting", "selling"] and role.revision == 2
    event = AuditEvent.objects.get(action="taxonomy.servicerole.update")
    assert event.before["scenes"] == ["renting"]
    assert event.after["scenes"] == ["renting", "selling"]
    assert event.after["weight"] == "2.000"
    # An edit that leaves the scenes out keeps them; an empty list clears them.
    taxonomy_term_update(term=role, changes={"weight": 3}, revision=2, actor=team.lead)
    assert role_scenes(role) == ["renting", "selling"]
    taxonomy_term_update(term=role, changes={"scenes": []}, revision=3, actor=team.lead)
    assert role_scenes(role) == []
    assert ServiceRole.objects.get(pk=role.pk).revision == 4


def test_a_role_takes_only_its_projects_scenes(team):
    from curation.models import ServiceRole
    from curation.services.taxonomy import taxonomy_seed_project

    elsewhere = team.outsider.memberships.get().project
    taxonomy_seed_project(project=elsewhere)
    foreign = Scene.objects.get(project=elsewhere, key="selling")
    role = ServiceRole.objects.get(project=team.project, key="home-designer")

    def read(scenes):
        return validated(
            ServiceRoleUpdateInput, {"scenes": scenes, "revision": 1}, project=team.project
        )

    with pytest.raises(ValidationError) as error:
        read(["renting", "moon-base"])
    assert "“moon-base”" in error.value.message_dict["scenes"][0]
    for scenes in ([str(foreign.pk)], ["selling", foreign.pk], [{"key": "renting"}], 7):
        with pytest.raises(ValidationError) as error:
            read(scenes)
        assert list(error.value.message_dict) == ["scenes"], scenes
    # The service, handed another project's scene row, refuses it too.
    with pytest.raises(ValidationError) as error:
        taxonomy_term_update(
            term=role, changes={"scenes": [foreign]}, revision=role.revision, actor=team.lead
        )
    assert list(error.value.message_dict) == ["scenes"]
    fresh = ServiceRole.objects.get(pk=role.pk)
    assert role_scenes(fresh) == ["home-improvement"] and fresh.revision == role.revision
    assert not AuditEvent.objects.filter(action="taxonomy.servicerole.update").exists()
    # Only roles have scenes.
    scene = Scene.objects.get(project=team.project, key="renting")
    with pytest.raises(ValidationError) as error:
        validated(
            TermUpdateInput,
            {"scenes": ["renting"], "revision": scene.revision},
            project=team.project,
        )
    assert "__all__" in error.value.message_dict


def test_a_stale_role_edit_changes_no_scene(team):
    from curation.models import ServiceRole

    role = ServiceRole.objects.get(project=team.project, key="home-advisor")
    opened = role.revision
    taxonomy_term_update(
        term=role, changes={"name_en": "Advisor"}, revision=opened, actor=team.admin
    )
    buying = Scene.objects.get(project=team.project, key="buying")
    with pytest.raises(ConflictError):
        taxonomy_term_update(
            term=role, changes={"scenes": [buying]}, revision=opened, actor=team.lead
        )
    assert role_scenes(role) == ["home-improvement"]


def test_a_new_role_starts_in_the_scenes_given_and_a_new_scene_with_no_role(team):
    from curation.models import ServiceRole

    values = validated(
        ServiceRoleCreateInput,
        {"key": "mover", "name_en": "Mover", "name_zh": "搬家师傅", "scenes": "renting, buying"},
        project=team.project,
    )
    role = taxonomy_term_create(
        project=team.project, model=ServiceRole, values=values, actor=team.lead
    )
    assert role_scenes(role) == ["buying", "renting"]
    event = AuditEvent.objects.get(action="taxonomy.servicerole.create")
    assert event.after["scenes"] == ["buying", "renting"]
    scene = taxonomy_term_create(
        project=team.project,
        model=Scene,
        values={"key": "storage", "name_en": "Storage", "name_zh": "仓储"},
        actor=team.lead,
    )
    assert not scene.roles.exists()
