import pytest
from django.urls import reverse

from curation.models import AuditEvent, Membership, Project, Scene
from tests.factories import DialogueFactory

pytestmark = pytest.mark.django_db


def edit_url(team, scene) -> str:
    return reverse("curation:taxonomy_term_edit", args=[team.project.slug, "scenes", scene.pk])


def form(scene, **changes) -> dict:
    data = {
        "key": scene.key,
        "name_en": scene.name_en,
        "name_zh": scene.name_zh,
        "weight": str(scene.weight),
        "position": str(scene.position),
        "active": "on",
        "revision": str(scene.revision),
    }
    data.update(changes)
    return data


def test_taxonomy_page_shows_the_papers_terms_in_both_languages(team):
    page = team.client("annotator").get(reverse("curation:taxonomy", args=[team.project.slug]))
    text = page.content.decode()
    for expected in (
        "Buying a home",
        "买房",
        "Smart-badge recordings",
        "企业微信群消息",
        "Rental cloud manager",
        "Multi-task integration",
        "Profanity",
    ):
        assert expected in text
    assert "/edit/" not in text  # annotators get no edit links


def test_htmx_edit_swaps_the_row_and_saves(team):
    scene = Scene.objects.get(project=team.project, key="renting")
    client = team.client("lead")
    editor = client.get(edit_url(team, scene), HTTP_HX_REQUEST="true")
    assert editor.status_code == 200
    assert editor.content.decode().lstrip().startswith('<tr id="term-scenes-')
    response = client.post(edit_url(team, scene), form(scene, weight="2.5"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    row = response.content.decode()
    assert ">2.5</td>" in row and "<html" not in row
    scene.refresh_from_db()
    assert str(scene.weight) == "2.500"


def test_edit_works_without_javascript(team):
    scene = Scene.objects.get(project=team.project, key="renting")
    client = team.client("lead")
    assert b"<html" in client.get(edit_url(team, scene)).content
    response = client.post(edit_url(team, scene), form(scene, name_en="Renting out"))
    assert response.status_code == 302
    assert Scene.objects.get(pk=scene.pk).name_en == "Renting out"


def test_invalid_edit_shows_the_error_in_place_and_keeps_the_input(team):
    scene = Scene.objects.get(project=team.project, key="renting")
    response = team.client("lead").post(edit_url(team, scene), form(scene, weight="heavy"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "A weight is a number from 0 to 99999." in text
    assert 'value="heavy"' in text
    assert Scene.objects.get(pk=scene.pk).weight == scene.weight


def test_stale_edit_is_refused_with_a_clear_message(team):
    scene = Scene.objects.get(project=team.project, key="renting")
    opened = form(scene)
    team.client("admin").post(edit_url(team, scene), form(scene, weight="3"))
    response = team.client("lead").post(edit_url(team, scene), {**opened, "weight": "7"})
    assert response.status_code == 409
    assert "Someone else changed" in response.content.decode()
    assert str(Scene.objects.get(pk=scene.pk).weight) == "3.000"


def test_site_staff_create_a_project_from_the_project_list(team):
    client = team.client("site_admin")
    response = client.post(reverse("curation:project_create"), {"name": "Shanghai rentals"})
    assert response.status_code == 302
    project = Project.objects.get(slug="shanghai-rentals")
    assert response.url == reverse("curation:project_detail", args=[project.slug])
    assert project.scenes.count() == 4


def test_members_cannot_create_projects(team):
    response = team.client("admin").post(reverse("curation:project_create"), {"name": "X"})
    assert response.status_code == 403
    assert not Project.objects.filter(name="X").exists()


def test_project_admin_adds_a_member_and_bad_username_is_named(team):
    client = team.client("admin")
    url = reverse("curation:member_add", args=[team.project.slug])
    bad = client.post(url, {"username": "nobody", "role": "annotator"})
    assert bad.status_code == 400 and "nobody" in bad.content.decode()
    assert client.post(url, {"username": "outsider", "role": "lead"}).status_code == 302
    assert Membership.objects.get(project=team.project, user=team.outsider).role == "lead"


def test_dialogue_text_is_escaped(team):
    dialogue = DialogueFactory(
        project=team.project,
        turns=[
            {"speaker": "客户", "role": "customer", "text": "<script>alert(1)</script>"},
            {"speaker": "<img src=x onerror=alert(2)>", "role": "agent", "text": "好的"},
        ],
    )
    page = team.client("annotator").get(
        reverse("curation:dialogue_detail", args=[team.project.slug, dialogue.pk])
    )
    text = page.content.decode()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x" not in text


def test_audit_log_screen_lists_changes(team):
    scene = Scene.objects.get(project=team.project, key="renting")
    team.client("lead").post(edit_url(team, scene), form(scene, weight="2"))
    page = team.client("lead").get(reverse("curation:audit_log", args=[team.project.slug]))
    assert "taxonomy.scene.update" in page.content.decode()
    assert AuditEvent.objects.filter(project=team.project).count() == 1


# --- the scenes a role works in (issue 13) ------------------------------------------------------


def role_form(role, scene_ids, **changes) -> dict:
    data = {
        "key": role.key,
        "name_en": role.name_en,
        "name_zh": role.name_zh,
        "weight": str(role.weight),
        "position": str(role.position),
        "active": "on",
        "revision": str(role.revision),
        "scenes": [str(pk) for pk in scene_ids],
    }
    data.update(changes)
    return data


def test_the_taxonomy_screen_shows_roles_with_their_scenes_and_scenes_without_roles(
    team, django_assert_max_num_queries
):
    from curation.models import ServiceRole

    client = team.client("lead")
    added = client.post(
        reverse("curation:taxonomy_term_add", args=[team.project.slug, "scenes"]),
        {"key": "storage", "name_en": "Storage", "name_zh": "仓储", "weight": "1", "position": "9"},
        follow=True,
    )
    assert "No role works in this scene yet" in added.content.decode()
    with django_assert_max_num_queries(12):  # roles and scenes prefetched, not a query a row
        page = client.get(reverse("curation:taxonomy", args=[team.project.slug]))
    text = page.content.decode()
    assert "Scenes it works in" in text and "Roles working in it" in text
    designer = ServiceRole.objects.get(project=team.project, key="home-designer")
    row = text.split(f'id="term-roles-{designer.pk}"')[1].split("</tr>")[0]
    assert "Home improvement" in row and "Renting" not in row
    storage = Scene.objects.get(project=team.project, key="storage")
    row = text.split(f'id="term-scenes-{storage.pk}"')[1].split("</tr>")[0]
    assert "no role works in this scene yet" in row
    renting = Scene.objects.get(project=team.project, key="renting")
    row = text.split(f'id="term-scenes-{renting.pk}"')[1].split("</tr>")[0]
    assert "Rental cloud manager" in row and "no role works" not in row


def test_a_lead_ticks_a_roles_scenes_on_the_screen(team):
    from curation.models import ServiceRole

    role = ServiceRole.objects.get(project=team.project, key="home-advisor")
    url = reverse("curation:taxonomy_term_edit", args=[team.project.slug, "roles", role.pk])
    client = team.client("lead")
    editor = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    improvement = Scene.objects.get(project=team.project, key="home-improvement")
    buying = Scene.objects.get(project=team.project, key="buying")
    assert f'name="scenes" value="{improvement.pk}" checked' in editor
    assert f'name="scenes" value="{buying.pk}" >' in editor  # offered, not ticked
    response = client.post(url, role_form(role, [buying.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Buying a home" in response.content.decode()  # the row shows the new scene
    assert sorted(role.scenes.values_list("key", flat=True)) == ["buying"]
    event = AuditEvent.objects.get(action="taxonomy.servicerole.update")
    assert (event.before["scenes"], event.after["scenes"]) == (["home-improvement"], ["buying"])


def test_a_wrong_or_stale_role_edit_on_the_screen_is_refused(team):
    from curation.models import ServiceRole

    role = ServiceRole.objects.get(project=team.project, key="home-advisor")
    url = reverse("curation:taxonomy_term_edit", args=[team.project.slug, "roles", role.pk])
    buying = Scene.objects.get(project=team.project, key="buying")
    bad = team.client("lead").post(url, role_form(role, [buying.pk, 999999]))
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Not scenes of this project: “999999”." in text
    assert f'name="scenes" value="{buying.pk}" checked' in text  # the input is kept
    opened = role_form(role, [buying.pk])
    team.client("admin").post(url, role_form(role, [], weight="2"))
    stale = team.client("lead").post(url, opened)
    assert stale.status_code == 409 and "Someone else changed" in stale.content.decode()
    assert list(role.scenes.all()) == []  # the admin's edit stands


def test_a_new_role_is_added_with_its_scenes(team):
    from curation.models import ServiceRole

    renting = Scene.objects.get(project=team.project, key="renting")
    url = reverse("curation:taxonomy_term_add", args=[team.project.slug, "roles"])
    client = team.client("lead")
    form_page = client.get(url).content.decode()
    assert "Scenes this role works in" in form_page and f'value="{renting.pk}"' in form_page
    response = client.post(
        url,
        {"key": "mover", "name_en": "Mover", "name_zh": "搬家师傅", "weight": "1",
         "position": "9", "active": "on", "scenes": [str(renting.pk)]},
    )  # fmt: skip
    assert response.status_code == 302
    role = ServiceRole.objects.get(project=team.project, key="mover")
    assert list(role.scenes.values_list("key", flat=True)) == ["renting"]
    scene_form = client.get(
        reverse("curation:taxonomy_term_add", args=[team.project.slug, "scenes"])
    ).content.decode()
    assert "starts with no role" in scene_form and 'name="scenes"' not in scene_form
