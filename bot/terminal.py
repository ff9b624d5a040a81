"""The terminal channel behind `pau chat`: the same engine, no platform.

Texts are shown without their *emphasis* markers (bot/markup.py); a real terminal (a TTY) gets
bold and italics as ANSI codes instead, while a pipe or a file gets plain text.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.markup import to_ansi, to_plain
from core.content import normalize
from core.events import EventKind, InboundEvent
from core.replies import Choices, File, Image, Quiz, Reply, Template, Text, Typing

CHANNEL = "terminal"


class TerminalScreen:
    """Prints replies and remembers the last set of buttons, so '1' or a label taps one.

    `heading`, when set, is printed once above the next reply (the chat's clock moving on sets
    it: when the nudge below was sent). The terminal is one screen for all its learners: a reply
    to another terminal learner than `user` (a nudge the sweep sent them) is shown as theirs."""

    def __init__(
        self, out: TextIO | None = None, files_dir: Path = Path("."), user: str | None = None
    ) -> None:
        self.out = out if out is not None else sys.stdout  # read now: a test's capture too
        self.files_dir = files_dir
        self.user = user
        self.last_choices: Choices | None = None
        self.heading: str | None = None
        self.printed = 0  # replies shown so far

    async def send(self, address: str, reply: Reply) -> None:
        mine = self.user is None or address == self.user
        if not mine and isinstance(reply, Typing):
            return
        style = to_ansi if self.out.isatty() else to_plain
        if self.heading is not None:
            self.out.write(self.heading + "\n")
            self.heading = None
        shown = render(reply, self.files_dir, style)
        if not mine:
            shown = shown.replace("PAU", f"PAU (to {address})", 1)
        self.out.write(shown + "\n")
        self.out.flush()
        self.printed += 1
        if not mine:
            return
        if isinstance(reply, Choices):
            self.last_choices = reply
        elif isinstance(reply, Quiz | Text):
            self.last_choices = None

    def event_for(self, line: str) -> InboundEvent:
        """A typed line as an event: a number or label of the last buttons becomes a tap."""
        text = line.strip()
        if self.last_choices is not None:
            options = self.last_choices.options
            if text.isdigit() and 1 <= int(text) <= len(options):
                return InboundEvent(EventKind.CHOICE, choice_id=options[int(text) - 1].id)
            for option in options:
                if normalize(text) == normalize(option.label):
                    return InboundEvent(EventKind.CHOICE, choice_id=option.id)
        if text.startswith("/"):
            return InboundEvent(EventKind.COMMAND, text=text)
        return InboundEvent.text_message(text)


def render(reply: Reply, files_dir: Path, style: Callable[[str], str] = to_plain) -> str:
    """One reply as terminal lines; `style` renders the texts' emphasis (plain by default)."""
    if isinstance(reply, Text):
        return f"PAU: {style(reply.text)}"
    if isinstance(reply, Choices):
        options = "\n".join(f"   [{i}] {style(o.label)}" for i, o in enumerate(reply.options, 1))
        return f"PAU: {style(reply.prompt)}\n{options}"
    if isinstance(reply, Quiz):
        if not reply.options:
            return f"PAU: ❓ {style(reply.question)}"
        options = "\n".join(f"   {chr(97 + i)}) {style(o)}" for i, o in enumerate(reply.options))
        return f"PAU: ❓ {style(reply.question)}\n{options}"
    if isinstance(reply, File | Image):
        name = reply.filename if isinstance(reply, File) else "pau-progress.png"
        path = files_dir / name
        path.write_bytes(reply.content if isinstance(reply, File) else reply.png)
        return f"PAU: 📎 {reply.caption or name} saved to {path}"
    if isinstance(reply, Typing):
        return "PAU is typing…"
    if isinstance(reply, Template):
        return f"PAU: [template {reply.name}] {' '.join(reply.parameters)}"
    raise TypeError(f"cannot render {reply!r}")
