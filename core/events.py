"""Channel-neutral inbound events: what a learner did, whatever app they did it in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_TEXT_CHARS = 4000


class EventKind(StrEnum):
    TEXT = "text"
    CHOICE = "choice"  # a button or list row; `choice_id` says which
    POLL_ANSWER = "poll_answer"  # `option_index` says which option
    COMMAND = "command"  # `/help` on Telegram; `text` holds the command word
    UNSUPPORTED = "unsupported"  # a sticker, a voice note, a location...
    STATUS = "status"  # a delivery status from the platform; never answered
    # Internal events: results of commands and timers (core/commands.py), never from a platform.
    GRADED = "graded"  # `data`: the grade of an explanation
    CHART_READY = "chart_ready"  # `data`: the PNG (base64) and its caption
    EXPORT_READY = "export_ready"  # `data`: the learner's data as JSON text
    TIMER_FIRED = "timer_fired"  # `data`: the timer's name
    COMMAND_FAILED = "command_failed"  # `data`: the command kind and the reason
    NUDGE = "nudge"  # from the nudge sweep; `data`: its kind (`nudge`) and `slot` (core/nudges)
    MENTOR_REPLIED = "mentor_replied"  # `data`: the escalation, the mentor's name and text
    MENTOR_RESOLVED = "mentor_resolved"  # `data`: the escalation a mentor marked resolved
    MENTORS_NOTIFIED = "mentors_notified"  # an urgent escalation's ping went out (no reply)
    TUTOR_ANSWERED = "tutor_answered"  # `data`: the tutor's answer or hint (core/tutor)


INTERNAL_KINDS = frozenset(
    {
        EventKind.GRADED,
        EventKind.CHART_READY,
        EventKind.EXPORT_READY,
        EventKind.TIMER_FIRED,
        EventKind.COMMAND_FAILED,
        EventKind.NUDGE,
        EventKind.MENTOR_REPLIED,
        EventKind.MENTOR_RESOLVED,
        EventKind.MENTORS_NOTIFIED,
        EventKind.TUTOR_ANSWERED,
    }
)


@dataclass(frozen=True, repr=False)
class InboundEvent:
    kind: EventKind
    text: str = ""
    choice_id: str = ""
    option_index: int | None = None
    media_type: str = ""
    ref: str = ""  # what an answer refers to (a quiz item, an activity), when known
    data: Mapping[str, Any] = field(default_factory=dict)  # an internal event's result
    language: str = ""  # the language the learner's app is set to, when the platform says

    def __repr__(self) -> str:
        text = (
            self.text if len(self.text) <= 60 else f"{self.text[:40]}... ({len(self.text)} chars)"
        )
        details = {"text": text, "choice_id": self.choice_id, "option_index": self.option_index,
                   "media_type": self.media_type, "ref": self.ref,
                   "data": f"{{{len(self.data)} keys}}" if self.data else ""}  # fmt: skip
        shown = ", ".join(f"{k}={v!r}" for k, v in details.items() if v not in ("", None))
        return f"InboundEvent({self.kind.value}{', ' if shown else ''}{shown})"

    @property
    def internal(self) -> bool:
        return self.kind in INTERNAL_KINDS

    @staticmethod
    def text_message(text: str) -> InboundEvent:
        return InboundEvent(EventKind.TEXT, text=text)

    @staticmethod
    def result(kind: EventKind, ref: str, **data: Any) -> InboundEvent:
        return InboundEvent(kind, ref=ref, data=data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "text": self.text,
            "choice_id": self.choice_id,
            "option_index": self.option_index,
            "media_type": self.media_type,
            "ref": self.ref,
            **({"data": dict(self.data)} if self.data else {}),
            **({"language": self.language} if self.language else {}),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> InboundEvent:
        index = data.get("option_index")
        return InboundEvent(
            kind=EventKind(data["kind"]),
            text=str(data.get("text") or ""),
            choice_id=str(data.get("choice_id") or ""),
            option_index=int(index) if index is not None else None,
            media_type=str(data.get("media_type") or ""),
            ref=str(data.get("ref") or ""),
            data=dict(data.get("data") or {}),
            language=str(data.get("language") or ""),
        )
