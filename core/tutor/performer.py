"""The ASK_TUTOR performer: a grounded answer or a Socratic hint from the model, or the offline
result whenever the model cannot or may not answer. Run by the command worker, in its threads.

Order: crisis words (never sent to a model) -> retrieval (nothing relevant: say so, a mentor is
offered) -> the answer cache (answers with no conversation memory only) -> the budget -> the
model -> usage recorded -> the output checks (a failed check: the offline result, "unsafe") ->
the cache. A provider problem never raises: the learner always gets an answer.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date
from functools import lru_cache
from typing import Any

from core.content import Course
from core.dialogue.phrases import CRISIS, canon
from core.logs import failure
from core.ports import Clock
from core.retrieval import CourseIndex, Passage, index_for
from core.texts import Catalog
from core.tutor.answering import (
    MAX_CHARS,
    build_request,
    memory_of,
    nothing_found,
    offline_answer,
    quiz_item,
    tutor_result,
)
from core.tutor.budget import AnswerCache, Budget, UsageLedger
from core.tutor.cache_key import answer_cache_key
from core.tutor.guardrails import check_answer
from core.tutor.llm import Llm, LlmError, LlmUsage

log = logging.getLogger(__name__)

PASSAGES = 3  # the most relevant passages sent as context


class TutorPerformer:
    """`TutorPerformer(llm, courses, ledger, cache, budget, clock)(learner_id, args)` -> the
    TUTOR_ANSWERED data. `llm` is None when no model is configured; `courses` returns the
    published courses by slug (called per command, so a content reload is seen)."""

    def __init__(
        self,
        llm: Llm | None,
        courses: Callable[[], Mapping[str, Course]],
        ledger: UsageLedger,
        cache: AnswerCache,
        budget: Budget,
        clock: Clock,
    ) -> None:
        self.llm = llm
        self.courses = courses
        self.ledger = ledger
        self.cache = cache
        self.budget = budget
        self.clock = clock

    def __call__(self, learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
        question = str(args.get("question", ""))
        if CRISIS.search(canon(question)):  # the dialogue caught it first; never to a model
            log.warning("tutor refused a crisis text learner=%s", learner_id)
            text = Catalog(str(args.get("language", "en")))("crisis_reply")
            return tutor_result(args, text=text, fallback="unsafe", nothing_found=True)
        course = self.courses().get(str(args.get("course", "")))
        passages = retrieve(course, args) if course is not None else []
        if not passages:
            return nothing_found(args)

        top = passages[0]
        key = self._cache_key(course, top, args)
        if key is not None and (cached := self._cached(key)) is not None:
            return tutor_result(
                args,
                text=cached,
                lesson=top.concept_title,
                concept_id=top.concept_id,
                method="cache",
            )
        text, fallback = self._ask_model(learner_id, args, passages)
        if fallback:
            return offline_answer(args, passages, course=course, fallback=fallback)
        # a cached answer is shown to other learners: never one that names this learner
        if key is not None and not _names(text, str(args.get("name", ""))):
            try:
                self.cache.put(key, text)
            except Exception as error:  # the answer is good: it goes out uncached
                failure(log, "tutor answer cache", learner=learner_id, error=error)
        # for a hint the first passage is the idea of the concept on screen (see `retrieve`)
        return tutor_result(
            args, text=text, lesson=top.concept_title, concept_id=top.concept_id, method="llm"
        )

    def _ask_model(
        self, learner_id: int, args: Mapping[str, Any], passages: list[Passage]
    ) -> tuple[str, str]:
        """The model's checked text and "", or "" and why the offline result stands in."""
        if self.llm is None:
            return "", "unavailable"
        today = _utc_day(self.clock)
        try:
            mine, everyone = self.ledger.spent(learner_id=learner_id, day=today)
        except Exception as error:  # the budget cannot be checked: no call (and no cost)
            failure(log, "tutor budget", learner=learner_id, error=error)
            return "", "failed"
        if not self.budget.allows(mine, everyone):
            log.info("tutor over budget learner=%s spent=%s overall=%s", learner_id, mine, everyone)
            return "", "over_budget"
        request = build_request(args, passages, self.courses().get(str(args.get("course", ""))))
        try:
            reply = self.llm.complete(request)
        except LlmError as error:
            log.warning("tutor offline learner=%s reason=%s", learner_id, error.reason)
            self._record(learner_id, today, request.purpose, error.usage)
            return "", error.reason
        except Exception as error:  # a bug in a client library: the learner still gets an answer
            failure(log, "tutor model call", learner=learner_id, error=error)
            return "", "failed"
        self._record(learner_id, today, request.purpose, reply.usage)
        text = reply.text.strip()
        problems = check_answer(
            text, passages=[p.text for p in passages], item=quiz_item(args), max_chars=MAX_CHARS
        )
        if problems:
            log.warning("tutor answer refused learner=%s problems=%s", learner_id, problems)
            return "", "unsafe"
        return text, ""

    def _cached(self, key: str) -> str | None:
        try:
            return self.cache.get(key)
        except Exception as error:  # the cache is away: ask the model instead
            failure(log, "tutor answer cache", error=error)
            return None

    def _record(self, learner_id: int, day: date, purpose: str, usage: LlmUsage | None) -> None:
        """Tokens spent, when the provider answered (a refusal costs too); a failure to write
        them loses the record, not the answer."""
        if usage is None:
            return
        try:
            self.ledger.record(learner_id=learner_id, day=day, purpose=purpose, usage=usage)
        except Exception as error:
            failure(log, "tutor usage record", learner=learner_id, error=error)

    def _cache_key(
        self, course: Course | None, top: Passage, args: Mapping[str, Any]
    ) -> str | None:
        """Answers only, and only with no conversation memory (a follow-up depends on it)."""
        if course is None or quiz_item(args) is not None or memory_of(args):
            return None
        return answer_cache_key(
            course=course.slug,
            revision=revision(course),
            concept_id=top.concept_id,
            question=str(args.get("question", "")),
            language=str(args.get("language", "en")),
            level=str(args.get("level", "")),
            interests=str(args.get("interests", "")),
        )


def retrieve(course: Course, args: Mapping[str, Any]) -> list[Passage]:
    """The passages the answer may draw on, most relevant first. For a hint: the idea of the
    concept on screen first, then what matches the quiz question and the learner's words."""
    question = str(args.get("question", ""))
    item = quiz_item(args)
    if item is None:
        return _search(index_for(course), question)
    found = _search(index_for(course), f"{item.get('question', '')} {question}")
    concept = course.concept(str(args.get("concept_id", "")))
    if concept is None or not concept.summary:
        return found
    idea = Passage(concept.id, concept.title, concept.summary)
    return [idea, *(p for p in found if p != idea)][:PASSAGES]


def _search(index: CourseIndex, query: str) -> list[Passage]:
    return [found.passage for found in index.search(query, limit=PASSAGES)]


@lru_cache(maxsize=16)  # a few courses, and their last versions (not every reload)
def revision(course: Course) -> str:
    """The course's version and a fingerprint of its content: an edit retires cached answers."""
    fingerprint = hashlib.sha256(repr(course).encode("utf-8")).hexdigest()[:12]
    return f"{course.version}.{fingerprint}"


def _utc_day(clock: Clock) -> date:
    now = clock()
    return (now.astimezone(UTC) if now.tzinfo is not None else now).date()


def _names(text: str, name: str) -> bool:
    """Whether the text names the learner (any word of their name, as a word)."""
    said = set(canon(text).split())
    return any(len(word) > 1 and word in said for word in canon(name).split())
