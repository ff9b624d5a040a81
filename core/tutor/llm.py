"""The one small port PAU's tutor talks to a language model through (DESIGN.md §6).

`Llm.complete(request)` sends one request and returns one reply, or raises one of the LlmError
subclasses below; it is called only by command performers (in the command worker's threads),
never inside a dialogue step. The implementation (webhooks/langchain_llm.py) uses langchain's
chat-model interface: `ChatAnthropic` for Claude, `ChatOpenAI` for any self-hosted
OpenAI-compatible server.

A request keeps what is stable apart from what changes, so the provider can cache it:
`system` (the tutor's rules, the same for everyone) and `context` (the course passages for this
question) come first and are marked for prompt caching; `messages` (the conversation, with the
learner's words always inside a data block) come last.

    LlmError
     ├── LlmUnavailable   no model configured, or the circuit breaker is open: do not even try
     ├── LlmOverBudget    the learner's or the whole day's token budget is spent
     ├── LlmTimeout       no answer within the timeout (after the client's retries)
     ├── LlmRateLimited   429 after the retries (honouring retry-after)
     ├── LlmFailed        5xx, 401/403, connection errors, anything else from the provider
     ├── LlmRejected      the provider refused this request (400/404/413/422, e.g. too long)
     ├── LlmRefused       the model declined (stop reason "refusal", or an empty answer)
     └── LlmMalformed     structured output that does not fit the schema

`error.usage` is the tokens the failed call still spent when a response came back (a refusal, a
malformed answer), for the budget; None when none did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel


class LlmError(Exception):
    """Any reason the model gave no usable answer; every caller has an offline path."""

    reason = "failed"

    def __init__(self, message: str = "", *, usage: LlmUsage | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class LlmUnavailable(LlmError):
    reason = "unavailable"


class LlmOverBudget(LlmError):
    reason = "over_budget"


class LlmTimeout(LlmError):
    reason = "timeout"


class LlmRateLimited(LlmError):
    reason = "rate_limited"


class LlmFailed(LlmError):
    reason = "failed"


class LlmRejected(LlmError):
    reason = "rejected"


class LlmRefused(LlmError):
    reason = "refused"


class LlmMalformed(LlmError):
    reason = "malformed"


@dataclass(frozen=True)
class LlmMessage:
    role: str  # "user" | "assistant"
    text: str


@dataclass(frozen=True)
class LlmRequest:
    """One call. `purpose` names it in logs and usage records ("answer", "hint", "grade",
    "draft"); `schema`, when set, asks for structured output validated against it."""

    purpose: str
    system: str
    messages: tuple[LlmMessage, ...]
    context: str = ""
    max_tokens: int = 600
    schema: type[BaseModel] | None = None


@dataclass(frozen=True)
class LlmUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # input read from the provider's prompt cache

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class LlmReply:
    text: str
    usage: LlmUsage = field(default_factory=LlmUsage)
    data: Mapping[str, Any] | None = None  # the validated structured output, for a schema
    model: str = ""


class Llm(Protocol):
    def complete(self, request: LlmRequest) -> LlmReply: ...

    def close(self) -> None: ...
