"""The UI in Simplified Chinese: what a person sees once they pick the language, and a check
that the catalogue in locale/zh_Hans leaves no string untranslated."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

PO_FILE = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")


@pytest.fixture(autouse=True)
def _keep_active_language():
    """A request activates its language in this thread and nothing switches it back; restore
    it so that tests running after these ones do not see Chinese messages."""
    with translation.override(translation.get_language()):
        yield


def taxonomy_url(team) -> str:
    return reverse("curation:taxonomy", args=[team.project.slug])


# --- what a person sees --------------------------------------------------------------------------


def test_taxonomy_page_in_chinese(team):
    response = team.client("lead").get(taxonomy_url(team), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    content = response.content.decode()
    assert '<html lang="zh-hans">' in content
    assert "<title>分类体系</title>" in content
    assert "<h1>分类体系</h1>" in content
    assert "权重决定各场景、来源和任务类型被采样的频率。" in content
    # One section per kind of term, titled by its model's verbose name.
    for heading in ("场景", "来源类型", "服务角色", "任务类型"):
        assert f"<h2>{heading}</h2>" in content
    for column in ("键", "英文", "中文", "权重", "启用", "要求"):
        assert f"<th>{column}</th>" in content
    assert ">编辑</a>" in content
    assert ">审计日志</a>" in content
    assert ">退出登录</button>" in content
    # The role beside the user's name is a model choice label, translated too.
    assert "lead-user · 组长" in content
    assert "<h1>Taxonomy</h1>" not in content
    assert "<h2>Scenes</h2>" not in content


def test_taxonomy_page_in_english(team):
    response = team.client("lead").get(taxonomy_url(team), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    content = response.content.decode()
    assert '<html lang="en">' in content
    assert "<h1>Taxonomy</h1>" in content
    for heading in ("Scenes", "Source types", "Service roles", "Task types"):
        assert f"<h2>{heading}</h2>" in content
    assert "<th>Weight</th>" in content
    assert "lead-user · Lead" in content
    assert "<h1>分类体系</h1>" not in content
    assert "<h2>场景</h2>" not in content
    assert ">退出登录</button>" not in content


def test_english_is_the_default(team):
    response = team.client("annotator").get(taxonomy_url(team))

    content = response.content.decode()
    assert "<h1>Taxonomy</h1>" in content
    assert "annotator-user · Annotator" in content


def test_jobs_page_in_chinese(team):
    url = reverse("curation:job_list", args=[team.project.slug])
    response = team.client("lead").get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    content = response.content.decode()
    assert "<title>作业</title>" in content
    assert "<h1>作业</h1>" in content
    assert "<h1>Jobs</h1>" not in content


def test_dialogues_page_in_chinese(team):
    url = reverse("curation:dialogue_list", args=[team.project.slug])
    response = team.client("lead").get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1>对话</h1>" in content
    assert "<h2>导入对话</h2>" in content
    assert "Import dialogues" not in content


@pytest.mark.django_db
def test_login_page_in_chinese(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    content = response.content.decode()
    assert "<title>登录</title>" in content
    assert "<h1>登录</h1>" in content
    assert '<button type="submit" class="primary">登录</button>' in content
    assert "用户名 <input" in content
    assert "密码 <input" in content
    assert "账户由管理员创建。" in content
    assert "Log in" not in content


@pytest.mark.django_db
def test_login_page_in_english(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1>Log in</h1>" in content
    assert '<button type="submit" class="primary">Log in</button>' in content
    assert "Accounts are created by an administrator." in content
    assert "登录" not in content


@pytest.mark.django_db
def test_failed_login_explained_in_chinese(client):
    response = client.post(
        reverse("login"),
        {"username": "nobody", "password": "wrong"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 200
    assert "用户名或密码不正确，请重试。" in response.content.decode()


def test_switching_language_sticks_for_following_pages(team):
    client = team.client("lead")
    url = taxonomy_url(team)
    assert "<h1>Taxonomy</h1>" in client.get(url).content.decode()

    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": url})

    assert response.status_code == 302
    assert response["Location"] == url
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    # The choice outweighs the browser's Accept-Language, on this page and the next.
    content = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>分类体系</h1>" in content
    assert "<h2>场景</h2>" in content
    members = client.get(reverse("curation:member_list", args=[team.project.slug]))
    assert "<h1>成员</h1>" in members.content.decode()

    client.post(reverse("set_language"), {"language": "en", "next": url})

    assert "<h1>Taxonomy</h1>" in client.get(url).content.decode()


@pytest.mark.django_db
def test_switching_language_before_logging_in(client):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("login")})

    assert "<h1>登录</h1>" in client.get(reverse("login")).content.decode()


# --- the catalogue -------------------------------------------------------------------------------


def _unquote(line: str) -> str:
    """The text of one quoted PO string, with its C escapes undone."""
    body = line[line.index('"') + 1 : line.rindex('"')]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def parse_po(path: Path) -> list[dict]:
    """The entries of a PO file, header included: flags, msgctxt, msgid, msgid_plural and
    msgstr (a msgstr[n] form is stored under "msgstr[n]"). Obsolete (#~) entries are dropped."""
    entries: list[dict] = []
    entry: dict = {}
    field = None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if "msgid" in entry:
                entries.append(entry)
            entry, field = {}, None
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            entry.setdefault("flags", set()).update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[field] += _unquote(line)
        else:
            field = line.split(" ", 1)[0]
            entry[field] = _unquote(line)
    return entries


def _messages() -> list[dict]:
    return [entry for entry in parse_po(PO_FILE) if entry["msgid"]]


def _msgstrs(entry: dict) -> list[str]:
    return [value for key, value in entry.items() if key.startswith("msgstr")]


def _label(entry: dict) -> str:
    return repr(entry["msgid"])


def test_catalogue_exists_and_is_compiled():
    assert PO_FILE.is_file()
    assert MO_FILE.is_file(), "run: manage.py compilemessages -l zh_Hans"
    assert len(_messages()) > 100


def test_catalogue_header_declares_chinese_plural_forms():
    header = next(entry for entry in parse_po(PO_FILE) if entry["msgid"] == "")
    assert "fuzzy" not in header.get("flags", set())
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header["msgstr"]
    assert "Content-Type: text/plain; charset=UTF-8\n" in header["msgstr"]


def test_every_message_is_translated_and_none_is_fuzzy():
    fuzzy = [_label(e) for e in _messages() if "fuzzy" in e.get("flags", set())]
    untranslated = [_label(e) for e in _messages() if not all(s.strip() for s in _msgstrs(e))]

    assert not fuzzy and not untranslated, (
        f"in {PO_FILE}: fuzzy: {', '.join(fuzzy) or 'none'}; "
        f"untranslated: {', '.join(untranslated) or 'none'}"
    )


PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\{\s*\w+\s*\}\}|\{\w*\}")


def test_translations_keep_their_placeholders():
    broken = [
        _label(entry)
        for entry in _messages()
        for msgstr in _msgstrs(entry)
        if sorted(PLACEHOLDER.findall(msgstr)) != sorted(PLACEHOLDER.findall(entry["msgid"]))
    ]
    assert not broken, f"placeholders differ from the msgid in: {', '.join(broken)}"


def test_compiled_catalogue_matches_the_po_file():
    """What Django serves comes from the .mo; a .po edited without recompiling fails here."""
    stale = []
    with translation.override("zh-hans"):
        for entry in _messages():
            if "msgid_plural" in entry:
                served = translation.ngettext(entry["msgid"], entry["msgid_plural"], 1)
                expected = entry["msgstr[0]"]
            elif "msgctxt" in entry:
                served = translation.pgettext(entry["msgctxt"], entry["msgid"])
                expected = entry["msgstr"]
            else:
                served = translation.gettext(entry["msgid"])
                expected = entry["msgstr"]
            if served != expected:
                stale.append(_label(entry))
    assert not stale, f"run compilemessages; the .mo differs for: {', '.join(stale)}"


def test_every_string_of_the_code_and_templates_is_in_the_catalogue(
    tmp_path, settings, monkeypatch
):
    """makemessages over a copy of the project adds nothing untranslated to its catalogue: a
    new UI string without its Chinese fails here, not in front of a Chinese user."""
    import shutil

    from django.core.management import call_command

    root = Path(settings.BASE_DIR)
    skip = shutil.ignore_patterns(
        ".git", ".venv", "staticfiles", "test-artifacts", "var", "tests", "bench", "*.sqlite3"
    )
    shutil.copytree(root, tmp_path / "project", ignore=skip)
    copy = tmp_path / "project" / "locale"
    # makemessages writes next to the locale directory nearest each file: work in the copy.
    monkeypatch.chdir(tmp_path / "project")
    settings.LOCALE_PATHS = [copy]
    call_command(
        "makemessages",
        locale=["zh_Hans"],
        ignore_patterns=[".venv/*", "staticfiles/*", "tests/*", "bench/*", "test-artifacts/*"],
        verbosity=0,
    )
    entries = [e for e in parse_po(copy / "zh_Hans" / "LC_MESSAGES" / "django.po") if e["msgid"]]
    missing = [
        _label(e)
        for e in entries
        if "fuzzy" in e.get("flags", set()) or not all(s.strip() for s in _msgstrs(e))
    ]
    assert not missing, f"add to {PO_FILE} (then compilemessages): {', '.join(missing)}"
