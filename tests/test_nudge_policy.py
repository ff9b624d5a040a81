"""The nudge rule book (core/nudges/policy.py), rule by rule, on a fixed clock: who gets what,
when, and why not. Times are written in the learner's local time and converted with zoneinfo, so
the DST cases read as the learner lives them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.learner import Profile
from core.motivation import MotivationState
from core.nudges import Decision, Facts, NudgeKind, NudgeState, decide, next_check

BERLIN = "Europe/Berlin"


def local(text: str, zone: str = BERLIN) -> datetime:
    """'2026-03-03 08:30' on the learner's wall clock, as an aware UTC moment."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def facts(
    *,
    zone: str = BERLIN,
    daily_time: str = "08:30",
    seen: str = "2026-03-02 19:00",
    active: date | None = date(2026, 3, 2),
    streak: int = 1,
    freezes: int = 0,
    badges: tuple[str, ...] = (),
    due_reviews: int = 0,
    nudging: NudgeState | None = None,
    **profile: object,
) -> Facts:
    """Ada in Berlin, reminder at 08:30, who last wrote and studied on Monday 2 March evening."""
    base = Profile(consented=True, name="Ada", course_slug="science-of-learning",
                   daily_time=daily_time, timezone=zone, nudges=True)  # fmt: skip
    motivation = MotivationState(streak=streak, best_streak=streak, last_active_day=active,
                                 freezes=freezes, badges=badges)  # fmt: skip
    return Facts(
        profile=replace(base, **profile),  # type: ignore[arg-type]
        nudging=nudging or NudgeState(),
        motivation=motivation,
        last_seen=local(seen, zone) if seen else None,
        due_reviews=due_reviews,
    )


def kind_at(f: Facts, when: str, zone: str = BERLIN) -> str:
    decision = decide(f, local(when, zone))
    return str(decision.nudge.kind) if decision.nudge else f"nothing: {decision.reason}"


def sent(f: Facts, decision: Decision, when: datetime) -> Facts:
    """The facts after the nudge went out (what the dialogue step records)."""
    assert decision.nudge is not None
    day = when.astimezone(ZoneInfo(f.profile.timezone)).date().isoformat()
    nudging = f.nudging.after_sending(decision.nudge.kind, decision.nudge.slot, 1, when, day)
    return replace(f, nudging=nudging)


# --- the daily reminder ------------------------------------------------------------------------


def test_the_daily_reminder_comes_at_the_chosen_local_time_not_a_minute_before() -> None:
    f = facts()
    assert kind_at(f, "2026-03-03 08:29") == "nothing: nothing due (reminder at 08:30 local)"
    assert kind_at(f, "2026-03-03 08:30") == "daily"
    assert next_check(f, local("2026-03-03 08:05")) == local("2026-03-03 08:30")
    assert next_check(f, local("2026-03-03 07:00")) == local("2026-03-03 08:30")  # not at 08:00


def test_a_reminder_goes_once_a_day_and_the_next_look_is_tomorrow() -> None:
    f = facts()
    at = local("2026-03-03 08:30")
    after = sent(f, decide(f, at), at)
    assert kind_at(after, "2026-03-03 08:31") == "nothing: a nudge went out at 08:30 local"
    assert next_check(after, local("2026-03-03 08:31")) == local("2026-03-03 11:30")
    assert next_check(after, local("2026-03-03 11:30")) == local("2026-03-04 08:30")


def test_due_reviews_are_folded_into_the_daily_reminder() -> None:
    decision = decide(facts(due_reviews=3), local("2026-03-03 08:30"))
    assert decision.nudge is not None and decision.nudge.kind is NudgeKind.DAILY
    assert decision.reason == "reminder time, 3 reviews due"


def test_reviews_alone_are_nudged_when_today_s_session_is_done() -> None:
    done_today = facts(active=date(2026, 3, 3), seen="2026-03-03 07:00", due_reviews=2)
    assert kind_at(done_today, "2026-03-03 08:30") == "reviews"
    nothing_due = facts(active=date(2026, 3, 3), seen="2026-03-03 07:00")
    assert kind_at(nothing_due, "2026-03-03 08:30") == (
        "nothing: today's session done, no reviews due"
    )


def test_fewer_reminders_means_every_other_day_then_every_fourth() -> None:
    every_2 = NudgeState(every_days=2, last_reminder_day="2026-03-03",
                         slots={"daily": "2026-03-03"})  # fmt: skip
    f = facts(nudging=every_2, seen="2026-03-04 19:00", active=date(2026, 3, 3))
    assert kind_at(f, "2026-03-04 08:30") == "nothing: reminders every 2 days (fewer reminders)"
    assert kind_at(f, "2026-03-05 08:30") == "daily"
    assert kind_at(replace(f, nudging=replace(every_2, every_days=4)), "2026-03-05 08:30") == (
        "nothing: reminders every 4 days (fewer reminders)"
    )


# --- quiet hours, the cap, the gap, chatting ---------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-03-03 20:59", "nothing: nothing due (reminder at 08:30 local)"),
        ("2026-03-03 21:00", "nothing: quiet hours until 08:00 local"),
        ("2026-03-04 03:00", "nothing: quiet hours until 08:00 local"),
        ("2026-03-04 07:59", "nothing: quiet hours until 08:00 local"),
    ],
)
def test_nothing_is_sent_in_the_default_quiet_hours(when: str, expected: str) -> None:
    reminded = NudgeState(slots={"daily": "2026-03-03"}, last_reminder_day="2026-03-03")
    assert kind_at(facts(nudging=reminded), when) == expected


def test_in_quiet_hours_the_next_look_is_when_something_can_be_due() -> None:
    assert next_check(facts(), local("2026-03-03 23:00")) == local("2026-03-04 08:30")
    milestone = facts(badges=("streak_7",))  # due at once, so at the end of quiet hours
    assert next_check(milestone, local("2026-03-03 23:00")) == local("2026-03-04 08:00")


def test_a_reminder_time_inside_quiet_hours_moves_to_their_end() -> None:
    f = facts(daily_time="22:30", seen="2026-03-03 10:00")
    assert kind_at(f, "2026-03-03 22:30") == "nothing: quiet hours until 08:00 local"
    assert kind_at(f, "2026-03-04 08:00") == "daily"
    assert next_check(f, local("2026-03-03 12:00")) == local("2026-03-04 08:00")


def test_the_learner_s_own_quiet_hours_count() -> None:
    late = NudgeState(quiet_from="23:00", quiet_until="09:00")
    f = facts(daily_time="22:30", nudging=late)
    assert kind_at(f, "2026-03-03 22:30") == "daily"
    assert kind_at(facts(nudging=late), "2026-03-04 08:45") == (
        "nothing: quiet hours until 09:00 local"
    )
    daytime = NudgeState(quiet_from="12:00", quiet_until="14:00")  # a range within one day
    assert kind_at(facts(daily_time="12:30", nudging=daytime), "2026-03-03 13:00") == (
        "nothing: quiet hours until 14:00 local"
    )
    none = NudgeState(quiet_from="00:00", quiet_until="00:00")
    assert kind_at(facts(daily_time="23:30", nudging=none), "2026-03-03 23:30") == "daily"


def test_at_most_two_nudges_a_local_day() -> None:
    two = NudgeState(
        day="2026-03-03", sent_today=2, last_sent_at=local("2026-03-03 08:30").isoformat()
    )
    f = facts(nudging=two, streak=5, seen="2026-03-03 07:00")
    assert kind_at(f, "2026-03-03 19:00") == "nothing: daily cap: 2 nudges today already"
    # the count belongs to its day: the next morning is a new one
    assert kind_at(f, "2026-03-04 08:30") == "daily"


def test_three_hours_between_two_nudges() -> None:
    just_sent = NudgeState(day="2026-03-03", sent_today=1, slots={"daily": "2026-03-03"},
                           last_sent_at=local("2026-03-03 17:00").isoformat())  # fmt: skip
    f = facts(nudging=just_sent, streak=4)
    assert kind_at(f, "2026-03-03 19:00") == "nothing: a nudge went out at 17:00 local"
    assert next_check(f, local("2026-03-03 19:00")) == local("2026-03-03 20:00")
    assert kind_at(f, "2026-03-03 20:00") == "streak_at_risk"


def test_no_nudge_while_the_learner_is_chatting() -> None:
    f = facts(seen="2026-03-03 08:20")
    assert kind_at(f, "2026-03-03 08:30") == "nothing: chatting right now"
    assert next_check(f, local("2026-03-03 08:30")) == local("2026-03-03 08:50")
    assert kind_at(f, "2026-03-03 08:50") == "daily"


# --- who gets nothing at all -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"consented": False}, "no consent"),
        ({"stopped": True}, "stopped (unsubscribed)"),
        ({"nudges": False}, "reminders are off"),
        ({"paused": True}, "paused"),
        ({"daily_time": ""}, "set-up not finished"),
        ({"course_slug": ""}, "set-up not finished"),
    ],
)
def test_blocked_learners_get_nothing_and_are_not_looked_at_again(
    changes: dict[str, object], reason: str
) -> None:
    decision = decide(facts(**changes), local("2026-03-03 08:30"))
    assert (decision.nudge, decision.reason, decision.next_at) == (None, reason, None)


def test_an_unreachable_learner_gets_nothing() -> None:
    decision = decide(replace(facts(), reachable=False), local("2026-03-03 08:30"))
    assert (decision.nudge, decision.reason, decision.next_at) == (
        None, "unreachable (blocked the bot)", None,
    )  # fmt: skip


# --- inactivity --------------------------------------------------------------------------------


def test_silence_is_nudged_after_2_4_7_and_14_days_then_the_learner_is_dormant() -> None:
    f = facts(seen="2026-03-02 19:00", active=date(2026, 3, 2))
    kinds: dict[str, str] = {}
    for day in range(3, 25):
        when = local(f"2026-03-{day:02d} 08:30")
        decision = decide(f, when)
        kinds[f"03-{day:02d}"] = str(decision.nudge.kind) if decision.nudge else "-"
        if decision.nudge is not None:
            f = sent(f, decision, when)
    nudged = {day: kind for day, kind in kinds.items() if kind != "-"}
    assert nudged == {
        "03-03": "daily",  # one day of silence: the ordinary reminder
        "03-04": "inactivity",  # 2 days
        "03-06": "inactivity",  # 4
        "03-08": "weekly_recap",  # Sunday, and Monday's work was within the week
        "03-09": "inactivity",  # 7
        "03-16": "inactivity",  # 14: the last one says so
    }
    dormant = decide(f, local("2026-03-20 08:30"))
    assert dormant.nudge is None and dormant.next_at is None
    assert dormant.reason.startswith("dormant: silent since 2026-03-02")


def test_any_message_revives_a_dormant_learner() -> None:
    dormant = NudgeState(slots={"inactivity": "2026-03-02+14"})
    f = facts(nudging=dormant, seen="2026-03-02 19:00")
    assert decide(f, local("2026-03-20 08:30")).nudge is None
    back = replace(f, last_seen=local("2026-03-20 12:00"))
    assert kind_at(back, "2026-03-21 08:30") == "daily"


# --- streak at risk, milestones, the weekly recap ----------------------------------------------


def test_a_streak_at_risk_is_nudged_two_hours_before_quiet_hours() -> None:
    reminded = NudgeState(slots={"daily": "2026-03-03"}, last_reminder_day="2026-03-03",
                          day="2026-03-03", sent_today=1,
                          last_sent_at=local("2026-03-03 08:30").isoformat())  # fmt: skip
    f = facts(streak=5, nudging=reminded)
    assert kind_at(f, "2026-03-03 18:59") == "nothing: nothing due (reminder at 08:30 local)"
    assert kind_at(f, "2026-03-03 19:00") == "streak_at_risk"
    assert kind_at(facts(streak=1, nudging=reminded), "2026-03-03 19:00") == (
        "nothing: nothing due (reminder at 08:30 local)"  # a one-day streak is not worth a message
    )
    done_today = facts(streak=5, active=date(2026, 3, 3), nudging=reminded)
    assert (
        kind_at(done_today, "2026-03-03 19:00") == "nothing: nothing due (reminder at 08:30 local)"
    )
    late = NudgeState(quiet_from="23:00", quiet_until="07:00", slots=reminded.slots,
                      last_reminder_day="2026-03-03")  # fmt: skip
    assert kind_at(facts(streak=5, nudging=late), "2026-03-03 20:59") == (
        "nothing: nothing due (reminder at 08:30 local)"
    )
    assert kind_at(facts(streak=5, nudging=late), "2026-03-03 21:00") == "streak_at_risk"


def test_an_uncelebrated_milestone_is_nudged_and_a_celebrated_one_never() -> None:
    f = facts(badges=("first_lesson", "streak_7", "mastery_50"))
    decision = decide(f, local("2026-03-03 12:00"))
    assert decision.nudge is not None
    assert (decision.nudge.kind, decision.nudge.slot) == (NudgeKind.MILESTONE, "streak_7")
    told = facts(
        badges=("streak_7", "mastery_50"), nudging=NudgeState(told=("streak_7", "mastery_50"))
    )
    assert kind_at(told, "2026-03-03 12:00") == "nothing: nothing due (reminder at 08:30 local)"


def test_at_the_reminder_time_the_reminder_comes_before_a_milestone() -> None:
    f = facts(badges=("streak_7",))
    assert kind_at(f, "2026-03-03 08:30") == "daily"


def test_the_weekly_recap_comes_on_sunday_for_learners_active_that_week() -> None:
    week = facts(seen="2026-03-07 19:00", active=date(2026, 3, 7))
    assert kind_at(week, "2026-03-08 08:30") == "weekly_recap"  # Sunday 8 March
    assert decide(week, local("2026-03-08 08:30")).nudge.slot == "2026-W10"  # type: ignore[union-attr]
    saturday = facts(seen="2026-03-06 19:00", active=date(2026, 3, 6))
    assert kind_at(saturday, "2026-03-07 08:30") == "daily"
    idle_week = facts(seen="2026-02-28 19:00", active=date(2026, 2, 28))
    assert kind_at(idle_week, "2026-03-08 08:30") == "inactivity"
    silent_since_friday = facts(seen="2026-03-06 19:00", active=date(2026, 3, 6))
    assert kind_at(silent_since_friday, "2026-03-08 08:30") == "inactivity"  # the silence first


def test_the_recap_is_that_day_s_reminder() -> None:
    week = facts(seen="2026-03-07 19:00", active=date(2026, 3, 7))
    when = local("2026-03-08 08:30")
    after = sent(week, decide(week, when), when)
    gap_over = replace(after.nudging, last_sent_at=local("2026-03-08 05:00").isoformat())
    assert kind_at(replace(after, nudging=gap_over), "2026-03-08 11:29") == (
        "nothing: reminded today already"
    )


# --- time zones and DST ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Australia/Sydney", "2026-04-05"),  # clocks go back an hour at 03:00
        ("Australia/Sydney", "2026-10-04"),  # clocks go forward at 02:00
        ("America/New_York", "2026-03-08"),  # forward at 02:00
        ("America/New_York", "2026-11-01"),  # back at 02:00
    ],
)
def test_the_0830_reminder_comes_at_0830_local_on_dst_change_days(zone: str, day: str) -> None:
    previous = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    year, week, _ = date.fromisoformat(day).isocalendar()  # all four are Sundays: recap sent
    recapped = NudgeState(slots={"weekly_recap": f"{year}-W{week:02d}"})
    f = facts(zone=zone, seen=f"{previous} 19:00", active=date.fromisoformat(previous),
              nudging=recapped)  # fmt: skip
    assert kind_at(f, f"{day} 08:29", zone) == "nothing: nothing due (reminder at 08:30 local)"
    assert kind_at(f, f"{day} 08:30", zone) == "daily"
    # looked at the evening before (before the change), the next look is still 08:30 local
    assert next_check(f, local(f"{previous} 20:00", zone)) == local(f"{day} 08:30", zone)


def test_sydney_and_new_york_each_get_their_own_0830() -> None:
    sydney = facts(zone="Australia/Sydney", seen="2026-04-04 19:00", active=date(2026, 4, 4))
    new_york = facts(zone="America/New_York", seen="2026-04-04 19:00", active=date(2026, 4, 4))
    assert next_check(sydney, local("2026-04-04 20:00", "Australia/Sydney")) == datetime(
        2026, 4, 4, 22, 30, tzinfo=UTC
    )
    assert next_check(new_york, local("2026-04-04 20:00", "America/New_York")) == datetime(
        2026, 4, 5, 12, 30, tzinfo=UTC
    )


def test_a_held_up_reminder_may_go_up_to_three_hours_late_but_not_at_any_hour() -> None:
    f = facts()
    assert kind_at(f, "2026-03-03 11:29") == "daily"
    assert kind_at(f, "2026-03-03 11:30") == "nothing: nothing due (reminder at 08:30 local)"
    assert next_check(f, local("2026-03-03 11:30")) == local("2026-03-04 08:30")


def test_a_gap_that_ends_in_quiet_hours_ends_with_them() -> None:
    evening = NudgeState(day="2026-03-03", sent_today=1, slots={"daily": "2026-03-03"},
                         last_sent_at=local("2026-03-03 19:30").isoformat())  # fmt: skip
    assert next_check(facts(nudging=evening), local("2026-03-03 20:00")) == local(
        "2026-03-04 08:00"
    )


def test_a_later_evening_reminder_is_not_pushed_out_by_the_streak_nudge() -> None:
    f = facts(daily_time="20:30", streak=5, seen="2026-03-02 21:00")
    assert kind_at(f, "2026-03-03 19:00") == "nothing: nothing due (reminder at 20:30 local)"
    assert kind_at(f, "2026-03-03 20:30") == "daily"
