"""The LLM tutor in the conversation (DESIGN.md §6), when one is configured (`World.tutor_on`).

A question, in any state that answers questions, or a hint request while a quiz is open, becomes an
ASK_TUTOR command: "typing…" shows at once and nothing else changes, so the learner may go on
answering meanwhile. The answer comes back as TUTOR_ANSWERED (`answered`): one or two bubbles, the
lesson it draws on, then the way back to what was open. When the worker gives up (`failed`) the
course's own answer is given, with an honest word, so nobody is left waiting.

While a quiz is open the tutor is asked for a hint (mode "hint", with the item so its checks can
see the answer), never for the answer. The learner's last few exchanges with the tutor are kept
short in the conversation's data (`tutor_memory`) and sent with the next question.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from core.commands import Command, CommandKind
from core.content import QuizItem
from core.dialogue import chat, keywords
from core.dialogue.answers import open_item
from core.dialogue.model import Transition, Turn
from core.dialogue.phrases import canon
from core.dialogue.session import activity_ref, reprompt
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.learner import ActivityRecord
from core.replies import Choices, Option, Reply, Text, Typing
from core.tutor import guardrails  # the module: it imports core.dialogue.phrases in turn

TUTOR_REF = "tutor"  # the ref of a question asked outside any activity
MEMORY_TURNS = 3  # exchanges remembered and sent with the next question
MEMORY_CHARS = 300  # each side of a remembered exchange is cut to this
MEMORY_MINUTES = 30  # a question after a longer pause is a new conversation
MAX_PENDING = 5  # questions waiting for the tutor (a burst of them); older ones are forgotten
MAX_HINT_WORDS = 8  # "hint" inside a longer text is part of something else
# Asking for a hint: "hint", "give me a hint", "just tell me", "which one is it?"; a message
# with the word "hint" or "tipp" in a few words counts too ("any hints for this one?").
HINT_PHRASES = frozenset(
    canon(phrase)
    for phrase in (
        "hint", "a hint", "hints", "any hints", "give me a hint", "hint please", "a hint please",
        "can i have a hint", "can i get a hint", "can you give me a hint", "i need a hint",
        "need a hint", "one hint", "give me a clue", "a clue", "any clue", "clue please",
        "just tell me", "which one is it", "which is it", "which one", "which one is right",
        "which one is correct", "which is right", "which is correct", "which answer is it",
        "tipp", "einen tipp", "ein tipp", "gib mir einen tipp", "hast du einen tipp",
        "ich brauche einen tipp", "sag es mir einfach", "sags mir einfach", "welche ist es",
        "welche ist richtig", "welches ist richtig", "welche antwort ist es",
    )
)  # fmt: skip
HINT_WORDS = frozenset({"hint", "hints", "tipp", "tipps", "hinweis"})
# A guess asked back: "is it b?", "could it be the first one", "ist es b?" (while "b" alone,
# "I'd say b", "b?" stay answers)
GUESS_OPENINGS = tuple(
    canon(opening) + " "
    for opening in (
        "is it", "is the answer", "could it be", "would it be", "might it be", "am i right if",
        "ist es", "ist die antwort", "wäre es", "könnte es",
    )
)  # fmt: skip
FALLBACK_LINES = {"over_budget": "tutor_over_budget", "refused": "tutor_not_checked",
                  "malformed": "tutor_not_checked", "unsafe": "tutor_not_checked"}  # fmt: skip


def hint_request(turn: Turn, event: InboundEvent) -> bool:
    """While a quiz is open and a tutor is there: the learner asks for a hint (see HINT_PHRASES,
    GUESS_OPENINGS), which goes to the tutor rather than being taken as an answer or a skip."""
    if not turn.world.tutor_on or turn.snapshot.state is not State.QUIZ:
        return False
    if event.kind is not EventKind.TEXT or open_item(turn) is None:
        return False
    text = canon(event.text)
    words = text.split()
    if text in HINT_PHRASES or text.startswith(GUESS_OPENINGS):
        return True
    return len(words) <= MAX_HINT_WORDS and not HINT_WORDS.isdisjoint(words)


def ask(turn: Turn, event: InboundEvent, *, hint: bool = False) -> Transition:
    """Ask the tutor (a command); "typing…" until its answer comes. `hint`: an explicit hint
    request (its offline fallback points to the lesson rather than searching the words)."""
    question = event.text.strip()
    item = open_item(turn) if turn.snapshot.state is State.QUIZ else None
    mode = "hint" if item is not None else "answer"
    command = Command(CommandKind.ASK_TUTOR, _args(turn, question, mode, item),
                      ref=activity_ref(turn) or TUTOR_REF)  # fmt: skip
    waiting = [*_pending(turn)[-(MAX_PENDING - 1) :], {"q": question, "mode": mode, "hint": hint}]
    return turn.stay(Typing(), tutor_pending=waiting).then(commands=(command,))


def refuse(turn: Turn) -> Transition:
    """Abuse: a polite refusal, no tutor asked, and the way back to what was open."""
    return turn.stay(Text(turn.t("tutor_abuse_refused")), *keywords.where_we_were(turn))


def abusive(text: str) -> bool:
    """Abuse, as the tutor's input guardrail judges it: refused politely, never sent to a model."""
    return guardrails.abusive(text)


def answered(turn: Turn, event: InboundEvent) -> Transition:
    """The tutor's answer or hint: the text, the lesson it draws on, the way back."""
    result = event.data
    question = str(result.get("question") or "")
    waiting, asked = _take(turn, question)
    turn = Turn(turn.snapshot.with_data(tutor_pending=waiting), turn.now, turn.world)
    if asked is None or _moot(turn, event, str(asked.get("mode", ""))):
        return turn.stay()
    t = turn.t
    text = str(result.get("text") or "").strip()
    method = str(result.get("method") or "")
    concept_id = str(result.get("concept_id") or "")
    if result.get("nothing_found") and asked.get("mode") == "answer":
        # nothing in the course: a mentor may know, one tap away (DESIGN.md §6, §8)
        own_words = [Text(text)] if text and method != "offline" else []
        offer = Choices(t("answer_not_found"), (Option(chat.ASK_A_MENTOR, t("ask_a_mentor")),))
        record = ActivityRecord("question", response=question)
        return turn.stay(*own_words, offer, *keywords.where_we_were(turn),
                         unanswered=question).then(writes=(record,))  # fmt: skip
    if not text:  # nothing to show after all: as if the tutor had not been there
        return _offline(turn, asked)
    item = open_item(turn) if turn.snapshot.state is State.QUIZ else None
    if item is not None and guardrails.leaks_answer(text, item_args(item)):
        # asked before this quiz opened (or a check upstream missed it): never its answer
        return turn.stay(*_offline_hint(turn), *_way_back(turn, "hint"))
    replies: list[Reply] = []
    fallback = str(result.get("fallback") or "")
    if method == "offline" and fallback:
        replies.append(Text(t(FALLBACK_LINES.get(fallback, "tutor_unavailable"))))
    replies += [Text(bubble) for bubble in bubbles(text)]
    lesson = str(result.get("lesson") or "")
    if lesson:
        replies.append(Text(t("tutor_from_lesson", title=lesson)))
    record = ActivityRecord("question", concept_id=concept_id, response=question)
    memory = _remembered(turn, question, text)
    way_back = _way_back(turn, str(asked.get("mode")))
    return turn.stay(*replies, *way_back, tutor_memory=memory).then(writes=(record,))


def failed(turn: Turn, event: InboundEvent) -> Transition:
    """The worker gave up on the tutor: the course's own answer, with an honest word first."""
    waiting = _pending(turn)
    asked = waiting[0] if waiting else None
    turn = Turn(turn.snapshot.with_data(tutor_pending=waiting[1:]), turn.now, turn.world)
    if asked is None or _moot(turn, event, str(asked.get("mode", ""))):
        return turn.stay()
    return _offline(turn, asked)


def _offline(turn: Turn, asked: Mapping[str, Any]) -> Transition:
    """The answer without the tutor, said honestly: the course's, or for a hint request a
    pointer to the lesson ("is it b?" is nothing a search of the course can answer)."""
    honest = Text(turn.t("tutor_unavailable"))
    quiz_open = turn.snapshot.state is State.QUIZ and open_item(turn) is not None
    if asked.get("mode") == "hint" or quiz_open:  # a course excerpt may hold the answer
        return turn.stay(honest, *_offline_hint(turn), *_way_back(turn, "hint"))
    return chat.course_answer(turn, str(asked.get("q", "")), honest)


def bubbles(text: str) -> list[str]:
    """One or two chat bubbles: split on the first blank line."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if len(paragraphs) <= 1:
        return paragraphs
    return [paragraphs[0], "\n\n".join(paragraphs[1:])]


def _args(turn: Turn, question: str, mode: str, item: QuizItem | None) -> dict[str, Any]:
    """The ASK_TUTOR command's arguments (the contract: /tmp/scratch/common15.md)."""
    profile, course = turn.snapshot.profile, turn.course
    goal = course.concept(turn.snapshot.stats.goal) if course and turn.snapshot.stats.goal else None
    return {
        "question": question,
        "mode": mode,
        "course": profile.course_slug,
        "concept_id": item.concept_id if item else chat.concept_on_screen(turn),
        "language": profile.language,
        "level": profile.level,
        "name": profile.name,
        "interests": goal.title if goal else "",
        "memory": [{"q": m["q"], "a": m["a"]} for m in _memory(turn)],
        "item": item_args(item) if item else None,
    }


def item_args(item: QuizItem) -> dict[str, Any]:
    """An open quiz item as the ask_tutor command carries it (the answer only for the checks)."""
    return {
        "id": item.id,
        "question": item.question,
        "options": list(item.options),
        "correct_index": item.correct_index,
        "answers": list(item.answers),
        "explanation": item.explanation,
    }


def _moot(turn: Turn, event: InboundEvent, mode: str) -> bool:
    """Nothing to say: the learner stopped, or the quiz a hint was for is no longer open (an
    answer to a question is still worth having after the learner moved on)."""
    if turn.snapshot.state is State.STOPPED:
        return True
    return mode == "hint" and (
        turn.snapshot.state is not State.QUIZ or activity_ref(turn) != event.ref
    )


def _way_back(turn: Turn, mode: str) -> list[Reply]:
    if mode == "hint" and turn.snapshot.state is State.QUIZ:
        item = open_item(turn)
        typed = item is not None and not item.has_options
        return reprompt(turn, turn.t("back_after_typed_hint" if typed else "back_after_hint"))
    return keywords.where_we_were(turn)


def _offline_hint(turn: Turn) -> list[Reply]:
    """A hint without the tutor: the lesson to think back to (never the answer)."""
    item = open_item(turn)
    course = turn.course
    concept = course.concept(item.concept_id) if item and course else None
    return [Text(turn.t("tutor_offline_hint", title=concept.title))] if concept else []


def _pending(turn: Turn) -> list[Mapping[str, Any]]:
    waiting = turn.snapshot.data.get("tutor_pending") or []
    return [w for w in waiting if isinstance(w, Mapping)]


def _take(turn: Turn, question: str) -> tuple[list[Mapping[str, Any]], Mapping[str, Any] | None]:
    """The waiting questions without the one answered, and that one: the same question, else the
    oldest waiting (None: nothing was asked, or it was forgotten, e.g. after an erasure)."""
    waiting = _pending(turn)
    index = next((i for i, asked in enumerate(waiting) if asked.get("q") == question), 0)
    if not waiting:
        return waiting, None
    return waiting[:index] + waiting[index + 1 :], waiting[index]


def _memory(turn: Turn) -> list[dict[str, str]]:
    """The last exchanges of this conversation: a question asked after a pause of
    MEMORY_MINUTES starts afresh (and may then be answered from the answer cache)."""
    remembered = turn.snapshot.data.get("tutor_memory") or []
    since = turn.now - timedelta(minutes=MEMORY_MINUTES)
    return [
        {"q": str(m.get("q", "")), "a": str(m.get("a", "")), "at": str(m.get("at", ""))}
        for m in remembered
        if isinstance(m, Mapping) and _at_or_after(str(m.get("at", "")), since)
    ][-MEMORY_TURNS:]


def _at_or_after(moment: str, since: datetime) -> bool:
    try:
        return datetime.fromisoformat(moment) >= since
    except ValueError:  # remembered before exchanges carried their time
        return False


def _remembered(turn: Turn, question: str, answer: str) -> list[dict[str, str]]:
    exchange = {"q": question[:MEMORY_CHARS], "a": answer[:MEMORY_CHARS],
                "at": turn.now.isoformat()}  # fmt: skip
    return [*_memory(turn), exchange][-MEMORY_TURNS:]
