import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from curation.models import Job, Scene, ServiceRole, SourceType
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


# --- the import: one input, uploads streamed to disk ------------------------------------------


def calls(count: int = 40) -> bytes:
    """A JSON Lines file of real CrossWOZ sessions."""
    from tests.support.corpus import crosswoz

    return "\n".join(
        json.dumps({"id": r["id"], "turns": r["turns"]}, ensure_ascii=False)
        for r in crosswoz()[:count]
    ).encode()


@pytest.fixture
def import_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def import_url(team) -> str:
    return f"/p/{team.project.slug}/dialogues/import/"


def api_import_url(team) -> str:
    return f"/api/projects/{team.project.slug}/dialogues/import/"


@pytest.fixture
def moves(monkeypatch):
    """Every file the import moves into its directory: (from, to)."""
    from curation.services import imports

    seen = []
    real_move = imports.file_move_safe

    def spy(old, new, *args, **kwargs):
        seen.append((Path(old), Path(new)))
        return real_move(old, new, *args, **kwargs)

    monkeypatch.setattr(imports, "file_move_safe", spy)
    return seen


def test_the_screen_streams_the_upload_into_the_import_directory(team, import_dir, moves):
    data = calls()
    response = team.client("lead").post(
        import_url(team), {"file": SimpleUploadedFile("calls.jsonl", data), "partial": "on"}
    )
    job = Job.objects.get()
    assert response.status_code == 302 and job.params["partial"] is True
    # Received straight into the directory, then renamed: never read into memory or copied.
    [(received, stored)] = moves
    assert received.parent == import_dir and received.suffix == ".part"
    assert stored == import_dir / job.params["upload"] and stored.read_bytes() == data
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    assert leftovers(import_dir) == [job.params["upload"]]  # no .part left


def test_the_api_streams_the_upload_too(team, import_dir, moves):
    data = calls()
    response = api(team.lead).post(
        api_import_url(team),
        {"file": SimpleUploadedFile("calls.jsonl", data), "partial": "true"},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.params["partial"] is True and job.params["format"] == "jsonl"
    [(received, stored)] = moves
    assert received.parent == import_dir and stored.read_bytes() == data


def test_a_file_over_the_limit_is_refused_with_the_limit_named(team, import_dir, settings):
    settings.IMPORT_MAX_BYTES = 50_000
    data = calls(200)
    assert len(data) > 100_000
    page = team.client("lead").post(
        import_url(team), {"file": SimpleUploadedFile("calls.jsonl", data)}
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert "The file is larger than the limit of 50000 bytes." in text
    assert text.index("limit of 50000") > text.index('name="file"')  # beside the field
    response = api(team.lead).post(
        api_import_url(team), {"file": SimpleUploadedFile("c.jsonl", data)}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json() == {"file": ["The file is larger than the limit of 50000 bytes."]}
    assert not Job.objects.exists() and leftovers(import_dir) == []


def multipart(data: bytes) -> tuple[bytes, str]:
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    body = encode_multipart(
        BOUNDARY,
        {"csrfmiddlewaretoken": "t" * 64, "file": SimpleUploadedFile("calls.jsonl", data)},
    )
    return body, MULTIPART_CONTENT


class CountingStream(io.BytesIO):
    def __init__(self, body: bytes):
        super().__init__(body)
        self.consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


@pytest.mark.parametrize("declared", ["honest", "understated"])
def test_an_oversized_upload_is_not_read_whole(import_dir, settings, declared):
    from django.http.multipartparser import MultiPartParser

    from curation.inputs import ImportUploadHandler

    settings.IMPORT_MAX_BYTES = 1_000_000
    body, content_type = multipart(calls(300) * 8)
    assert len(body) > 5_000_000
    stream = CountingStream(body)
    # An understated length gets past the first check: the count of received bytes stops it.
    length = len(body) if declared == "honest" else settings.IMPORT_MAX_BYTES
    handler = ImportUploadHandler()
    post, files = MultiPartParser(
        {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(length)}, stream, [handler]
    ).parse()
    assert handler.refused and not files
    assert post["csrfmiddlewaretoken"] == "t" * 64  # read before the file: CSRF still checked
    limit = 100_000 if declared == "honest" else settings.IMPORT_MAX_BYTES + 200_000
    assert stream.consumed < limit
    assert leftovers(import_dir) == []  # the part received is deleted


def test_csrf_is_checked_after_the_upload_handler_is_in_place(team, import_dir, settings):
    from django.test import Client

    settings.IMPORT_MAX_BYTES = 50_000
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.lead)
    client.get(f"/p/{team.project.slug}/dialogues/")
    token = client.cookies["csrftoken"].value
    upload = SimpleUploadedFile("calls.jsonl", calls(5))
    assert client.post(import_url(team), {"file": upload}).status_code == 403
    upload.seek(0)
    ok = client.post(import_url(team), {"file": upload, "csrfmiddlewaretoken": token})
    assert ok.status_code == 302
    # The API's session authentication checks CSRF while the handler is already installed.
    big = SimpleUploadedFile("calls.jsonl", calls(200))
    refused = client.post(api_import_url(team), {"file": big}, headers={"X-CSRFToken": token})
    assert refused.status_code == 400 and "limit of 50000" in refused.json()["file"][0]
    assert client.post(api_import_url(team), {"file": big}).status_code == 403  # no token
    upload.seek(0)
    accepted = client.post(api_import_url(team), {"file": upload}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 202
    assert len(leftovers(import_dir)) == 2  # the two accepted uploads, nothing else


def test_the_import_input_names_each_wrong_field_on_the_screen_and_in_the_api(team, import_dir):
    lead, client = team.client("lead"), api(team.lead)
    upload = SimpleUploadedFile("calls.jsonl", calls(3))
    wrong_format = lead.post(import_url(team), {"file": upload, "format": "xml"})
    assert wrong_format.status_code == 400
    assert "&quot;xml&quot; is not a valid choice." in wrong_format.content.decode()
    no_file = lead.post(import_url(team), {"format": "jsonl"})
    assert no_file.status_code == 400
    assert "Choose a file to import (multipart field “file”)." in no_file.content.decode()
    unknown = SimpleUploadedFile("calls.txt", calls(3))
    guessed = lead.post(import_url(team), {"file": unknown})
    assert guessed.status_code == 400
    assert "Cannot tell the format from the file name" in guessed.content.decode()

    for body, field in (
        ({"file": SimpleUploadedFile("a.jsonl", calls(3)), "format": "xml"}, "format"),
        ({"format": "jsonl"}, "file"),
        ({"file": SimpleUploadedFile("a.jsonl", calls(3)), "partial": "maybe"}, "partial"),
        ({"file": SimpleUploadedFile("a.jsonl", b"")}, "file"),
        ({"file": SimpleUploadedFile("a.txt", calls(3))}, "format"),
    ):
        response = client.post(api_import_url(team), body, format="multipart")
        assert response.status_code == 400 and list(response.json()) == [field], response.json()
    assert not Job.objects.exists() and leftovers(import_dir) == []


def test_nobody_else_can_upload(team, import_dir):
    upload = SimpleUploadedFile("calls.jsonl", calls(3))
    assert APIClient().post(api_import_url(team), {"file": upload}).status_code in (401, 403)
    upload.seek(0)
    assert api(team.annotator).post(api_import_url(team), {"file": upload}).status_code == 403
    upload.seek(0)
    assert team.client("annotator").post(import_url(team), {"file": upload}).status_code == 403
    assert not Job.objects.exists() and leftovers(import_dir) == []
