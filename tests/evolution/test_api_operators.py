import pytest
from rest_framework.test import APIClient

from curation.models import AuditEvent
from evolution.models import EvolutionOperator
from evolution.services.evolve import operators_ensure

pytestmark = pytest.mark.django_db

DEFAULT_KEYS = {
    "add-constraints",
    "deepen",
    "concretize",
    "reasoning-steps",
    "complicate-context",
    "breadth",
}


DEEPER = "Go deeper, as this {domain} dialogue allows:\n{dialogue}\n\n{instruction}"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def base(team) -> str:
    return f"/api/projects/{team.project.slug}/operators/"


def deepen(team) -> EvolutionOperator:
    operators_ensure(project=team.project)
    return EvolutionOperator.objects.get(project=team.project, key="deepen")


def test_a_lead_lists_the_default_operators(team):
    assert not EvolutionOperator.objects.filter(project=team.project).exists()
    response = api(team.lead).get(base(team))
    assert response.status_code == 200
    results = response.json()["results"]
    assert {op["key"] for op in results} == DEFAULT_KEYS
    assert set(results[0]) == {
        "id",
        "key",
        "kind",
        "name_en",
        "name_zh",
        "prompt_zh",
        "prompt_en",
        "active",
        "revision",
    }
    op = deepen(team)
    detail = api(team.lead).get(f"{base(team)}{op.pk}/").json()
    assert detail["key"] == "deepen" and detail["revision"] == op.revision


def test_a_lead_edits_a_prompt_with_the_revision_read(team):
    op = deepen(team)
    read = api(team.lead).get(f"{base(team)}{op.pk}/").json()
    response = api(team.lead).patch(
        f"{base(team)}{op.pk}/",
        {"prompt_en": DEEPER, "revision": read["revision"]},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["prompt_en"] == DEEPER
    assert body["revision"] == read["revision"] + 1
    op.refresh_from_db()
    assert op.prompt_en == DEEPER and op.revision == read["revision"] + 1
    event = AuditEvent.objects.get(project=team.project, action="operator.update")
    assert event.actor == team.lead and event.target_id == str(op.pk)
    assert event.after["prompt_en"] == DEEPER


def test_key_and_kind_cannot_be_changed(team):
    op = deepen(team)
    response = api(team.lead).patch(
        f"{base(team)}{op.pk}/",
        {"key": "renamed", "kind": "breadth", "name_en": "Deeper", "revision": op.revision},
        format="json",
    )
    assert response.status_code == 200
    op.refresh_from_db()
    assert (op.key, op.kind, op.name_en) == ("deepen", "depth", "Deeper")


def test_a_stale_revision_gets_409_and_changes_nothing(team):
    op = deepen(team)
    url = f"{base(team)}{op.pk}/"
    first = api(team.admin).patch(url, {"name_en": "Deeper", "revision": op.revision}, "json")
    assert first.status_code == 200
    stale = api(team.lead).patch(
        url, {"prompt_en": "Stale {instruction}\n{dialogue}", "revision": op.revision}, "json"
    )
    assert stale.status_code == 409 and "detail" in stale.json()
    fresh = EvolutionOperator.objects.get(pk=op.pk)
    assert fresh.prompt_en == op.prompt_en and fresh.name_en == "Deeper"
    assert fresh.revision == op.revision + 1
    assert AuditEvent.objects.filter(action="operator.update").count() == 1


def test_an_edit_without_a_revision_is_refused(team):
    op = deepen(team)
    response = api(team.lead).patch(f"{base(team)}{op.pk}/", {"name_en": "X"}, format="json")
    assert response.status_code == 400 and "revision" in response.json()


@pytest.mark.parametrize(
    ("field", "prompt", "message"),
    [
        ("prompt_en", "Rewrite {instruction} for {foo}\n{dialogue}", "{foo}"),
        ("prompt_zh", "改写这条指令", "{instruction}"),
        ("prompt_en", "Rewrite the instruction", "{instruction}"),
        # Every operator shows the dialogue: one without it evolves blind.
        ("prompt_zh", "改写这条指令：{instruction}", "{dialogue}"),
        ("prompt_en", "Rewrite {instruction} twice: {instruction}\n{dialogue}", "only once"),
        # Only a bare name is a placeholder: no format spec (a 1 GB padding), conversion,
        # attribute or index, which str.format would have run.
        ("prompt_en", "Rewrite {instruction:>1000000000}\n{dialogue}", "{instruction:>1000000000}"),
        ("prompt_en", "Rewrite {instruction!r}\n{dialogue}", "{instruction!r}"),
        ("prompt_zh", "改写 {instruction.x}\n{dialogue}", "{instruction.x}"),
        ("prompt_zh", "改写 {instruction[0]}\n{dialogue}", "{instruction[0]}"),
    ],
)
def test_bad_prompts_get_400_naming_the_field(team, field, prompt, message):
    op = deepen(team)
    response = api(team.lead).patch(
        f"{base(team)}{op.pk}/", {field: prompt, "revision": op.revision}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    fresh = EvolutionOperator.objects.get(pk=op.pk)
    assert getattr(fresh, field) == getattr(op, field) and fresh.revision == op.revision
    assert not AuditEvent.objects.filter(action="operator.update").exists()


def test_annotators_get_403(team):
    op = deepen(team)
    client = api(team.annotator)
    assert client.get(base(team)).status_code == 403
    assert client.get(f"{base(team)}{op.pk}/").status_code == 403
    response = client.patch(
        f"{base(team)}{op.pk}/", {"name_en": "X", "revision": op.revision}, format="json"
    )
    assert response.status_code == 403
    assert EvolutionOperator.objects.get(pk=op.pk).name_en == op.name_en


def test_outsiders_get_404(team):
    op = deepen(team)
    client = api(team.outsider)
    assert client.get(base(team)).status_code == 404
    assert client.get(f"{base(team)}{op.pk}/").status_code == 404
    response = client.patch(
        f"{base(team)}{op.pk}/", {"name_en": "X", "revision": op.revision}, format="json"
    )
    assert response.status_code == 404


def test_no_create_or_delete(team):
    op = deepen(team)
    client = api(team.lead)
    assert client.post(base(team), {"key": "new"}, format="json").status_code == 405
    assert client.delete(f"{base(team)}{op.pk}/").status_code == 405
    assert EvolutionOperator.objects.filter(pk=op.pk).exists()
