"""Channel-neutral inbound events: what a learner did, whatever app they did it in."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, repr=False)
class InboundEvent:
    kind: EventKind
    text: str = ""
    choice_id: str = ""
    option_index: int | None = None
    media_type: str = ""
    ref: str = ""  # what an answer refers to (a quiz item id), when the platform tells us

    def __repr__(self) -> str:
        text = (
            self.text if len(self.text) <= 60 else f"{self.text[:40]}... ({len(self.text)} chars)"
        )
        details = {"text": text, "choice_id": self.choice_id, "option_index": self.option_index,
                   "media_type": self.media_type, "ref": self.ref}  # fmt: skip
        shown = ", ".join(f"{k}={v!r}" for k, v in details.items() if v not in ("", None))
        return f"InboundEvent({self.kind.value}{', ' if shown else ''}{shown})"

    @staticmethod
    def text_message(text: str) -> InboundEvent:
        return InboundEvent(EventKind.TEXT, text=text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "text": self.text,
            "choice_id": self.choice_id,
            "option_index": self.option_index,
            "media_type": self.media_type,
            "ref": self.ref,
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
        )
