"""Every message catalog matches the English one: same keys, same template variables, and renders.

en.yaml is the reference. Each other prompts/messages/<lang>.yaml must load with yaml.safe_load,
have exactly the English keys, use exactly the English template variables in each text, render
with sample values in every branch, and not leave texts untranslated (bar a short allowlist).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from jinja2 import TemplateSyntaxError, meta

from core.texts import Catalog, _env, available_languages
from tests.conftest import ROOT

CATALOG_DIR = ROOT / "prompts" / "messages"
REFERENCE = "en"
TRANSLATIONS = sorted(p.stem for p in CATALOG_DIR.glob("*.yaml") if p.stem != REFERENCE)

# Keys every catalog has with a value of its own (shown when picking a language).
OWN_NAME_KEY = "language_name"
# Texts that may legitimately read the same as in English, per language (an emoji plus a name...).
SAME_AS_ENGLISH: dict[str, set[str]] = {"de": {"lesson_title", "recap_change"}}


def raw_catalog(language: str) -> dict[Any, Any]:
    data = yaml.safe_load((CATALOG_DIR / f"{language}.yaml").read_text(encoding="utf-8"))
    return data or {}


def source(value: Any) -> str:
    return str(value).strip()  # as core.texts reads it


def variables(value: Any) -> set[str]:
    return set(meta.find_undeclared_variables(_env.parse(source(value))))


class Anything:
    """Stands in for a variable without a sample below: text, number, flag, list and record."""

    def __str__(self) -> str:
        return "x"

    def __bool__(self) -> bool:
        return True

    def __int__(self) -> int:
        return 2

    def __float__(self) -> float:
        return 2.0

    def __len__(self) -> int:
        return 2

    def __iter__(self) -> Any:
        return iter([Anything(), Anything()])

    def __getitem__(self, _: Any) -> Anything:
        return Anything()

    def __getattr__(self, name: str) -> Anything:
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything()

    def __lt__(self, _: Any) -> bool:
        return False

    __gt__ = __le__ = __ge__ = __lt__


def _row(title: str, percent: int) -> dict[str, Any]:
    return {"title": title, "bar": "▓▓▓░░", "percent": percent, "mastered": percent >= 80}


def _course(title: str) -> dict[str, str]:
    return {"title": title, "description": "How memory works and how to use it"}


def _learned(title: str, studied: int, mastered: int) -> dict[str, Any]:
    topics = [f"Topic {i}" for i in range(1, studied + 1)]
    return {"title": title, "studied": topics, "mastered": topics[:mastered]}


# Realistic values, as the code passes them (grep 't("' core): (usual, singular, empty or off).
SAMPLES: dict[str, tuple[Any, Any, Any]] = {
    "name": ("Ada", "Ada", ""),
    "courses": ([_course("Learning how to learn"), _course("Statistics")], [_course("Stats")], []),
    "time": ("07:30", "12:00", "19:00"),
    "zone": ("Europe/Berlin", "UTC", "Etc/GMT-2"),
    "clock": ("09:15", "00:00", "23:59"),
    "nudges": (True, True, False),
    "number": (2, 1, 3),
    "total": (3, 1, 3),
    "title": ("Spaced repetition", "Recall", "Sleep"),
    "prompt": ("Why do reviews just before forgetting work?", "Why?", "Explain recall."),
    "explanation": ("Recall strengthens memory.", "Yes.", ""),
    "answer": ("Active recall", "B", "42"),
    "skipped": (False, False, True),
    "covered": (["recall strengthens memory", "spacing"], ["spacing"], []),
    "wanted": (["forgetting curve", "timing"], ["timing"], []),
    "missed": (["forgetting curve"], ["timing"], []),
    "contradicted": (["more is better"], ["cramming"], []),
    "misconception": ("Cramming works as well.", "Rereading is enough.", None),
    "score": (80, 100, 0),
    "answered": (3, 1, 0),
    "correct": (2, 1, 0),
    "streak": (5, 1, 0),
    "xp": (120, 10, 0),
    "count": (2, 1, 3),
    "freezes": (2, 1, 0),
    "rows": ([_row("Recall", 90), _row("Spacing", 40)], [_row("Recall", 100)], []),
    "course": ("Learning how to learn", "Stats", "Sleep"),
    "mastered": (2, 1, 0),
    "not_started": (3, 1, 0),
    "badges": (2, 1, 0),
    "due": (4, 1, 0),
    "path": (["Recall", "Spacing", "Interleaving"], ["Recall"], ["Recall"]),
    "points": (["recall strengthens memory", "spacing"], ["spacing"], []),
    "media": ("photo", "voice", "that"),
    "passage": ("Testing yourself beats rereading.", "Sleep helps.", "Short."),
    "spelled": ("the forgetting curve", "recall", "spacing"),
    "summary": ("Memories fade unless you recall them.", "Recall helps.", "Short."),
    "learned": (
        [_learned("Learning how to learn", 7, 3), _learned("Statistics", 0, 0)],
        [_learned("Stats", 1, 1)],
        [],
    ),
    "lessons": (4, 1, 0),
    "quiz_right": (5, 1, 0),
    "quiz_total": (8, 1, 0),
    "explain_count": (2, 1, 0),
    "explain_average": (65, 100, 0),
    "chat_history_days": (30, 1, 90),
}


def param_sets(names: set[str]) -> list[dict[str, Any]]:
    """The usual values, then each variable alone set to its singular and its empty value."""
    usual = {name: SAMPLES[name][0] if name in SAMPLES else Anything() for name in names}
    sets = [usual]
    for name in sorted(names & SAMPLES.keys()):
        sets += [{**usual, name: SAMPLES[name][1]}, {**usual, name: SAMPLES[name][2]}]
    return sets


def report(problems: list[str]) -> None:
    if problems:
        pytest.fail(f"{len(problems)} problem(s):\n  " + "\n  ".join(problems), pytrace=False)


def test_there_is_a_second_language() -> None:
    assert TRANSLATIONS, f"only {REFERENCE}.yaml in {CATALOG_DIR}"


@pytest.mark.parametrize("language", [REFERENCE, *TRANSLATIONS])
def test_the_catalog_is_a_flat_mapping_of_text_keys_to_texts(language: str) -> None:
    problems = []
    try:
        raw = raw_catalog(language)
    except yaml.YAMLError as error:
        pytest.fail(f"{language}.yaml does not load with yaml.safe_load: {error}", pytrace=False)
    if not isinstance(raw, dict):
        pytest.fail(f"{language}.yaml is not a mapping of key: text", pytrace=False)
    for key, value in raw.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            problems.append(f"{language}.yaml: key {key!r} is not a lower_snake_case string")
        if not isinstance(value, str) or not value.strip():
            problems.append(
                f"{language}.yaml: {key}: the text is not a non-empty string: {value!r}"
            )
    report(problems)


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_the_catalog_has_exactly_the_english_keys(language: str) -> None:
    english, other = raw_catalog(REFERENCE), raw_catalog(language)
    problems = [
        f"{language}.yaml lacks {key!r} (in {REFERENCE}.yaml)"
        for key in english
        if key not in other
    ]
    problems += [
        f"{language}.yaml has {key!r}, which {REFERENCE}.yaml lacks"
        for key in other
        if key not in english
    ]
    report(problems)


@pytest.mark.parametrize("language", [REFERENCE, *TRANSLATIONS])
def test_the_catalog_names_its_language(language: str) -> None:
    names = {lang: raw_catalog(lang).get(OWN_NAME_KEY) for lang in [REFERENCE, *TRANSLATIONS]}
    assert names[language], f"{language}.yaml has no {OWN_NAME_KEY!r}"
    same = sorted(
        lang for lang, name in names.items() if name == names[language] and lang != language
    )
    assert not same, f"{language}.yaml and {same} give the same {OWN_NAME_KEY}: {names[language]!r}"


@pytest.mark.parametrize("language", [REFERENCE, *TRANSLATIONS])
def test_each_text_is_a_valid_template(language: str) -> None:
    problems = []
    for key, value in raw_catalog(language).items():
        try:
            _env.parse(source(value))
        except TemplateSyntaxError as error:
            problems.append(
                f"{language}.yaml: {key}: line {error.lineno} of the text: {error.message}"
            )
    report(problems)


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_each_text_uses_the_same_template_variables_as_english(language: str) -> None:
    english, other = raw_catalog(REFERENCE), raw_catalog(language)
    problems = []
    for key in sorted(english.keys() & other.keys()):
        try:
            want, got = variables(english[key]), variables(other[key])
        except TemplateSyntaxError:
            continue  # reported by test_each_text_is_a_valid_template
        if want != got:
            problems.append(
                f"{language}.yaml: {key}: missing {sorted(want - got)}, extra {sorted(got - want)}"
            )
    report(problems)


@pytest.mark.parametrize("language", [REFERENCE, *TRANSLATIONS])
def test_each_text_renders_with_sample_values_in_every_branch(language: str) -> None:
    problems = []
    for key, value in raw_catalog(language).items():
        try:
            template = _env.from_string(source(value))  # as core.texts compiles it
            names = variables(value)
        except TemplateSyntaxError:
            continue  # reported by test_each_text_is_a_valid_template
        for params in param_sets(names):
            try:
                text = template.render(**params)
            except Exception as error:  # a broken template: say which key and values
                problems.append(
                    f"{language}.yaml: {key}: {type(error).__name__}: {error} with {params}"
                )
                break
            if not text.strip() or "{{" in text or "{%" in text or "}}" in text:
                problems.append(f"{language}.yaml: {key}: renders as {text!r} with {params}")
                break
    report(problems)


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_no_text_is_left_in_english(language: str) -> None:
    english, other = raw_catalog(REFERENCE), raw_catalog(language)
    allowed = SAME_AS_ENGLISH.get(language, set())
    same = sorted(
        key
        for key in english.keys() & other.keys()
        if source(english[key]) == source(other[key]) and key not in allowed
    )
    assert not same, (
        f"{language}.yaml: these texts are identical to English; translate them or add them to "
        f"SAME_AS_ENGLISH[{language!r}]: {same}"
    )


def test_a_translation_is_picked_by_its_file_name() -> None:
    assert set(TRANSLATIONS) <= set(available_languages(CATALOG_DIR))
    for language in TRANSLATIONS:
        catalog = Catalog(language)
        assert catalog.language == language
        assert catalog("ask_name") != Catalog(REFERENCE)("ask_name")


# Command words the learner types that differ between English and German (pause, quiz, start: same).
ENGLISH_COMMANDS = {"today", "stop", "skip", "export", "delete", "help", "progress", "resume",
                    "menu", "goal", "lang", "cancel", "more"}  # fmt: skip
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
QUOTED = re.compile('\u201e([^\u201c]*)\u201c|"([^"]*)"')


@pytest.mark.skipif("de" not in TRANSLATIONS, reason="no German catalog")
def test_german_typography_and_german_command_words() -> None:
    problems = []
    for key, value in raw_catalog("de").items():
        prose = JINJA.sub("", source(value))
        if '"' in prose or "\u201d" in prose:
            problems.append(
                f'de.yaml: {key}: quote with \u201e...\u201c, not " or \u201d: {prose!r}'
            )
        if prose.count("\u201e") != prose.count("\u201c"):
            problems.append(f"de.yaml: {key}: unbalanced \u201e...\u201c: {prose!r}")
        if "..." in prose:
            problems.append(f"de.yaml: {key}: use the ellipsis \u2026, not ...: {prose!r}")
        if re.search(r" - |\u2014", prose):
            problems.append(
                f"de.yaml: {key}: use the dash \u2013 with spaces, not - or \u2014: {prose!r}"
            )
        if re.search(r"(\d|\}\})%", source(value)):
            problems.append(f"de.yaml: {key}: a space goes before %: {prose!r}")
        quoted = {w.casefold() for pair in QUOTED.findall(prose) for w in pair if w}
        if quoted & ENGLISH_COMMANDS:
            problems.append(
                f"de.yaml: {key}: tells the learner an English command {sorted(quoted & ENGLISH_COMMANDS)}"
            )
    report(problems)
