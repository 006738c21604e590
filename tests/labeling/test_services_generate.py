"""Label jobs: weighted sampling without replacement, pre-annotation, judge pre-grades, bad
outputs kept and marked, regeneration."""

import pytest
from django.core.exceptions import ValidationError

from curation.models import Job, ModelEndpoint
from curation.services.jobs import job_run_here
from evolution.models import Prompt
from labeling.models import Sample
from labeling.services.generate import label_job_start, sample_regenerate

pytestmark = pytest.mark.django_db


def run(team, labels, **kwargs) -> Job:
    args = {
        "project": team.project,
        "count": 20,
        "endpoint": labels["endpoint"],
        "actor": team.lead,
        "seed": 4,
        "dispatch": False,
    }
    job = label_job_start(**{**args, **kwargs})
    job = job_run_here(job_id=job.pk)
    assert job.status == Job.Status.DONE, job.error_summary
    return job


def test_a_label_job_samples_by_weight_and_pre_annotates(team, labels):
    # Buying weighs 3, renting 1: 15 of 20 should be buying, but it has 10 dialogues only, so
    # the rest goes to renting.
    job = run(
        team,
        labels,
        scene_weights={"buying": 3, "renting": 1, "selling": 0, "home-improvement": 0},
        task_weights={"reasoning": 1, "content-summarization": 1},
    )
    samples = list(Sample.objects.filter(job=job))
    assert len(samples) == 20 == job.result["sampled"]
    assert len({s.dialogue_id for s in samples}) == 20  # without replacement
    scenes = [s.scene.key for s in samples]
    assert scenes.count("buying") == 10 and scenes.count("renting") == 10
    tasks = [s.task_type.key for s in samples]
    assert tasks.count("reasoning") == 10 and tasks.count("content-summarization") == 10
    scene_rows = {row["name"]: row for row in job.result["distribution"]["scene"]}
    assert scene_rows["buying"]["requested"] == 0.75 and scene_rows["buying"]["realised"] == 0.5
    sample = samples[0]
    assert sample.state == "ready" and sample.endpoint == labels["endpoint"]
    assert sample.prompt.task_type == sample.task_type
    assert "<untrusted_dialogue>" in sample.rendered_input
    assert sample.dialogue.turns[0]["text"] in sample.rendered_input
    assert sample.model_output and sample.output == sample.model_output
    assert sample.prompt_tokens > 0 and sample.completion_tokens > 0
    assert sample.judge_grade in ("high", "medium", "low") and sample.judge_reason
    # JSON prompts run in the endpoint's JSON mode: their outputs parse.
    assert {s.output_check for s in samples if s.formats == ["json"]} == {""}


def test_the_same_seed_draws_the_same_sample_and_a_second_job_draws_others(team, labels):
    first = run(team, labels, count=10, judge=False)
    drawn = set(Sample.objects.filter(job=first).values_list("dialogue", flat=True))
    second = run(team, labels, count=10, judge=False)
    again = set(Sample.objects.filter(job=second).values_list("dialogue", flat=True))
    assert not drawn & again  # a dialogue already sampled is not drawn again
    Sample.objects.all().delete()
    third = run(team, labels, count=10, judge=False)
    assert set(Sample.objects.filter(job=third).values_list("dialogue", flat=True)) == drawn


def test_only_approved_prompts_are_drawn(team, labels):
    Prompt.objects.filter(pk=labels["text"].pk).update(state=Prompt.State.REJECTED)
    job = run(team, labels, count=8, judge=False)
    assert set(Sample.objects.filter(job=job).values_list("prompt", flat=True)) == {
        labels["json"].pk
    }
    Prompt.objects.update(state=Prompt.State.ENHANCED)
    with pytest.raises(ValidationError) as error:
        label_job_start(project=team.project, count=5, endpoint=labels["endpoint"], actor=team.lead)
    assert "approved prompt" in error.value.message_dict["prompts"][0]


def test_bad_input_is_named(team, labels):
    with pytest.raises(ValidationError) as error:
        label_job_start(
            project=team.project,
            count=0,
            endpoint=labels["endpoint"],
            actor=team.lead,
            scene_weights={"mars": 1},
        )
    errors = error.value.message_dict
    assert "count" in errors and "mars" in errors["scene"][0]
    assert not Job.objects.exists()


def test_a_failed_model_call_is_kept_marked_and_can_be_regenerated(team, labels):
    dead = ModelEndpoint.objects.create(
        project=team.project,
        name="dead",
        base_url="http://127.0.0.1:9/v1",
        model="m",
    )
    job = run(team, labels, count=1, endpoint=dead, judge=False)
    sample = Sample.objects.filter(job=job).first()
    assert sample.state == "ready" and sample.output_check == "failed"
    assert sample.output_check_detail  # the reason, kept
    Sample.objects.filter(pk=sample.pk).update(endpoint=labels["endpoint"])
    sample.refresh_from_db()
    sample = sample_regenerate(sample=sample, actor=team.annotator)
    assert sample.state == "generating" and sample.attempts[0]["check"] == "failed"
    regenerated = Job.objects.filter(kind="labels.generate").latest("id")
    assert job_run_here(job_id=regenerated.pk).status == Job.Status.DONE
    sample.refresh_from_db()
    assert sample.state == "ready" and sample.output and sample.output_check in ("", "not_json")
