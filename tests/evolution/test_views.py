import pytest
from django.urls import reverse

from curation.models import TaskType
from evolution.models import Instruction

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(team):
    task = TaskType.objects.get(project=team.project, key="reasoning")
    return [
        Instruction.objects.create(project=team.project, task_type=task, text=f"指令 {n}")
        for n in range(3)
    ]


def queue(team) -> str:
    return reverse("evolution:instruction_queue", args=[team.project.slug])


def act(team, item) -> str:
    return reverse("evolution:instruction_act", args=[team.project.slug, item.pk])


def test_the_queue_shows_drafts_and_counts_per_state(team, items):
    Instruction.objects.filter(pk=items[0].pk).update(state="kept")
    page = team.client("annotator").get(queue(team)).content.decode()
    assert "指令 1" in page and "指令 2" in page and "指令 0" not in page
    assert '<strong data-count="draft">2</strong>' in page
    assert '<strong data-count="kept">1</strong>' in page
    kept = team.client("annotator").get(queue(team), {"state": "kept"}).content.decode()
    assert "指令 0" in kept and "指令 1" not in kept


def test_one_form_with_named_buttons_works_without_javascript(team, items):
    client = team.client("annotator")
    response = client.post(act(team, items[0]), {"keep": "", "revision": 1, "text": "指令 0"})
    assert response.status_code == 302
    assert Instruction.objects.get(pk=items[0].pk).state == "kept"
    client.post(act(team, items[1]), {"save": "", "revision": 1, "text": "改写后的指令"})
    edited = Instruction.objects.get(pk=items[1].pk)
    assert (edited.text, edited.state, edited.revisions.count()) == ("改写后的指令", "draft", 1)


def test_htmx_answers_the_item_and_a_stale_save_says_so(team, items):
    client = team.client("annotator")
    first = client.post(act(team, items[2]), {"drop": "", "revision": 1}, HTTP_HX_REQUEST="true")
    body = first.content.decode()
    assert body.lstrip().startswith('<article class="queue-item card state-dropped"')
    # The counts per state come along, swapped out of band.
    assert 'id="instruction-counts" hx-swap-oob="true"' in body
    assert '<strong data-count="dropped">1</strong>' in body
    stale = client.post(act(team, items[2]), {"keep": "", "revision": 1}, HTTP_HX_REQUEST="true")
    assert "Someone else changed this instruction" in stale.content.decode()
    assert Instruction.objects.get(pk=items[2].pk).state == "dropped"


def test_bulk_keep(team, items):
    url = reverse("evolution:instructions_bulk", args=[team.project.slug])
    team.client("annotator").post(url, {"ids": [items[0].pk, items[1].pk], "keep": ""})
    assert list(Instruction.objects.order_by("id").values_list("state", flat=True)) == [
        "kept",
        "kept",
        "draft",
    ]


def test_seeding_needs_a_lead_and_valid_choices(team, items):
    url = reverse("evolution:seeds_start", args=[team.project.slug])
    assert team.client("annotator").post(url, {}).status_code == 403
    response = team.client("lead").post(url, {"per_combination": "3"}, follow=True)
    assert "Choose an endpoint of this project." in response.content.decode()


def test_a_lead_evolves_the_kept_instructions_of_the_filter(team, items, redis_flushed):
    from curation.models import Job, ModelEndpoint

    endpoint = ModelEndpoint.objects.create(
        project=team.project, name="e", base_url="http://127.0.0.1:9/v1", model="m"
    )
    Instruction.objects.filter(pk__in=[items[0].pk, items[1].pk]).update(state="kept")
    url = reverse("evolution:evolution_launch", args=[team.project.slug])
    page = team.client("lead").get(queue(team)).content.decode()
    assert 'name="operators" value="add-constraints"' in page and "In-breadth: a new task" in page
    response = team.client("lead").post(
        url,
        {
            "operators": ["deepen", "breadth"],
            "rounds": "3",
            "endpoint": endpoint.pk,
            "task_type": "reasoning",
        },
    )
    job = Job.objects.get(kind="instructions.evolve")
    assert response.url.endswith(f"/jobs/{job.pk}/")
    assert sorted(i.payload["instruction"] for i in job.items.all()) == [items[0].pk, items[1].pk]
    assert job.params["rounds"] == 3 and job.params["operators"] == ["breadth", "deepen"]
