"""A human mentor in the loop (DESIGN.md §8).

"mentor", "I want a human" or crisis language opens an escalation: the learner hears that a person
will answer here and roughly when (the mentors' hours), and carries on learning meanwhile. A bare
"mentor" asks first what the question is. The mentor's reply and their "resolved" come back as
internal events and are worded here; on WhatsApp, outside the 24-hour window, an approved template
goes first (the reply itself waits for the learner to write).

Crisis language gets a fixed, safe reply with help resources and an urgent escalation: no
improvising, no lesson pushed after it.
"""

from __future__ import annotations

from dataclasses import replace

from core.dialogue import keywords, phrases
from core.dialogue.chat import ASK_A_MENTOR
from core.dialogue.model import Transition, Turn
from core.dialogue.parsing import is_no
from core.escalations import EscalationRequest, Wait, draft_answer, expected_wait
from core.events import InboundEvent
from core.learner import ActivityRecord
from core.replies import Reply, Template, Text

MENTOR_PENDING = "mentor_question"  # "what would you like to ask the mentor?" is open
MIN_QUESTION_WORDS = 4  # "I want a human: <at least this many words>" is a question already
# the words of a bare request ("can I please talk to a real person"), not of a question
REQUEST_WORDS = frozenset(
    "i id want would like need wanna can could may please pls talk speak chat write to with a an "
    "the real actual live human person someone somebody mentor teacher tutor coach trainer "
    "people team agent operator me get connect ich will mochte mit einem einer jemandem mensch "
    "menschen sprechen reden schreiben bitte echten richtigen".split()
)


def waiting(turn: Turn) -> bool:
    """An escalation of theirs is open (until a mentor resolves it)."""
    return bool(turn.snapshot.data.get("escalation"))


def ask(turn: Turn, event: InboundEvent) -> Transition:
    """The learner asks for a person: with their question in the same message, it goes to the
    mentors at once; otherwise PAU asks what it is."""
    t = turn.t
    if waiting(turn):
        return turn.stay(Text(t("mentor_already_asked")), *keywords.where_we_were(turn))
    unanswered = str(turn.snapshot.data.get("unanswered") or "")
    if event.choice_id == ASK_A_MENTOR and unanswered:  # the course had no answer to it
        return open_escalation(turn, unanswered, reason="no_answer")
    question = _question_in(event.text)
    if question:
        return open_escalation(turn, question)
    return turn.stay(Text(t("mentor_ask_question")), pending=MENTOR_PENDING)


def answer_question(turn: Turn, event: InboundEvent) -> Transition:
    """The answer to "what would you like to ask?": the question, or "cancel"."""
    text = event.text.strip()
    turn = Turn(turn.snapshot.with_data(pending=None), turn.now, turn.world)
    short_no = is_no(event) and len(text.split()) <= 3  # "no", "nope, never mind"
    if not text or short_no or phrases.canon(text) in phrases.CANCEL_WORDS:
        return turn.stay(Text(turn.t("mentor_cancelled")), *keywords.where_we_were(turn))
    return open_escalation(turn, text)


def crisis(turn: Turn, event: InboundEvent) -> Transition:
    """Fixed words with help resources, and an urgent escalation, whatever else is open."""
    request = EscalationRequest(event.text.strip(), reason="crisis", urgent=True)
    marked = _marked_waiting(turn, urgent=True)
    record = ActivityRecord("mentor_request", response="(crisis)")
    return replace(
        Transition(turn.snapshot.state, marked, (Text(turn.t("crisis_reply")),)),
        escalation=request,
    ).then(writes=(record,))


def open_escalation(turn: Turn, question: str, *, reason: str = "asked") -> Transition:
    """Hand the question to the mentors, with a draft answer from the course for them to edit."""
    draft, concept_id = draft_answer(turn.course, " ".join(_topic_words(question)))
    request = EscalationRequest(question, reason=reason, concept_id=concept_id, draft=draft)
    wait = expected_wait(turn.world.mentor_hours, turn.now, turn.snapshot.profile.timezone)
    told = Text(turn.t("mentor_asked_soon") if wait.soon else turn.t(
        "mentor_asked_later", when=_when(turn, wait)))  # fmt: skip
    record = ActivityRecord("mentor_request", concept_id=concept_id, response=question)
    marked = Turn(turn.snapshot.with_data(**_marked_waiting(turn)), turn.now, turn.world)
    transition = marked.stay(told, *keywords.where_we_were(marked))
    return replace(transition, escalation=request).then(writes=(record,))


def replied(turn: Turn, event: InboundEvent) -> Transition:
    """A mentor's reply, in the learner's chat (a template first when WhatsApp's window has
    closed: the reply goes out once they write)."""
    snapshot = turn.snapshot
    if snapshot.profile.stopped:
        return turn.stay()  # they unsubscribed meanwhile: nothing more is sent
    mentor = str(event.data.get("mentor") or "") or turn.t("mentor_default_name")
    text = Text(turn.t("mentor_says", mentor=mentor, text=str(event.data.get("text", ""))))
    escalation = {**dict(snapshot.data.get("escalation") or {}), "answered": True}
    replies: list[Reply] = [text]
    if not snapshot.window_open:
        replies.insert(0, Template("mentor_reply", snapshot.profile.language, (mentor,)))
    else:
        replies += keywords.where_we_were(turn)
    return turn.stay(*replies, escalation=escalation)


def resolved(turn: Turn, event: InboundEvent) -> Transition:
    """The mentor closed the question: the bot carries on as before."""
    waiting_for = dict(turn.snapshot.data.get("escalation") or {})
    still_open = int(waiting_for.get("open", 1)) - 1  # another of theirs may still be open
    left = {**waiting_for, "open": still_open} if still_open > 0 else None
    if turn.snapshot.profile.stopped:
        return turn.stay(escalation=left)
    key = "mentor_resolved" if event.data.get("answered") else "mentor_resolved_unanswered"
    replies: list[Reply] = [Text(turn.t(key))]
    if turn.snapshot.window_open:
        replies += keywords.where_we_were(turn)
    return turn.stay(*replies, escalation=left)


def _marked_waiting(turn: Turn, *, urgent: bool = False) -> dict[str, object]:
    """The data with one more escalation of theirs open (a crisis may come on top of a question;
    each resolve closes one)."""
    before = dict(turn.snapshot.data.get("escalation") or {})
    return {
        **turn.snapshot.data,
        "pending": None,
        "unanswered": None,
        "escalation": {
            "asked_at": turn.now.isoformat(),
            "urgent": urgent or bool(before.get("urgent")),
            "open": int(before.get("open", 1 if before else 0)) + 1,
        },
    }


def _question_in(text: str) -> str:
    """The question that came with the request ("a human please: how do I plan reviews around
    exams?"), or "" when the request is all there is."""
    return text.strip() if len(_topic_words(text)) >= MIN_QUESTION_WORDS else ""


def _topic_words(text: str) -> list[str]:
    """What the message is about, without the words that ask for a person."""
    asked = set(REQUEST_WORDS) | set(phrases.FILLERS)
    return [w for w in phrases.canon(text).split() if w not in asked]


def _when(turn: Turn, wait: Wait) -> str:
    """ "today at 09:00", "tomorrow at 09:00", "on Monday at 09:00" (the learner's time)."""
    local_now = turn.now.astimezone(wait.opening.tzinfo)
    days = (wait.opening.date() - local_now.date()).days
    at = wait.opening.strftime("%H:%M")
    if days <= 0:
        return turn.t("when_today", time=at)
    if days == 1:
        return turn.t("when_tomorrow", time=at)
    return turn.t("when_weekday", weekday=str(wait.opening.weekday()), time=at)
