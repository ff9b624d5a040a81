"""`pau chat`: a learner in this terminal, on the same engine as the platforms, with a clock the
newcomer can move (`--at`, and `clock +1d` typed in the chat) to live a week in a minute.

The clock drives everything in the chat (the messages' times, streaks, due reviews, nudges),
because the PAU is built on it. Moving it never skips what would have happened meanwhile: it goes
a quarter hour at a time, and at each step the nudge sweep runs and the due work is done, so that
span's nudges appear in order, each under a line saying when (a step before anything falls due is
passed over: it would find nothing). `clock` lines are the terminal's own: they never reach the
dialogue.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from bot.terminal import CHANNEL, TerminalScreen
from core.events import EventKind, InboundEvent
from core.nudges.policy import zone_of
from storage.db import from_db, reading
from storage.models import CommandRecord, InboundMessage, Learner, OutboxMessage
from webhooks.clock import (
    BadMoment,
    MovableClock,
    is_clock_line,
    marker,
    parse_clock_line,
    parse_moment,
    shown,
    steps,
)
from webhooks.config import get_settings
from webhooks.container import Pau, build


async def chat(user: str, at: str | None) -> int:
    try:
        clock = MovableClock(parse_moment(at) if at else None)
    except BadMoment as error:
        print(f"pau chat: --at {error} (without an offset it is UTC)", file=sys.stderr)
        return 2
    pau = build(get_settings(), clock=clock)
    screen = TerminalScreen(user=user)
    pau.senders[CHANNEL] = screen
    if not pau.world.courses:
        print(
            "No course is imported yet: run `pau content import content/` first.", file=sys.stderr
        )
    interactive = sys.stdin.isatty()
    try:
        if interactive:
            print("PAU terminal chat. Type your messages; `clock +1d` moves time on (`clock` "
                  "alone shows it); Ctrl-D leaves (your progress is kept).")  # fmt: skip
        if at:
            print(f"🕒 The clock starts at {shown(clock(), _zone(pau, user))}.")
        if interactive:
            print()
            await _say(pau, user, InboundEvent(EventKind.COMMAND, text="/start"))
        else:
            await pau.drain()  # what waits for this learner (a nudge sent meanwhile) shows first
        while True:
            line = await asyncio.to_thread(_read_line, interactive)
            if line is None:
                break
            if not line.strip():
                continue
            if not interactive:
                print(f"\nyou: {line.rstrip()}")
            if is_clock_line(line):
                await _clock(pau, screen, clock, user, line)
            else:
                await _say(pau, user, screen.event_for(line))
    finally:
        await pau.stop_channels()
        pau.close()
    return 0


async def _clock(
    pau: Pau, screen: TerminalScreen, clock: MovableClock, user: str, line: str
) -> None:
    """`clock` shows the time; `clock +1d` moves it on a quarter hour at a time, sweeping for
    nudges and doing the due work at each, so what would have happened meanwhile happens, in
    order, under a line saying when."""
    zone = _zone(pau, user)
    try:
        target = parse_clock_line(line, clock(), zone).target
    except BadMoment as error:
        print(f"🕒 Sorry, {error}.")
        return
    if target is None:
        print(f"🕒 It is {shown(clock(), zone)}.")
        return
    printed = screen.printed
    due = _next_due(pau)
    for moment in steps(clock(), target):
        if due is None or moment < due:
            continue  # nothing falls due before then: the sweep and the work would find nothing
        clock.move_to(moment)
        screen.heading = "\n" + marker(moment, zone)
        await asyncio.to_thread(pau.sweep_nudges)
        await pau.drain()
        due = _next_due(pau)
    clock.move_to(target)
    screen.heading = None
    quiet = "" if screen.printed > printed else "; nothing from PAU meanwhile"
    print(f"\n🕒 It is now {shown(clock(), zone)}{quiet}.")


def _next_due(pau: Pau) -> datetime | None:
    """The first moment anything falls due: a learner's next look for nudges, an event (a timer),
    a command, or a message to send."""
    waiting = (
        select(sa.func.min(Learner.next_nudge_at)),
        select(sa.func.min(InboundMessage.available_at)).where(
            col(InboundMessage.processed_at).is_(None)
        ),
        select(sa.func.min(CommandRecord.available_at)).where(CommandRecord.status == "pending"),
        select(sa.func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "pending"),
    )
    with reading(pau.engine) as session:
        moments = [session.exec(query).one() for query in waiting]
    return min((from_db(moment) for moment in moments if moment is not None), default=None)


def _zone(pau: Pau, user: str) -> ZoneInfo | None:
    """The terminal learner's time zone, once they have said it."""
    with reading(pau.engine) as session:
        zone = session.exec(
            select(Learner.timezone).where(Learner.channel == CHANNEL, Learner.external_id == user)
        ).first()
    return zone_of(zone) if zone else None


def _read_line(interactive: bool) -> str | None:
    try:
        return input("\nyou: ") if interactive else next(iter(sys.stdin.readline, ""), None)
    except EOFError:
        return None


async def _say(pau: Pau, user: str, event: InboundEvent) -> None:
    pau.ingest(channel=CHANNEL, sender_id=user, platform_message_id=uuid.uuid4().hex, event=event)
    await pau.drain()
