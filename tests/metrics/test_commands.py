"""The two commands of the contract: quality_metrics and export_version."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from curation.llm import tokens
from tests.metrics.test_services_versions import labelled  # noqa: F401 - fixture

CROSSWOZ = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "corpora"
    / "crosswoz"
    / "crosswoz_test_300.jsonl"
)


def write(path: Path, rows: list[dict]) -> str:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return str(path)


ROWS = [
    {
        "prompt": "总结客户的需求。",
        "dialogue": "客户：我想买两居室。",
        "output": "两居室",
        "label_quality": "high",
        "task_type": "summary",
        "output_format": "free_text",
    },
    {
        "prompt": "总结客户的需求。",
        "dialogue": "客户：预算五百万。",
        "output": "预算",
        "label_quality": "low",
        "task_type": "summary",
        "output_format": "free_text",
    },
    {
        "prompt": "判断客户是否愿意看房，以 JSON 输出。",
        "dialogue": "客户：周六可以。",
        "output": "{}",
        "label_quality": None,
        "task_type": "reasoning",
        "output_format": "json",
    },
]


@pytest.mark.django_db
def test_quality_metrics_json_has_the_contract_keys_and_the_papers_formulas(tmp_path):
    out = StringIO()
    call_command("quality_metrics", write(tmp_path / "s.jsonl", ROWS), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert set(result) >= {
        "prompt_complexity",
        "input_complexity",
        "richness",
        "redundancy",
        "label_quality",
        "task_types",
        "output_formats",
        "samples",
        "communities",
    }
    prompts = [tokens.count(r["prompt"]) for r in ROWS]
    dialogues = [tokens.count(r["dialogue"]) for r in ROWS]
    assert result["prompt_complexity"] == pytest.approx(sum(prompts) / 3)
    assert result["input_complexity"] == pytest.approx(
        sum(d / 3 + p * 2 / 3 for d, p in zip(dialogues, prompts, strict=True)) / 3
    )
    # Two identical prompts and one other: two communities of three samples.
    assert result["communities"] == 2
    assert result["richness"] == pytest.approx(2 / 3)
    assert result["redundancy"] == pytest.approx(1 / 3)
    assert result["label_quality"] == {"high": 0.5, "medium": 0.0, "low": 0.5}
    assert result["task_types"] == pytest.approx({"summary": 2 / 3, "reasoning": 1 / 3})
    assert result["samples"] == 3


@pytest.mark.django_db
def test_quality_metrics_names_bad_lines_and_prints_a_table(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "a", "dialogue": "b"}\n{"prompt": 3}\n', encoding="utf-8")
    with pytest.raises(CommandError, match="line 2: 'prompt' must be a string"):
        call_command("quality_metrics", str(path))
    with pytest.raises(CommandError, match="unknown|Unknown|valid"):
        call_command("quality_metrics", write(tmp_path / "s.jsonl", ROWS), "--embedding", "w2v")
    out = StringIO()
    call_command("quality_metrics", write(tmp_path / "s.jsonl", ROWS), "--top-n", "2", stdout=out)
    assert "richness" in out.getvalue() and "redundancy" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.skipif(not CROSSWOZ.exists(), reason="../shared/corpora is not beside this clone")
def test_quality_metrics_on_real_dialogues(tmp_path):
    rows = []
    with CROSSWOZ.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle):
            if n == 60:
                break
            data = json.loads(line)
            text = json.dumps(data, ensure_ascii=False)[:1500]
            rows.append(
                {
                    "prompt": ["总结对话中用户的需求。", "提取用户提到的地点。"][n % 2],
                    "dialogue": text,
                    "output": "",
                    "label_quality": None,
                    "task_type": "summary",
                    "output_format": "free_text",
                }
            )
    out = StringIO()
    call_command("quality_metrics", write(tmp_path / "c.jsonl", rows), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["samples"] == 60 and result["communities"] == 2
    assert result["input_complexity"] > result["prompt_complexity"]  # long real dialogues


@pytest.mark.django_db
def test_export_version_refuses_unapproved_and_unknown_versions(team, tmp_path):
    from metrics.models import DatasetVersion

    with pytest.raises(CommandError, match="no dataset version 999"):
        call_command("export_version", "999", "--format", "openai", "--out", str(tmp_path / "x"))
    version = DatasetVersion.objects.create(project=team.project, name="v", state="frozen")
    with pytest.raises(CommandError, match="Only approved"):
        call_command(
            "export_version", str(version.pk), "--format", "openai", "--out", str(tmp_path / "x")
        )
    assert not (tmp_path / "x").exists()


@pytest.mark.django_db
def test_export_version_writes_data_manifest_and_dataset_info(team, labelled, tmp_path):  # noqa: F811
    from curation.models import Membership, Role
    from curation.services.jobs import job_run_here
    from metrics.services.versions import (
        version_create,
        version_decide,
        version_freeze,
        version_submit,
    )
    from tests.factories import UserFactory

    version = version_create(project=team.project, name="v1.0", actor=team.lead)
    job_run_here(
        job_id=version_freeze(version=version, revision=1, actor=team.lead, dispatch=False).pk
    )
    version.refresh_from_db()
    version_submit(version=version, revision=version.revision, actor=team.lead)
    second = UserFactory(username="lead-two")
    Membership.objects.create(project=team.project, user=second, role=Role.LEAD)
    version_decide(version=version, revision=version.revision, actor=second, decision="approve")
    out = tmp_path / "beike.sharegpt.json"
    printed = StringIO()
    call_command(
        "export_version",
        str(version.pk),
        "--format",
        "llamafactory",
        "--out",
        str(out),
        stdout=printed,
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data) == version.sample_count == 8
    manifest = json.loads((tmp_path / "beike.sharegpt.json.manifest.json").read_text())
    assert manifest["content_hash"] == version.content_hash and manifest["file"] == out.name
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert info[manifest["dataset"]]["file_name"] == out.name
    assert f"samples=8 hash={version.content_hash}" in printed.getvalue()


@pytest.mark.django_db
def test_export_version_into_a_directory_names_the_file_in_dataset_info(team, labelled, tmp_path):  # noqa: F811
    from tests.metrics.test_services_versions import approve, frozen

    team.project.training_system_prompt = "你是房产客服质检助手。"
    team.project.save(update_fields=["training_system_prompt"])
    version = approve(team, frozen(team, name="v3"))
    info_path = tmp_path / "dataset_info.json"
    info_path.write_text("{not json", encoding="utf-8")
    args = ["export_version", str(version.pk), "--format", "llamafactory", "--out", str(tmp_path)]
    # A broken dataset_info.json stops the export before anything is written.
    with pytest.raises(CommandError, match="dataset_info.json is not JSON"):
        call_command(*args, stdout=StringIO())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset_info.json"]
    info_path.write_text(json.dumps({"other": {"file_name": "other.json"}}), encoding="utf-8")
    call_command(*args, stdout=StringIO())
    info = json.loads(info_path.read_text(encoding="utf-8"))
    assert info["other"] == {"file_name": "other.json"}
    entry = info["beike-v3"]
    assert entry["file_name"] == "beike-v3.llamafactory.json"
    assert entry["columns"] == {"messages": "conversations", "system": "system"}
    rows = json.loads((tmp_path / entry["file_name"]).read_text(encoding="utf-8"))
    assert len(rows) == 8 and {row["system"] for row in rows} == {"你是房产客服质检助手。"}
    manifest = json.loads((tmp_path / "beike-v3.llamafactory.json.manifest.json").read_text())
    assert manifest["file"] == entry["file_name"]


DISTRICTS = ["朝阳区", "海淀区", "通州区", "昌平区", "丰台区", "顺义区"]
LAYOUTS = ["两居室", "三居室", "一居室", "四居室"]


def near_identical_rows(count: int) -> list[dict]:
    """`count` samples whose prompts differ only in an id number (the paper's v0.5 case, 98.44 %
    repetition), each with its own plausible call between a broker and a client."""
    rows = []
    for n in range(count):
        district, layout = DISTRICTS[n % 6], LAYOUTS[n % 4]
        budget, area = 300 + (n * 37) % 700, 60 + (n * 13) % 90
        dialogue = (
            f"经纪人：您好，我是贝壳找房的经纪人，请问您考虑在哪个区域买房？\n"
            f"客户：我想在{district}附近买一套{layout}，面积{area}平米左右。\n"
            f"经纪人：好的，您的预算大概是多少？需要贷款吗？\n"
            f"客户：总价{budget}万以内，首付能出三成，最好离地铁近一点，孩子明年要上学。\n"
            f"经纪人：明白，这周六上午方便带您看两套房吗？\n"
            f"客户：周六可以，麻烦先把房源发到我微信上。"
        )
        rows.append(
            {
                "prompt": (
                    f"请总结这段对话中客户的购房需求，包括预算、意向区域、户型和面积，"
                    f"并指出客户最关心的问题，编号 {n + 1}"
                ),
                "dialogue": dialogue,
                "output": f"客户想在{district}买{layout}，约{area}平米，预算{budget}万，关注学区。",
                "label_quality": ("high", "medium", "low")[n % 3],
                "task_type": "summary",
                "output_format": "free_text",
            }
        )
    return rows


@pytest.mark.django_db
def test_quality_metrics_on_3000_near_identical_prompts(tmp_path):
    # Every pair of these prompts is similar (millions of pairs): the metrics used to stop
    # with TooManyPairs; richness is now about 1/3000, as sentence-transformers finds.
    rows = near_identical_rows(3000)
    assert all(40 <= len(r["prompt"]) <= 80 for r in rows)
    assert len({r["prompt"] for r in rows}) == 3000
    out = StringIO()
    call_command("quality_metrics", write(tmp_path / "v05.jsonl", rows), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["samples"] == 3000
    assert result["richness"] <= 0.01
    assert result["redundancy"] >= 0.99
