"""Token budgets and the answer cache: the ports the tutor's performers use (storage/ implements
them), and the rule that decides whether a call may be made.

A day is the UTC day. Limits come from settings: per learner and for everyone together
(`PAU_LLM_DAILY_TOKENS_PER_LEARNER`, `PAU_LLM_DAILY_TOKENS`); 0 means no limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from core.tutor.llm import LlmUsage


class UsageLedger(Protocol):
    def spent(self, *, learner_id: int, day: date) -> tuple[int, int]:
        """Tokens used that day: (by this learner, by everyone)."""
        ...

    def record(self, *, learner_id: int, day: date, purpose: str, usage: LlmUsage) -> None: ...


class AnswerCache(Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, text: str) -> None: ...


@dataclass(frozen=True)
class Budget:
    per_learner: int = 40_000
    overall: int = 2_000_000

    def allows(self, learner_tokens: int, overall_tokens: int) -> bool:
        learner_ok = self.per_learner <= 0 or learner_tokens < self.per_learner
        overall_ok = self.overall <= 0 or overall_tokens < self.overall
        return learner_ok and overall_ok
