"""What `pau nudge` prints: one line per learner looked at (id, channel, name, their local time and
zone, then what they get and why, or why nothing and when they are looked at next), what the other
learners are waiting for, and a summary. The reasons are the rule book's own words
(core/nudges/policy.py `Decision.reason`), so the report never disagrees with what the sweep does.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.terminal import CHANNEL as TERMINAL
from core.nudges.policy import zone_of
from core.nudges.state import NudgeKind
from storage.db import from_db, reading, to_db, utcnow
from storage.models import Learner
from storage.nudge_sweep import Outcome
from webhooks.clock import BadMoment, day_and_time, full_utc, parse_moment
from webhooks.config import get_settings
from webhooks.container import build

KIND_NAMES = {
    NudgeKind.DAILY: "session reminder",
    NudgeKind.REVIEWS: "review reminder",
    NudgeKind.INACTIVITY: "inactivity nudge",
    NudgeKind.STREAK: "streak at risk",
    NudgeKind.MILESTONE: "milestone",
    NudgeKind.RECAP: "weekly recap",
}


@dataclass(frozen=True)
class Who:
    name: str
    zone: ZoneInfo
    next_look: datetime | None  # next_nudge_at as stored
    external_id: str  # their user on the channel (for the terminal: `pau chat --user`)


def who_of(session: Session, ids: Iterable[int]) -> dict[int, Who]:
    learners = session.exec(select(Learner).where(col(Learner.id).in_(list(ids)))).all()
    return {
        learner.id: Who(learner.name, zone_of(learner.timezone),
                        from_db(learner.next_nudge_at) if learner.next_nudge_at else None,
                        learner.external_id)
        for learner in learners
        if learner.id is not None
    }  # fmt: skip


def is_due(who: Who, now: datetime) -> bool:
    return who.next_look is not None and who.next_look <= now


@dataclass(frozen=True)
class Waiting:
    """The consented learners the sweep did not look at."""

    later: int  # due for a look later
    earliest: datetime | None  # the first of those looks
    never: int  # no look planned (reminders off, paused, stopped, set-up not finished)


def waiting(session: Session, now: datetime) -> Waiting:
    consented = col(Learner.consented_at).is_not(None)
    later, earliest = session.exec(
        select(sa.func.count(), sa.func.min(Learner.next_nudge_at)).where(
            consented, col(Learner.next_nudge_at) > to_db(now)
        )
    ).one()
    never = session.exec(
        select(sa.func.count()).where(consented, col(Learner.next_nudge_at).is_(None))
    ).one()
    return Waiting(int(later), from_db(earliest) if earliest else None, int(never))


def header(now: datetime, *, dry_run: bool) -> str:
    mode = "dry run: nothing is written" if dry_run else "nudges are queued and sent"
    return f"Nudge sweep as of {full_utc(now)} ({mode})"


def lines(
    looked: Sequence[Outcome], not_due: Sequence[Outcome], who: dict[int, Who], now: datetime,
    *, dry_run: bool,
) -> list[str]:  # fmt: skip
    """One aligned line per learner: who, their local time, and what they get and why (or, for
    those not due, what they are waiting for)."""
    rows = []
    in_order = [*((o, True) for o in sorted(looked, key=_by_id)),
                *((o, False) for o in sorted(not_due, key=_by_id))]  # fmt: skip
    for outcome, due in in_order:
        person = who[outcome.learner_id]
        local = now.astimezone(person.zone)
        rows.append((
            f"#{outcome.learner_id}", outcome.channel, person.name or "-",
            f"{local:%a %H:%M} {person.zone.key}", _what(outcome, person, dry_run=dry_run, due=due),
        ))  # fmt: skip
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, [*widths, 0], strict=True))
            .rstrip() for row in rows]  # fmt: skip


def _by_id(outcome: Outcome) -> int:
    return outcome.learner_id


def _what(outcome: Outcome, person: Who, *, dry_run: bool, due: bool) -> str:
    decision = outcome.decision
    if not due:
        look = _look(person.next_look, person.zone)
        if decision.nudge is not None:  # its next look was set before something changed
            would = f"{KIND_NAMES[decision.nudge.kind]}: {decision.reason}"
            return f"· not due: next look {look} (now the rules would give a {would})"
        return f"· not due: {decision.reason}; next look {look}"
    if decision.nudge is None:
        return f"· nothing: {decision.reason}; next look {_look(decision.next_at, person.zone)}"
    queued = "" if dry_run else (" (queued)" if outcome.queued else " (queued already)")
    return f"→ {KIND_NAMES[decision.nudge.kind]}: {decision.reason}{queued}"


def _look(moment: datetime | None, zone: ZoneInfo) -> str:
    return (
        f"{day_and_time(moment.astimezone(zone))} local" if moment else "after their next message"
    )


def summary(outcomes: Sequence[Outcome], *, dry_run: bool) -> str:
    kinds = Counter(
        KIND_NAMES[o.decision.nudge.kind]
        for o in outcomes
        if o.decision.nudge is not None and (dry_run or o.queued)
    )
    count = sum(kinds.values())
    nudges = f"{count} nudge{'' if count == 1 else 's'}"
    if kinds:
        nudges += " (" + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()) + ")"
    looked = f"{_learners(len(outcomes))} looked at"
    if dry_run:
        return f"{looked}, {nudges} would go out. Dry run: nothing was written."
    return f"{looked}, {nudges} queued and processed."


def waiting_lines(others: Waiting) -> list[str]:
    """What the learners not looked at are waiting for (`--all` lists them one by one)."""
    if not others.later and not others.never:
        return ["No other learner is waiting."]
    shown = []
    if others.later:
        assert others.earliest is not None
        shown.append(f"{_learners(others.later)} not due yet: the earliest next look is "
                     f"{full_utc(others.earliest)} (--all says why).")  # fmt: skip
    if others.never:
        shown.append(f"{_learners(others.never)} with no next look (reminders off, paused, "
                     "stopped or not set up).")  # fmt: skip
    return shown


def _learners(count: int) -> str:
    return f"{count} learner{'' if count == 1 else 's'}"


def _terminal_line(users: Sequence[str], at: datetime | None) -> str:
    """Where terminal learners find their nudge: in their own `pau chat`, from its time on."""
    user = "" if users == ["local"] else f" --user {users[0]}"
    others = f" (and --user {', '.join(users[1:])})" if len(users) > 1 else ""
    when = f" --at {at:%Y-%m-%dT%H:%MZ}" if at else ""
    return f"Terminal learners see theirs in `pau chat{user}{when}`{others}."


async def sweep_and_report(at: str | None, *, dry_run: bool, everyone: bool) -> int:
    """One sweep as of `at`: who gets what and why (`--all`: and why the others get nothing)."""
    try:
        now = parse_moment(at) if at else utcnow()
    except BadMoment as error:
        print(f"pau nudge: --at {error} (without an offset it is UTC)", file=sys.stderr)
        return 2
    pau = build(get_settings(), clock=lambda: now)
    try:
        print(header(now, dry_run=dry_run))
        everybody = pau.sweep_nudges(dry_run=True, everyone=True) if everyone else []
        with reading(pau.engine) as session:
            who = who_of(session, [o.learner_id for o in everybody])
            others = waiting(session, now)
        if dry_run and everyone:
            looked = [o for o in everybody if is_due(who[o.learner_id], now)]
        else:
            looked = pau.sweep_nudges(dry_run=dry_run)
        if not dry_run:
            await pau.drain()  # processed (the rules checked again) and sent, as of `now`
        with reading(pau.engine) as session:
            who |= who_of(session, [o.learner_id for o in looked if o.learner_id not in who])
        looked_ids = {o.learner_id for o in looked}
        not_due = [o for o in everybody if o.learner_id not in looked_ids]
        for line in lines(looked, not_due, who, now, dry_run=dry_run):
            print(line)
        print(summary(looked, dry_run=dry_run))
        if not everyone:
            print("\n".join(waiting_lines(others)))
        terminal = sorted(who[o.learner_id].external_id for o in looked
                          if o.queued and o.channel == TERMINAL)  # fmt: skip
        if terminal:
            print(_terminal_line(terminal, now if at else None))
    finally:
        await pau.stop_channels()
        pau.close()
    return 0
