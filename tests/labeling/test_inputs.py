"""The label stage's one input layer: every write, on a screen and in the API, is read by one
input serializer; a wrong value is a 400 naming the field (the form again with the message on
a screen), never a 500. Regeneration is a lead's decision unless the leads allow annotators."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from curation.models import Job
from curation.services.jobs import job_run_here
from labeling.models import LabelSettings, Sample
from labeling.services.generate import label_job_start
from labeling.services.review import label_settings_get
from tests.labeling.hostile import sweep_form, sweep_json

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def screen(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def url(team, name, *args):
    return reverse(f"labeling:{name}", args=[team.project.slug, *args])


@pytest.fixture
def ready(team, labels):
    job = label_job_start(
        project=team.project, count=3, endpoint=labels["endpoint"], actor=team.lead,
        dispatch=False, task_weights={"reasoning": 1, "content-summarization": 0},
    )  # fmt: skip
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    samples = list(Sample.objects.filter(job=job).order_by("id"))
    Sample.objects.filter(pk__in=[s.pk for s in samples]).update(double=False)
    return samples


def test_no_write_of_the_label_api_answers_5xx_on_hostile_values(team, labels, ready):
    base = f"/api/projects/{team.project.slug}/samples"
    lead = api(team.lead)
    sample = ready[0]
    failures = sweep_json(
        lead,
        "POST",
        f"{base}/start/",
        {
            "count": 2,
            "endpoint": labels["endpoint"].pk,
            "seed": 3,
            "judge": True,
            "scene_weights": {"renting": 1, "none": 0},
            "source_weights": {},
            "task_weights": {"reasoning": 1},
            "prompts": [labels["json"].pk],
        },
        [
            "count", "endpoint", "seed", "judge", "scene_weights", "source_weights",
            "task_weights", "prompts", "scene_weights.renting", "task_weights.reasoning",
            "scene_weights.none",
        ],
    )  # fmt: skip
    failures += sweep_json(
        lead,
        "POST",
        f"{base}/{sample.pk}/review/",
        {
            "decision": "accept",
            "grade": "high",
            "output": '{"结论": "是"}',
            "reason": "",
            "revision": sample.revision,
        },
        ["decision", "grade", "output", "reason", "revision"],
    )
    Sample.objects.filter(pk=ready[1].pk).update(state="accepted", grade="high")
    failures += sweep_json(
        lead,
        "POST",
        f"{base}/{ready[1].pk}/verify/",
        {"decision": "confirm", "revision": ready[1].revision},
        ["decision", "revision"],
    )
    failures += sweep_json(
        lead,
        "PATCH",
        f"{base}/settings/",
        {
            "second_pass": True,
            "double_share": 0.2,
            "assignment_minutes": 30,
            "annotators_regenerate": True,
            "revision": 1,
        },
        ["second_pass", "double_share", "assignment_minutes", "annotators_regenerate", "revision"],
    )
    failures += sweep_json(lead, "POST", f"{base}/{sample.pk}/regenerate/", {}, [])
    assert not failures, "\n".join(failures)


def test_no_label_screen_answers_5xx_on_hostile_values(team, labels, ready):
    lead = screen(team.lead)
    sample = ready[0]
    failures = sweep_form(
        lead,
        url(team, "label_start"),
        {
            "count": "2",
            "endpoint": str(labels["endpoint"].pk),
            "seed": "3",
            "judge": "on",
            "scene-renting": "1",
            "source-call-recording": "1",
            "task-reasoning": "1",
        },
        ["count", "endpoint", "seed", "judge", "scene-renting", "task-reasoning", "scene-none"],
    )
    failures += sweep_form(
        lead,
        url(team, "label_settings"),
        {
            "revision": "1",
            "second_pass": "on",
            "double_share": "0.2",
            "assignment_minutes": "30",
            "annotators_regenerate": "on",
        },
        ["revision", "second_pass", "double_share", "assignment_minutes", "annotators_regenerate"],
    )
    failures += sweep_form(
        lead,
        url(team, "review_act", sample.pk),
        {
            "accept": "",
            "grade": "high",
            "output": '{"结论": "是"}',
            "revision": str(sample.revision),
        },  # fmt: skip
        ["grade", "output", "revision", "reason"],
    )
    Sample.objects.filter(pk=ready[1].pk).update(state="accepted", grade="high")
    failures += sweep_form(
        lead,
        url(team, "verify_act", ready[1].pk),
        {"confirm": "", "revision": str(ready[1].revision)},
        ["revision"],
    )
    for name in ("verify_queue", "sample_list"):
        for value in ("²", "9" * 40, "-1", "abc"):
            response = lead.get(url(team, name), {"after": value, "state": value})
            if response.status_code >= 500:
                failures.append(f"GET {name} after={value!r}")
    assert not failures, "\n".join(failures)


def test_the_known_500s_are_400s_naming_the_field(team, labels, ready):
    base = f"/api/projects/{team.project.slug}/samples"
    lead = api(team.lead)
    start = {"count": 2, "endpoint": labels["endpoint"].pk}
    for body, field in (
        ({**start, "seed": "x"}, "seed"),
        ({**start, "count": "²"}, "count"),
        ({**start, "prompts": 5}, "prompts"),
        ({**start, "scene_weights": {"renting": "nan"}}, "scene_weights"),
        ({**start, "scene_weights": {"火星": 1}}, "scene_weights"),
        ({**start, "task_weights": 5}, "task_weights"),
    ):
        response = lead.post(f"{base}/start/", body, format="json")
        assert response.status_code == 400 and field in response.json(), body
    assert "火星" in str(lead.post(f"{base}/start/", {**start, "scene_weights": {"火星": 1}},
                                   format="json").json()["scene_weights"])  # fmt: skip
    sample = ready[0]
    review = lead.post(
        f"{base}/{sample.pk}/review/",
        {"decision": "accept", "grade": "high", "output": {"结论": "是"}, "revision": "²"},
        format="json",
    )
    assert review.status_code == 400 and set(review.json()) == {"output", "revision"}
    settings = lead.patch(
        f"{base}/settings/", {"assignment_minutes": "²", "revision": 1}, format="json"
    )
    assert settings.status_code == 400 and "assignment_minutes" in settings.json()
    no_revision = lead.patch(f"{base}/settings/", {"second_pass": True}, format="json")
    assert no_revision.status_code == 400 and "revision" in no_revision.json()
    assert not Job.objects.filter(kind="labels.generate").exclude(pk=ready[0].job_id).exists()


def test_a_label_job_takes_weights_by_key_and_none_from_the_api(team, labels):
    base = f"/api/projects/{team.project.slug}/samples"
    started = api(team.lead).post(
        f"{base}/start/",
        {"count": 4, "endpoint": labels["endpoint"].pk, "seed": "7", "judge": False,
         "scene_weights": {"renting": 0, "buying": 2.5, "none": 0},
         "source_weights": {"none": 0.5}, "task_weights": {"reasoning": 1},
         "prompts": [labels["json"].pk]},
        format="json",
    )  # fmt: skip
    assert started.status_code == 202, started.json()
    params = Job.objects.get(pk=started.json()["id"]).params
    renting = team.project.scenes.get(key="renting").pk
    buying = team.project.scenes.get(key="buying").pk
    assert params["weights"]["scene"][str(renting)] == 0
    assert params["weights"]["scene"][str(buying)] == 2.5
    assert params["weights"]["scene"]["none"] == 0 and params["weights"]["source"]["none"] == 0.5
    assert (params["seed"], params["judge"], params["prompts"]) == (7, False, [labels["json"].pk])


def test_the_label_job_screen_keeps_its_field_names_and_names_a_wrong_weight(team, labels):
    client = team.client("lead")
    # A blank weight keeps the taxonomy's; "scene-none" weighs the dialogues without a scene.
    started = client.post(
        url(team, "label_start"),
        {"count": "3", "endpoint": labels["endpoint"].pk, "seed": "", "scene-renting": "",
         "scene-buying": "1", "scene-none": "0"},
    )  # fmt: skip
    job = Job.objects.get(kind="labels.generate")
    assert started.status_code == 302 and started["Location"].endswith(f"/jobs/{job.pk}/")
    renting = team.project.scenes.get(key="renting")
    assert job.params["weights"]["scene"][str(renting.pk)] == float(renting.weight)
    assert job.params["weights"]["scene"]["none"] == 0 and job.params["seed"] == 0
    assert job.params["judge"] is False  # the box was not ticked
    refused = client.post(
        url(team, "label_start"),
        {"count": "10000000", "endpoint": "²", "scene-renting": "1e400"},
        follow=True,
    ).content.decode()
    assert "scene_weights.renting: A valid number is required." in refused
    assert "endpoint: Choose an endpoint of this project." in refused
    assert "count: Ensure this value is less than or equal to 100000." in refused
    assert Job.objects.count() == 1


def test_review_and_verify_screens_name_a_wrong_revision_in_place(team, ready):
    client = team.client("annotator")
    client.get(url(team, "review_queue"))
    held = Sample.objects.get(assigned_to=team.annotator)
    response = client.post(
        url(team, "review_act", held.pk),
        {"accept": "", "grade": "great", "output": held.output, "revision": "²"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Grade it high, medium or low." in body and "revision: A valid integer" in body
    assert Sample.objects.get(pk=held.pk).state == "ready"


# --- regeneration is a lead's decision (issue 14, point 10) ---------------------------------


def test_annotators_regenerate_only_when_the_leads_allow_it(team, ready):
    sample = ready[0]
    base = f"/api/projects/{team.project.slug}/samples"
    annotator = api(team.annotator)
    refused = annotator.post(f"{base}/{sample.pk}/regenerate/")
    assert refused.status_code == 403
    assert "Only leads may run the model again" in refused.json()["detail"]
    screen_refused = team.client("annotator").post(url(team, "sample_regenerate", sample.pk))
    assert screen_refused.status_code == 403
    sample.refresh_from_db()
    assert sample.state == "ready" and sample.attempts == []
    assert Job.objects.filter(kind="labels.generate").count() == 1  # no call spent

    settings = api(team.lead).patch(
        f"{base}/settings/", {"annotators_regenerate": True, "revision": 1}, format="json"
    )
    assert settings.status_code == 200 and settings.json()["annotators_regenerate"] is True
    assert settings.json()["second_pass"] is False  # a PATCH changes only what it names
    allowed = annotator.post(f"{base}/{sample.pk}/regenerate/")
    assert allowed.status_code == 202 and allowed.json()["state"] == "generating"


def test_leads_always_regenerate(team, ready):
    assert label_settings_get(project=team.project).annotators_regenerate is False
    response = team.client("lead").post(url(team, "sample_regenerate", ready[1].pk))
    assert response.status_code == 302
    assert Sample.objects.get(pk=ready[1].pk).state == "generating"


def test_the_review_screen_shows_the_button_only_to_those_who_may(team, ready):
    button = 'name="regenerate"'
    assert button not in team.client("annotator").get(url(team, "review_queue")).content.decode()
    assert button in team.client("lead").get(url(team, "review_queue")).content.decode()
    home = team.client("lead").get(url(team, "label_home")).content.decode()
    assert (
        'name="annotators_regenerate"' in home
        and "checked>" not in home.split('name="annotators_regenerate"')[1][:12]
    )
    saved = team.client("lead").post(
        url(team, "label_settings"),
        {"revision": "1", "double_share": "0.1", "assignment_minutes": "30",
         "annotators_regenerate": "on"},
    )  # fmt: skip
    assert saved.status_code == 302
    current = LabelSettings.objects.get(project=team.project)
    assert current.annotators_regenerate is True and current.second_pass is False
    assert button in team.client("annotator").get(url(team, "review_queue")).content.decode()
