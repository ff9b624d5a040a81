"""The tutor's prompts: jinja2 templates in `prompts/tutor/<name>.j2`, loaded from the installed
`prompts` package (as core/texts.py loads the message catalogs).

Undefined values fail loudly (StrictUndefined): a prompt never goes out with a hole in it.
Templates are plain text, so nothing is HTML-escaped; learner text goes through the `as_data`
filter instead, which neutralises `<` and `>` so it cannot close the tag it is wrapped in.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

# Look-alikes the model still reads as angle brackets, but that no tag can be built from.
_NEUTRAL = str.maketrans({"<": "‹", ">": "›"})


def as_data(text: object) -> str:
    """Learner text made safe to put inside `<learner_message>…</learner_message>`."""
    return str(text).translate(_NEUTRAL)


def prompt_dir() -> Path:
    """The folder of the tutor's templates, wherever the `prompts` package is installed."""
    return Path(str(resources.files("prompts") / "tutor"))


@cache
def _environment(directory: Path) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["as_data"] = as_data
    return environment


def template_names(directory: Path | None = None) -> list[str]:
    """Every template's name (`system`, `answer`, ...), sorted."""
    return sorted(path.stem for path in (directory or prompt_dir()).glob("*.j2"))


def render(name: str, /, **values: Any) -> str:
    """The text of `prompts/tutor/<name>.j2` with `values`; surrounding blank space trimmed.
    Raises jinja2.UndefinedError when a value the template uses is missing."""
    template = _environment(prompt_dir()).get_template(f"{name}.j2")
    return template.render(**values).strip()
