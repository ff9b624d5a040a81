"""The pure dialogue step: (snapshot, event, now, world) -> Transition. No I/O happens here."""

from __future__ import annotations

from datetime import datetime

from core.dialogue import answers, keywords, onboarding, results, session
from core.dialogue.model import Snapshot, Transition, Turn, World
from core.dialogue.parsing import Keyword, command_of, is_yes, looks_like_question
from core.dialogue.states import ACTIVITIES, ONBOARDING, State
from core.events import MAX_TEXT_CHARS, EventKind, InboundEvent
from core.learner import ActivityRecord
from core.replies import Reply, Text
from core.retrieval import excerpt, index_for

GREETINGS = {"hi", "hello", "hey", "hallo", "hola", "good morning", "good evening", "yo"}


def step(snapshot: Snapshot, event: InboundEvent, now: datetime, world: World) -> Transition:
    """Decide what the learner's event means in their current state. Always answers something."""
    if event.kind is EventKind.STATUS:
        return Transition(snapshot.state, snapshot.data)
    if event.internal:  # a command's result or a timer, for this learner
        return results.handle(Turn(snapshot, now, world), event)
    if len(event.text) > MAX_TEXT_CHARS:
        event = InboundEvent(
            event.kind,
            event.text[:MAX_TEXT_CHARS],
            event.choice_id,
            event.option_index,
            event.media_type,
            event.ref,
        )
    turn = Turn(snapshot, now, world)
    keyword = command_of(event)
    if snapshot.data.get("pending") == "delete":
        confirmed = is_yes(event)
        if confirmed or keyword is None:
            return keywords.handle_delete_confirmation(turn, confirmed)
        turn = Turn(snapshot.with_data(pending=None), now, world)
        snapshot = turn.snapshot
    if not snapshot.profile.consented:
        if keyword is Keyword.STOP or (keyword is not None and snapshot.data.get("asked")):
            return keywords.handle_before_consent(turn, keyword)
        return onboarding.handle(turn, event)
    if keyword is not None:
        return keywords.handle(turn, keyword)
    if event.choice_id.startswith("goal:") and snapshot.state not in ONBOARDING:
        return keywords.set_goal(turn, event.choice_id.removeprefix("goal:"))
    state = snapshot.state
    if state is State.STOPPED:
        return turn.stay(Text(turn.t("stopped_hint")))
    if state in ONBOARDING:
        return onboarding.handle(turn, event)
    if event.kind is EventKind.UNSUPPORTED:
        return turn.stay(
            Text(turn.t("unsupported", media=event.media_type or "that")),
            *keywords.where_we_were(turn),
        )
    if state in ACTIVITIES and session.current(turn) is None:
        # the open activity's content was removed by a course update: back to the menu
        idle = {k: v for k, v in snapshot.data.items() if k not in session.SESSION_KEYS}
        return Transition(State.IDLE, idle, (Text(turn.t("activity_gone")), keywords.menu(turn)))
    if state in ACTIVITIES:
        answered = answers.HANDLERS[state](turn, event)
        if answered is not None:
            return answered
    return _free_text(turn, event)


def _free_text(turn: Turn, event: InboundEvent) -> Transition:
    """Text that is not an expected answer: a question, a greeting, or something we don't get."""
    t = turn.t
    text = event.text.strip()
    state = turn.snapshot.state
    if event.kind is EventKind.TEXT and text.lower().strip("!. ") in GREETINGS:
        return turn.stay(
            Text(t("hello", name=turn.snapshot.profile.name)), *keywords.where_we_were(turn)
        )
    if state is State.IDLE and (
        event.choice_id == "done" or text.lower() in ("done", "done for today")
    ):
        return turn.stay(Text(t("see_you")))
    if event.kind is EventKind.TEXT and (looks_like_question(text) or len(text.split()) >= 4):
        return _answer_question(turn, text)
    if state in ACTIVITIES:
        return turn.stay(Text(t(f"expected_{state.name.lower()}")), *_open_prompt(turn))
    return turn.stay(Text(t("unknown")), keywords.menu(turn))


def _open_prompt(turn: Turn) -> list[Reply]:
    replies = session.reprompt(turn)
    return replies[1:]  # without "back to where we were": we never left


def _answer_question(turn: Turn, question: str) -> Transition:
    t = turn.t
    course = turn.course
    found = index_for(course).best(question) if course else None
    if found is None:
        answer = Text(t("answer_not_found"))
    else:
        passage = excerpt(found.passage.text, question)
        answer = Text(t("answer_from_course", title=found.passage.concept_title, passage=passage))
    record = ActivityRecord(
        "question", concept_id=found.passage.concept_id if found else "", response=question
    )
    return turn.stay(Text(t("question_ack")), answer, *keywords.where_we_were(turn)).then(
        writes=(record,)
    )
