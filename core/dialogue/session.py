"""Today's three: plan a session, present each activity, take the answers, wrap up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from core import planner
from core.content import QuizItem, normalize
from core.dialogue.model import RecordActivity, Transition, Turn
from core.dialogue.parsing import looks_like_question
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.grading.grader import Grade, grade
from core.learning import learn
from core.planner import PlannerInput
from core.replies import Choices, Option, Quiz, Reply, Text

ACTIVITY_STATES = {
    "lesson": State.LESSON,
    "review": State.QUIZ,
    "check": State.QUIZ,
    "reflection": State.REFLECTION,
    "explain": State.EXPLAIN,
}
CONTINUE_WORDS = {"continue", "next", "ok", "okay", "done", "got it", "ready", "yes", "go", "k"}
SKIP_WORDS = {"skip", "pass", "next", "i don t know", "dont know", "don t know", "no idea", "idk"}
SESSION_KEYS = ("plan", "index", "asked_at", "session_answered", "session_correct")


def planner_input(turn: Turn) -> PlannerInput:
    snapshot = turn.snapshot
    assert turn.course is not None
    last_done_at = {
        kind: datetime.fromisoformat(moment) for kind, moment in snapshot.stats.last_done_at.items()
    }
    course = turn.course
    return PlannerInput(
        now=turn.now,
        course=course,
        progress=snapshot.progress,
        # a card whose item left the course in a re-import is not offered any more
        due_reviews=tuple(r for r in snapshot.due_reviews if course.quiz_item(r.item_id)),
        recent_results=snapshot.stats.recent_results,
        last_kind=snapshot.stats.last_kind,
        last_done_at=last_done_at,
        goal=snapshot.stats.goal or None,
    )


def todays_three(turn: Turn) -> list[dict[str, str]]:
    return planner.plan_session(planner_input(turn))


def one_quiz(turn: Turn) -> list[dict[str, str]]:
    return planner.quick_quiz(planner_input(turn))


def _session_data(turn: Turn) -> dict[str, Any]:
    return {k: v for k, v in turn.snapshot.data.items() if k not in SESSION_KEYS}


def start(turn: Turn, plan: list[dict[str, str]], *intro: Reply) -> Transition:
    if not plan:
        return Transition(
            State.IDLE, _session_data(turn), (*intro, Text(turn.t("nothing_planned")))
        )
    data = {**_session_data(turn), "plan": plan, "session_answered": 0, "session_correct": 0}
    return present(turn, data, 0, intro)


def current(turn: Turn) -> dict[str, str] | None:
    """The open activity, if there is one and its content still exists in the course."""
    plan = turn.snapshot.data.get("plan") or []
    index = int(turn.snapshot.data.get("index", 0))
    activity = plan[index] if 0 <= index < len(plan) else None
    course = turn.course
    if activity is None or course is None:
        return None
    if "item" in activity and course.quiz_item(activity["item"]) is None:
        return None
    if course.concept(activity["concept"]) is None:
        return None
    return dict(activity)


def quiz_reply(item: QuizItem) -> Quiz:
    if item.has_options:
        return Quiz(item.question, item.options, item.correct_index or 0, item.explanation, item.id)
    return Quiz(item.question, (), -1, item.explanation, item.id)


def _prompt_for(turn: Turn, activity: Mapping[str, str], first_time: bool) -> list[Reply]:
    course = turn.course
    t = turn.t
    assert course is not None
    kind = activity["kind"]
    if kind in ("review", "check"):
        item = course.quiz_item(activity["item"])
        assert item is not None
        replies: list[Reply] = [quiz_reply(item)]
        if not item.has_options:
            replies.append(Text(t("quiz_type_answer")))
        return replies
    concept = course.concept(activity["concept"])
    assert concept is not None
    if kind == "lesson":
        bubbles: list[Reply] = []
        if first_time:
            bubbles = [
                Text(t("lesson_title", title=concept.title)),
                *(Text(b) for b in concept.lesson),
            ]
        return [*bubbles, continue_choices(turn)]
    if kind == "reflection":
        return [Text(t("reflection_prompt", prompt=concept.reflection))]
    return [Text(t("explain_prompt", prompt=concept.explain_back.prompt))]


def continue_choices(turn: Turn) -> Choices:
    t = turn.t
    return Choices(t("lesson_continue_prompt"), (Option("continue", t("button_continue")),))


def present(
    turn: Turn, data: dict[str, Any], index: int, intro: tuple[Reply, ...] | list[Reply] = ()
) -> Transition:
    plan = data["plan"]
    if index >= len(plan):
        return finish(turn, data, intro)
    activity = plan[index]
    data = {**data, "index": index, "asked_at": turn.now.isoformat()}
    header = (
        Text(turn.t("activity_header", number=index + 1, total=len(plan)))
        if len(plan) > 1
        else None
    )
    replies = [*intro, *([header] if header else []), *_prompt_for(turn, activity, True)]
    return Transition(ACTIVITY_STATES[activity["kind"]], data, tuple(replies))


def reprompt(turn: Turn) -> list[Reply]:
    """Re-present the interrupted activity (after a question, help, progress...)."""
    activity = current(turn)
    if activity is None or turn.course is None:
        return []
    return [Text(turn.t("back_to_activity")), *_prompt_for(turn, activity, False)]


def finish(turn: Turn, data: dict[str, Any], intro: tuple[Reply, ...] | list[Reply]) -> Transition:
    t = turn.t
    answered = int(data.get("session_answered", 0))
    correct = int(data.get("session_correct", 0))
    motivation = turn.snapshot.motivation
    summary = Text(
        t(
            "session_done",
            name=turn.snapshot.profile.name,
            answered=answered,
            correct=correct,
            streak=motivation.streak,
            xp=motivation.xp,
        )
    )
    menu = Choices(
        t("session_next_prompt"),
        (
            Option("cmd:more", t("button_more")),
            Option("cmd:progress", t("button_progress")),
            Option("done", t("button_done")),
        ),
    )
    idle_data = {k: v for k, v in data.items() if k not in SESSION_KEYS}
    return Transition(State.IDLE, idle_data, (*intro, summary, menu))


def _duration_ms(turn: Turn) -> int | None:
    asked = turn.snapshot.data.get("asked_at")
    if not asked:
        return None
    elapsed = turn.now - datetime.fromisoformat(str(asked))
    return max(0, int(elapsed.total_seconds() * 1000))


def _advance(turn: Turn, replies: list[Reply], record: RecordActivity, **counts: int) -> Transition:
    """Record the finished activity, update the learning record, present the next one."""
    activity = current(turn)
    plan_kind = activity["kind"] if activity else record.kind
    learned, celebration = learn(turn.snapshot, record, plan_kind, turn.now, turn.course)
    if celebration is not None:
        replies = [*replies, Text(turn.t(celebration.key, **celebration.params))]
    after = Turn(replace(turn.snapshot, progress=learned.progress, stats=learned.stats,
                         motivation=learned.motivation), turn.now, turn.world)  # fmt: skip
    data = {**turn.snapshot.data, **counts}
    transition = present(after, data, int(data.get("index", 0)) + 1, replies)
    return replace(transition, learning=learned).then(effects=(record,))


def handle_lesson(turn: Turn, event: InboundEvent) -> Transition | None:
    activity = current(turn)
    if activity is None:
        return None
    if event.choice_id == "continue" or normalize(event.text) in CONTINUE_WORDS:
        record = RecordActivity(
            "lesson", concept_id=activity["concept"], duration_ms=_duration_ms(turn)
        )
        return _advance(turn, [], record)
    return None


def option_index(item: QuizItem, event: InboundEvent) -> int | None:
    """Which option an event picks: a poll answer, a button, '2', 'b' or the option's text."""
    if event.kind is EventKind.POLL_ANSWER and event.option_index is not None:
        return event.option_index if 0 <= event.option_index < len(item.options) else None
    if event.kind is EventKind.CHOICE and event.choice_id.startswith("answer:"):
        _, item_id, raw = (
            event.choice_id.rsplit(":", 2) if event.choice_id.count(":") >= 2 else ("", "", "")
        )
        if item_id == item.id and raw.isdigit() and int(raw) < len(item.options):
            return int(raw)
        return None
    text = normalize(event.text)
    for index, option in enumerate(item.options):  # the option's own text wins over a position
        if text == normalize(option):
            return index
    if text.isdigit() and 1 <= int(text) <= len(item.options):
        return int(text) - 1
    if len(text) == 1 and "a" <= text <= chr(ord("a") + len(item.options) - 1):
        return ord(text) - ord("a")
    if len(item.options) == 2 and item.options[0] == "True":
        if text in {"t", "true", "right", "correct"}:
            return 0
        if text in {"f", "false", "wrong", "incorrect"}:
            return 1
    return None


def handle_quiz(turn: Turn, event: InboundEvent) -> Transition | None:
    activity = current(turn)
    course = turn.course
    if activity is None or course is None:
        return None
    item = course.quiz_item(activity["item"])
    if item is None:
        return None
    t = turn.t
    if (
        event.kind in (EventKind.CHOICE, EventKind.POLL_ANSWER)
        and event.ref
        and event.ref != item.id
    ):
        return turn.stay(Text(t("quiz_closed")), *reprompt(turn))
    if item.has_options:
        chosen = option_index(item, event)
        if chosen is None:
            return None
        correct = chosen == item.correct_index
        response = item.options[chosen]
    else:
        if event.kind is not EventKind.TEXT or looks_like_question(event.text):
            return None
        response = event.text.strip()
        if normalize(response) in SKIP_WORDS:
            correct = False
        else:
            correct = item.is_correct_text(response)
    key = "quiz_right" if correct else "quiz_wrong"
    feedback = Text(t(key, answer=item.correct_answer, explanation=item.explanation))
    record = RecordActivity(
        "quiz",
        concept_id=item.concept_id,
        item_id=item.id,
        correct=correct,
        response=response,
        duration_ms=_duration_ms(turn),
    )
    data = turn.snapshot.data
    return _advance(
        turn,
        [feedback],
        record,
        session_answered=int(data.get("session_answered", 0)) + 1,
        session_correct=int(data.get("session_correct", 0)) + (1 if correct else 0),
    )


def handle_reflection(turn: Turn, event: InboundEvent) -> Transition | None:
    activity = current(turn)
    if activity is None or event.kind is not EventKind.TEXT:
        return None
    text = event.text.strip()
    skipped = normalize(text) in SKIP_WORDS
    if not skipped and (looks_like_question(text) or len(text) < 3):
        return None
    reply = Text(turn.t("reflection_skipped" if skipped else "reflection_thanks"))
    record = RecordActivity(
        "reflection",
        concept_id=activity["concept"],
        response="" if skipped else text,
        duration_ms=_duration_ms(turn),
    )
    return _advance(turn, [reply], record)


def handle_explain(turn: Turn, event: InboundEvent) -> Transition | None:
    activity = current(turn)
    course = turn.course
    if activity is None or course is None or event.kind is not EventKind.TEXT:
        return None
    concept = course.concept(activity["concept"])
    if concept is None:
        return None
    text = event.text.strip()
    skipped = normalize(text) in SKIP_WORDS
    if not skipped and (looks_like_question(text) or len(text) < 3):
        return None
    points = concept.explain_back.key_points
    if skipped:
        result = Grade(0.0, (), points, None, "skipped")
    else:
        reference = " ".join([concept.summary, *points]).strip()
        prompt = concept.explain_back.prompt
        result = grade(question=prompt, reference=reference, answer=text, key_points=points)
    score, covered, missed, misconception = (
        result.score, result.covered, result.missed, result.misconception,
    )  # fmt: skip
    reply = Text(
        turn.t(
            "explain_feedback",
            covered=list(covered),
            missed=list(missed),
            skipped=skipped,
            misconception=misconception,
            score=round(score * 100),
        )
    )
    record = RecordActivity(
        "explain_back",
        concept_id=concept.id,
        score=score,
        response="" if skipped else text,
        duration_ms=_duration_ms(turn),
    )
    return _advance(turn, [reply], record)


HANDLERS = {
    State.LESSON: handle_lesson,
    State.QUIZ: handle_quiz,
    State.REFLECTION: handle_reflection,
    State.EXPLAIN: handle_explain,
}
