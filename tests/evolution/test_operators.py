import pytest
from django.urls import reverse
from django.utils.html import escape

from evolution.models import EvolutionOperator

pytestmark = pytest.mark.django_db


def url(team) -> str:
    return reverse("evolution:operator_list", args=[team.project.slug])


def form(op, **changes) -> dict:
    data = {
        "operator": op.pk,
        "revision": op.revision,
        "name_en": op.name_en,
        "name_zh": op.name_zh,
        "prompt_zh": op.prompt_zh,
        "prompt_en": op.prompt_en,
        "active": "on",
    }
    data.update(changes)
    return data


def test_a_lead_edits_an_operator_prompt(team):
    page = team.client("lead").get(url(team)).content.decode()
    assert "add-constraints" in page and "In-breadth: a new task" in page
    op = EvolutionOperator.objects.get(project=team.project, key="deepen")
    deeper = "Go deeper in {domain}:\n{dialogue}\n\n{instruction}"
    response = team.client("lead").post(url(team), form(op, prompt_en=deeper))
    assert response.status_code == 302
    op.refresh_from_db()
    assert op.prompt_en == deeper and op.revision == 2


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("Rewrite {instruction} for {customer}", "Unknown placeholder(s) {customer}"),
        ("Rewrite the instruction", "must contain {dialogue}, {instruction}"),
        ("Rewrite {instruction", "Unbalanced braces"),
        ("Rewrite {instruction} alone", "The prompt must contain {dialogue}"),
        ("Rewrite {instruction:>1000000000} {dialogue}", "{instruction:&gt;1000000000} is not"),
        ("Rewrite {instruction!r} {dialogue}", "{instruction!r} is not a placeholder"),
        ("Rewrite {instruction.x} {dialogue}", "{instruction.x} is not a placeholder"),
        ("Rewrite {instruction[0]} {dialogue}", "{instruction[0]} is not a placeholder"),
    ],
)
def test_bad_prompts_are_named_and_kept_in_the_form(team, prompt, message):
    team.client("lead").get(url(team))
    op = EvolutionOperator.objects.get(project=team.project, key="deepen")
    response = team.client("lead").post(url(team), form(op, prompt_en=prompt))
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and escape(prompt) in page
    assert EvolutionOperator.objects.get(pk=op.pk).prompt_en == op.prompt_en


def test_a_stale_operator_edit_is_refused(team):
    team.client("lead").get(url(team))
    op = EvolutionOperator.objects.get(project=team.project, key="deepen")
    team.client("admin").post(url(team), form(op, name_en="Deeper"))
    response = team.client("lead").post(url(team), form(op, name_en="Deepest"))
    assert response.status_code == 409
    assert EvolutionOperator.objects.get(pk=op.pk).name_en == "Deeper"
