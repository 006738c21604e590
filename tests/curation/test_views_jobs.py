import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from curation.models import Job, JobItem, ModelEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_queue(redis_flushed):
    """Jobs started here are sent to Redis, where no worker listens: flushed after each test."""


def make_job(team, status=Job.Status.RUNNING, done=0, failed=0, total=4) -> Job:
    job = Job.objects.create(
        project=team.project,
        kind="llm.chat",
        status=status,
        total=total,
        done_count=done,
        failed_count=failed,
        created_by=team.lead,
        started_at=timezone.now(),
    )
    for seq in range(total):
        state = JobItem.Status.DONE if seq < done else JobItem.Status.PENDING
        if done <= seq < done + failed:
            state = JobItem.Status.FAILED
        JobItem.objects.create(
            job=job,
            seq=seq,
            status=state,
            error="the provider answered HTTP 500, 5 attempts" if state == "failed" else "",
        )
    return job


def job_url(team, job) -> str:
    return reverse("curation:job_detail", args=[team.project.slug, job.pk])


def test_a_running_job_page_polls_and_shows_progress(team):
    job = make_job(team, done=1, failed=1)
    page = team.client("annotator").get(job_url(team, job)).content.decode()
    assert 'hx-trigger="every 1s"' in page and f'hx-get="{job_url(team, job)}"' in page
    assert '<progress max="4" value="2"' in page and "50%" in page
    assert "the provider answered HTTP 500, 5 attempts" in page
    part = team.client("annotator").get(job_url(team, job), HTTP_HX_REQUEST="true")
    assert part.status_code == 200 and "<html" not in part.content.decode()


def test_a_finished_job_stops_the_polling(team):
    job = make_job(team, status=Job.Status.DONE, done=4)
    part = team.client("annotator").get(job_url(team, job), HTTP_HX_REQUEST="true")
    assert part.status_code == 286
    assert "hx-trigger" not in part.content.decode()


def test_job_actions_are_one_form_with_named_buttons(team):
    job = make_job(team)
    url = reverse("curation:job_action", args=[team.project.slug, job.pk])
    page = team.client("lead").get(job_url(team, job)).content.decode()
    assert 'name="action" value="pause"' in page and 'name="action" value="cancel"' in page
    assert team.client("lead").post(url, {"action": "pause"}).status_code == 302
    assert Job.objects.get(pk=job.pk).status == Job.Status.PAUSED
    team.client("lead").post(url, {"action": "cancel"})
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert job.items.filter(status=JobItem.Status.CANCELLED).count() == 4
    page = team.client("lead").post(url, {"action": "retry"}, follow=True).content.decode()
    assert "Resume the job before retrying its failed items." in page


def test_jobs_api_lists_progress_and_failed_items(team):
    job = make_job(team, done=2, failed=1)
    client = APIClient()
    client.force_authenticate(team.annotator)
    base = f"/api/projects/{team.project.slug}/jobs/"
    listed = client.get(base).json()["results"]
    assert listed[0]["percent"] == 75 and listed[0]["failed_count"] == 1
    failed = client.get(f"{base}{job.pk}/items/?status=failed").json()["results"]
    assert [i["error"] for i in failed] == ["the provider answered HTTP 500, 5 attempts"]
    assert client.get(f"{base}{job.pk}/items/?status=weird").status_code == 400
    assert client.post(f"{base}{job.pk}/cancel/").status_code == 403
    client.force_authenticate(team.lead)
    assert client.post(f"{base}{job.pk}/cancel/").json()["status"] == "cancelled"


def test_site_admin_adds_an_endpoint_on_screen_and_bad_urls_are_named(team):
    client = team.client("site_admin")
    url = reverse("curation:endpoint_create", args=[team.project.slug])
    bad = client.post(url, {"name": "meta", "base_url": "http://169.254.169.254/v1", "model": "m"})
    assert bad.status_code == 400
    assert "link-local or cloud metadata" in bad.content.decode()
    assert not ModelEndpoint.objects.exists()
    good = client.post(
        url, {"name": "vllm", "base_url": "http://127.0.0.1:8000/v1", "model": "qwen2-7b"}
    )
    assert good.status_code == 302
    endpoint = ModelEndpoint.objects.get(name="vllm")
    assert (endpoint.max_concurrency, endpoint.temperature) == (8, 0.7)


def test_project_admin_edits_limits_but_cannot_move_the_base_url(team):
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="vllm", base_url="http://127.0.0.1:8000/v1", model="m"
    )
    url = reverse("curation:endpoint_edit", args=[team.project.slug, endpoint.pk])
    page = team.client("admin").get(url).content.decode()
    assert "readonly" in page and "Only site admins may change the base URL." in page
    response = team.client("admin").post(
        url,
        {
            "name": "vllm",
            "base_url": "http://10.0.0.9/v1",
            "model": "m",
            "max_concurrency": "4",
            "revision": endpoint.revision,
        },
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.base_url == "http://127.0.0.1:8000/v1" and endpoint.max_concurrency == 4


def test_test_connection_starts_a_job_and_links_to_it(team):
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="vllm", base_url="http://127.0.0.1:8000/v1", model="m"
    )
    response = team.client("lead").post(
        reverse("curation:endpoint_test", args=[team.project.slug, endpoint.pk])
    )
    job = Job.objects.get(kind="endpoint.test")
    assert response.url == job_url(team, job)
    assert job.items.get().payload == {"endpoint": endpoint.pk}

    client = APIClient()
    client.force_authenticate(team.lead)
    api = client.post(f"/api/projects/{team.project.slug}/endpoints/{endpoint.pk}/test/")
    assert api.status_code == 202 and api.json()["kind"] == "endpoint.test"


def test_endpoints_api_never_shows_a_key(team, monkeypatch):
    monkeypatch.setenv("QWEN_KEY", "sk-secret-value")
    ModelEndpoint.objects.create(
        project=team.project,
        name="qwen",
        base_url="https://dashscope.example.com/v1",
        model="qwen-max",
        api_key_env="QWEN_KEY",
    )
    client = APIClient()
    client.force_authenticate(team.admin)
    body = client.get(f"/api/projects/{team.project.slug}/endpoints/").content.decode()
    assert "QWEN_KEY" in body and "sk-secret-value" not in body
