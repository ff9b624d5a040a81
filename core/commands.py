"""Commands: work a step asks for, done after its transaction commits (DESIGN.md §2).

A step never waits. It returns commands (grade this explanation, draw the chart, export the data)
and timers (call me back at 18:00). The runner stores them in the same transaction as the new
state; the command worker performs each one outside any transaction and hands the result back as
an internal event for the learner, deduplicated on the command id. A timer is an internal event
stored at once with a later `available_at`.

`ref` names what the result belongs to (the open activity), so the step that receives it can tell a
late result from a current one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class CommandKind(StrEnum):
    GRADE_EXPLANATION = "grade_explanation"  # -> graded
    RENDER_CHART = "render_chart"  # -> chart_ready
    EXPORT_DATA = "export_data"  # -> export_ready
    NOTIFY_MENTORS = "notify_mentors"  # an urgent escalation -> mentors_notified
    ASK_TUTOR = "ask_tutor"  # a question or a hint request -> tutor_answered


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    args: Mapping[str, Any] = field(default_factory=dict)  # JSON values only
    ref: str = ""


@dataclass(frozen=True)
class Timer:
    name: str  # e.g. "still_there"
    at: datetime
    ref: str = ""


@dataclass(frozen=True)
class CommandPolicy:
    """How one kind of command is run: at most `concurrency` at once per process, each given
    `timeout_seconds`, tried `max_attempts` times before the learner hears it failed."""

    timeout_seconds: float
    max_attempts: int
    concurrency: int


POLICIES: Mapping[CommandKind, CommandPolicy] = {
    # The model first (PAU_LLM_TIMEOUT x (retries + 1), well inside the timeout), then, on any
    # failure, the offline grader, CPU work: two at once leave room for the webhooks.
    CommandKind.GRADE_EXPLANATION: CommandPolicy(
        timeout_seconds=100, max_attempts=3, concurrency=2
    ),
    CommandKind.RENDER_CHART: CommandPolicy(timeout_seconds=15, max_attempts=2, concurrency=2),
    CommandKind.EXPORT_DATA: CommandPolicy(timeout_seconds=60, max_attempts=3, concurrency=1),
    CommandKind.NOTIFY_MENTORS: CommandPolicy(timeout_seconds=20, max_attempts=5, concurrency=2),
    # network-bound: several at once; the performer falls back offline well before the timeout
    # (the model's time-outs and retries: ~45 s with the defaults, ~82 s at the settings' maxima)
    CommandKind.ASK_TUTOR: CommandPolicy(timeout_seconds=90, max_attempts=2, concurrency=4),
}
