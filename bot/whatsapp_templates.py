"""The approved WhatsApp templates PAU may send outside the 24-hour window, per message kind
(prompts/whatsapp_templates.yaml, documented there and in the README).

The dialogue names a template by its kind (`Template("nudge_daily", "de", ("Ada", "Spacing"))`,
core/dialogue/nudging.py): core knows no approved names. The sender `resolve`s a kind into the
approved template's name, one of its languages and its parameters; a Template that names no kind
goes out as it is."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigurationError, PermanentDelivery
from core.nudges import NudgeKind
from core.replies import Template

RECONNECT = "reconnect"  # a reply is waiting: "reply to carry on"
NUDGE_KINDS = tuple(f"nudge_{kind}" for kind in NudgeKind)  # as core/dialogue/nudging.py names them
MENTOR_REPLY = "mentor_reply"  # as core/dialogue/mentor.py names it
REQUIRED = (RECONNECT, *NUDGE_KINDS, MENTOR_REPLY)
PACKAGED = Path(str(resources.files("prompts") / "whatsapp_templates.yaml"))
PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


@dataclass(frozen=True)
class TemplateKind:
    name: str
    languages: tuple[str, ...]  # the first is the fallback
    parameters: tuple[str, ...] = ()
    # parameter -> language -> what an empty value becomes (Meta refuses empty parameters)
    when_empty: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def for_language(self, language: str, *values: str) -> Template:
        chosen = language if language in self.languages else self.languages[0]
        filled = tuple(
            value if value.strip() else self.instead_of_empty(index, chosen)
            for index, value in enumerate(values)
        )
        return Template(self.name, chosen, filled)

    def instead_of_empty(self, index: int, language: str) -> str:
        """What an empty parameter becomes in `language` ("" if the file says nothing)."""
        parameter = self.parameters[index] if index < len(self.parameters) else ""
        return self.when_empty.get(parameter, {}).get(language, "")


def resolve(kinds: Mapping[str, TemplateKind], template: Template) -> Template:
    """The approved template to send for `template`: a kind's name, language and parameters, or
    `template` itself when it names no kind. A kind given the wrong number of parameters is
    refused for good: the templates file and the dialogue disagree."""
    kind = kinds.get(template.name)
    if kind is None:
        return template
    if len(template.parameters) != len(kind.parameters):
        wanted = ", ".join(kind.parameters) or "none"
        raise PermanentDelivery(
            f"template kind {template.name!r} takes {len(kind.parameters)} parameters "
            f"({wanted}), the message has {len(template.parameters)}: check WHATSAPP_TEMPLATES"
        )
    return kind.for_language(template.language, *template.parameters)


def load_templates(path: str | Path = "") -> dict[str, TemplateKind]:
    """The kinds of a templates file (the packaged one for ""); ConfigurationError says what is
    wrong with it."""
    path = path or PACKAGED
    try:
        raw: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"WHATSAPP_TEMPLATES {path}: {error}") from error
    missing = [kind for kind in REQUIRED if not isinstance(raw, dict) or kind not in raw]
    if missing:
        raise ConfigurationError(f"WHATSAPP_TEMPLATES {path}: needs the kinds {', '.join(missing)}")
    kinds = {}
    for kind, spec in raw.items():
        problem = _problem(spec)
        if problem:
            raise ConfigurationError(f"WHATSAPP_TEMPLATES {path}: {kind} {problem}")
        languages = tuple(str(code) for code in spec["languages"])
        parameters = tuple(str(p) for p in spec.get("parameters") or ())
        when_empty = {
            str(parameter): {str(code): str(text) for code, text in texts.items()}
            for parameter, texts in (spec.get("when_empty") or {}).items()
        }
        kinds[str(kind)] = TemplateKind(str(spec["name"]), languages, parameters, when_empty)
    return kinds


def _problem(spec: Any) -> str:
    """What is wrong with one kind's entry, or ""."""
    if not isinstance(spec, dict) or not spec.get("name") or not spec.get("languages"):
        return "needs a name and languages"
    parameters = spec.get("parameters") or []
    when_empty = spec.get("when_empty") or {}
    if not isinstance(parameters, list):
        return "parameters must be a list of names"
    if not isinstance(when_empty, dict) or not all(
        p in parameters and isinstance(texts, dict) for p, texts in when_empty.items()
    ):
        return "when_empty must map its parameters to a text per language"
    bodies = spec["languages"] if isinstance(spec["languages"], dict) else {}
    wanted = set(range(1, len(parameters) + 1))
    for code, body in bodies.items():
        used = {int(number) for number in PLACEHOLDER.findall(str(body))}
        if used != wanted:
            names = ", ".join(map(str, parameters)) or "none"
            return (f"{code}: the body uses {_placeholders(used)}; its parameters ({names}) "
                    f"need {_placeholders(wanted)}")  # fmt: skip
    return ""


def _placeholders(numbers: set[int]) -> str:
    return ", ".join(f"{{{{{number}}}}}" for number in sorted(numbers)) or "no placeholder"
