"""The courses page: what is imported, the content folder's check, and a zip upload that is
checked as `pau content check` checks a folder and imported only when clean."""

from __future__ import annotations

import html
import io
import re
import shutil
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from storage.db import reading
from storage.models import AuditEntry, CourseRecord
from tests.admin_client import StaffClient, add_staff, signed_in_client
from tests.conftest import DEMO_COURSE, ROOT
from webhooks.admin import auth
from webhooks.container import Pau
from webhooks.course_upload import MAX_FILES, check_zip

PASSWORD = "correct horse battery"
Mutate = Callable[[str, bytes], bytes]


def course_zip(prefix: str = "science-of-learning/", mutate: Mutate | None = None) -> bytes:
    """The demo course zipped (inside its folder, or with prefix "" as its contents)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(DEMO_COURSE.rglob("*")):
            if path.is_file():
                name = path.relative_to(DEMO_COURSE).as_posix()
                data = path.read_bytes()
                archive.writestr(prefix + name, mutate(name, data) if mutate else data)
    return buffer.getvalue()


def renamed(slug: str, title: str) -> Mutate:
    def mutate(name: str, data: bytes) -> bytes:
        if name != "course.yaml":
            return data
        text = re.sub(r"(?m)^slug:.*$", f"slug: {slug}", data.decode())
        return re.sub(r"(?m)^title:.*$", f"title: {title}", text).encode()

    return mutate


def broken_yaml(name: str, data: bytes) -> bytes:
    if name == "concepts/03-spacing.md":
        return data.replace(b"\nid:", b"\nid: [unclosed", 1)
    return data


@pytest.fixture
def admin(pau: Pau) -> StaffClient:
    pau.settings.pau_content_dir = str(ROOT / "content")
    add_staff(pau, "grace@example.org", role="admin", password=PASSWORD, name="Grace")
    return signed_in_client(pau, "grace@example.org", PASSWORD)


def upload(client: StaffClient, data: bytes, filename: str = "course.zip") -> tuple[int, str]:
    files = {"course_zip": (filename, data, "application/zip")}
    response = client.post_form("/admin/courses/upload", {}, page="/admin/courses", files=files)
    return response.status_code, response.text


def own_csrf_token(pau: Pau, client: StaffClient) -> str:
    """The token the client's pages carry (whether or not it may see this one)."""
    session_token = client.client.cookies[auth.SESSION_COOKIE]
    return auth.csrf_token(pau.settings.secret_key_bytes, auth.token_hash(session_token))


def courses(pau: Pau) -> dict[str, tuple[int, str]]:
    with reading(pau.engine) as session:
        return {r.slug: (r.revision, r.title) for r in session.exec(select(CourseRecord)).all()}


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_the_page_lists_what_is_imported_and_checks_the_content_folder(admin: StaffClient) -> None:
    response = admin.client.get("/admin/courses")
    assert response.status_code == 200
    shown = text_of(response.text)
    assert "How to learn anything" in shown and "science-of-learning" in shown
    row = re.search(r"science-of-learning</code></td>(.*?)</tr>", response.text, re.S)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    assert [cells[0], cells[1], cells[2], cells[4], cells[5], cells[6]] == [
        "en", "1", "1", "10", "0", "0",
    ]  # fmt: skip
    assert "No problems found." in shown
    assert "ok: science-of-learning: 10 concepts" in shown
    assert 'accept=".zip"' in response.text and 'enctype="multipart/form-data"' in response.text


def test_the_folder_check_shows_each_problem(pau: Pau, admin: StaffClient, tmp_path: Path) -> None:
    folder = tmp_path / "content" / "science-of-learning"
    shutil.copytree(DEMO_COURSE, folder)
    spacing = folder / "concepts" / "03-spacing.md"
    spacing.write_bytes(broken_yaml("concepts/03-spacing.md", spacing.read_bytes()))
    (folder / "course.yaml").write_text("title: No slug\n")
    pau.settings.pau_content_dir = str(tmp_path / "content")
    shown = text_of(admin.client.get("/admin/courses").text)
    assert "No problems found" not in shown
    assert f"{folder}/course.yaml:1: missing field 'slug'" in html.unescape(shown)
    assert re.search(r"03-spacing\.md:\d+: invalid YAML", shown), shown


def test_a_good_zip_is_imported_audited_and_picked_up(pau: Pau, admin: StaffClient) -> None:
    status, page = upload(admin, course_zip(mutate=renamed("study-skills", "Study skills")))
    assert status == 200, page
    assert "Imported study-skills (10 concepts)" in text_of(page)
    assert courses(pau)["study-skills"] == (1, "Study skills")
    assert "study-skills" in pau.world.courses  # the engine of this process has it now
    assert "Study skills" in text_of(admin.client.get("/admin/courses").text)
    with reading(pau.engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "course.upload")).one()
    assert entry.target == "course:study-skills"
    assert entry.detail["slug"] == "study-skills" and entry.detail["concepts"] == 10
    assert entry.detail["version"] == 1


def test_a_zip_of_the_folder_contents_updates_the_course(pau: Pau, admin: StaffClient) -> None:
    status, page = upload(admin, course_zip("", renamed("science-of-learning", "Learning 2")))
    assert status == 200, page
    assert "Imported science-of-learning (10 concepts)" in text_of(page)
    assert courses(pau)["science-of-learning"] == (2, "Learning 2")


def test_a_broken_yaml_shows_the_error_and_imports_nothing(pau: Pau, admin: StaffClient) -> None:
    before = courses(pau)
    both = course_zip(mutate=lambda name, data: broken_yaml(name, renamed("x-1", "X")(name, data)))
    status, page = upload(admin, both)
    assert status == 400
    shown = text_of(page)
    assert re.search(r"science-of-learning/concepts/03-spacing\.md:\d+: invalid YAML", shown), shown
    assert "pau-upload-" not in page  # the temporary folder is not shown
    assert "was not imported" in shown and "Imported x-1" not in shown
    assert courses(pau) == before
    with reading(pau.engine) as session:
        assert (
            session.exec(select(AuditEntry).where(AuditEntry.action == "course.upload")).all() == []
        )


def _zip_with(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def test_a_zip_slip_entry_is_refused(pau: Pau, admin: StaffClient, tmp_path: Path) -> None:
    before = courses(pau)
    escape = "../" * 12 + str(tmp_path / "escaped.txt").lstrip("/")
    good = zipfile.ZipFile(io.BytesIO(course_zip()))
    entries: list[tuple[zipfile.ZipInfo | str, bytes]] = [
        (name, good.read(name)) for name in good.namelist()
    ]
    status, page = upload(admin, _zip_with([*entries, (escape, b"gotcha")]))
    assert status == 400
    assert "paths with &#39;..&#39; are not allowed" in page
    assert not (tmp_path / "escaped.txt").exists()
    assert courses(pau) == before


def test_unsafe_or_oversized_zips_are_refused() -> None:
    link = zipfile.ZipInfo("science-of-learning/course.yaml")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    assert check_zip(_zip_with([(link, b"/etc/passwd")])).problems == [
        "science-of-learning/course.yaml: symbolic links are not allowed"
    ]
    assert check_zip(_zip_with([("/etc/cron.d/x", b"")])).problems == [
        "/etc/cron.d/x: absolute paths are not allowed"
    ]
    assert check_zip(b"PK not really a zip").problems == ["this is not a zip file"]
    many = _zip_with([(f"f{i}.txt", b"") for i in range(MAX_FILES + 1)])
    assert check_zip(many).problems == [f"the zip holds {MAX_FILES + 1} files; at most {MAX_FILES}"]
    big = io.BytesIO()
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("course.yaml", b"0" * (21 * 2**20))  # small compressed, 21 MB unpacked
    assert check_zip(big.getvalue()).problems == ["the zip unpacks to over 20 MB"]
    assert check_zip(b"0" * (5 * 2**20 + 1)).problems[0].startswith("the zip is 5.2 MB")
    assert check_zip(_zip_with([("readme.txt", b"hi")])).problems == [
        "(zip):1: no course.yaml here or in its folders"
    ]


def test_a_non_zip_upload_is_refused(pau: Pau, admin: StaffClient) -> None:
    before = courses(pau)
    status, page = upload(admin, b"title: not a zip\n", filename="course.yaml")
    assert status == 400
    assert "this is not a zip file" in page and "course.yaml was not imported" in page
    assert courses(pau) == before


def test_a_mentor_gets_403(pau: Pau) -> None:
    add_staff(pau, "mo@example.org", role="mentor", password=PASSWORD)
    mentor = signed_in_client(pau, "mo@example.org", PASSWORD)
    refused = mentor.get("/admin/courses")
    assert refused.status_code == 403 and "Admins only" in refused.text
    files = {"course_zip": ("c.zip", course_zip(mutate=renamed("m-1", "M")), "application/zip")}
    form = {"csrf_token": own_csrf_token(pau, mentor)}  # a good token: refused for the role
    response = mentor.client.post("/admin/courses/upload", data=form, files=files)
    assert response.status_code == 403 and "Admins only" in response.text
    assert "m-1" not in courses(pau)
