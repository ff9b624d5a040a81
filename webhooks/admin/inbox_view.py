"""What the inbox and the escalation page show, worked out from storage's rows: ages in words,
reasons in words, questions cut to a table cell. Pure functions, so they test without a page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from bot.markup import to_telegram_html
from storage.escalations import ChatLine, InboxRow

QUESTION_CUT = 140
REASONS = {"crisis": "crisis", "asked": "asked", "tutor": "tutor", "no_answer": "no answer"}
STATUSES = {"open": "open", "claimed": "claimed", "answered": "answered", "resolved": "resolved"}


def age_in_words(since: datetime, now: datetime) -> str:
    """How long ago, the way a person says it: "just now", "4 min", "3 h", "2 days"."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    days = seconds // 86400
    return f"{days} days"  # never 1: under 48 h it says hours


def exact_time(moment: datetime) -> str:
    """The moment for a title attribute: UTC, to the minute."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def cut(text: str, limit: int = QUESTION_CUT) -> str:
    """The text cut at a word boundary near `limit`, with an ellipsis when anything was cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return head.rstrip(" ,.;:") + "…"


def reason_in_words(reason: str) -> str:
    return REASONS.get(reason, reason.replace("_", " "))


@dataclass(frozen=True)
class InboxLine:
    """One row of the inbox table."""

    id: int
    learner_name: str
    channel: str
    question: str
    reason: str
    urgent: bool
    status: str
    age: str
    created_exact: str
    claimed_by_name: str
    claimable: bool


def inbox_line(row: InboxRow, now: datetime) -> InboxLine:
    return InboxLine(
        id=row.id,
        learner_name=row.learner_name or "(no name yet)",
        channel=row.channel,
        question=cut(row.question),
        reason=reason_in_words(row.reason),
        urgent=row.urgent,
        status=STATUSES.get(row.status, row.status),
        age=age_in_words(row.created_at, now),
        created_exact=exact_time(row.created_at),
        claimed_by_name=row.claimed_by_name or "",
        claimable=row.status == "open" and not row.claimed_by_name,
    )


@dataclass(frozen=True)
class ChatBubble:
    """One line of the escalation page's recent chat."""

    who: str  # "learner" | "pau" | "mentor": the line's CSS class
    speaker: str
    at_short: str
    at_exact: str
    html: Markup


def chat_bubbles(lines: Sequence[ChatLine], learner_name: str) -> list[ChatBubble]:
    """The recent chat as the mentor reads it: PAU's texts with their *emphasis* rendered as the
    learner saw it (bot/markup.py escapes every character first), everyone else's escaped."""
    speakers = {"learner": learner_name or "Learner", "pau": "PAU", "mentor": "Mentor"}
    return [
        ChatBubble(
            who=line.who,
            speaker=speakers.get(line.who, line.who),
            at_short=line.at.strftime("%d %b %H:%M"),
            at_exact=exact_time(line.at),
            html=Markup(to_telegram_html(line.text)) if line.who == "pau" else escape(line.text),
        )
        for line in lines
    ]
