"""Long sessions (4,000+ characters) go whole into everything after stage 1: the label input,
the review screen, version items, training prompts and test items. An input that does not fit
an endpoint's declared context window is flagged with the reason, never cut."""

import pytest
from django.urls import reverse

from curation.models import Job, Scene, SourceType
from curation.services.jobs import job_run_here
from labeling.models import Sample
from labeling.services.generate import label_job_start
from labeling.services.review import sample_review
from metrics.models import TestItem, VersionItem
from metrics.services.evaluation import testset_create as draw_test_set
from metrics.services.versions import version_create, version_freeze
from tests.factories import DialogueFactory
from tests.support.corpus import long_session, text_size

pytestmark = pytest.mark.django_db


@pytest.fixture
def long_dialogues(team, labels):
    """Eight long sessions (each 4,000+ characters, joined from real CrossWOZ dialogues) and
    nothing else to sample."""
    project = team.project
    project.dialogues.all().delete()
    scene = Scene.objects.get(project=project, key="renting")
    source = SourceType.objects.filter(project=project).first()
    made = []
    for n in range(8):
        turns = long_session(4000, start=n * 30)
        assert text_size(turns) >= 4000
        made.append(DialogueFactory(project=project, scene=scene, source=source, turns=turns))
    return made


def run_labels(team, labels, count=8):
    job = label_job_start(
        project=team.project,
        count=count,
        endpoint=labels["endpoint"],
        actor=team.lead,
        judge=False,
        dispatch=False,
    )
    job = job_run_here(job_id=job.pk)
    assert job.status == Job.Status.DONE, job.error_summary
    return list(Sample.objects.filter(job=job).select_related("dialogue", "prompt"))


def test_the_model_reads_every_turn_of_a_long_session(team, labels, long_dialogues):
    samples = run_labels(team, labels)
    assert len(samples) == 8
    for sample in samples:
        last = sample.dialogue.turns[-1]["text"]
        # The dialogue sits whole inside the untrusted markers: its last turn closes them.
        assert (last + "\n</untrusted_dialogue>") in sample.rendered_input
        assert sample.dialogue.turns[0]["text"] in sample.rendered_input
        assert sample.prompt_text == sample.prompt.text
        assert sample.output_check in ("", Sample.Check.NOT_JSON)  # the model answered


def test_the_review_screen_shows_the_last_turn(team, labels, long_dialogues):
    run_labels(team, labels, count=1)
    page = team.client("annotator").get(reverse("labeling:review_queue", args=[team.project.slug]))
    assert page.status_code == 200
    sample = Sample.objects.get(assigned_to=team.annotator)
    body = page.content.decode()
    assert sample.dialogue.turns[-1]["text"] in body
    assert sample.dialogue.turns[0]["text"] in body


def test_an_input_over_the_context_window_is_flagged_never_cut_and_never_sent(
    team, labels, long_dialogues, label_llm
):
    endpoint = labels["endpoint"]
    endpoint.context_tokens = 2048  # a long session is ~3,000 Qwen tokens
    endpoint.max_tokens = 512
    endpoint.save()
    label_llm.reset_stats()
    samples = run_labels(team, labels, count=3)
    assert label_llm.stats()["completions"] == 0
    for sample in samples:
        assert sample.state == Sample.State.READY
        assert sample.output_check == Sample.Check.TOO_LONG
        assert "context" in sample.output_check_detail and "2048" in sample.output_check_detail
        assert sample.output == "" and sample.model_output == ""
        # What the model would have read is kept whole, for the reviewer to see why.
        assert sample.dialogue.turns[-1]["text"] in sample.rendered_input


def test_versions_and_test_sets_hold_the_whole_dialogue_and_a_clean_training_prompt(
    team, labels, long_dialogues
):
    samples = run_labels(team, labels)
    for sample in samples:
        sample.refresh_from_db()
        sample_review(
            sample=sample,
            revision=sample.revision,
            actor=team.lead,
            decision="accept",
            grade="high",
            output='{"结论": "是"}' if sample.formats == ["json"] else "客户想周六看房。",
        )
    # Two prompts serve every sample here: hold out the test set's dialogues only.
    test_set = draw_test_set(
        project=team.project, name="held out", size=2, actor=team.lead, hold_out_prompts=False
    )
    held = set(TestItem.objects.filter(test_set=test_set).values_list("sample_id", flat=True))
    for item in TestItem.objects.filter(test_set=test_set).select_related("dialogue"):
        assert item.dialogue.turns[-1]["text"] in item.input
    version = version_create(project=team.project, name="long", actor=team.lead)
    job = version_freeze(
        version=version, revision=version.revision, actor=team.lead, dispatch=False
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    items = list(VersionItem.objects.filter(version=version).select_related("sample__dialogue"))
    assert len(items) == 8 - len(held)
    for item in items:
        turns = item.sample.dialogue.turns
        assert item.dialogue.splitlines()[-1].endswith(turns[-1]["text"])
        assert len(item.dialogue.splitlines()) == len(turns)
        assert turns[-1]["text"] in item.training_prompt
        assert "untrusted_dialogue" not in item.training_prompt
        assert "{dialogue}" not in item.training_prompt and "{dialogue}" not in item.prompt
        assert turns[-1]["text"] not in item.prompt  # the prompt is counted without its dialogue
