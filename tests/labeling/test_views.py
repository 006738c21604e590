"""Label screens: the home with its job form and figures, the review queue one sample at a
time (htmx and without JavaScript), the second pass, the list."""

import pytest
from django.urls import reverse

from curation.models import Job
from curation.services.jobs import job_run_here
from labeling.models import Sample
from labeling.services.generate import label_job_start

pytestmark = pytest.mark.django_db


def url(team, name, *args):
    return reverse(f"labeling:{name}", args=[team.project.slug, *args])


@pytest.fixture
def samples(team, labels):
    job = label_job_start(
        project=team.project,
        count=4,
        endpoint=labels["endpoint"],
        actor=team.lead,
        dispatch=False,
        scene_weights={"renting": 1, "buying": 0, "selling": 0, "home-improvement": 0},
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    return list(Sample.objects.filter(job=job).order_by("id"))


def test_a_lead_starts_a_label_job_with_weights_from_the_screen(team, labels):
    client = team.client("lead")
    page = client.get(url(team, "label_home")).content.decode()
    assert 'name="scene-renting"' in page and "Draws from 2 approved prompts." in page
    response = client.post(
        url(team, "label_start"),
        {"count": 5, "endpoint": labels["endpoint"].pk, "scene-renting": "2", "judge": "on"},
    )
    job = Job.objects.get(kind="labels.generate")
    assert response.status_code == 302 and response["Location"].endswith(f"/jobs/{job.pk}/")
    assert job.params["count"] == 5 and job.params["judge"] is True
    bad = client.post(
        url(team, "label_start"),
        {"count": 5, "endpoint": labels["endpoint"].pk, "scene-renting": "lots"},
        follow=True,
    )
    assert "scene_weights.renting: A valid number is required." in bad.content.decode()


def test_the_job_page_shows_requested_beside_realised(team, samples):
    job = Job.objects.get(kind="labels.generate")
    page = team.client("lead").get(reverse("curation:job_detail", args=[team.project.slug, job.pk]))
    body = page.content.decode()
    assert 'id="distribution"' in body and "renting" in body


def test_the_review_screen_claims_a_sample_and_shows_everything_side_by_side(team, samples):
    page = team.client("annotator").get(url(team, "review_queue")).content.decode()
    held = Sample.objects.get(assigned_to=team.annotator)
    assert f'id="sample-{held.pk}"' in page
    assert held.dialogue.turns[0]["text"] in page  # the dialogue
    assert "4 samples left to review" in page
    assert 'data-key="1"' in page and 'name="accept"' in page


def test_a_bad_json_output_is_refused_in_place_and_the_typed_text_kept(team, samples):
    client = team.client("annotator")
    client.get(url(team, "review_queue"))
    held = Sample.objects.get(assigned_to=team.annotator)
    Sample.objects.filter(pk=held.pk).update(
        prompt=next(s.prompt for s in samples if s.formats == ["json"])
    )
    response = client.post(
        url(team, "review_act", held.pk),
        {"accept": "", "revision": held.revision, "grade": "high", "output": "{结论: 是"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert 'role="alert">not_json' in body and "{结论: 是" in body
    assert Sample.objects.get(pk=held.pk).state == "ready"


def test_accepting_with_htmx_brings_the_next_sample(team, samples):
    client = team.client("annotator")
    client.get(url(team, "review_queue"))
    held = Sample.objects.get(assigned_to=team.annotator)
    output = '{"结论": "是"}' if held.formats == ["json"] else "客户周六看房。"
    response = client.post(
        url(team, "review_act", held.pk),
        {"accept": "", "revision": held.revision, "grade": "medium", "output": output},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    following = Sample.objects.get(assigned_to=team.annotator)
    assert following.pk != held.pk and f'id="sample-{following.pk}"' in body
    assert "3 samples left to review" in body
    held.refresh_from_db()
    assert (held.state, held.grade, held.output) == ("accepted", "medium", output)


def test_without_javascript_a_decision_redirects_to_the_next(team, samples):
    Sample.objects.update(double=False)
    client = team.client("annotator")
    client.get(url(team, "review_queue"))
    held = Sample.objects.get(assigned_to=team.annotator)
    response = client.post(
        url(team, "review_act", held.pk),
        {"reject": "", "revision": held.revision, "grade": "low", "output": held.output},
    )
    assert response.status_code == 302 and response["Location"] == url(team, "review_queue")
    stale = client.post(
        url(team, "review_act", held.pk),
        {"accept": "", "revision": held.revision, "grade": "high", "output": held.output},
    )
    assert stale.status_code == 400 and "decided already" in stale.content.decode()


def test_leads_confirm_in_the_second_pass(team, samples):
    sample = samples[0]
    Sample.objects.filter(pk=sample.pk).update(state="accepted", grade="high")
    client = team.client("lead")
    page = client.get(url(team, "verify_queue")).content.decode()
    assert f'id="verify-{sample.pk}"' in page and "1 decision to verify" in page
    client.post(url(team, "verify_act", sample.pk), {"confirm": "", "revision": sample.revision})
    assert Sample.objects.get(pk=sample.pk).verify == "confirmed"


def test_the_sample_list_filters_by_state(team, samples):
    Sample.objects.filter(pk=samples[0].pk).update(state="accepted", grade="high")
    page = team.client("annotator").get(url(team, "sample_list"), {"state": "accepted"})
    assert page.content.decode().count("<tr><td>") == 1
