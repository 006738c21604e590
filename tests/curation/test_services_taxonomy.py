from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from curation.exceptions import ConflictError
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
        data={"weight": "2.5", "name_zh": "租赁"},
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
    taxonomy_term_update(term=scene, data={"weight": "3"}, revision=opened_at, actor=team.lead)
    with pytest.raises(ConflictError):
        taxonomy_term_update(term=scene, data={"weight": "5"}, revision=opened_at, actor=team.admin)
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
        taxonomy_term_update(term=scene, data=data, revision=scene.revision, actor=team.lead)
    assert field in error.value.message_dict
    fresh = Scene.objects.get(pk=scene.pk)
    assert (fresh.weight, fresh.name_en, fresh.revision) == (
        scene.weight,
        scene.name_en,
        scene.revision,
    )
    assert not AuditEvent.objects.filter(action="taxonomy.scene.update").exists()


def test_task_type_requirements_come_one_per_line(team):
    task = taxonomy_term_create(
        project=team.project,
        model=TaskType,
        data={
            "key": "compliance",
            "name_en": "Compliance check",
            "name_zh": "合规检查",
            "weight": "0.5",
            "requirements_en": "Promises the agent must not make\n\nFees mentioned",
            "requirements_zh": ["经纪人不得做出的承诺", "提及的费用"],
        },
        actor=team.lead,
    )
    assert task.requirements_en == ["Promises the agent must not make", "Fees mentioned"]
    assert task.requirements_zh == ["经纪人不得做出的承诺", "提及的费用"]


def test_create_refuses_a_taken_key(team):
    with pytest.raises(ValidationError) as error:
        taxonomy_term_create(
            project=team.project,
            model=Scene,
            data={"key": "renting", "name_en": "Renting", "name_zh": "租房"},
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
