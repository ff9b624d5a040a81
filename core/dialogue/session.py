"""Today's three: plan a session, present each activity, take the answers, wrap up."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from core import planner
from core.commands import Timer
from core.content import QuizItem
from core.dialogue.model import Transition, Turn
from core.dialogue.states import ACTIVITIES, State
from core.motivation import current_streak, local_day
from core.planner import PlannerInput
from core.replies import Choices, Option, Quiz, Reply, Text

ACTIVITY_STATES = {
    "lesson": State.LESSON,
    "review": State.QUIZ,
    "check": State.QUIZ,
    "reflection": State.REFLECTION,
    "explain": State.EXPLAIN,
}
SESSION_KEYS = (
    "plan", "plan_kind", "index", "asked_at", "session_answered", "session_correct", "grading",
)  # fmt: skip
TODAYS_THREE, QUICK_QUIZ = "today", "quiz"  # plan kinds: only today's three ends with a summary
MAX_OPTION_LABEL = 40  # a re-prompt's answer buttons: the letter and the start of the option
STILL_THERE_AFTER = timedelta(minutes=15)  # a quiz left open this long gets one gentle word


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


def without_session(data: Mapping[str, Any]) -> dict[str, Any]:
    """The dialogue's scratch pad without the open session (plan, place, counts)."""
    return {k: v for k, v in data.items() if k not in SESSION_KEYS}


def _session_data(turn: Turn) -> dict[str, Any]:
    return without_session(turn.snapshot.data)


def start(
    turn: Turn, plan: list[dict[str, str]], *intro: Reply, kind: str = TODAYS_THREE
) -> Transition:
    if not plan:
        return Transition(
            State.IDLE, _session_data(turn), (*intro, Text(turn.t("nothing_planned")))
        )
    data = {**_session_data(turn), "plan": plan, "plan_kind": kind, "session_answered": 0,
            "session_correct": 0}  # fmt: skip
    return present(turn, data, 0, intro)


def end(turn: Turn, *replies: Reply) -> Transition:
    """Leave the session (cancelled): back to idle, what was done so far is kept."""
    return Transition(State.IDLE, _session_data(turn), replies)


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


def activity_ref(turn: Turn) -> str:
    """Names the activity on screen now (its place in the plan and when it was asked), so a
    result or a timer that comes back later can tell whether the learner is still there."""
    data = turn.snapshot.data
    if turn.snapshot.state not in ACTIVITIES:
        return ""
    return f"{data.get('index', 0)}@{data.get('asked_at', '')}"


def quiz_reply(item: QuizItem) -> Quiz:
    if item.has_options:
        return Quiz(item.question, item.options, item.correct_index or 0, item.explanation, item.id)
    return Quiz(item.question, (), -1, item.explanation, item.id)


def _prompt_for(turn: Turn, activity: Mapping[str, str]) -> list[Reply]:
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
        bubbles = [Text(t("lesson_title", title=concept.title)), *(Text(b) for b in concept.lesson)]
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
    replies = [*intro, *([header] if header else []), *_prompt_for(turn, activity)]
    state = ACTIVITY_STATES[activity["kind"]]
    transition = Transition(state, data, tuple(replies))
    if state is State.QUIZ:
        ref = f"{index}@{data['asked_at']}"
        return transition.then(timers=(Timer("still_there", turn.now + STILL_THERE_AFTER, ref),))
    return transition


def reprompt(turn: Turn, line: str = "") -> list[Reply]:
    """The way back to the open activity after a detour (a question, help, a greeting...): one
    short line with its buttons, not the whole item again. `line` replaces the default line."""
    activity = current(turn)
    course = turn.course
    if activity is None or course is None:
        return []
    t = turn.t
    if turn.snapshot.state is State.EXPLAIN_GRADING:
        return [Text(line or t("still_grading"))]
    skip = Option("skip", t("button_skip"))
    kind = activity["kind"]
    if kind == "lesson":
        return [Choices(line or t("back_to_lesson"), (Option("continue", t("button_continue")),))]
    if kind in ("reflection", "explain"):
        return [Choices(line or t(f"back_to_{kind}"), (skip,))]
    item = course.quiz_item(activity["item"])
    assert item is not None
    if not item.has_options:
        return [Choices(line or t("back_to_typed_quiz"), (skip,))]
    answers = tuple(
        Option(f"answer:{item.id}:{i}", _short(f"{chr(97 + i)}) {option}"))
        for i, option in enumerate(item.options)
    )
    return [Choices(line or t("back_to_quiz"), (*answers, skip))]


def _short(label: str) -> str:
    return label if len(label) <= MAX_OPTION_LABEL else label[: MAX_OPTION_LABEL - 1] + "…"


def shown_streak(turn: Turn) -> int:
    """The streak as every message shows it: as it stands today in the learner's time zone."""
    profile = turn.snapshot.profile
    return current_streak(turn.snapshot.motivation, local_day(turn.now, profile.timezone))


def finish(turn: Turn, data: dict[str, Any], intro: tuple[Reply, ...] | list[Reply]) -> Transition:
    t = turn.t
    answered = int(data.get("session_answered", 0))
    correct = int(data.get("session_correct", 0))
    motivation = turn.snapshot.motivation
    key = "session_done" if data.get("plan_kind", TODAYS_THREE) == TODAYS_THREE else "quiz_done"
    summary = Text(
        t(
            key,
            name=turn.snapshot.profile.name,
            answered=answered,
            correct=correct,
            streak=shown_streak(turn),
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
    idle_data = without_session(data)
    return Transition(State.IDLE, idle_data, (*intro, summary, menu))
