"""House rules: core/ knows no platform; the flow diagram is the enum; texts live in catalogs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core.dialogue.states import State
from core.texts import Catalog
from tests.conftest import ROOT

FORBIDDEN = ("telegram", "pywa", "pywa_async", "fastapi", "starlette", "apscheduler", "uvicorn",
             "sqlmodel", "sqlalchemy", "redis", "httpx", "anthropic", "langchain", "storage", "webhooks",
             "bot", "scheduler")  # fmt: skip


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_no_platform_web_scheduler_or_storage_library() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imports_of(path) & set(FORBIDDEN))
        for path in (ROOT / "core").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_rule_check_would_catch_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from telegram import Bot\nimport fastapi.routing\n")
    assert imports_of(bad) & set(FORBIDDEN) == {"telegram", "fastapi"}


def test_the_flow_diagram_shows_exactly_the_states() -> None:
    drawn: set[str] = set()
    for line in (ROOT / "core" / "dialogue" / "flow.mmd").read_text().splitlines():
        if "-->" in line:
            source, target = line.split("-->")
            drawn.update({source.strip(), target.split(": ")[0].strip()})
    assert drawn - {"[*]"} == {state.value for state in State}


def text_keys_used_in_code() -> set[str]:
    keys: set[str] = set()
    for path in (ROOT / "core").rglob("*.py"):
        keys.update(re.findall(r"\bt\(\s*\"([a-z_]+)\"", path.read_text()))
        keys.update(re.findall(r"catalog_for\([^)]*\)\(\"([a-z_]+)\"", path.read_text()))
    return keys


def test_every_text_the_code_asks_for_is_in_the_english_catalog() -> None:
    used = text_keys_used_in_code()
    assert len(used) > 40
    missing = sorted(key for key in used if not Catalog("en").has(key))
    assert missing == []


def test_a_new_language_is_a_new_file(tmp_path: Path) -> None:
    english = (ROOT / "prompts" / "messages" / "en.yaml").read_text()
    (tmp_path / "en.yaml").write_text(english)
    (tmp_path / "de.yaml").write_text(
        'ask_name: Wie soll ich dich nennen?\ngreet_name: "Schön, dich kennenzulernen, {{ name }}!"\n'
    )
    german = Catalog("de", tmp_path)
    assert german("ask_name") == "Wie soll ich dich nennen?"
    assert german("greet_name", name="Ada") == "Schön, dich kennenzulernen, Ada!"
    assert german("help", quiet="21:00–08:00").startswith(
        "Here's what I understand"
    )  # missing keys fall back to English
    assert Catalog("xx", tmp_path)("ask_name") == "What should I call you?"


def test_a_text_missing_everywhere_is_an_error() -> None:
    with pytest.raises(KeyError):
        Catalog("en")("no_such_text")


LEARNING_ENGINE = ("learner.py", "mastery.py", "motivation.py", "curriculum.py", "planner.py",
                   "progress.py", "learning.py", "chart.py", "content.py", "review", "grading")  # fmt: skip


def test_the_learning_engine_does_not_import_the_dialogue() -> None:
    offenders = {}
    for name in LEARNING_ENGINE:
        target = ROOT / "core" / name
        for path in [target] if target.is_file() else sorted(target.rglob("*.py")):
            modules = set()
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    modules.add(node.module)
                elif isinstance(node, ast.Import):
                    modules.update(alias.name for alias in node.names)
            dialogue = sorted(m for m in modules if m.startswith(("core.dialogue", "core.runner")))
            if dialogue:
                offenders[str(path.relative_to(ROOT))] = dialogue
    assert offenders == {}


def test_tests_cannot_reach_the_network() -> None:
    import socket

    import httpx

    from tests.conftest import NetworkAccessBlocked

    with pytest.raises(NetworkAccessBlocked):
        socket.create_connection(("203.0.113.7", 443), timeout=1)
    with pytest.raises(NetworkAccessBlocked):
        httpx.get("https://api.telegram.org/bot123:abc/getMe")
    with pytest.raises(NetworkAccessBlocked):
        socket.getaddrinfo("api.anthropic.com", 443)


def test_tests_never_read_a_dot_env_or_real_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from webhooks.config import Settings

    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=123:from-a-developers-env\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().telegram_bot_token is None
    assert not [name for name in os.environ if name.startswith(("TELEGRAM_", "ANTHROPIC_", "PAU_"))]
