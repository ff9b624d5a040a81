"""Internal events: the results of commands and timers coming back into the dialogue.

Each result names what it belongs to (`ref`, the activity on screen when it was asked for). A result
for the activity the learner is still on is applied to it; a late one (the learner moved on,
stopped, or started over) is acknowledged in a word or ignored, never applied to another activity.
"""

from __future__ import annotations

import base64
from dataclasses import replace

from core.dialogue import explain, keywords, mentor, session, tutoring
from core.dialogue.model import Transition, Turn
from core.dialogue.session import activity_ref
from core.dialogue.states import ACTIVITIES, State
from core.events import EventKind, InboundEvent
from core.learner import ActivityRecord, Learning
from core.nudges.policy import in_quiet, zone_of
from core.progress import apply_activity
from core.replies import File, Image, Text


def handle(turn: Turn, event: InboundEvent) -> Transition:
    snapshot = turn.snapshot
    if not snapshot.profile.consented:  # the learner erased everything meanwhile: nothing to do
        return turn.stay()
    # still on the activity the result belongs to (and a course update has not removed it)
    current = (
        activity_ref(turn) == event.ref
        and snapshot.state in ACTIVITIES
        and session.current(turn) is not None
    )
    if event.kind is EventKind.GRADED:
        if current and snapshot.state is State.EXPLAIN_GRADING:
            return explain.explain_feedback(turn, event.data)
        return _late_grade(turn, event)
    if event.kind is EventKind.CHART_READY:
        if snapshot.state is State.STOPPED:
            return turn.stay()
        image = Image(base64.b64decode(str(event.data["png"])), str(event.data.get("caption", "")))
        return turn.stay(image, *(keywords.where_we_were(turn) if current else []))
    if event.kind is EventKind.EXPORT_READY:
        content = str(event.data["json"]).encode("utf-8")
        file = File("pau-my-data.json", content, "application/json")
        summary = event.data.get("summary")  # absent from an export asked for before summaries
        if not isinstance(summary, dict):
            return turn.stay(file)
        return turn.stay(Text(turn.t("export_summary", **summary)), file)
    if event.kind is EventKind.TIMER_FIRED:
        if event.data.get("name") == "still_there" and current and _may_speak_up(turn):
            return turn.stay(Text(turn.t("still_there")))
        return turn.stay()
    if event.kind is EventKind.TUTOR_ANSWERED:
        return tutoring.answered(turn, event)
    if event.kind is EventKind.COMMAND_FAILED:
        return _failed(turn, event, current)
    if event.kind is EventKind.MENTOR_REPLIED:
        return mentor.replied(turn, event)
    if event.kind is EventKind.MENTOR_RESOLVED:
        return mentor.resolved(turn, event)
    return turn.stay()  # mentors_notified: the ping went out; nothing to say


def _late_grade(turn: Turn, event: InboundEvent) -> Transition:
    """The learner left the explanation before its grade came: keep the evidence, say so briefly."""
    snapshot = turn.snapshot
    concept_id = str(event.data.get("concept_id", ""))
    course = turn.course
    concept = course.concept(concept_id) if course else None
    if concept is None or snapshot.state is State.STOPPED:
        return turn.stay()
    score = float(event.data["score"])
    record = ActivityRecord("explain_back", concept_id=concept_id, score=score)
    progress = apply_activity(snapshot.progress, record, turn.now)
    learning = Learning(progress, snapshot.stats, snapshot.motivation)
    ack = Text(turn.t("late_grade", title=concept.title, score=round(score * 100)))
    return replace(turn.stay(ack), learning=learning).then(writes=(record,))


def _failed(turn: Turn, event: InboundEvent, current: bool) -> Transition:
    command = event.data.get("command")
    if command == "grade_explanation":
        if current and turn.snapshot.state is State.EXPLAIN_GRADING:
            return explain.explain_feedback(turn, None)
        return turn.stay()
    if command == "render_chart":  # the text was sent already; only the way back is missing
        return turn.stay(*(keywords.where_we_were(turn) if current else []))
    if command == "export_data":
        return turn.stay(Text(turn.t("export_failed")))
    if command == "ask_tutor":  # the learner still gets the course's answer
        return tutoring.failed(turn, event)
    return turn.stay()


def _may_speak_up(turn: Turn) -> bool:
    """Unprompted words only to learners who want them, and not in their quiet hours."""
    profile = turn.snapshot.profile
    if profile.paused or profile.stopped:
        return False
    local = turn.now.astimezone(zone_of(profile.timezone))
    return not in_quiet(local.time(), turn.snapshot.nudging)
