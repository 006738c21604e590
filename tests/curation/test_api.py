import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from curation.models import AuditEvent, Membership, Scene

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def scene_url(team, scene=None) -> str:
    if scene is None:
        return reverse("scene-list", kwargs={"project_slug": team.project.slug})
    return reverse("scene-detail", kwargs={"project_slug": team.project.slug, "pk": scene.pk})


def test_staff_create_projects_others_are_refused(team):
    response = api(team.site_admin).post("/api/projects/", {"name": "Rentals Q3"}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"] == "rentals-q3"
    assert api(team.lead).post("/api/projects/", {"name": "Mine"}, format="json").status_code == 403


def test_project_list_shows_only_my_projects(team):
    slugs = [p["slug"] for p in api(team.annotator).get("/api/projects/").json()["results"]]
    assert slugs == ["beike"]


def test_lead_edits_a_term_with_the_revision_read(team):
    scene = Scene.objects.get(project=team.project, key="selling")
    client = api(team.lead)
    read = client.get(scene_url(team, scene)).json()
    response = client.patch(
        scene_url(team, scene), {"weight": "4", "revision": read["revision"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["weight"] == "4.000"
    assert response.json()["revision"] == read["revision"] + 1


def test_stale_api_edit_is_409_and_loses_nothing(team):
    scene = Scene.objects.get(project=team.project, key="selling")
    revision = scene.revision
    api(team.admin).patch(
        scene_url(team, scene), {"weight": "2", "revision": revision}, format="json"
    )
    response = api(team.lead).patch(
        scene_url(team, scene), {"weight": "9", "revision": revision}, format="json"
    )
    assert response.status_code == 409
    assert "Someone else changed" in response.json()["detail"]
    scene.refresh_from_db()
    assert str(scene.weight) == "2.000"


def test_edit_without_revision_is_refused(team):
    scene = Scene.objects.get(project=team.project, key="selling")
    response = api(team.lead).patch(scene_url(team, scene), {"weight": "2"}, format="json")
    assert response.status_code == 400
    assert "revision" in response.json()


def test_bad_weight_is_a_400_naming_the_field(team):
    scene = Scene.objects.get(project=team.project, key="selling")
    response = api(team.lead).patch(
        scene_url(team, scene), {"weight": "lots", "revision": scene.revision}, format="json"
    )
    assert response.status_code == 400
    assert "weight" in response.json()


def test_ordering_accepts_allow_listed_fields_only(team):
    client = api(team.annotator)
    keys = [t["key"] for t in client.get(scene_url(team) + "?ordering=-key").json()["results"]]
    assert keys == sorted(keys, reverse=True)
    response = client.get(scene_url(team) + "?ordering=project__memberships__user__password")
    assert response.status_code == 400
    assert "project__memberships__user__password" in response.json()["ordering"]


def test_filter_by_active(team):
    scene = Scene.objects.get(project=team.project, key="selling")
    Scene.objects.filter(pk=scene.pk).update(active=False)
    results = api(team.annotator).get(scene_url(team) + "?active=false").json()["results"]
    assert [t["key"] for t in results] == ["selling"]


def test_create_and_delete_a_term(team):
    client = api(team.lead)
    response = client.post(
        scene_url(team),
        {"key": "commercial", "name_en": "Commercial", "name_zh": "商业地产"},
        format="json",
    )
    assert response.status_code == 201
    term = Scene.objects.get(project=team.project, key="commercial")
    assert client.delete(scene_url(team, term)).status_code == 204
    assert not Scene.objects.filter(pk=term.pk).exists()


def test_project_admin_manages_members(team):
    url = reverse("membership-list", kwargs={"project_slug": team.project.slug})
    response = api(team.admin).post(
        url, {"username": "outsider", "role": "annotator"}, format="json"
    )
    assert response.status_code == 201
    membership = Membership.objects.get(project=team.project, user=team.outsider)
    detail = reverse(
        "membership-detail", kwargs={"project_slug": team.project.slug, "pk": membership.pk}
    )
    assert api(team.admin).patch(detail, {"role": "lead"}, format="json").json()["role"] == "lead"
    assert api(team.admin).patch(detail, {"role": "owner"}, format="json").status_code == 400


def test_audit_events_are_listed_for_leads(team):
    scene = Scene.objects.get(project=team.project, key="selling")
    api(team.lead).patch(
        scene_url(team, scene), {"weight": "3", "revision": scene.revision}, format="json"
    )
    url = reverse("auditevent-list", kwargs={"project_slug": team.project.slug})
    events = api(team.lead).get(url + "?action=taxonomy.scene.update").json()["results"]
    assert len(events) == 1
    assert events[0]["actor"] == "lead-user"
    assert events[0]["before"]["weight"] == "1.000" and events[0]["after"]["weight"] == "3.000"
    assert AuditEvent.objects.count() == 1


def test_openapi_schema_and_browsable_api(team):
    client = api(team.lead)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["info"]["title"] == "Dial-insight Studio API"
    assert "/api/projects/{project_slug}/task-types/" in schema["paths"]
    page = client.get("/api/projects/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"<html" in page.content and b"rentals" not in page.content
    assert b"beike" in page.content


# --- the scenes a role works in (issue 13) ------------------------------------------------------


def role_url(team, role=None) -> str:
    if role is None:
        return reverse("servicerole-list", kwargs={"project_slug": team.project.slug})
    return reverse("servicerole-detail", kwargs={"project_slug": team.project.slug, "pk": role.pk})


def test_roles_show_their_scenes_as_keys_and_a_lead_edits_them(team, django_assert_max_num_queries):
    from curation.models import ServiceRole

    client = api(team.lead)
    with django_assert_max_num_queries(6):  # one query for every role's scenes, not one each
        listed = client.get(role_url(team)).json()["results"]
    scenes = {r["key"]: r["scenes"] for r in listed}
    assert sorted(scenes["real-estate-agent"]) == ["buying", "renting", "selling"]
    assert scenes["home-designer"] == ["home-improvement"]
    assert "scenes" not in client.get(scene_url(team)).json()["results"][0]
    role = ServiceRole.objects.get(project=team.project, key="home-designer")
    read = client.get(role_url(team, role)).json()
    response = client.patch(
        role_url(team, role),
        {"scenes": ["home-improvement", "buying"], "revision": read["revision"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert sorted(response.json()["scenes"]) == ["buying", "home-improvement"]
    assert response.json()["revision"] == read["revision"] + 1
    event = AuditEvent.objects.get(action="taxonomy.servicerole.update")
    assert event.before["scenes"] == ["home-improvement"]
    assert event.after["scenes"] == ["buying", "home-improvement"]
    # A form post names each scene in a field of its own.
    again = client.patch(
        role_url(team, role),
        {"scenes": ["selling", "renting"], "revision": read["revision"] + 1},
        format="multipart",
    )
    assert again.status_code == 200 and sorted(again.json()["scenes"]) == ["renting", "selling"]


def test_a_wrong_scene_key_is_a_400_naming_scenes_and_a_stale_one_a_409(team):
    from curation.models import ServiceRole

    client = api(team.lead)
    role = ServiceRole.objects.get(project=team.project, key="lease-asset-manager")
    bad = client.patch(
        role_url(team, role), {"scenes": ["renting", "hotel"], "revision": role.revision}, "json"
    )
    assert bad.status_code == 400 and list(bad.json()) == ["scenes"]
    assert "hotel" in bad.json()["scenes"][0]
    api(team.admin).patch(role_url(team, role), {"weight": "2", "revision": role.revision}, "json")
    stale = client.patch(
        role_url(team, role), {"scenes": ["buying"], "revision": role.revision}, format="json"
    )
    assert stale.status_code == 409 and "Someone else changed" in stale.json()["detail"]
    assert list(role.scenes.values_list("key", flat=True)) == ["renting"]
    created = client.post(
        role_url(team),
        {"key": "concierge", "name_en": "Concierge", "name_zh": "礼宾", "scenes": ["renting"]},
        format="json",
    )
    assert created.status_code == 201 and created.json()["scenes"] == ["renting"]
    refused = client.post(
        role_url(team),
        {"key": "porter", "name_en": "Porter", "name_zh": "行李员", "scenes": ["lobby"]},
        format="json",
    )
    assert refused.status_code == 400 and "scenes" in refused.json()
    assert not ServiceRole.objects.filter(project=team.project, key="porter").exists()
