"""Dataset versions: compose from filters, freeze into a hashed snapshot with metrics, submit,
approve by another lead, export."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from curation.exceptions import ConflictError
from curation.models import Job, Membership, Role, TaskType
from curation.services.jobs import job_run_here
from labeling.models import Sample
from metrics.models import DatasetVersion, VersionItem
from metrics.services.export import version_export, version_manifest
from metrics.services.versions import (
    version_create,
    version_decide,
    version_freeze,
    version_submit,
)
from tests.factories import DialogueFactory, UserFactory
from tests.support.labels import approved_prompt

pytestmark = pytest.mark.django_db

PROMPTS = [
    "判断客户是否愿意周末看房，给出结论和依据。",
    "总结客户对房源的主要顾虑。",
    "提取客户提到的预算和意向区域。",
]


@pytest.fixture
def labelled(team):
    """Nine decided samples: three prompts x three grades, one rejected."""
    project = team.project
    prompts = [
        approved_prompt(project, key, fmt, text)
        for key, fmt, text in (
            ("reasoning", "json", PROMPTS[0]),
            ("content-summarization", "free_text", PROMPTS[1]),
            ("information-extraction", "table", PROMPTS[2]),
        )
    ]
    samples = []
    for n in range(9):
        prompt = prompts[n % 3]
        dialogue = DialogueFactory(
            project=project,
            turns=[{"speaker": "客户", "role": "customer", "text": f"第{n}套房子多少钱？"}],
        )
        samples.append(
            Sample.objects.create(
                project=project,
                dialogue=dialogue,
                prompt=prompt,
                task_type=prompt.task_type,
                instruction=prompt.sections["narrative"],
                rendered_input=f"对话：第{n}套房子多少钱？\n\n{prompt.sections['narrative']}",
                output=f"输出{n}",
                state="rejected" if n == 8 else "accepted",
                grade=("high", "medium", "low")[n // 3],
            )
        )
    return samples


def other_lead(team):
    user = UserFactory(username="lead-two")
    Membership.objects.create(project=team.project, user=user, role=Role.LEAD)
    return user


def frozen(team, name="v1", **kwargs) -> DatasetVersion:
    version = version_create(project=team.project, name=name, actor=team.lead, **kwargs)
    job = version_freeze(version=version, revision=1, actor=team.lead, dispatch=False)
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE, job.error_summary
    version.refresh_from_db()
    return version


def test_freezing_snapshots_the_chosen_samples_with_a_hash_and_metrics(team, labelled):
    version = frozen(team, filters={"grades": ["high", "medium"]})
    assert version.state == "frozen" and version.sample_count == 6
    assert len(version.content_hash) == 64 and version.frozen_by == team.lead
    items = list(VersionItem.objects.filter(version=version))
    assert {i.label_quality for i in items} == {"high", "medium"}
    m = version.metrics
    assert m["samples"] == 6
    assert m["label_quality"]["high"] == pytest.approx(0.5)
    assert m["task_types"] == pytest.approx(
        {"content-summarization": 1 / 3, "information-extraction": 1 / 3, "reasoning": 1 / 3}
    )
    assert set(m) >= {
        "prompt_complexity",
        "input_complexity",
        "richness",
        "redundancy",
        "communities",
    }
    # Three distinct prompts, each twice: three communities of two.
    assert m["communities"] == 3 and m["richness"] == pytest.approx(0.5)
    # The same filters give the same content, hence the same hash.
    again = frozen(team, name="v1-again", filters={"grades": ["high", "medium"]})
    assert again.content_hash == version.content_hash


def test_a_frozen_version_does_not_change_when_samples_do(team, labelled):
    version = frozen(team)
    before = list(VersionItem.objects.filter(version=version).values_list("output", flat=True))
    Sample.objects.filter(pk=labelled[0].pk).update(output="改过的输出")
    assert (
        list(VersionItem.objects.filter(version=version).values_list("output", flat=True)) == before
    )
    with pytest.raises(ValidationError):
        version_freeze(version=version, revision=version.revision, actor=team.lead)


def test_diversity_selection_keeps_the_best_of_each_cluster(team, labelled):
    version = frozen(team, filters={"states": ["accepted", "rejected"]}, top_n=1)
    items = list(VersionItem.objects.filter(version=version))
    # Nine samples, three prompts: one of each, the best graded.
    assert len(items) == 3 and {i.label_quality for i in items} == {"high"}


def test_submit_and_approval_by_another_lead(team, labelled):
    version = frozen(team)
    version_submit(version=version, revision=version.revision, actor=team.lead)
    with pytest.raises(PermissionDenied):
        version_decide(
            version=version, revision=version.revision, actor=team.lead, decision="approve"
        )
    second = other_lead(team)
    with pytest.raises(ValidationError):
        version_decide(version=version, revision=version.revision, actor=second, decision="reject")
    stale = version.revision
    version_decide(version=version, revision=version.revision, actor=second, decision="approve")
    assert version.state == "approved" and version.decided_by == second
    with pytest.raises(ValidationError):
        version_decide(version=version, revision=stale, actor=second, decision="reject", note="x")


def test_a_stale_freeze_is_refused(team, labelled):
    version = version_create(project=team.project, name="v", actor=team.lead)
    version_freeze(version=version, revision=1, actor=team.lead, dispatch=False)
    draft = DatasetVersion.objects.get(pk=version.pk)
    draft.state = "draft"
    with pytest.raises(ConflictError):
        version_freeze(version=draft, revision=1, actor=team.admin, dispatch=False)


def test_bad_compositions_are_named(team):
    with pytest.raises(ValidationError) as error:
        version_create(
            project=team.project,
            name="",
            actor=team.lead,
            filters={"grades": ["great"], "task_types": ["poetry"], "since": "yesterday"},
            embedding="word2vec",
        )
    errors = error.value.message_dict
    assert set(errors) >= {"name", "grades", "task_types", "since", "embedding"}
    assert "poetry" in errors["task_types"][0]
    version_create(project=team.project, name="v", actor=team.lead)
    with pytest.raises(ValidationError) as error:
        version_create(project=team.project, name="v", actor=team.lead)
    assert "exists" in error.value.message_dict["name"][0]


def test_exports_of_an_approved_version_parse_and_match_the_items(team, labelled):
    version = frozen(team)
    with pytest.raises(ValidationError):
        list(version_export(version=version, fmt="openai"))  # not approved yet
    version_submit(version=version, revision=version.revision, actor=team.lead)
    version_decide(
        version=version, revision=version.revision, actor=other_lead(team), decision="approve"
    )
    items = list(VersionItem.objects.filter(version=version).order_by("position"))
    lines = "".join(version_export(version=version, fmt="openai")).splitlines()
    assert len(lines) == len(items) == 8
    first = json.loads(lines[0])["messages"]
    assert first == [
        {"role": "user", "content": items[0].rendered_input},
        {"role": "assistant", "content": items[0].output},
    ]
    sharegpt = json.loads("".join(version_export(version=version, fmt="sharegpt")))
    assert sharegpt[1]["conversations"][1] == {"from": "gpt", "value": items[1].output}
    alpaca = json.loads("".join(version_export(version=version, fmt="alpaca")))
    assert alpaca[2] == {
        "instruction": items[2].prompt,
        "input": items[2].dialogue,
        "output": items[2].output,
    }
    manifest = version_manifest(version=version, fmt="llamafactory")
    assert manifest["content_hash"] == version.content_hash and manifest["samples"] == 8
    entry = manifest["dataset_info"][manifest["dataset"]]
    assert entry["formatting"] == "sharegpt" and entry["columns"] == {"messages": "conversations"}
    assert manifest["counts"]["label_quality"] == {"high": 3, "medium": 3, "low": 2}
    with pytest.raises(ValidationError):
        version_export(version=version, fmt="csv")
    assert TaskType.objects.filter(project=team.project).exists()
