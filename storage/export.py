"""The learner's export: one versioned JSON document in plain words, and the summary sent with it.

Every field is explained in storage/EXPORT.md, and so is what is left out (row numbers, leases,
retry counts, the scheduler's raw card) and why. Tests check both: the fields documented there are
the fields produced here, and every other value stored about the learner appears in the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core.learner import ConceptProgress, LearningStats
from core.mastery import MASTERED
from core.motivation import MotivationState, current_streak, local_day
from core.nudges import NudgeState
from storage.db import to_db
from storage.learner_store import INTERNAL
from storage.models import (
    Activity,
    CommandRecord,
    ConceptRecord,
    Conversation,
    CourseRecord,
    Enrollment,
    Escalation,
    InboundMessage,
    Learner,
    LlmUsageRecord,
    OutboxMessage,
    ReviewCardRecord,
    SentPoll,
)

FORMAT = "pau-learner-export"
VERSION = 1
MEMORY_STAGES = {1: "learning", 2: "review", 3: "relearning"}  # py-fsrs State


def export_learner(
    session: Session, *, learner_id: int, now: datetime, chat_history_days: int
) -> dict[str, Any]:
    """Everything PAU keeps about the learner, in the documented `pau-learner-export` format."""
    learner = session.get(Learner, learner_id)
    enrollments = _rows(session, Enrollment, learner_id)
    activities = _rows(session, Activity, learner_id)
    cards = _rows(session, ReviewCardRecord, learner_id, col(ReviewCardRecord.due),
                  col(ReviewCardRecord.item_id))  # fmt: skip
    content = _Content(session, {row.course_slug for row in [*enrollments, *activities, *cards]})
    conversation = session.get(Conversation, learner_id)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _when(now),
        "profile": _profile(learner) if learner else None,
        "streak_and_xp": _motivation(learner, now) if learner else None,
        "courses": [_course(row, content, now) for row in enrollments],
        "activities": [_activity(row, content) for row in activities],
        "reviews": [_review(row, content) for row in cards],
        "review_timing": _review_timing(learner) if learner else None,
        "reminders": _reminders(learner) if learner else None,
        "session": _session(conversation) if conversation else None,
        "messages": _messages(session, learner_id),
        "quiz_polls": [
            {
                "sent_at": _when(poll.created_at),
                "chat_app": poll.channel,
                "question_id": poll.item_id,
                "question": content.question("", poll.item_id),
            }
            for poll in _rows(session, SentPoll, learner_id, col(SentPoll.created_at))
        ],
        "tasks": [
            {
                "task": task.kind,
                "status": task.status,
                "asked_at": _when(task.created_at),
                "finished_at": _when(task.finished_at),
                "details": dict(task.args),
            }
            for task in _rows(session, CommandRecord, learner_id)
        ],
        "mentor_questions": [
            {
                "asked_at": _when(question.created_at),
                "question": question.question,
                "why": question.reason,
                "urgent": question.urgent,
                "status": question.status,
                "suggested_answer": question.draft,
                "answer": question.reply,
                "answered_at": _when(question.replied_at),
                "resolved_at": _when(question.resolved_at),
            }
            for question in _rows(session, Escalation, learner_id, col(Escalation.created_at))
        ],
        "tutor_use": [
            {
                "day": row.day.isoformat(),
                "purpose": row.purpose,
                "calls": row.calls,
                "tokens_in": row.input_tokens,
                "tokens_out": row.output_tokens,
            }
            for row in _rows(session, LlmUsageRecord, learner_id, col(LlmUsageRecord.day))
        ],
        "retention": {"chat_history_days": chat_history_days},
    }


def export_summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """What the `export_summary` text needs: what was learned, scores, streak and XP."""
    activities = document["activities"]
    quizzes = [a for a in activities if a["kind"] == "quiz" and a["correct"] is not None]
    explained = [a["score_percent"] for a in activities
                 if a["kind"] == "explain_back" and a["score_percent"] is not None]  # fmt: skip
    motivation = document["streak_and_xp"] or {}
    return {
        "name": (document["profile"] or {}).get("name", ""),
        "learned": [
            {
                "title": course["course"],
                "studied": [topic["topic"] for topic in course["topics"]],
                "mastered": [topic["topic"] for topic in course["topics"] if topic["mastered"]],
            }
            for course in document["courses"]
        ],
        "lessons": sum(1 for a in activities if a["kind"] == "lesson"),
        "quiz_right": sum(1 for a in quizzes if a["correct"]),
        "quiz_total": len(quizzes),
        "explain_count": len(explained),
        "explain_average": round(sum(explained) / len(explained)) if explained else 0,
        "streak": motivation.get("streak_days", 0),
        "xp": motivation.get("xp", 0),
        "badges": len(motivation.get("badges", ())),
        "chat_history_days": document["retention"]["chat_history_days"],
    }


class _Content:
    """Titles of the courses, topics and questions the learner's records name (retired ones
    too: the course rows keep them so that old progress still reads)."""

    def __init__(self, session: Session, slugs: Iterable[str]) -> None:
        wanted = sorted(slug for slug in set(slugs) if slug)
        self.courses = {
            row.slug: row.title
            for row in session.exec(select(CourseRecord).where(col(CourseRecord.slug).in_(wanted)))
        }
        self.topics: dict[tuple[str, str], str] = {}
        self.questions: dict[tuple[str, str], str] = {}
        concepts = select(ConceptRecord).where(col(ConceptRecord.course_slug).in_(wanted))
        for row in session.exec(concepts):
            self.topics[(row.course_slug, row.concept_id)] = row.title
            for item in row.body.get("quiz", ()):
                self.questions[(row.course_slug, str(item["id"]))] = str(item["question"])

    def topic(self, slug: str, concept_id: str) -> str | None:
        return self._find(self.topics, slug, concept_id)

    def question(self, slug: str, item_id: str) -> str | None:
        return self._find(self.questions, slug, item_id)

    @staticmethod
    def _find(titles: Mapping[tuple[str, str], str], slug: str, key: str) -> str | None:
        if not key:
            return None
        if (slug, key) in titles:
            return titles[(slug, key)]
        return next((title for (_, other), title in titles.items() if other == key), None)


def _rows(session: Session, model: Any, learner_id: int, *order: Any) -> list[Any]:
    statement = select(model).where(model.learner_id == learner_id)
    return list(session.exec(statement.order_by(*(order or (col(model.id),)))))


def _when(moment: datetime | str | None) -> str | None:
    """Aware UTC, to the second: `2026-03-02T09:00:00+00:00`."""
    if moment is None or moment == "":
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return to_db(moment).isoformat(timespec="seconds")


def _profile(learner: Learner) -> dict[str, Any]:
    return {
        "name": learner.name,
        "chat_app": learner.channel,
        "chat_id": learner.external_id,
        "phone": learner.phone,
        "language": learner.language,
        "level": learner.level,
        "daily_time": learner.daily_time,
        "timezone": learner.timezone,
        "reminders": learner.nudges,
        "paused": learner.paused,
        "stopped": learner.stopped,
        "reachable": not learner.unreachable,
        "consented_at": _when(learner.consented_at),
        "first_contact_at": _when(learner.created_at),
        "last_message_at": _when(learner.last_inbound_at),
    }


def _motivation(learner: Learner, now: datetime) -> dict[str, Any]:
    state = MotivationState.from_dict(learner.motivation or {})
    return {
        "xp": state.xp,
        "streak_days": current_streak(state, local_day(now, learner.timezone)),  # as `progress`
        "best_streak_days": state.best_streak,
        "last_active_day": state.last_active_day.isoformat() if state.last_active_day else None,
        "streak_freezes_left": state.freezes,
        "streak_freezes_used": state.freezes_used,
        "days_toward_next_freeze": state.days_since_freeze,
        "badges": list(state.badges),
    }


def _reminders(learner: Learner) -> dict[str, Any]:
    state = NudgeState.from_dict(learner.nudge_state or {})
    return {
        "quiet_hours": {"from": state.quiet_from, "until": state.quiet_until},
        "every_days": state.every_days,
        "next_check_at": _when(learner.next_nudge_at),
        "last_sent_at": _when(state.last_sent_at),
        "sent_on_day": {"day": state.day or None, "count": state.sent_today},
        "last_reminder_day": state.last_reminder_day or None,
        "last_sent_per_kind": dict(state.slots),
        "last_wording_per_kind": dict(state.wording),
        "milestones_told": list(state.told),
        "session_start_times": list(state.starts),
        "move_offered": state.move_offered,
        "mastery_at_last_recap": dict(state.recap_mastery),
    }


def _course(row: Enrollment, content: _Content, now: datetime) -> dict[str, Any]:
    slug = row.course_slug
    stats = LearningStats.from_dict(row.stats or {})
    return {
        "course_id": slug,
        "course": content.courses.get(slug, slug),
        "current": row.active,
        "enrolled_at": _when(row.enrolled_at),
        "goal_topic_id": stats.goal or None,
        "goal_topic": content.topic(slug, stats.goal),
        "recent_quiz_results": list(stats.recent_results),
        "last_activity_kind": stats.last_kind or None,
        "last_done": {kind: _when(at) for kind, at in stats.last_done_at.items()},
        "topics": [
            _topic(slug, concept_id, ConceptProgress.from_dict(value), content, now)
            for concept_id, value in (row.progress or {}).items()
        ],
    }


def _topic(
    slug: str, concept_id: str, progress: ConceptProgress, content: _Content, now: datetime
) -> dict[str, Any]:
    mastery = progress.mastery.mastery(now)
    return {
        "topic_id": concept_id,
        "topic": content.topic(slug, concept_id) or concept_id,
        "lessons_read": progress.lessons,
        "quiz_answers": progress.answered,
        "quiz_right": progress.correct,
        "questions_seen": [content.question(slug, item) or item for item in progress.items_seen],
        "mastery_percent": round(mastery * 100),  # as `progress` shows it today
        "mastered": mastery >= MASTERED,
        "graded_answers": progress.mastery.count,
        "good_answers": progress.mastery.successes,
        "last_graded_at": _when(progress.mastery.last_evidence_at),
        "last_studied": _when(progress.last_studied),
    }


def _activity(row: Activity, content: _Content) -> dict[str, Any]:
    return {
        "at": _when(row.at),
        "kind": row.kind,
        "course_id": row.course_slug or None,
        "topic_id": row.concept_id or None,
        "topic": content.topic(row.course_slug, row.concept_id),
        "question_id": row.item_id or None,
        "question": content.question(row.course_slug, row.item_id),
        "your_answer": row.response or None,
        "correct": row.correct,
        "score_percent": None if row.score is None else round(row.score * 100),
        "time_taken_seconds": None if row.duration_ms is None else round(row.duration_ms / 1000, 1),
    }


def _review(row: ReviewCardRecord, content: _Content) -> dict[str, Any]:
    card = row.fsrs_state or {}
    stability, difficulty = card.get("stability"), card.get("difficulty")
    return {
        "question_id": row.item_id,
        "question": content.question(row.course_slug, row.item_id),
        "course_id": row.course_slug,
        "topic_id": row.concept_id,
        "topic": content.topic(row.course_slug, row.concept_id),
        "next_review_due": _when(row.due),
        "times_reviewed": row.reviews,
        "last_reviewed_at": _when(row.updated_at),
        "memory_stage": MEMORY_STAGES.get(int(card.get("state") or 1), "learning"),
        "memory_strength_days": None if stability is None else round(float(stability), 2),
        "difficulty": None if difficulty is None else round(float(difficulty), 2),
    }


def _session(conversation: Conversation) -> dict[str, Any]:
    return {
        "state": conversation.state,
        "updated_at": _when(conversation.updated_at),
        "notes": dict(conversation.data),
    }


def _review_timing(learner: Learner) -> dict[str, Any]:
    return {
        "personalised": learner.fsrs_parameters is not None,
        "parameters": learner.fsrs_parameters,
        "fitted_on_reviews": learner.fsrs_fit_reviews,
        "reviews_logged": learner.reviews_logged,
    }


def _messages(session: Session, learner_id: int) -> list[dict[str, Any]]:
    """Both sides of the chat that is still kept, in time order."""
    received = session.exec(
        select(InboundMessage)
        .where(
            InboundMessage.learner_id == learner_id,
            col(InboundMessage.channel) != INTERNAL,  # timers, results,
        )
        .order_by(col(InboundMessage.id))
    )
    timeline = [
        (row.received_at, 0, row.id or 0, _received(row)) for row in received if row.payload
    ]
    timeline += [
        (row.created_at, 1, row.id or 0, _sent(row)) for row in _rows(session, OutboxMessage,
                                                                        learner_id)
    ]  # fmt: skip
    return [message for *_, message in sorted(timeline, key=lambda entry: entry[:3])]


def _received(row: InboundMessage) -> dict[str, Any]:
    event = row.payload
    message: dict[str, Any] = {
        "at": _when(row.received_at),
        "from": "chat app" if event.get("kind") == "status" else "you",
        "kind": event.get("kind"),
        "text": event.get("text") or None,
    }
    if event.get("choice_id"):
        message["tapped"] = event["choice_id"]
    if event.get("option_index") is not None:
        message["option_chosen"] = int(event["option_index"]) + 1
    if event.get("media_type"):
        message["attachment"] = event["media_type"]
    if event.get("ref"):
        message["refers_to"] = event["ref"]
    if event.get("language"):
        message["app_language"] = event["language"]
    return message


def _sent(row: OutboxMessage) -> dict[str, Any]:
    reply = row.payload
    kind = reply.get("type")
    text = next((reply[k] for k in ("text", "prompt", "question", "caption") if reply.get(k)), None)
    message: dict[str, Any] = {"at": _when(row.created_at), "from": "PAU", "kind": kind,
                               "text": text}  # fmt: skip
    if kind == "choices":
        message["options"] = [option["label"] for option in reply.get("options", ())]
    if kind == "quiz":
        message["options"] = list(reply.get("options", ()))
        message["correct_option"] = int(reply.get("correct_index", 0)) + 1
        message["explanation"] = reply.get("explanation")
        message["question_id"] = reply.get("item_id")
    if kind in ("file", "image"):
        message["attachment"] = reply.get("filename") or "image"
    if kind == "template":
        message["template"] = f"{reply.get('name')} ({reply.get('language')})"
        message["text"] = " · ".join(str(p) for p in reply.get("parameters", ()))
    message["delivery"] = row.status
    message["delivered_at"] = _when(row.sent_at)
    return message
