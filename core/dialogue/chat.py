"""Replies to what is not an answer: questions about the course, greetings, thanks, goodbyes,
small talk, and what we did not understand (a request for a person: core/dialogue/mentor.py).
Each is short and friendly, and the open activity resumes with one line and its buttons."""

from __future__ import annotations

import logging

from core.content import normalize
from core.dialogue import keywords, onboarding
from core.dialogue.answers import open_item
from core.dialogue.model import Transition, Turn
from core.dialogue.session import reprompt
from core.dialogue.states import ACTIVITIES, ONBOARDING, State
from core.events import EventKind, InboundEvent
from core.learner import ActivityRecord
from core.replies import Choices, Option, Reply, Text
from core.retrieval import excerpt, index_for

log = logging.getLogger(__name__)
ASK_A_MENTOR = "mentor:ask"  # the button under an answer the course does not have

# "why?", "how so?", "what do you mean?": a follow-up about what is on screen, not a search
FOLLOW_UP_WORDS = frozenset(
    "why how what so really mean do you that this it is".split()
    + "warum wieso wie was meinst du das echt".split()
)


def way_back(turn: Turn) -> list[Reply]:
    """The replies that lead back to the open activity or question (or the menu)."""
    return keywords.where_we_were(turn)


def greet(turn: Turn, event: InboundEvent) -> Transition:
    return turn.stay(Text(turn.t("hello", name=turn.snapshot.profile.name)), *way_back(turn))


def thank(turn: Turn, event: InboundEvent) -> Transition:
    return turn.stay(Text(turn.t("you_are_welcome")), *way_back(turn))


def small_talk(turn: Turn, *, patience: bool = False) -> Transition:
    """ "how are you": a word about PAU; "ok", "one sec": only that there is no rush."""
    return turn.stay(Text(turn.t("small_talk_ack" if patience else "small_talk")), *way_back(turn))


def goodbye(turn: Turn, event: InboundEvent) -> Transition:
    """A goodbye mid-session keeps the session open: "today" picks it up again."""
    in_session = turn.snapshot.state in ACTIVITIES
    return turn.stay(Text(turn.t("see_you_mid_session" if in_session else "see_you")))


def unsupported(turn: Turn, event: InboundEvent) -> Transition:
    return turn.stay(Text(turn.t("unsupported", media=event.media_type or "that")), *way_back(turn))


def unclear(turn: Turn, event: InboundEvent) -> Transition:
    """Not understood: in an activity, one line saying what it expects, with its buttons."""
    t = turn.t
    state = turn.snapshot.state
    stale_answer = event.kind is EventKind.POLL_ANSWER or event.choice_id.startswith("answer:")
    if stale_answer:  # a poll or a button of an old quiz
        return turn.stay(Text(t("quiz_closed")), *way_back(turn))
    if state in ONBOARDING:
        return turn.stay(Text(t("didnt_catch")), *onboarding.question_for(turn, state))
    if state in ACTIVITIES:
        item = open_item(turn)
        typed = item is not None and not item.has_options
        key = "expected_typed_quiz" if typed else f"expected_{state.name.lower()}"
        return turn.stay(*reprompt(turn, t(key)))
    if state is State.STOPPED:
        return turn.stay(Text(t("stopped_hint")))
    return turn.stay(Text(t("unknown")), keywords.menu(turn))


def answer_question(turn: Turn, event: InboundEvent) -> Transition:
    """From the course: the best passage, or, for a bare "why?", the idea of what is on screen."""
    return course_answer(turn, event.text.strip())


def course_answer(turn: Turn, question: str, *before: Reply) -> Transition:
    """The offline answer to a question (`answer_question`), after the replies `before` (the
    tutor's honest word when it could not answer, core/dialogue/tutoring.py)."""
    t = turn.t
    course = turn.course
    words = set(normalize(question).split())
    concept_id = ""
    if course is not None and words <= FOLLOW_UP_WORDS:
        concept = course.concept(concept_on_screen(turn))
        if concept is None:
            answer = Text(t("follow_up_unknown"))
        else:
            concept_id = concept.id
            answer = Text(t("follow_up", title=concept.title, summary=concept.summary))
    else:
        found = index_for(course).best(question) if course else None
        if found is None:  # nothing in the course: a mentor may know (DESIGN.md §6, §8)
            offer = Choices(t("answer_not_found"), (Option(ASK_A_MENTOR, t("ask_a_mentor")),))
            record = ActivityRecord("question", response=question)
            return turn.stay(*before, offer, *way_back(turn), unanswered=question).then(
                writes=(record,)
            )
        else:
            concept_id = found.passage.concept_id
            passage = excerpt(found.passage.text, question)
            title = found.passage.concept_title
            key = "answer_from_faq" if found.passage.from_faq else "answer_from_course"
            answer = Text(t(key, title=title, passage=passage))
    record = ActivityRecord("question", concept_id=concept_id, response=question)
    return turn.stay(*before, answer, *way_back(turn)).then(writes=(record,))


def concept_on_screen(turn: Turn) -> str:
    """The open activity's concept, or the last one studied."""
    plan = turn.snapshot.data.get("plan") or []
    index = int(turn.snapshot.data.get("index", 0))
    if 0 <= index < len(plan):
        return str(plan[index].get("concept", ""))
    studied = sorted(turn.snapshot.progress.items(), key=lambda kv: kv[1].last_studied)
    return studied[-1][0] if studied else ""
