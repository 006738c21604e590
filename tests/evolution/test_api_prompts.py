"""Stage 2 over the API: parts, assembly, preview, review and the meta-prompt."""

import pytest
from rest_framework.test import APIClient

from curation.models import Job, ModelEndpoint
from curation.services.jobs import job_run_here
from evolution.models import Prompt
from evolution.services.parts import parts_add_starter, parts_from_instructions
from tests.factories import DialogueFactory, InstructionFactory

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_lead_builds_the_library_assembles_reviews_and_previews(team):
    client = api(team.lead)
    base = f"/api/projects/{team.project.slug}"
    accepted = InstructionFactory(project=team.project, text="提取客户提到的预算。")
    bad = client.post(
        f"{base}/template-parts/", {"kind": "dialogue", "text": "对话：{dialog}"}, format="json"
    )
    assert bad.status_code == 400 and "{dialog}" in bad.json()["text"][0]
    for body in (
        {"kind": "dialogue", "text": "对话：\n{dialogue}"},
        {"kind": "task", "instruction": accepted.pk},
        {
            "kind": "output_format",
            "text": "以 JSON 输出",
            "output_format": "json",
            "example": '{"预算": "500万"}',
        },
        {"kind": "scene_background", "text": "场景：{scene}", "scene": "renting"},
    ):
        created = client.post(f"{base}/template-parts/", body, format="json")
        assert created.status_code == 201, created.json()
    part = created.json()
    changed = client.patch(
        f"{base}/template-parts/{part['id']}/",
        {"text": "租房场景：{scene}", "revision": part["revision"]},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["revision"] == 2
    stale = client.patch(
        f"{base}/template-parts/{part['id']}/", {"text": "x", "revision": 1}, format="json"
    )
    assert stale.status_code == 409

    started = client.post(f"{base}/prompts/assemble/", {"count": 2, "seed": 5}, format="json")
    assert started.status_code == 202
    job = job_run_here(job_id=started.json()["id"])
    assert job.status == Job.Status.DONE, job.error_summary
    listed = client.get(f"{base}/prompts/", {"state": "pending"}).json()["results"]
    assert len(listed) == 2 and listed[0]["task_type"] == accepted.task_type.key
    prompt = listed[0]
    DialogueFactory(
        project=team.project, turns=[{"speaker": "客户", "role": "customer", "text": "预算五百万"}]
    )
    preview = client.get(f"{base}/prompts/{prompt['id']}/preview/").json()
    assert "预算五百万" in preview["rendered"] and "{dialogue}" not in preview["rendered"]
    approved = client.post(
        f"{base}/prompts/{prompt['id']}/review/",
        {"decision": "approve", "revision": prompt["revision"]},
        format="json",
    )
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    again = client.post(
        f"{base}/prompts/{prompt['id']}/review/",
        {"decision": "reject", "reason": "x", "revision": prompt["revision"]},
        format="json",
    )
    assert again.status_code == 409
    assert Prompt.objects.get(pk=prompt["id"]).state == "approved"


def test_enhance_and_meta_prompt_over_the_api(team):
    client = api(team.lead)
    base = f"/api/projects/{team.project.slug}/prompts"
    meta = client.get(f"{base}/meta-prompt/").json()
    assert "{tasks}" in meta["prompt_en"]
    refused = client.patch(
        f"{base}/meta-prompt/",
        {"prompt_en": "no tasks", "revision": meta["revision"]},
        format="json",
    )
    assert refused.status_code == 400 and "{tasks} is required" in refused.json()["prompt_en"][0]
    saved = client.patch(
        f"{base}/meta-prompt/", {"prompt_en": "Merge {tasks}", "revision": 1}, format="json"
    )
    assert saved.json() == {
        "prompt_zh": meta["prompt_zh"],
        "prompt_en": "Merge {tasks}",
        "revision": 2,
    }
    no_endpoint = client.post(f"{base}/enhance/", {"prompts": [1]}, format="json")
    assert no_endpoint.status_code == 400 and "endpoint" in no_endpoint.json()
    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="e", base_url="http://127.0.0.1:9/v1", model="m"
    )
    nothing = client.post(
        f"{base}/enhance/", {"prompts": [999], "endpoint": endpoint.pk}, format="json"
    )
    assert nothing.status_code == 400 and "prompts" in nothing.json()
    assert client.post(f"{base}/assemble/", {"count": "many"}, format="json").status_code == 400


def test_the_api_gives_the_output_rule_and_refuses_a_torn_approval(team):
    client = api(team.lead)
    base = f"/api/projects/{team.project.slug}"
    InstructionFactory(project=team.project, text="请以要点形式列出客户的三项核心诉求。")
    parts_add_starter(project=team.project, actor=team.lead)
    parts_from_instructions(project=team.project, actor=team.lead)
    started = client.post(f"{base}/prompts/assemble/", {"count": 3, "seed": 2}, format="json")
    assert job_run_here(job_id=started.json()["id"]).status == Job.Status.DONE
    listed = client.get(f"{base}/prompts/").json()["results"]
    # The narrative asks for bullet points: every prompt got the list part and says so.
    assert {p["output_rule"] for p in listed} == {
        "输出规则：列表（至少一行以 1. - * • 或 一、 开头）"
    }
    prompt = listed[0]
    torn = prompt["text"] + "\n另外请用表格汇总。"
    refused = client.post(
        f"{base}/prompts/{prompt['id']}/review/",
        {"decision": "approve", "text": torn, "revision": prompt["revision"]},
        format="json",
    )
    assert refused.status_code == 400
    assert "table, list at once" in refused.json()["text"][0]
    assert Prompt.objects.get(pk=prompt["id"]).state == "assembled"
