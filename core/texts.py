"""Bot texts from message catalogs: `prompts/messages/<lang>.yaml`, one jinja2 template per key.

A new language is a new file; a key missing there falls back to English.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml

DEFAULT_LANGUAGE = "en"
_env = jinja2.Environment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
)


def catalog_dir() -> Path:
    return Path(str(resources.files("prompts") / "messages"))


@cache
def _load(language: str, directory: Path) -> dict[str, jinja2.Template]:
    path = directory / f"{language}.yaml"
    raw: dict[str, str] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {key: _env.from_string(str(value).strip()) for key, value in raw.items()}


def available_languages(directory: Path | None = None) -> list[str]:
    return list(_languages_in(directory or catalog_dir()))


@cache
def _languages_in(directory: Path) -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in directory.glob("*.yaml")))


class Catalog:
    """Renders the text for a key in one language."""

    def __init__(self, language: str = DEFAULT_LANGUAGE, directory: Path | None = None) -> None:
        self.directory = directory or catalog_dir()
        self.language = language if language in available_languages(self.directory) else "en"

    def __call__(self, key: str, **params: Any) -> str:
        templates = _load(self.language, self.directory)
        if key not in templates:
            templates = _load(DEFAULT_LANGUAGE, self.directory)
        if key not in templates:
            raise KeyError(f"no text {key!r} in the message catalog")
        return templates[key].render(**params)

    def has(self, key: str) -> bool:
        return key in _load(self.language, self.directory) or key in _load(
            DEFAULT_LANGUAGE, self.directory
        )
