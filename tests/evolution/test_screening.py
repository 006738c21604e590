import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from curation.inputs import validated
from curation.models import TaskType
from evolution.inputs import InstructionScreenInput
from evolution.models import Instruction
from evolution.services.instructions import instruction_screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(team):
    task = TaskType.objects.get(project=team.project, key="reasoning")
    seed = Instruction.objects.create(
        project=team.project, task_type=task, text="请预测客户是否会流失。", state="kept"
    )
    child = Instruction.objects.create(
        project=team.project,
        task_type=task,
        text="请分三步预测客户是否会流失。",
        state="evolved",
        origin="evolved",
        parent=seed,
        root=seed,
        generation=1,
        operator="reasoning-steps",
    )
    grandchild = Instruction.objects.create(
        project=team.project,
        task_type=task,
        text="抱歉",
        state="eliminated",
        origin="evolved",
        parent=child,
        root=seed,
        generation=2,
        operator="deepen",
        reason="the model refused",
    )
    return seed, child, grandchild


def test_accept_reject_and_rewrite(team, family):
    _seed, child, _grandchild = family
    # A rejection needs its reason: the input refuses one without, naming the field.
    with pytest.raises(ValidationError) as error:
        validated(InstructionScreenInput, {"revision": 1, "decision": "reject", "reason": " "})
    assert list(error.value.message_dict) == ["reason"]
    rejected = instruction_screen(
        instruction=child, revision=1, actor=team.annotator, decision="reject", reason="偏题"
    )
    assert (rejected.state, rejected.reason) == ("rejected", "偏题")
    rewritten = instruction_screen(
        instruction=rejected,
        revision=2,
        actor=team.lead,
        decision="rewrite",
        text="请分三步预测客户的流失风险，并给出依据。",
    )
    assert rewritten.state == "accepted" and rewritten.reason == ""
    assert rewritten.revisions.get().text == "请分三步预测客户是否会流失。"
    assert rewritten.revisions.get().author == team.lead


def test_the_screening_page_shows_parent_child_and_the_diff(team, family):
    page = (
        team.client("annotator")
        .get(reverse("evolution:screening_queue", args=[team.project.slug]))
        .content.decode()
    )
    assert "请预测客户是否会流失。" in page
    assert "<ins>分三步</ins>" in page
    assert "1 left to screen" in page
    assert "抱歉" not in page  # eliminated ones are not screened


def test_screening_form_and_stale_save(team, family):
    _seed, child, _ = family
    url = reverse("evolution:screening_act", args=[team.project.slug, child.pk])
    client = team.client("annotator")
    ok = client.post(url, {"accept": "", "revision": 1}, HTTP_HX_REQUEST="true")
    assert "state-accepted" in ok.content.decode()
    stale = client.post(url, {"reject": "", "reason": "x", "revision": 1}, HTTP_HX_REQUEST="true")
    assert "Someone else changed this instruction" in stale.content.decode()
    assert Instruction.objects.get(pk=child.pk).state == "accepted"


def test_lineage_shows_the_tree_with_states(team, family):
    seed, child, grandchild = family
    page = (
        team.client("annotator")
        .get(reverse("evolution:instruction_lineage", args=[team.project.slug, grandchild.pk]))
        .content.decode()
    )
    positions = [page.index(t) for t in (seed.text, child.text, "the model refused")]
    assert positions == sorted(positions)
    assert page.count("<ul>") >= 2  # child nested under seed, grandchild under child
