"""ASK_TUTOR's two halves that need no network: the request for the model ("answer" or "hint",
from the command's args and the retrieved passages) and the offline result that stands in for the
model whenever it cannot or may not answer (the retrieval answer as core/dialogue/chat.py words
it; for a hint, the concept's idea as a nudge, never the answer).

The result is the TUTOR_ANSWERED event's data (see `tutor_result`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.content import Course
from core.retrieval import Passage, excerpt
from core.texts import Catalog
from core.tutor.guardrails import leaks_answer
from core.tutor.llm import LlmMessage, LlmRequest
from core.tutor.prompts import render

MAX_CHARS = 700  # one or two chat bubbles: longer answers are refused by the output checks
TARGET_CHARS = 500  # what the model is asked for: models count characters loosely
MAX_TOKENS = {"answer": 400, "hint": 250}  # room for MAX_CHARS, not for an essay
LANGUAGE_NAMES = {"en": "English", "de": "German (Deutsch)"}


def language_name(code: str) -> str:
    """The name the model is told to answer in: "en" -> "English"; an unknown code as it is."""
    return LANGUAGE_NAMES.get(code.split("-")[0].casefold(), code or "English")


def quiz_item(args: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The open quiz item of a hint request (None for an answer)."""
    item = args.get("item")
    return item if args.get("mode") == "hint" and isinstance(item, Mapping) else None


def memory_of(args: Mapping[str, Any]) -> list[dict[str, str]]:
    """The last exchanges, as {q, a} strings (at most three, whatever the caller sent)."""
    turns = [t for t in args.get("memory") or () if isinstance(t, Mapping)]
    return [{"q": str(t.get("q", "")), "a": str(t.get("a", ""))} for t in turns[-3:]]


def build_request(
    args: Mapping[str, Any], passages: Sequence[Passage], course: Course | None = None
) -> LlmRequest:
    """The model request for ASK_TUTOR: the fixed rules and the course's outline as `system`
    (the same for every question about the course: long enough for the provider's prompt cache,
    which starts at 1,024 tokens), the passages as `context`, the learner facts, memory and
    question as the one user turn."""
    mode = "hint" if quiz_item(args) is not None else "answer"
    language = language_name(str(args.get("language", "en")))
    values: dict[str, Any] = {
        "name": str(args.get("name", "")),
        "level": str(args.get("level", "")),
        "language": language,
        "interests": str(args.get("interests", "")),
        "memory": memory_of(args),
        "question": str(args.get("question", "")),
        "max_chars": TARGET_CHARS,
    }
    if mode == "hint":
        item = quiz_item(args) or {}
        values |= {
            "quiz_question": str(item.get("question", "")),
            "options": [str(option) for option in item.get("options") or ()],
            "explanation": str(item.get("explanation", "")),
        }
    context = render(
        "passages", passages=[{"lesson": p.concept_title, "text": p.text} for p in passages]
    )
    return LlmRequest(
        purpose=mode,
        system=render("system", max_chars=TARGET_CHARS, course=course_outline(course)),
        context=context,
        messages=(LlmMessage("user", render(mode, **values)),),
        max_tokens=MAX_TOKENS[mode],
    )


def course_outline(course: Course | None) -> dict[str, Any] | None:
    """The course as the tutor sees it beside the passages: every lesson's title and summary."""
    if course is None:
        return None
    return {
        "title": course.title,
        "lessons": [
            {"title": c.title, "summary": c.summary, "key_points": list(c.explain_back.key_points)}
            for c in course.concepts
        ],
    }


def tutor_result(
    args: Mapping[str, Any],
    *,
    text: str,
    lesson: str = "",
    concept_id: str = "",
    method: str = "offline",
    fallback: str = "",
    nothing_found: bool = False,
) -> dict[str, Any]:
    """The TUTOR_ANSWERED event's data (JSON-able)."""
    return {
        "text": text,
        "lesson": lesson,
        "concept_id": concept_id,
        "method": method,
        "fallback": fallback,
        "nothing_found": nothing_found,
        "question": str(args.get("question", "")),
        "mode": "hint" if args.get("mode") == "hint" else "answer",
    }


def nothing_found(args: Mapping[str, Any], *, fallback: str = "") -> dict[str, Any]:
    """Nothing in the course answers it: say so; the dialogue offers a mentor."""
    t = Catalog(str(args.get("language", "en")))
    return tutor_result(
        args,
        text=t("answer_not_found"),
        concept_id=str(args.get("concept_id", "")),
        fallback=fallback,
        nothing_found=True,
    )


def offline_answer(
    args: Mapping[str, Any],
    passages: Sequence[Passage],
    *,
    course: Course | None = None,
    fallback: str = "",
) -> dict[str, Any]:
    """The answer without a model: the best passage's excerpt and its lesson; for a hint, the
    idea of the concept on screen with the quiz's answer masked. Nothing found -> nothing_found."""
    t = Catalog(str(args.get("language", "en")))
    item = quiz_item(args)
    if item is not None:
        return _offline_hint(args, item, passages, course, t, fallback)
    if not passages:
        return nothing_found(args, fallback=fallback)
    best = passages[0]
    key = "answer_from_faq" if best.from_faq else "answer_from_course"
    text = t(key, title=best.concept_title, passage=excerpt(best.text, str(args["question"])))
    return tutor_result(
        args, text=text, lesson=best.concept_title, concept_id=best.concept_id, fallback=fallback
    )


def _offline_hint(
    args: Mapping[str, Any],
    item: Mapping[str, Any],
    passages: Sequence[Passage],
    course: Course | None,
    t: Catalog,
    fallback: str,
) -> dict[str, Any]:
    concept = course.concept(str(args.get("concept_id", ""))) if course else None
    if concept is not None:
        concept_id, title = concept.id, concept.title
    elif passages:
        concept_id, title = passages[0].concept_id, passages[0].concept_title
    else:
        return nothing_found(args, fallback=fallback)
    # Only the lesson to think back to: a summary or a passage often states the answer in other
    # words, which no check can be sure to catch. The title is masked too ("The ___ effect" for
    # a cloze whose answer is "spacing").
    text = t("tutor_offline_hint", title=mask_answer(title, item))
    if leaks_answer(text, item):
        return nothing_found(args, fallback=fallback)
    return tutor_result(args, text=text, concept_id=concept_id, fallback=fallback)


def mask_answer(text: str, item: Mapping[str, Any]) -> str:
    """`text` with the correct option's text and every accepted typed answer blanked (___)."""
    hidden = [str(answer) for answer in item.get("answers") or ()]
    options = list(item.get("options") or ())
    correct = item.get("correct_index")
    true_false = [str(o).casefold() for o in options] == ["true", "false"]
    if isinstance(correct, int) and 0 <= correct < len(options) and not true_false:
        hidden.append(str(options[correct]))  # not "True"/"False": those are ordinary words
    for phrase in sorted(hidden, key=len, reverse=True):
        if phrase.strip():
            text = re.sub(rf"\b{re.escape(phrase.strip())}\b", "___", text, flags=re.IGNORECASE)
    return text
