"""Who lives in the nudge simulation: learners with a city, a daily time and a habit.

The population is deterministic (one seed) and interleaved, so that the first 24 learners
already hold every habit: a smaller run is the same world, only smaller.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Habit(StrEnum):
    KEEN = "keen"  # answers most reminders within the hour and does today's three
    CASUAL = "casual"  # answers about half of them, hours later
    SELF_STARTER = "self-starter"  # ignores reminders, starts at an hour of their own
    SILENT = "goes silent"  # keen for a few days, then never writes again
    REVIVED = "comes back"  # goes silent, then writes again days or weeks later
    FEWER = "fewer"  # taps "Fewer reminders" (twice, for some)
    MUTE = "mutes"  # taps "Stop reminders"; some turn them on again later
    NO_REMINDERS = "no reminders"  # says no to reminders at set-up, studies now and then
    PAUSER = "pauses"  # pause, and resume some days later
    STOPPER = "stops"  # STOP; some come back with "start"
    QUIET = "quiet hours"  # sets quiet hours of their own
    DELETER = "deletes"  # deletes their data


# of 100 learners
SHARES = {
    Habit.KEEN: 20, Habit.CASUAL: 10, Habit.SELF_STARTER: 10, Habit.SILENT: 10,
    Habit.REVIVED: 8, Habit.FEWER: 8, Habit.MUTE: 6, Habit.NO_REMINDERS: 3, Habit.PAUSER: 6,
    Habit.STOPPER: 6, Habit.QUIET: 8, Habit.DELETER: 5,
}  # fmt: skip

# (what they type, the zone PAU should understand): zones with DST changes in March and April
# 2026 (the US on 8 March, Europe on 29 March, Australia and New Zealand on 5 April), without,
# and with half- and three-quarter-hour offsets
CITIES = (
    ("Sydney", "Australia/Sydney"), ("New York", "America/New_York"),
    ("Berlin", "Europe/Berlin"), ("Kolkata", "Asia/Kolkata"), ("Honolulu", "Pacific/Honolulu"),
    ("Sao Paulo", "America/Sao_Paulo"), ("Tokyo", "Asia/Tokyo"), ("London", "Europe/London"),
    ("UTC", "UTC"), ("Los Angeles", "America/Los_Angeles"), ("Auckland", "Pacific/Auckland"),
    ("Adelaide", "Australia/Adelaide"), ("Kathmandu", "Asia/Kathmandu"),
)  # fmt: skip

# 06:30 to 22:30; the early and late ones fall in the default quiet hours (21:00-08:00)
DAILY_TIMES = (
    "06:30", "07:00", "07:30", "08:00", "08:45", "09:30", "11:00", "12:30", "14:00", "16:15",
    "17:30", "18:00", "19:00", "20:00", "20:30", "21:00", "21:30", "22:00", "22:30",
)  # fmt: skip

# `quiet ...` as typed, the quiet hours it sets, and a daily time the change matters to
QUIET_CHOICES = (
    ("quiet 22-7", ("22:00", "07:00"), "07:00"),  # was moved to 08:00 by the default; now on time
    ("quiet 20-9", ("20:00", "09:00"), "08:00"),  # now inside them: moved to 09:00
    ("quiet 23:00 to 6:30", ("23:00", "06:30"), "22:00"),  # was moved to 08:00; now on time
    ("quiet off", ("00:00", "00:00"), "22:30"),  # none at all: 22:30, the streak nudge at 19:00
)
QUIET_SETTINGS = {typed: hours for typed, hours, _ in QUIET_CHOICES}


@dataclass(frozen=True)
class Persona:
    number: int
    habit: Habit
    city: str  # typed at set-up
    zone: str  # what PAU should make of it
    daily_time: str  # typed at set-up
    onboard_hour: int  # local hour of their first day at which they start
    seed: int
    last_day: int = 0  # silent, comes back: the last day (since set-up) they write
    back_day: int = 0  # comes back: the day they write again
    usual_hour: int = 0  # self-starters: the local hour they start at
    accepts_move: bool = True  # their answer to "shall I move your reminder?"
    setting_day: int = 0  # the day they change a setting (fewer, mute, pause, stop, quiet, delete)
    again_day: int = 0  # the day they undo it (resume, reminders on, start) or tap fewer again
    quiet: str = ""  # what they type to set quiet hours

    @property
    def user_id(self) -> str:
        return f"sim-{self.number:03d}"

    @property
    def name(self) -> str:
        return NAMES[self.number % len(NAMES)]


NAMES = ("Ada", "Sam", "Priya", "Jo", "Kwame", "Mei", "Lena", "Tomás", "Aiko", "Noor", "Ravi")


def population(size: int = 100, seed: int = 7) -> list[Persona]:
    """`size` learners, habits in proportion to SHARES, interleaved."""
    pool = {habit: round(share * size / 100) or 1 for habit, share in SHARES.items()}
    order: list[Habit] = []
    while len(order) < size and any(pool.values()):
        for habit in SHARES:
            if pool[habit] and len(order) < size:
                order.append(habit)
                pool[habit] -= 1
    order += [Habit.KEEN] * (size - len(order))
    return [persona(number, habit, seed) for number, habit in enumerate(order, 1)]


def persona(number: int, habit: Habit, seed: int) -> Persona:
    rng = random.Random(seed * 1000 + number)
    city, zone = CITIES[(number * 5) % len(CITIES)]
    daily = DAILY_TIMES[(number * 7) % len(DAILY_TIMES)]
    person = Persona(number, habit, city, zone, daily, onboard_hour=rng.randint(9, 19),
                     seed=rng.randrange(1 << 30), accepts_move=rng.random() < 0.6)  # fmt: skip
    fields: dict[str, object] = {}
    if habit is Habit.SILENT:
        fields = {"last_day": rng.randint(1, 3)}
    elif habit is Habit.REVIVED:
        fields = {"last_day": rng.randint(1, 3), "back_day": rng.choice((9, 12, 21, 24))}
    elif habit is Habit.SELF_STARTER:
        hour = int(daily[:2])
        usual = rng.choice([h for h in range(10, 20) if abs(h - hour) >= 3])
        fields = {"usual_hour": usual, "accepts_move": number % 3 != 0}
    elif habit is Habit.FEWER:
        first = rng.randint(3, 6)
        fields = {"setting_day": first, "again_day": first + 6 if number % 2 else 0}
    elif habit in (Habit.MUTE, Habit.PAUSER, Habit.STOPPER):
        first = rng.randint(3, 9)
        fields = {"setting_day": first, "again_day": first + rng.randint(4, 9) if number % 2 else 0}
    elif habit is Habit.QUIET:
        typed, _, daily = QUIET_CHOICES[number % len(QUIET_CHOICES)]
        fields = {"setting_day": rng.choice((0, 5)), "quiet": typed, "daily_time": daily}
    elif habit is Habit.DELETER:
        fields = {"setting_day": rng.randint(3, 12)}
    return Persona(**{**person.__dict__, **fields})  # type: ignore[arg-type]
