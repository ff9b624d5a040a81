"""Nudges: what PAU says unprompted, and when (DESIGN.md §7).

`state.NudgeState` is what the dialogue keeps about them per learner; `policy.decide` is the pure
rule book the sweep and the dialogue step both ask; `policy.next_check` says when to ask again.
"""

from core.nudges.policy import Decision, Facts, Nudge, decide, next_check
from core.nudges.state import NudgeKind, NudgeState

__all__ = ["Decision", "Facts", "Nudge", "NudgeKind", "NudgeState", "decide", "next_check"]
