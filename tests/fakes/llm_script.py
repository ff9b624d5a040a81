"""What the loopback fakes of the model APIs (anthropic_api.py, openai_api.py) share: the replies a
test scripts, the requests they record, slow and hanging answers, and a prompt cache.

    fake.script(Error(429, retry_after=0.2), Text("Spacing works because..."))

Scripted replies are used one per request, in order; once they run out every request gets the
default: `Structured(fake.default_data)` when the request asks for structured output, else
`Text(fake.default_text)`. Every reply may be delayed (`delay=` seconds); `Hang` never answers
before the client gives up. Delays are cut short when the server stops.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette

from tests.fakes.loopback import LoopbackServer


@dataclass(frozen=True)
class Text:
    text: str
    delay: float = 0.0
    stop_reason: str = ""  # "": the API's normal one ("end_turn" / "stop")


@dataclass(frozen=True)
class Structured:
    """A tool call (or JSON answer) carrying `data`; a str is sent verbatim (broken JSON)."""

    data: dict[str, Any] | str
    delay: float = 0.0


@dataclass(frozen=True)
class Refusal:
    text: str = ""
    delay: float = 0.0


@dataclass(frozen=True)
class Error:
    status: int
    retry_after: float | None = None  # seconds, sent as the retry-after header
    delay: float = 0.0


@dataclass(frozen=True)
class Hang:
    """No answer for `seconds` (longer than any client timeout in the tests)."""

    seconds: float = 30.0

    @property
    def delay(self) -> float:
        return self.seconds


Reply = Text | Structured | Refusal | Error | Hang


@dataclass(frozen=True)
class Received:
    """One request the fake received; `timestamp` is `time.monotonic()` at arrival."""

    body: dict[str, Any]
    headers: dict[str, str]
    timestamp: float
    reply: Reply = field(repr=False, default=Text(""))


def tokens(value: Any) -> int:
    """A rough token count (4 characters a token) of any JSON-able value."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return max(1, len(text) // 4) if text else 0


class ScriptedModelApi(LoopbackServer):
    """The shared state of a fake model API; subclasses add the routes and the wire format."""

    default_text = "Spacing works because each retrieval strengthens the memory."

    def __init__(self, app: Starlette) -> None:
        self._lock = threading.Lock()
        super().__init__(app)
        self.reset()

    def reset(self) -> None:
        """Forget requests, the script and the prompt cache."""
        with self._lock:
            self._received: list[Received] = []
            self._script: list[Reply] = []
            self._cached_prefixes: set[str] = set()
            self.default_data: dict[str, Any] = {"answer": "structured"}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, one each."""
        with self._lock:
            self._script.extend(replies)

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def _take(self, body: dict[str, Any], headers: dict[str, str], structured: bool) -> Reply:
        with self._lock:
            if self._script:
                reply = self._script.pop(0)
            elif structured:
                reply = Structured(dict(self.default_data))
            else:
                reply = Text(self.default_text)
            self._received.append(Received(body, headers, time.monotonic(), reply))
            return reply

    def _cache(self, prefix: Any) -> bool:
        """Whether this cacheable prefix was seen before (then it is read from the cache)."""
        key = _digest(prefix)
        with self._lock:
            seen = key in self._cached_prefixes
            self._cached_prefixes.add(key)
            return seen

    def _seen(self, prefix: Any) -> bool:
        with self._lock:
            return _digest(prefix) in self._cached_prefixes

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.02))


def _digest(prefix: Any) -> str:
    return hashlib.sha256(json.dumps(prefix, sort_keys=True).encode()).hexdigest()
