import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from dialinsight_site.celery import app as celery_app
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k3Y-" + "x7Qp9zL2mN5vB8cR1tW4yH6jD0fG3sA" * 2


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "HTTPS_ONLY"}}
    clean.update(env)
    clean.setdefault("DATABASE_URL", "sqlite:///:memory:")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is missing" in result.stderr


def test_production_refuses_the_development_key():
    result = run_manage(
        "check", DEBUG="false", SECRET_KEY="dev-only-insecure-key-never-use-in-production"
    )
    assert result.returncode != 0
    assert "SECRET_KEY is the development default" in result.stderr


def test_a_setting_that_does_not_parse_is_named():
    result = run_manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_check_deploy_is_clean_under_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="studio.example.com",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_templates_have_no_inline_script_or_handler():
    """The CSP would block them anyway; this keeps them from being written."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offenders.append(f"{path}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{path}: inline event handler")
        if re.search(r"\shx-on", text):
            offenders.append(f"{path}: hx-on needs eval")
    assert offenders == []


@pytest.mark.django_db
def test_htmx_is_vendored_and_locked_down(client):
    html = client.get(reverse("login")).content.decode()
    assert re.search(r'<script src="/static/vendor/htmx-[\d.]+\.min(\.[0-9a-f]+)?\.js"', html)
    config = json.loads(re.search(r"name=\"htmx-config\" content='([^']+)'", html).group(1))
    assert config["selfRequestsOnly"] is True
    assert config["allowScriptTags"] is False
    assert config["allowEval"] is False
    assert "//" not in re.sub(
        r"https?://www\.w3\.org", "", "".join(re.findall(r'src="([^"]+)"', html))
    )


@pytest.mark.django_db
def test_login_locks_out_after_repeated_failures(client):
    UserFactory(username="mei")
    for attempt in range(1, settings.AXES_FAILURE_LIMIT + 1):
        response = client.post(reverse("login"), {"username": "mei", "password": "wrong"})
        if attempt < settings.AXES_FAILURE_LIMIT:
            assert response.status_code == 200  # the form again, with its error
    locked = client.post(reverse("login"), {"username": "mei", "password": PASSWORD})
    assert locked.status_code in (403, 429)
    assert "Too many failed log-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_log_in_and_out(client):
    UserFactory(username="li")
    response = client.post(reverse("login"), {"username": "li", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("curation:project_list")
    assert client.get(reverse("curation:project_list")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("curation:project_list")).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/signup/", "/accounts/register/", "/api/users/"])
def test_there_is_no_self_registration(client, path):
    assert client.get(path).status_code == 404
    assert client.post(
        path, {"username": "eve", "password1": "x", "password2": "x"}
    ).status_code in (403, 404)


@pytest.mark.django_db
def test_uploads_are_never_served_from_our_origin(client, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "import.html").write_text("<script>alert(1)</script>")
    assert client.get("/media/import.html").status_code == 404


def test_celery_accepts_json_only_and_its_limits_are_ordered():
    conf = celery_app.conf
    assert conf.accept_content == ["json"]
    assert conf.result_accept_content == ["json"]
    assert conf.task_serializer == "json" and conf.result_serializer == "json"
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_acks_late is False  # switched on per idempotent task only
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert conf.task_soft_time_limit < conf.task_time_limit < visibility


def test_misordered_celery_limits_refuse_to_start():
    result = run_manage(
        "check", DEBUG="true", CELERY_TASK_TIME_LIMIT="10", CELERY_TASK_SOFT_TIME_LIMIT="20"
    )
    assert result.returncode != 0
    assert "CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT" in result.stderr


# --- the API schema and reflected export formats ------------------------------------------------


@pytest.mark.django_db
def test_the_api_schema_needs_a_logged_in_user(client, team):
    accept = {"HTTP_ACCEPT": "application/vnd.oai.openapi+json"}
    assert client.get("/api/schema/", **accept).status_code in (401, 403)
    token = client.get("/api/schema/", HTTP_AUTHORIZATION="Token not-a-token", **accept)
    assert token.status_code in (401, 403)
    logged_in = team.client("annotator").get("/api/schema/", **accept)
    assert logged_in.status_code == 200
    assert "/api/projects/{project_slug}/dialogues/import/" in logged_in.json()["paths"]


XSS = "<img src=x onerror=alert(1)><script>alert(2)<\\script>"


def _not_markup(response) -> None:
    """An error about a format the user sent is never HTML carrying that format as markup."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode()
    content_type = response.get("Content-Type", "")
    if "html" in content_type:
        assert "<img src=x" not in text and "<script>alert(2)" not in text
    else:
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_an_unknown_export_format_is_never_reflected_as_markup(team):
    from rest_framework.test import APIClient

    from metrics.models import EvalRun, TestSet
    from metrics.services.versions import version_create

    version = version_create(project=team.project, name="v1", actor=team.lead)
    lead = team.client("lead")
    download = reverse("metrics:version_download", args=[team.project.slug, version.pk, XSS])
    page = lead.get(download, follow=True)
    assert page.status_code == 200
    _not_markup(page)
    test_set = TestSet.objects.create(project=team.project, name="held-out", size=0)
    run = EvalRun.objects.create(
        project=team.project, test_set=test_set, name="r", model_name="m", judge_model="j"
    )
    run_export = reverse("metrics:run_export", args=[team.project.slug, run.pk, XSS])
    refused = lead.get(run_export)
    assert refused.status_code == 400
    _not_markup(refused)

    api = APIClient()
    api.force_authenticate(team.lead)
    base = f"/api/projects/{team.project.slug}/versions/{version.pk}"
    for accept in ("application/json", "text/html"):
        for action in ("export", "manifest"):
            response = api.get(f"{base}/{action}/", {"fmt": XSS}, HTTP_ACCEPT=accept)
            assert response.status_code == 400
            _not_markup(response)
