"""Transcript assertions shared by the in-memory harness and the end-to-end chat learner.

    learner.transcript([
        ("hi", ["I'm PAU", "Is that OK with you?"]),   # two replies, in this order
        ("yes", "What should I call you?"),            # exactly one reply
    ])

Each expected fragment must be found in its own reply (case-insensitive), in order, and the number
of replies must match: an extra or a missing message fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.terminal import render
from core.events import EventKind, InboundEvent
from core.replies import Choices, Reply


def describe(reply: Reply, files_dir: Path = Path("/tmp")) -> str:
    return render(reply, files_dir).removeprefix("PAU: ")


Turn = tuple[str, str | Sequence[str]]


def check_replies(message: str, replies: Sequence[Reply], expected: str | Sequence[str]) -> None:
    fragments = [expected] if isinstance(expected, str) else list(expected)
    message = message if len(message) <= 60 else f"{message[:40]}… ({len(message)} chars)"
    shown = [describe(r) for r in replies]
    listing = "\n".join(f"  {n}. {text}" for n, text in enumerate(shown, 1)) or "  (nothing)"
    assert len(shown) == len(fragments), (
        f"after {message!r} expected {len(fragments)} replies, got {len(shown)}:\n{listing}"
    )
    for number, (fragment, text) in enumerate(zip(fragments, shown, strict=True), 1):
        assert fragment.lower() in text.lower(), (
            f"after {message!r}, reply {number} should contain {fragment!r}:\n{listing}"
        )


def run_transcript(learner: Talker, turns: Sequence[Turn]) -> None:
    for message, expected in turns:
        learner.say(message)
        check_replies(message, learner.last_replies, expected)


class Talker:
    """What a test learner does, on top of `send_one` (one event in, that event's replies out):
    type, tap, run a transcript, onboard. `tests/chat.py` sends through storage end to end,
    `tests/harness.py` through the pure step in memory."""

    last_replies: list[Reply]

    def send_one(self, event: InboundEvent) -> list[Reply]:
        raise NotImplementedError

    def say(self, text: str) -> str:
        """Send text; tap a button instead when the text is a label of the last replies' buttons."""
        choice = self._choice_for(text)
        event = (
            InboundEvent(EventKind.CHOICE, choice_id=choice)
            if choice
            else InboundEvent.text_message(text)
        )
        return self.text_of(self.send_one(event))

    def tap(self, choice_id: str) -> str:
        return self.text_of(self.send_one(InboundEvent(EventKind.CHOICE, choice_id=choice_id)))

    def _choice_for(self, text: str) -> str | None:
        """The button with this label among the last replies' (the latest first)."""
        for reply in reversed(self.last_replies):
            if isinstance(reply, Choices):
                found = next((o.id for o in reply.options if o.label == text), None)
                if found:
                    return found
        return None

    @staticmethod
    def text_of(replies: Sequence[Reply]) -> str:
        return "\n".join(describe(r) for r in replies)

    def transcript(self, turns: Sequence[Turn]) -> None:
        run_transcript(self, turns)

    def onboard(self, name: str = "Ada") -> str:
        self.say("hi")
        self.say("Yes, let's go")
        self.say(name)
        self.tap("course:science-of-learning")
        self.tap("level:new")
        self.tap("time:morning")
        self.say("Berlin")
        return self.say("Yes please")
