"""Taking the learner's answer to the open activity: lesson read, quiz, reflection, explain-back.

Each handler returns None when the event is not an answer (a question, say); the step then
treats it as free text and the activity stays open.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from core.content import QuizItem, normalize
from core.dialogue.model import RecordActivity, Transition, Turn
from core.dialogue.parsing import looks_like_question
from core.dialogue.session import current, present, reprompt
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.grading.grader import Grade, grade
from core.learning import learn
from core.replies import Reply, Text

CONTINUE_WORDS = {"continue", "next", "ok", "okay", "done", "got it", "ready", "yes", "go", "k"}
SKIP_WORDS = {"skip", "pass", "next", "i don t know", "dont know", "don t know", "no idea", "idk"}


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
