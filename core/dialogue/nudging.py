"""Nudges in the dialogue: the message a nudge becomes when it goes out (the rules are checked
once more, now), the learner's one-tap ways in and out (`fewer`, `mute`, `remind`, `quiet 22-7`),
and what their habits teach (session start times, and the offer to move the reminder)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import datetime, time, timedelta

from core.commands import Command
from core.dialogue import keywords, session
from core.dialogue.model import Snapshot, Transition, Turn
from core.dialogue.parsing import is_yes, parse_time_of_day
from core.dialogue.states import ACTIVITIES, State
from core.events import InboundEvent
from core.learning import CELEBRATION_ORDER
from core.motivation import local_day
from core.nudges import Facts, Nudge, NudgeKind, NudgeState, decide
from core.nudges.policy import INACTIVE_STEPS, MILESTONES, clock_time, reminder_time, zone_of
from core.nudges.state import MAX_EVERY_DAYS
from core.replies import Choices, Option, Template, Text

VARIANTS = 3  # wordings per kind (catalog keys nudge_<kind>_1..3): never the same one twice running
MOVE_AFTER_STARTS = 4  # of the last starts, this many near one other hour: offer to move once
MOVE_MIN_DISTANCE = timedelta(hours=2)
MOVE_PENDING = "move_reminder"


def facts_of(snapshot: Snapshot, *, reachable: bool = True) -> Facts:
    """What the nudge rules look at, from what a step sees."""
    return Facts(
        profile=snapshot.profile,
        nudging=snapshot.nudging,
        motivation=snapshot.motivation,
        last_seen=snapshot.last_seen,
        due_reviews=len(snapshot.due_reviews),
        reachable=reachable,
    )


def handle(turn: Turn, event: InboundEvent) -> Transition:
    """A nudge the sweep queued: sent only if the rules still say so now (the learner may have
    written, paused or changed their hours since), and then in the wording not used last time."""
    snapshot = turn.snapshot
    nudge = Nudge(NudgeKind(str(event.data.get("nudge"))), str(event.data.get("slot")))
    if decide(facts_of(snapshot), turn.now).nudge != nudge or turn.course is None:
        return turn.stay()
    variant = _next_variant(snapshot.nudging, nudge.kind)
    today = local_day(turn.now, snapshot.profile.timezone).isoformat()
    nudging = snapshot.nudging.after_sending(nudge.kind, nudge.slot, variant, turn.now, today)
    text, parameters = _wording(turn, nudge, variant)
    if not snapshot.window_open:  # WhatsApp, 24 hours after their last message: a template
        template = Template(f"nudge_{nudge.kind}", snapshot.profile.language, parameters)
        return replace(turn.stay(template), nudging=nudging)
    commands: tuple[Command, ...] = ()
    if nudge.kind is NudgeKind.RECAP:  # the next recap's "before" is what this one showed
        nudging = replace(nudging, recap_mastery=_mastery(turn))
        commands = (keywords.chart_command(turn),)
    return replace(turn.stay(Choices(text, ways_in_and_out(turn, nudge))), nudging=nudging).then(
        commands=commands
    )


def ways_in_and_out(turn: Turn, nudge: Nudge) -> tuple[Option, ...]:
    """One tap in (today's three; their progress for a milestone; back to the open activity
    when a session is still open), two out."""
    t = turn.t
    if nudge.kind is NudgeKind.MILESTONE:
        way_in = Option("cmd:progress", t("button_progress"))
    elif turn.snapshot.state in ACTIVITIES:
        way_in = Option("cmd:today", t("button_nudge_resume"))
    else:
        way_in = Option("cmd:today", t("button_nudge_start"))
    return (way_in, Option("cmd:fewer", t("button_fewer")), Option("cmd:mute", t("button_mute")))


def _next_variant(nudging: NudgeState, kind: str) -> int:
    last = nudging.wording.get(kind)
    return 1 if last is None else last % VARIANTS + 1


def _wording(turn: Turn, nudge: Nudge, variant: int) -> tuple[str, tuple[str, ...]]:
    """The nudge's text, and the parameters of its WhatsApp template (name, then what it names)."""
    t, snapshot = turn.t, turn.snapshot
    name = snapshot.profile.name
    streak = session.shown_streak(turn)
    concept = _next_concept(turn)
    reviews = len(snapshot.due_reviews)
    kind = nudge.kind
    if kind is NudgeKind.MILESTONE:
        return t("nudge_milestone", name=name, badge=t(f"badge_{nudge.slot}")), (name,)
    if kind is NudgeKind.RECAP:
        return _recap(turn), (name, str(streak))
    if kind is NudgeKind.INACTIVITY:
        days = int(nudge.slot.rpartition("+")[2] or 0)
        if days >= INACTIVE_STEPS[-1]:
            return t("nudge_inactivity_last", name=name, concept=concept), (name, concept)
        text = t(f"nudge_inactivity_{variant}", name=name, concept=concept, days=days)
        return text, (name, concept)
    if kind is NudgeKind.STREAK:
        freezes = snapshot.motivation.freezes
        text = t(f"nudge_streak_{variant}", name=name, streak=streak, freezes=freezes)
        return text, (name, str(streak))
    if kind is NudgeKind.REVIEWS:
        concept = _review_concept(turn) or concept
        text = t(f"nudge_reviews_{variant}", name=name, concept=concept, reviews=reviews)
        return text, (name, concept)
    text = t(f"nudge_daily_{variant}", name=name, concept=concept, reviews=reviews, streak=streak)
    return text, (name, concept)


def _next_concept(turn: Turn) -> str:
    """The concept today's three would start with, by its title."""
    course = turn.course
    plan = session.todays_three(turn) if course else []
    concept = course.concept(plan[0]["concept"]) if course and plan else None
    return concept.title if concept else (course.title if course else "")


def _review_concept(turn: Turn) -> str:
    course = turn.course
    for review in turn.snapshot.due_reviews:
        concept = course.concept(review.concept_id) if course else None
        if concept is not None:
            return concept.title
    return ""


def _mastery(turn: Turn) -> dict[str, float]:
    return {
        cid: round(progress.mastery.mastery(turn.now), 3)
        for cid, progress in turn.snapshot.progress.items()
        if progress.answered or progress.lessons
    }


def _recap(turn: Turn) -> str:
    """The week: what was studied, how mastery moved since the last recap, the streak, and one
    suggestion (the weakest concept studied, or the next lesson)."""
    t, snapshot, course = turn.t, turn.snapshot, turn.course
    assert course is not None
    week_ago = turn.now - timedelta(days=7)
    studied = [
        cid for cid, p in snapshot.progress.items()
        if p.last_studied and datetime.fromisoformat(p.last_studied) >= week_ago
    ]  # fmt: skip
    now_mastery = _mastery(turn)
    changes = []
    for cid in studied:
        concept = course.concept(cid)
        if concept is None:
            continue
        before = round(snapshot.nudging.recap_mastery.get(cid, 0.0) * 100)
        after = round(now_mastery.get(cid, 0.0) * 100)
        changes.append(t("recap_change", title=concept.title, before=before, after=after))
    weakest = min(studied, key=lambda cid: now_mastery.get(cid, 0.0), default="")
    concept = course.concept(weakest) if weakest else None
    suggestion = (
        t("recap_suggest_review", title=concept.title) if concept is not None
        else t("recap_suggest_next", title=_next_concept(turn))
    )  # fmt: skip
    return t("nudge_weekly_recap", name=snapshot.profile.name, changes=changes,
             streak=session.shown_streak(turn), suggestion=suggestion)  # fmt: skip


# --- the learner's settings -------------------------------------------------------------------


def fewer(turn: Turn) -> Transition:
    nudging = turn.snapshot.nudging
    every = min(MAX_EVERY_DAYS, nudging.every_days * 2)
    changed = replace(nudging, every_days=every)
    reply = Text(turn.t("reminders_fewer", days=every, time=_reminder_at(turn)))
    return replace(turn.stay(reply, *keywords.where_we_were(turn)), nudging=changed).then(
        nudges=True
    )


def mute(turn: Turn) -> Transition:
    reply = Text(turn.t("reminders_muted"))
    return turn.stay(reply, *keywords.where_we_were(turn)).then(nudges=False)


def remind(turn: Turn) -> Transition:
    changed = replace(turn.snapshot.nudging, every_days=1)
    reply = Text(turn.t("reminders_on", time=_reminder_at(turn)))
    return replace(turn.stay(reply, *keywords.where_we_were(turn)), nudging=changed).then(
        nudges=True
    )


_RANGE = re.compile(r"\s*(?:-|–|—|to|bis)\s*")
OFF_WORDS = ("off", "none", "aus", "keine")


def quiet(turn: Turn, argument: str) -> Transition:
    """`quiet` says the quiet hours; `quiet 22-7` or `quiet 22:30 to 6:45` sets them;
    `quiet off` drops them."""
    t, nudging = turn.t, turn.snapshot.nudging
    words = argument.strip().lower()
    if words in OFF_WORDS:
        changed = replace(nudging, quiet_from="00:00", quiet_until="00:00")
        return replace(turn.stay(Text(t("quiet_off"))), nudging=changed)
    parts = _RANGE.split(words) if words else []
    times = [parse_time_of_day(part) for part in parts] if len(parts) == 2 else []
    if len(times) != 2 or None in times or times[0] == times[1]:
        shown = Text(t("quiet_hours", start=nudging.quiet_from, end=nudging.quiet_until,
                       unset=nudging.quiet_from == nudging.quiet_until))  # fmt: skip
        return turn.stay(shown)
    start, end = str(times[0]), str(times[1])
    changed = replace(nudging, quiet_from=start, quiet_until=end)
    return replace(turn.stay(Text(t("quiet_set", start=start, end=end))), nudging=changed)


def _reminder_at(turn: Turn) -> str:
    return reminder_time(turn.snapshot.profile, turn.snapshot.nudging).strftime("%H:%M")


# --- habits -------------------------------------------------------------------------------------


def observe(turn: Turn, event: InboundEvent, transition: Transition) -> Transition:
    """After a learner's own step: note a session they started themselves, celebrations shown
    inline (not to be nudged again), and once, the offer to move the reminder to their hour."""
    before = turn.snapshot
    nudging = transition.nudging or before.nudging
    started = before.state not in ACTIVITIES and transition.state in ACTIVITIES
    if started and transition.data.get("plan_kind") == session.TODAYS_THREE:
        local = turn.now.astimezone(zone_of(before.profile.timezone))
        nudging = nudging.with_start(local.strftime("%H:%M"))
    if transition.learning is not None:
        nudging = _told_inline(nudging, before, transition)
    changed = replace(transition, nudging=nudging) if nudging != before.nudging else transition
    finished = before.state in ACTIVITIES and transition.state is State.IDLE
    hour = _usual_hour(before.profile.daily_time, nudging) if finished else None
    if hour is None or nudging.move_offered or not before.profile.nudges:
        return changed
    offer = Choices(
        turn.t("move_reminder_offer", usual=hour, chosen=before.profile.daily_time),
        (
            Option("yes", turn.t("button_move_yes", usual=hour)),
            Option("no", turn.t("button_move_no")),
        ),
    )
    data = {**changed.data, "pending": MOVE_PENDING, "move_to": hour}
    return replace(changed, data=data, replies=(*changed.replies, offer),
                   nudging=replace(nudging, move_offered=True))  # fmt: skip


def _told_inline(nudging: NudgeState, before: Snapshot, transition: Transition) -> NudgeState:
    """Badges earned in this step: the one celebrated in the chat is told; the others (one
    celebration per activity) are left for a milestone nudge."""
    assert transition.learning is not None
    new = [b for b in transition.learning.motivation.badges if b not in before.motivation.badges]
    shown = [f"badge_{b}" for b in new]
    celebrated = next((key for key in CELEBRATION_ORDER if key in shown), "")
    told = [b for b in new if f"badge_{b}" == celebrated or b not in MILESTONES]
    return replace(nudging, told=(*nudging.told, *told)) if told else nudging


def _usual_hour(daily_time: str, nudging: NudgeState) -> str | None:
    """The hour they usually start at, when it is two hours or more from the chosen time."""
    starts = [clock_time(s) for s in nudging.starts]
    if len(starts) < MOVE_AFTER_STARTS or not daily_time:
        return None
    hour, count = Counter(s.hour for s in starts).most_common(1)[0]
    near = [s for s in starts if abs(s.hour - hour) <= 1]
    if count < 2 or len(near) < MOVE_AFTER_STARTS:
        return None
    usual = time(hour, 0)
    chosen = clock_time(daily_time)
    distance = abs((usual.hour * 60 + usual.minute) - (chosen.hour * 60 + chosen.minute))
    if min(distance, 24 * 60 - distance) < MOVE_MIN_DISTANCE.total_seconds() / 60:
        return None
    return usual.strftime("%H:%M")


def answer_move(turn: Turn, event: InboundEvent) -> Transition:
    """The answer to "shall I move your reminder to 19:00?"."""
    data = {k: v for k, v in turn.snapshot.data.items() if k not in ("pending", "move_to")}
    hour = str(turn.snapshot.data.get("move_to") or "")
    after = Turn(replace(turn.snapshot, data=data), turn.now, turn.world)
    if is_yes(event) and hour:
        reply = Text(turn.t("move_reminder_done", time=hour))
        return after.stay(reply, *keywords.where_we_were(after)).then(daily_time=hour)
    return after.stay(Text(turn.t("move_reminder_kept", time=turn.snapshot.profile.daily_time)),
                      *keywords.where_we_were(after))  # fmt: skip
