import pytest
from rest_framework.test import APIClient

from curation.models import Scene, ServiceRole, SourceType
from tests.factories import DialogueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dialogues(team):
    project = team.project
    renting = Scene.objects.get(project=project, key="renting")
    buying = Scene.objects.get(project=project, key="buying")
    im = SourceType.objects.get(project=project, key="im-message")
    agent = ServiceRole.objects.get(project=project, key="real-estate-agent")
    made = []
    for n in range(60):
        text = "想租一居室" if n % 2 else "Looking to BUY a flat"
        made.append(
            DialogueFactory(
                project=project,
                external_id=f"d{n:02d}",
                scene=renting if n % 2 else buying,
                source=im if n % 3 == 0 else None,
                service_role=agent if n < 10 else None,
                turns=[{"speaker": "客户", "role": "customer", "text": text}],
                search_text=text,
            )
        )
    return made


def ids(response) -> list[str]:
    import re

    return re.findall(r">(d\d\d)</a>", response.content.decode())


def test_filters_combine(team, dialogues):
    client = team.client("annotator")
    url = f"/p/{team.project.slug}/dialogues/"
    renting = ids(client.get(url, {"scene": "renting"}))
    assert renting and all(int(i[1:]) % 2 for i in renting)
    both = ids(client.get(url, {"scene": "renting", "source": "im-message"}))
    assert both == [i for i in renting if int(i[1:]) % 3 == 0]
    assert ids(client.get(url, {"role": "real-estate-agent"})) == [
        f"d{n:02d}" for n in range(9, -1, -1)
    ]
    assert len(ids(client.get(url, {"q": "buy a"}))) == 30  # case-insensitive
    assert ids(client.get(url, {"q": "租一居"}))[0] == "d59"


def test_pages_go_by_id_without_counting(team, dialogues, django_assert_max_num_queries):
    client = team.client("annotator")
    url = f"/p/{team.project.slug}/dialogues/"
    with django_assert_max_num_queries(12):
        first = client.get(url)
    page = first.content.decode()
    assert "COUNT" not in page and len(ids(first)) == 50
    assert f"before={dialogues[10].pk}" in page
    older = client.get(url, {"before": dialogues[10].pk})
    assert ids(older) == [f"d{n:02d}" for n in range(9, -1, -1)]
    assert "before=" not in older.content.decode().split("Older")[0][-200:]


def test_htmx_filtering_swaps_only_the_results(team, dialogues):
    response = team.client("annotator").get(
        f"/p/{team.project.slug}/dialogues/", {"scene": "buying"}, HTTP_HX_REQUEST="true"
    )
    text = response.content.decode()
    assert text.lstrip().startswith('<div id="dialogue-results">') and "<html" not in text


def test_api_filters_and_cursor_pages(team, dialogues):
    client = APIClient()
    client.force_authenticate(team.annotator)
    url = f"/api/projects/{team.project.slug}/dialogues/"
    first = client.get(url, {"scene": "renting"}).json()
    assert "count" not in first and len(first["results"]) == 30
    assert first["results"][0]["external_id"] == "d59"
    page = client.get(url).json()
    second = client.get(page["next"]).json()
    assert len(page["results"]) == 50 and len(second["results"]) == 10


def test_list_text_is_escaped(team):
    DialogueFactory(
        project=team.project,
        turns=[{"speaker": "x", "role": "customer", "text": "<img src=x onerror=alert(1)>"}],
    )
    page = team.client("annotator").get(f"/p/{team.project.slug}/dialogues/").content.decode()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
