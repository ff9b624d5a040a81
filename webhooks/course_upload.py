"""A course folder uploaded as a zip: unpacked safely, checked exactly as `pau content check`
checks a folder, and imported only when every course in it is clean.

No web framework here, so the command line can use the same functions:

    checked = check_zip(data)            # nothing written anywhere but a temporary folder
    if checked.problems: show them       # and import nothing
    with transaction(engine) as session:
        results = import_courses(session, courses=checked.courses, now=now)

The zip is refused before anything is written when it is not a zip, is over 5 MB, would unpack
to over 20 MB or over 500 files, or holds an entry that could land outside the folder it is
unpacked into (an absolute path, `..`, a drive letter) or a symbolic link. Sizes are counted
while unpacking too, not only from the zip's own (forgeable) headers.
"""

from __future__ import annotations

import io
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlmodel import Session

from core.content import Course
from core.content_loader import find_course_folders, load_course
from core.errors import ContentError
from storage.content_repo import ImportResult, import_course

MAX_ZIP_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_FILES = 500
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Checked:
    """What a check found: the courses that loaded, and every problem (`file:line: message`)."""

    courses: list[Course] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_content(path: Path) -> Checked:
    """The checks of `pau content check PATH`: a course folder, or the course folders directly in
    it, each loaded and validated; every problem of every course is listed."""
    if not path.exists():
        return Checked(problems=[f"{path}: no such file or folder"])
    folders = find_course_folders(path)
    if not folders:
        return Checked(problems=[f"{path}:1: no course.yaml here or in its folders"])
    courses, problems = [], []
    for folder in folders:
        try:
            courses.append(load_course(folder))
        except ContentError as error:
            problems += error.problems
    return Checked(courses=courses, problems=problems)


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return f"{name}: symbolic links are not allowed"
    if info.flag_bits & 0x1:
        return f"{name}: encrypted entries are not allowed"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or "\x00" in name:
        return f"{name}: absolute paths are not allowed"
    if ".." in parts:
        return f"{name}: paths with '..' are not allowed"
    return None


def unpack_zip(data: bytes, into: Path) -> list[str]:
    """Unpack a zip into the folder `into`; the reasons it was refused (then nothing, or only
    part of it, is in `into`: the caller throws the folder away)."""
    if len(data) > MAX_ZIP_BYTES:
        return [f"the zip is {len(data) / 1e6:.1f} MB; at most {MAX_ZIP_BYTES // 2**20} MB"]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return ["this is not a zip file"]
    with archive:
        entries = archive.infolist()
        files = [e for e in entries if not e.is_dir()]
        if len(files) > MAX_FILES:
            return [f"the zip holds {len(files)} files; at most {MAX_FILES}"]
        unsafe = [reason for e in entries if (reason := _unsafe_reason(e))]
        if unsafe:
            return unsafe
        if sum(e.file_size for e in files) > MAX_UNPACKED_BYTES:
            return [f"the zip unpacks to over {MAX_UNPACKED_BYTES // 2**20} MB"]
        root = into.resolve()
        written = 0
        for entry in entries:
            target = (root / entry.filename.replace("\\", "/")).resolve()
            if not target.is_relative_to(root):  # belt and braces after _unsafe_reason
                return [f"{entry.filename}: outside the course folder"]
            if entry.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(entry) as source, target.open("wb") as sink:
                    while chunk := source.read(_CHUNK):
                        written += len(chunk)
                        if written > MAX_UNPACKED_BYTES:  # the headers lied (a zip bomb)
                            return [f"the zip unpacks to over {MAX_UNPACKED_BYTES // 2**20} MB"]
                        sink.write(chunk)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:  # a damaged zip
                return [f"{entry.filename}: cannot be unpacked ({error})"]
    return []


def _content_root(folder: Path) -> Path:
    """Where the course folders are: the zip's top, or the one folder the zip holds (a zip of a
    folder of courses, such as content/)."""
    if find_course_folders(folder):
        return folder
    inside = [p for p in folder.iterdir() if p.is_dir() and p.name != "__MACOSX"]
    return inside[0] if len(inside) == 1 else folder


def check_zip(data: bytes) -> Checked:
    """Unpack an uploaded zip into a temporary folder and check it as `pau content check` does.
    Problems name files as they are in the zip; the folder is gone when this returns."""
    with tempfile.TemporaryDirectory(prefix="pau-upload-") as temporary:
        folder = Path(temporary)
        refused = unpack_zip(data, folder)
        if refused:
            return Checked(problems=refused)
        checked = check_content(_content_root(folder))
    problems = [
        p.replace(f"{temporary}/", "").replace(temporary, "(zip)") for p in checked.problems
    ]
    return Checked(courses=checked.courses, problems=problems)


def import_courses(
    session: Session, *, courses: Sequence[Course], now: datetime
) -> list[ImportResult]:
    """Import checked courses in the caller's transaction (all of them or, on error, none)."""
    return [import_course(session, course=course, now=now) for course in courses]
