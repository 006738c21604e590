"""A project's domain and training system prompt, and an endpoint's context window: set on
the screen and through the API, wrong values refused by name, stale saves refused."""

import pytest
from rest_framework.test import APIClient

from curation.models import ModelEndpoint, Project

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_project_admin_sets_the_domain_and_the_system_prompt_on_the_screen(team):
    url = f"/p/{team.project.slug}/settings/"
    response = team.client("admin").post(
        url,
        {
            "revision": team.project.revision,
            "name": team.project.name,
            "description": "",
            "domain_zh": "酒店预订",
            "domain_en": "hotel booking",
            "training_system_prompt": "你是酒店预订客服的质检助手。",
        },
    )
    assert response.status_code == 302
    project = Project.objects.get(pk=team.project.pk)
    assert (project.domain("zh"), project.domain("en")) == ("酒店预订", "hotel booking")
    assert project.training_system_prompt == "你是酒店预订客服的质检助手。"
    # A lead may not: project settings belong to its admins.
    assert team.client("lead").post(url, {"revision": project.revision}).status_code == 403


def test_an_unset_domain_reads_as_a_neutral_phrase(team):
    assert team.project.domain("zh") == "客户服务"
    assert team.project.domain("en") == "customer service"


def test_the_api_sets_the_domain_and_refuses_a_stale_revision(team):
    url = f"/api/projects/{team.project.slug}/"
    body = {"name": "Hotels", "domain_zh": "酒店预订", "revision": team.project.revision}
    response = api(team.admin).patch(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["domain_zh"] == "酒店预订"
    assert api(team.admin).patch(url, body, format="json").status_code == 409
    too_long = {**body, "revision": response.json()["revision"], "domain_en": "x" * 101}
    refused = api(team.admin).patch(url, too_long, format="json")
    assert refused.status_code == 400 and "domain_en" in refused.json()


def test_an_endpoint_declares_its_context_window_and_a_bad_one_is_named(team):
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="qwen", base_url="http://127.0.0.1:9/v1", model="qwen"
    )
    url = f"/api/projects/{team.project.slug}/endpoints/{endpoint.pk}/"
    for bad in ("abc", 10, -5):
        response = api(team.admin).patch(
            url, {"context_tokens": bad, "revision": endpoint.revision}, format="json"
        )
        assert response.status_code == 400 and "context_tokens" in response.json(), bad
    ok = api(team.admin).patch(
        url, {"context_tokens": 32768, "revision": endpoint.revision}, format="json"
    )
    assert ok.status_code == 200, ok.content
    assert ModelEndpoint.objects.get(pk=endpoint.pk).context_tokens == 32768
    page = team.client("admin").get(f"/p/{team.project.slug}/endpoints/{endpoint.pk}/")
    assert 'name="context_tokens"' in page.content.decode()
    assert 'value="32768"' in page.content.decode()
