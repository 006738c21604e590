import pytest
from rest_framework.test import APIClient

from curation.models import TaskType
from evolution.models import Instruction

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_list_review_and_lineage(team):
    task = TaskType.objects.get(project=team.project, key="reasoning")
    seed = Instruction.objects.create(project=team.project, task_type=task, text="预测客户流失。")
    base = f"/api/projects/{team.project.slug}/instructions/"
    listed = api(team.annotator).get(base, {"state": "draft"}).json()
    assert [i["text"] for i in listed["results"]] == ["预测客户流失。"]
    reviewed = api(team.annotator).post(
        f"{base}{seed.pk}/review/", {"state": "kept", "revision": 1}, format="json"
    )
    assert reviewed.status_code == 200 and reviewed.json()["state"] == "kept"
    stale = api(team.lead).post(
        f"{base}{seed.pk}/review/", {"state": "dropped", "revision": 1}, format="json"
    )
    assert stale.status_code == 409
    assert (
        api(team.annotator)
        .post(f"{base}{seed.pk}/review/", {"state": "kept"}, format="json")
        .status_code
        == 400
    )
    tree = api(team.annotator).get(f"{base}{seed.pk}/lineage/").json()
    assert tree["text"] == "预测客户流失。" and tree["children"] == []


def test_jobs_need_a_lead_and_valid_input(team):
    base = f"/api/projects/{team.project.slug}/instructions/"
    assert api(team.annotator).post(f"{base}seed/", {}, format="json").status_code == 403
    response = api(team.lead).post(f"{base}evolve/", {"rounds": 2}, format="json")
    assert response.status_code == 400 and "endpoint" in response.json()
