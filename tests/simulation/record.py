"""What the simulation records, for the rules and the report: the run (its figures, what the
sweep said about each learner and when, the nudge event keys PAU stored), and how a message is
read as a nudge and which catalog text it was written from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

import yaml

from core.replies import Choices, Reply
from core.texts import catalog_dir
from tests.simulation.learners import SimLearner

NUDGE_WAYS_OUT = {"cmd:fewer", "cmd:mute"}  # core/dialogue/nudging.py ways_in_and_out


def is_nudge(reply: Reply) -> bool:
    return isinstance(reply, Choices) and {o.id for o in reply.options} >= NUDGE_WAYS_OUT


def nudge_text(reply: Reply) -> str:
    return reply.prompt if isinstance(reply, Choices) else ""


@dataclass
class Run:
    """What happened, for the rules and the report."""

    learners: list[SimLearner]
    start: datetime
    end: datetime
    step: timedelta
    steps: int = 0
    sweeps: int = 0
    messages_in: int = 0
    messages_out: int = 0
    withheld: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, key, reason)
    orphans: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, user, text)
    strays: list[tuple[datetime, str]] = field(default_factory=list)  # to nobody we know
    mismatches: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, user, what)
    decisions: dict[str, list[tuple[datetime, str, str]]] = field(default_factory=dict)
    # user id -> (at, nudge key or "", reason), every time the sweep looked at them
    keys_in_db: list[str] = field(default_factory=list)  # every nudge event's key, at the end
    seconds: float = 0.0
    shares: int = 1  # processes it ran in

    def reason_before(self, user: str, moment: datetime) -> str:
        """The sweep's last word on this learner at or before `moment`."""
        looks = [d for d in self.decisions.get(user, []) if d[0] <= moment]
        return f"{looks[-1][2]} (sweep at {looks[-1][0]:%m-%d %H:%M}Z)" if looks else "never swept"

    def reasons_between(self, user: str, start: datetime, end: datetime) -> str:
        """What the sweep said about this learner from `start` to `end` (the last word before
        `start` first): why something came late, or not at all."""
        said = [f"{at:%m-%d %H:%M}Z {why}" for at, _, why in self.decisions.get(user, [])
                if start <= at <= end]  # fmt: skip
        return "; ".join([self.reason_before(user, start), *said][:4])

    @staticmethod
    def merged(runs: Sequence[Run]) -> Run:
        """Runs of shares of one population over the same days, as one (learners never meet,
        so the rules read the same)."""
        first = runs[0]
        learners = sorted(
            (lr for run in runs for lr in run.learners), key=lambda lr: lr.persona.number
        )
        whole = Run(learners, first.start, first.end, first.step, steps=first.steps)
        whole.shares = len(runs)
        for run in runs:
            whole.sweeps += run.sweeps
            whole.messages_in += run.messages_in
            whole.messages_out += run.messages_out
            for mine, theirs in ((whole.withheld, run.withheld), (whole.orphans, run.orphans),
                                 (whole.strays, run.strays), (whole.mismatches, run.mismatches),
                                 (whole.keys_in_db, run.keys_in_db)):  # fmt: skip
                mine.extend(theirs)  # type: ignore[attr-defined]
            whole.decisions.update(run.decisions)
            whole.seconds = max(whole.seconds, run.seconds)
        return whole


@cache
def wordings() -> dict[str, list[str]]:
    """Each nudge text of the English catalog, by key, as its fixed fragments (what is left
    when the template's tags are taken out): enough to tell which one a message was written
    from."""
    raw = yaml.safe_load((catalog_dir() / "en.yaml").read_text(encoding="utf-8"))
    return {
        key: [part.strip() for part in re.split(r"\{%.*?%\}|\{\{.*?\}\}", str(text), flags=re.S)
              if len(part.strip()) >= 4]
        for key, text in raw.items()
        if key.startswith(("nudge_", "recap_"))
    }  # fmt: skip


CATALOG_NAMES = {"streak_at_risk": "streak"}  # nudge kinds whose texts are named otherwise


def wording_of(text: str, kind: str) -> str:
    prefix = f"nudge_{CATALOG_NAMES.get(kind, kind)}"
    candidates = {k: v for k, v in wordings().items() if k.startswith(prefix)}
    scores = {key: sum(part in text for part in parts) for key, parts in candidates.items()}
    best = max(scores.values(), default=0)
    found = [key for key, score in scores.items() if score == best and best]
    return found[0] if len(found) == 1 else "?"
