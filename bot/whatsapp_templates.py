"""The approved WhatsApp templates PAU may send outside the 24-hour window, per message kind
(prompts/whatsapp_templates.yaml, documented there and in the README)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigurationError
from core.replies import Template

RECONNECT = "reconnect"  # a reply is waiting: "reply to carry on"
PACKAGED = Path(str(resources.files("prompts") / "whatsapp_templates.yaml"))


@dataclass(frozen=True)
class TemplateKind:
    name: str
    languages: tuple[str, ...]  # the first is the fallback
    parameters: tuple[str, ...] = ()

    def for_language(self, language: str, *values: str) -> Template:
        chosen = language if language in self.languages else self.languages[0]
        return Template(self.name, chosen, tuple(values))


def load_templates(path: str | Path = "") -> dict[str, TemplateKind]:
    """The kinds of a templates file (the packaged one for ""); ConfigurationError says what is
    wrong with it."""
    path = path or PACKAGED
    try:
        raw: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"WHATSAPP_TEMPLATES {path}: {error}") from error
    if not isinstance(raw, dict) or RECONNECT not in raw:
        raise ConfigurationError(
            f"WHATSAPP_TEMPLATES {path}: needs at least the kind {RECONNECT!r}"
        )
    kinds = {}
    for kind, spec in raw.items():
        if not isinstance(spec, dict) or not spec.get("name") or not spec.get("languages"):
            raise ConfigurationError(
                f"WHATSAPP_TEMPLATES {path}: {kind} needs a name and languages"
            )
        languages = tuple(str(code) for code in spec["languages"])
        parameters = tuple(str(p) for p in spec.get("parameters") or ())
        kinds[str(kind)] = TemplateKind(str(spec["name"]), languages, parameters)
    return kinds
