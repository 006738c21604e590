"""Stage 2 screens: the library, assembling, the review queue and the meta-prompt."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from curation.models import Job
from curation.services.jobs import job_run_here
from evolution import formats
from evolution.models import Prompt, TemplatePart
from evolution.services.assembly import assembly_start
from evolution.services.parts import parts_add_starter, parts_from_instructions
from evolution.services.prompt_review import prompt_output_rule
from labeling.models import Sample
from labeling.services.generate import label_job_start
from tests.factories import DialogueFactory, InstructionFactory

pytestmark = pytest.mark.django_db


def url(team, name, *args):
    return reverse(f"evolution:{name}", args=[team.project.slug, *args])


@pytest.fixture
def prompts(team):
    InstructionFactory(project=team.project, text="总结客户的购房预算。")
    parts_add_starter(project=team.project, actor=team.lead)
    parts_from_instructions(project=team.project, actor=team.lead)
    job = assembly_start(project=team.project, count=3, seed=1, actor=team.lead, dispatch=False)
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    DialogueFactory(
        project=team.project,
        turns=[{"speaker": "客户", "role": "customer", "text": "首付大概三成可以吗"}],
    )
    return list(Prompt.objects.filter(job=job).order_by("id"))


def test_a_part_with_an_unknown_placeholder_is_shown_back_with_the_error(team):
    response = team.client("lead").post(
        url(team, "part_list"),
        {"kind": "role", "name": "角色", "text": "你是{rolee}，服务{scene}。"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Unknown placeholder {rolee}" in page
    assert "你是{rolee}，服务{scene}。" in page  # what was typed is kept
    assert not TemplatePart.objects.exists()


def test_a_lead_adds_and_edits_parts(team):
    client = team.client("lead")
    response = client.post(
        url(team, "part_list"),
        {"kind": "guidelines", "name": "准则", "text": "只依据对话作答，{role}不要编造。"},
    )
    assert response.status_code == 302
    part = TemplatePart.objects.get()
    response = client.post(
        url(team, "part_list"),
        {"part": part.pk, "revision": 1, "name": "准则", "text": "不要编造。", "active": "on"},
    )
    assert response.status_code == 302
    part.refresh_from_db()
    assert (part.text, part.revision, part.kind) == ("不要编造。", 2, "guidelines")
    stale = client.post(
        url(team, "part_list"), {"part": part.pk, "revision": 1, "text": "旧的", "active": "on"}
    )
    assert stale.status_code == 409 and "Someone else changed this part" in stale.content.decode()
    client.post(url(team, "parts_add"), {"starter": ""})
    assert TemplatePart.objects.filter(kind="output_format").count() == 5
    page = client.get(url(team, "part_list"), {"kind": "output_format"}).content.decode()
    assert "表格输出" in page and "不要编造" not in page


def test_assembling_from_the_screen_starts_a_job(team, prompts):
    response = team.client("lead").post(
        url(team, "prompts_assemble"), {"count": 5, "seed": 3, "tasks_per_prompt": 2}
    )
    job = Job.objects.filter(kind="prompts.assemble").latest("id")
    assert response.status_code == 302 and response["Location"].endswith(f"/jobs/{job.pk}/")
    assert job.params["count"] == 5 and job.params["tasks_per_prompt"] == 2
    bad = team.client("lead").post(url(team, "prompts_assemble"), {"count": 0}, follow=True)
    assert "Assemble 1 to" in bad.content.decode()


def test_the_queue_previews_each_prompt_with_a_real_dialogue_and_counts_what_is_left(team, prompts):
    page = team.client("lead").get(url(team, "prompt_queue")).content.decode()
    assert page.count('class="queue-item card') == 3
    assert "首付大概三成可以吗" in page  # the preview, with the real dialogue
    assert "&lt;untrusted_dialogue&gt;" in page  # shown as the model will read it
    assert '<strong data-count="pending">3</strong>' in page


def test_approve_with_htmx_swaps_the_card_and_the_counts(team, prompts):
    client = team.client("lead")
    first = prompts[0]
    edited = first.text.replace("{dialogue}", "{dialogue}\n（以上为对话）")
    response = client.post(
        url(team, "prompt_act", first.pk),
        {"approve": "", "revision": 1, "text": edited, "state": "pending"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<article class="queue-item card state-approved"')
    assert "<ins>" in body  # the diff against the assembled text shows the edit
    assert 'id="prompt-counts" hx-swap-oob="true"' in body
    assert '<strong data-count="approved">1</strong>' in body
    assert '<strong data-count="pending">2</strong>' in body
    first.refresh_from_db()
    assert first.state == "approved" and first.text == edited


def test_a_stale_or_broken_edit_is_refused_in_place(team, prompts):
    client = team.client("lead")
    one = prompts[1]
    client.post(url(team, "prompt_act", one.pk), {"approve": "", "revision": 1, "text": one.text})
    stale = client.post(
        url(team, "prompt_act", one.pk),
        {"reject": "", "revision": 1, "reason": "x", "text": one.text},
        HTTP_HX_REQUEST="true",
    )
    assert "Someone else changed this prompt" in stale.content.decode()
    two = prompts[2]
    broken = client.post(
        url(team, "prompt_act", two.pk),
        {"save": "", "revision": 1, "text": "没有对话的位置"},
        HTTP_HX_REQUEST="true",
    )
    body = broken.content.decode()
    assert "must keep {dialogue}" in body and "没有对话的位置" in body
    assert Prompt.objects.get(pk=two.pk).text == two.text


def test_without_javascript_the_form_redirects_back_to_the_queue(team, prompts):
    response = team.client("lead").post(
        url(team, "prompt_act", prompts[0].pk),
        {
            "reject": "",
            "revision": 1,
            "reason": "太长",
            "text": prompts[0].text,
            "state": "pending",
        },
    )
    assert response.status_code == 302 and "state=pending" in response["Location"]
    assert Prompt.objects.get(pk=prompts[0].pk).reason == "太长"


def test_the_meta_prompt_screen_refuses_a_prompt_without_tasks(team):
    client = team.client("lead")
    page = client.get(url(team, "meta_prompt")).content.decode()
    assert "{tasks}" in page
    response = client.post(
        url(team, "meta_prompt"), {"revision": 1, "prompt_zh": "改写", "prompt_en": "{tasks}"}
    )
    assert response.status_code == 400 and "{tasks} is required" in response.content.decode()
    ok = client.post(
        url(team, "meta_prompt"),
        {"revision": 1, "prompt_zh": "改写：{tasks}", "prompt_en": "{tasks}"},
    )
    assert ok.status_code == 302


def test_annotators_do_not_see_stage_two(team):
    assert team.client("annotator").get(url(team, "prompt_queue")).status_code == 403


def test_each_card_shows_the_output_rule_its_text_gives(team, prompts):
    page = team.client("lead").get(url(team, "prompt_queue")).content.decode()
    for prompt in prompts:
        rule = formats.rule([prompt.tasks[0]["output_format"]], "zh")
        card = page[page.index(f'id="prompt-{prompt.pk}"') :]
        assert rule in card.split("</article>")[0]


def test_approving_a_text_that_asks_for_two_formats_is_refused_on_the_card(team, prompts):
    prompt = prompts[0]
    torn = prompt.text.replace(
        "{dialogue}", "{dialogue}\n请用表格列出客户诉求，并以 JSON 输出结论。"
    )
    response = team.client("lead").post(
        url(team, "prompt_act", prompt.pk),
        {"approve": "", "revision": 1, "text": torn, "state": "pending"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert 'role="alert">The prompt asks for ' in body and "JSON, table" in body
    assert "以 JSON 输出结论" in body  # what was typed is kept to fix
    assert Prompt.objects.get(pk=prompt.pk).state == "assembled"


def test_approving_an_edit_to_a_list_shows_the_new_rule(team, prompts):
    prompt = prompts[1]
    part = TemplatePart.objects.get(pk=prompt.tasks[0]["output_part"])
    listed = prompt.text.replace(part.text, "请以编号列表输出，每条一句话。")
    listed = listed.replace(prompt.tasks[0]["example"], "1. 客户预算三百万\n2. 客户希望首付三成")
    response = team.client("lead").post(
        url(team, "prompt_act", prompt.pk),
        {"approve": "", "revision": 1, "text": listed, "state": "pending"},
        HTTP_HX_REQUEST="true",
    )
    assert formats.rule(["list"], "zh") in response.content.decode()
    assert Prompt.objects.get(pk=prompt.pk).tasks[0]["output_format"] == "list"


def test_the_label_review_panel_shows_the_rule_beside_the_instruction(team, labels):
    job = label_job_start(
        project=team.project,
        count=1,
        endpoint=labels["endpoint"],
        actor=team.lead,
        prompt_ids=[labels["json"].pk],
        judge=False,
        dispatch=False,
    )
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    sample = Sample.objects.get(job=job)
    rule = prompt_output_rule(sample.prompt)
    assert rule == "输出规则：JSON（必须能被解析，JSON 以外不要有其他内容）"
    html = render_to_string(
        "labeling/review.html#panel",
        {
            "project": team.project,
            "sample": sample,
            "left": 1,
            "left_cap": 100,
            "grades": [],
            "output_rule": rule,
        },
    )
    heading = html.index("<h3>Instruction</h3>")
    assert heading < html.index(rule) < html.index(sample.instruction[:20])
