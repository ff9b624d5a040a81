"""The pure dialogue step: (snapshot, event, now, world) -> Transition. No I/O happens here.

The step asks `meaning.understand` once what the event means in the context of the open prompt,
then routes by meaning to one handler (`ROUTES`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from core.dialogue import (
    answers,
    chat,
    explain,
    keywords,
    mentor,
    nudging,
    onboarding,
    results,
    session,
    tutoring,
)
from core.dialogue.meaning import Context, Meaning, Understood, understand
from core.dialogue.model import Snapshot, Transition, Turn, World
from core.dialogue.parsing import Keyword, is_no, is_yes
from core.dialogue.states import ACTIVITIES, ONBOARDING, State
from core.events import MAX_TEXT_CHARS, EventKind, InboundEvent
from core.replies import Text

Handler = Callable[[Turn, InboundEvent, Understood], Transition]
# what works before consent is given (crisis words are always answered, and a person told)
CONSENT_FREE = (Meaning.STOP, Meaning.COMMAND, Meaning.CRISIS)
# while a quiz is open, what a hint request may have been read as ("is it b?" is an answer
# offline, "just tell me" an "I don't know", "hint" unclear): with a tutor, it asks for a hint
HINT_READINGS = frozenset({Meaning.ANSWER, Meaning.QUESTION, Meaning.DONT_KNOW, Meaning.UNCLEAR,
                           Meaning.SMALL_TALK, Meaning.SKIP})  # fmt: skip
HINT = "hint"  # Understood.argument of a hint request
# what the tutor would otherwise hear or improvise a reply to: abuse there is refused politely
ABUSE_CHECKED = frozenset({Meaning.QUESTION, Meaning.SMALL_TALK, Meaning.UNCLEAR})


def step(snapshot: Snapshot, event: InboundEvent, now: datetime, world: World) -> Transition:
    """Decide what the learner's event means in their current state. Always answers something."""
    if event.kind is EventKind.STATUS:
        return Transition(snapshot.state, snapshot.data)
    if event.kind is EventKind.NUDGE:
        return nudging.handle(Turn(snapshot, now, world), event)
    if event.internal:  # a command's result or a timer, for this learner
        return results.handle(Turn(snapshot, now, world), event)
    if len(event.text) > MAX_TEXT_CHARS:
        event = replace(event, text=event.text[:MAX_TEXT_CHARS])
    turn = Turn(snapshot, now, world)
    return nudging.observe(turn, event, _learner_step(turn, event))


def _learner_step(turn: Turn, event: InboundEvent) -> Transition:
    snapshot, now, world = turn.snapshot, turn.now, turn.world
    if snapshot.data.get("pending") == nudging.MOVE_PENDING and not (is_yes(event) or is_no(event)):
        turn = Turn(snapshot.with_data(pending=None, move_to=None), now, world)  # not an answer
        snapshot = turn.snapshot
    understood = understand(event, context_of(turn))
    if understood.meaning in HINT_READINGS and not snapshot.data.get("pending") \
            and tutoring.hint_request(turn, event):  # fmt: skip
        understood = Understood(Meaning.QUESTION, argument=HINT)  # "is it b?": not an answer
    if snapshot.data.get("pending") and understood.meaning is not Meaning.ANSWER:
        turn = Turn(snapshot.with_data(pending=None), now, world)  # the question was left
    state = turn.snapshot.state
    if not turn.snapshot.profile.consented and understood.meaning not in CONSENT_FREE:
        understood = Understood(Meaning.ANSWER)  # nothing but the consent question until given
    if state is State.STOPPED and understood.meaning not in (Meaning.STOP, Meaning.COMMAND):
        return turn.stay(Text(turn.t("stopped_hint")))
    gone = state in ACTIVITIES and session.current(turn) is None
    if gone and understood.meaning not in (Meaning.STOP, Meaning.COMMAND):
        # the open activity's content was removed by a course update: back to the menu
        idle = session.without_session(turn.snapshot.data)
        return Transition(State.IDLE, idle, (Text(turn.t("activity_gone")), keywords.menu(turn)))
    if turn.world.tutor_on and understood.meaning in ABUSE_CHECKED and tutoring.abusive(event.text):
        return tutoring.refuse(turn)
    return ROUTES[understood.meaning](turn, event, understood)


def context_of(turn: Turn) -> Context:
    state = turn.snapshot.state
    item = answers.open_item(turn) if state is State.QUIZ else None
    return Context(state, item, str(turn.snapshot.data.get("pending") or ""))


def answer(turn: Turn, event: InboundEvent, understood: Understood) -> Transition:
    """The answer to the open prompt: a confirmation, a set-up question, or the activity."""
    state = turn.snapshot.state
    if turn.snapshot.data.get("pending") == "delete":
        return keywords.handle_delete_confirmation(turn, is_yes(event, whole=True))
    if turn.snapshot.data.get("pending") == nudging.MOVE_PENDING:
        return nudging.answer_move(turn, event)
    if turn.snapshot.data.get("pending") == mentor.MENTOR_PENDING:
        return mentor.answer_question(turn, event)
    if state in ONBOARDING or not turn.snapshot.profile.consented:
        return onboarding.handle(turn, event)
    handler = ANSWER_HANDLERS.get(state)
    answered = handler(turn, event) if handler else None
    return answered or chat.unclear(turn, event)


ANSWER_HANDLERS = {
    **answers.HANDLERS,
    State.EXPLAIN: explain.handle_explain,
    State.EXPLAIN_GRADING: explain.handle_grading_wait,
}


def skip(turn: Turn, event: InboundEvent, understood: Understood) -> Transition:
    skipped = answers.skip(turn)
    if skipped is not None:
        return skipped
    if turn.snapshot.state is State.EXPLAIN_GRADING:
        return turn.stay(*session.reprompt(turn))  # "still reading your explanation"
    return turn.stay(Text(turn.t("nothing_to_skip")), keywords.menu(turn))


def question(turn: Turn, event: InboundEvent, understood: Understood) -> Transition:
    state = turn.snapshot.state
    if state in ONBOARDING:  # "why do you need to know that?"
        return turn.stay(Text(turn.t("setup_why")), *onboarding.question_for(turn, state))
    if turn.world.tutor_on:  # answered by a command; "typing…" meanwhile
        return tutoring.ask(turn, event, hint=understood.argument == HINT)
    return chat.answer_question(turn, event)


def dont_know(turn: Turn, event: InboundEvent, understood: Understood) -> Transition:
    state = turn.snapshot.state
    if state in ONBOARDING:
        return turn.stay(Text(turn.t("setup_dont_know")), *onboarding.question_for(turn, state))
    handled = answers.dont_know(turn, event)
    if handled is not None:
        return handled
    if turn.snapshot.state is State.LESSON:
        return turn.stay(*session.reprompt(turn, turn.t("lesson_dont_know")))
    return chat.unclear(turn, event)


def cancel(turn: Turn, event: InboundEvent, understood: Understood) -> Transition:
    """ "cancel" ends the activity, never the subscription, and says how to opt out."""
    t = turn.t
    state = turn.snapshot.state
    if state in ACTIVITIES:
        return session.end(turn, Text(t("cancelled")), keywords.menu(turn))
    if state in ONBOARDING:
        return turn.stay(Text(t("cancelled_onboarding")))
    return turn.stay(Text(t("nothing_to_cancel")), keywords.menu(turn))


def command(turn: Turn, event: InboundEvent, understood: Understood) -> Transition:
    assert understood.keyword is not None
    first_message = not turn.snapshot.profile.consented and not turn.snapshot.data.get("asked")
    if first_message and understood.keyword is not Keyword.LANG:  # "/start": the welcome
        return onboarding.handle(turn, event)
    settings = NUDGE_SETTINGS.get(understood.keyword)
    state = turn.snapshot.state
    if settings and turn.snapshot.profile.consented and state not in ONBOARDING \
            and state is not State.STOPPED:  # fmt: skip
        return settings(turn, understood.argument)
    return keywords.handle(turn, understood.keyword, understood.argument)


NUDGE_SETTINGS: dict[Keyword, Callable[[Turn, str], Transition]] = {
    Keyword.FEWER: lambda turn, argument: nudging.fewer(turn),
    Keyword.MUTE: lambda turn, argument: nudging.mute(turn),
    Keyword.REMIND: lambda turn, argument: nudging.remind(turn),
    Keyword.QUIET: nudging.quiet,
}


def small_talk(turn: Turn, event: InboundEvent, understood: Understood) -> Transition:
    return chat.small_talk(turn, patience=understood.argument == "ack")


def stop(turn: Turn, event: InboundEvent, understood: Understood) -> Transition:
    return keywords.stop(turn)


def _by_event(handler: Callable[[Turn, InboundEvent], Transition]) -> Handler:
    """A handler that needs the event only (what it means is its name)."""
    return lambda turn, event, understood: handler(turn, event)


ROUTES: dict[Meaning, Handler] = {
    Meaning.ANSWER: answer,
    Meaning.QUESTION: question,
    Meaning.GREETING: _by_event(chat.greet),
    Meaning.THANKS: _by_event(chat.thank),
    Meaning.GOODBYE: _by_event(chat.goodbye),
    Meaning.SMALL_TALK: small_talk,
    Meaning.SKIP: skip,
    Meaning.DONT_KNOW: dont_know,
    Meaning.HUMAN: _by_event(mentor.ask),
    Meaning.CRISIS: _by_event(mentor.crisis),
    Meaning.ACTIVITY: command,
    Meaning.COMMAND: command,
    Meaning.CANCEL: cancel,
    Meaning.STOP: stop,
    Meaning.UNSUPPORTED: _by_event(chat.unsupported),
    Meaning.UNCLEAR: _by_event(chat.unclear),
}
