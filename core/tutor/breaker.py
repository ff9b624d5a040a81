"""A circuit breaker for the model provider, and the `Llm` wrapper that applies it.

    llm = GuardedLlm(LangchainLlm.anthropic(...), CircuitBreaker(failures=5, open_seconds=60))

```mermaid
stateDiagram-v2
    closed --> open: N consecutive failures
    open --> half_open: open_seconds passed (one trial call)
    half_open --> closed: the trial got an answer
    half_open --> open: the trial failed
```

Failures are the provider's: `LlmTimeout`, `LlmRateLimited`, `LlmFailed` (each one already after
the client's own retries; 401/403 are among them: a wrong key fails every call). A refusal, a
malformed answer or a rejected request (`LlmRejected`: 400/404/413/422, e.g. a prompt too long)
is an answer: the provider is up, and one learner's bad requests must not take the tutor offline
for everyone. While open, `complete` raises `LlmUnavailable` at once, without calling the
provider, so that every feature takes its offline path in microseconds instead of waiting out a
timeout per learner.

The state is per process (each web or worker process learns about an outage on its own, after N
failures of its own); that is enough for one provider and a handful of processes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum

from core.tutor.llm import (
    Llm,
    LlmError,
    LlmFailed,
    LlmRateLimited,
    LlmReply,
    LlmRequest,
    LlmTimeout,
    LlmUnavailable,
)

log = logging.getLogger(__name__)
PROVIDER_FAILURES = (LlmTimeout, LlmRateLimited, LlmFailed)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Thread-safe; `clock` is injectable (seconds, monotonic) for tests."""

    def __init__(
        self, failures: int = 5, open_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        if failures < 1:
            raise ValueError("failures must be at least 1")
        self.failures = failures
        self.open_seconds = open_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def before_call(self) -> None:
        """Raise LlmUnavailable unless a call may go out now (closed, or the one half-open
        trial)."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return
            if state is BreakerState.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return
            raise LlmUnavailable("the model provider's circuit is open")

    def succeeded(self) -> None:
        """The provider answered: close the circuit."""
        with self._lock:
            if self._opened_at is not None:
                log.info("LLM circuit closed: the provider answers again")
            self._consecutive, self._opened_at, self._trial_running = 0, None, False

    def failed(self) -> None:
        """The provider failed: count it; open (again) at the threshold or after a trial."""
        with self._lock:
            self._consecutive += 1
            trial, self._trial_running = self._trial_running, False
            if trial or (self._opened_at is None and self._consecutive >= self.failures):
                if not trial:
                    log.warning(
                        "LLM circuit opened after %d consecutive failures; offline answers "
                        "for %.0f s", self._consecutive, self.open_seconds,
                    )  # fmt: skip
                self._opened_at = self._clock()

    def released(self) -> None:
        """The call ended without saying anything about the provider (e.g. a bug)."""
        with self._lock:
            self._trial_running = False

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.open_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN


class GuardedLlm:
    """The `Llm` port behind a circuit breaker."""

    def __init__(self, inner: Llm, breaker: CircuitBreaker) -> None:
        self.inner = inner
        self.breaker = breaker

    def complete(self, request: LlmRequest) -> LlmReply:
        """Like the inner model's, or LlmUnavailable at once while the circuit is open."""
        self.breaker.before_call()
        try:
            reply = self.inner.complete(request)
        except PROVIDER_FAILURES:
            self.breaker.failed()
            raise
        except LlmError:  # refused, malformed, rejected: the provider did answer
            self.breaker.succeeded()
            raise
        except BaseException:
            self.breaker.released()
            raise
        self.breaker.succeeded()
        return reply

    def close(self) -> None:
        self.inner.close()
