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
from typing import Protocol

from bot.terminal import render
from core.replies import Reply


def describe(reply: Reply, files_dir: Path = Path("/tmp")) -> str:
    return render(reply, files_dir).removeprefix("PAU: ")


Turn = tuple[str, str | Sequence[str]]


class Talks(Protocol):
    last_replies: list[Reply]

    def say(self, text: str) -> str: ...


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


def run_transcript(learner: Talks, turns: Sequence[Turn]) -> None:
    for message, expected in turns:
        learner.say(message)
        check_replies(message, learner.last_replies, expected)
