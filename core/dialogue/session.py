"""Today's three: plan a session, present each activity, take the answers, wrap up."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.content import Concept, Course, QuizItem, normalize
from core.dialogue.model import ConceptProgress, RecordActivity, Transition, Turn
from core.dialogue.parsing import looks_like_question
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.replies import Choices, Option, Quiz, Reply, Text
from core.retrieval import terms

ACTIVITY_STATES = {
    "lesson": State.LESSON,
    "quiz": State.QUIZ,
    "reflection": State.REFLECTION,
    "explain": State.EXPLAIN,
}
CONTINUE_WORDS = {"continue", "next", "ok", "okay", "done", "got it", "ready", "yes", "go", "k"}
SKIP_WORDS = {"skip", "pass", "next", "i don t know", "dont know", "don t know", "no idea", "idk"}
SESSION_KEYS = ("plan", "index", "asked_at", "session_answered", "session_correct")


def pick_item(concept: Concept, progress: ConceptProgress | None) -> QuizItem:
    seen = progress.items_seen if progress else ()
    unseen = [item for item in concept.quiz if item.id not in seen]
    if unseen:
        return unseen[0]
    answered = progress.answered if progress else 0
    return concept.quiz[answered % len(concept.quiz)]


def plan_session(course: Course, progress: Mapping[str, ConceptProgress]) -> list[dict[str, str]]:
    """Three activities: the next lesson with a quiz and a prompt, or reviews once all is done."""
    studied = {cid for cid, p in progress.items() if p.lessons > 0}
    concept = course.next_lesson(studied)
    if concept is not None:
        third = "reflection" if len(studied) % 2 == 0 else "explain"
        return [
            {"kind": "lesson", "concept": concept.id},
            {"kind": "quiz", "item": pick_item(concept, progress.get(concept.id)).id},
            {"kind": third, "concept": concept.id},
        ]
    ranked = sorted(
        (c for c in course.concepts if c.quiz),
        key=lambda c: (
            (progress[c.id].correct + 1) / (progress[c.id].answered + 2) if c.id in progress else 0,
            progress[c.id].last_studied if c.id in progress else "",
        ),
    )
    weakest, second = ranked[0], ranked[1 % len(ranked)]
    return [
        {"kind": "quiz", "item": pick_item(weakest, progress.get(weakest.id)).id},
        {"kind": "explain", "concept": weakest.id},
        {"kind": "quiz", "item": pick_item(second, progress.get(second.id)).id},
    ]


def quiz_only_plan(course: Course, progress: Mapping[str, ConceptProgress]) -> list[dict[str, str]]:
    """One quick quiz on something already studied (or the first concept)."""
    studied = [c for c in course.concepts if c.id in progress and c.quiz]
    concept = min(studied, key=lambda c: progress[c.id].last_studied) if studied else None
    concept = concept or next(c for c in course.concepts if c.quiz)
    return [{"kind": "quiz", "item": pick_item(concept, progress.get(concept.id)).id}]


def _session_data(turn: Turn) -> dict[str, Any]:
    return {k: v for k, v in turn.snapshot.data.items() if k not in SESSION_KEYS}


def start(turn: Turn, plan: list[dict[str, str]], *intro: Reply) -> Transition:
    data = {**_session_data(turn), "plan": plan, "session_answered": 0, "session_correct": 0}
    return present(turn, data, 0, intro)


def current(turn: Turn) -> dict[str, str] | None:
    plan = turn.snapshot.data.get("plan") or []
    index = int(turn.snapshot.data.get("index", 0))
    return plan[index] if 0 <= index < len(plan) else None


def quiz_reply(item: QuizItem) -> Quiz:
    if item.has_options:
        return Quiz(item.question, item.options, item.correct_index or 0, item.explanation, item.id)
    return Quiz(item.question, (), -1, item.explanation, item.id)


def _prompt_for(turn: Turn, activity: Mapping[str, str], first_time: bool) -> list[Reply]:
    course = turn.course
    t = turn.t
    assert course is not None
    kind = activity["kind"]
    if kind == "quiz":
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
    summary = Text(
        t("session_done", name=turn.snapshot.profile.name, answered=answered, correct=correct)
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
    data = {**turn.snapshot.data, **counts}
    index = int(data.get("index", 0)) + 1
    transition = present(turn, data, index, replies)
    return transition.then(effects=(record,))


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
    if text.isdigit() and 1 <= int(text) <= len(item.options):
        return int(text) - 1
    if len(text) == 1 and "a" <= text <= chr(ord("a") + len(item.options) - 1):
        return ord(text) - ord("a")
    for index, option in enumerate(item.options):
        if text == normalize(option):
            return index
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


def coverage(answer: str, key_points: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Key points whose content words mostly appear in the answer, and those that do not."""
    said = set(terms(answer))
    covered: list[str] = []
    missed: list[str] = []
    for point in key_points:
        wanted = set(terms(point))
        hits = len(wanted & said)
        (covered if wanted and hits / len(wanted) >= 0.5 else missed).append(point)
    return covered, missed


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
    covered, missed = coverage("" if skipped else text, points)
    score = len(covered) / len(points) if points else 0.0
    reply = Text(turn.t("explain_feedback", covered=covered, missed=missed, skipped=skipped))
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
