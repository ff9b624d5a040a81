"""A loopback fake of Anthropic's Messages API that the real anthropic SDK (through langchain's
`ChatAnthropic`) talks to.

    with FakeAnthropicApi() as fake:
        llm = LangchainLlm.anthropic(api_key=fake.api_key, base_url=fake.base_url, ...)
        fake.script(Error(429, retry_after=0.2), Text("Spacing works because..."))
        llm.complete(request)
        assert fake.requests[0].body["system"][0]["cache_control"] == {"type": "ephemeral"}

It serves `POST /v1/messages` on 127.0.0.1 and answers in the shape the API has (message id,
content blocks, stop_reason, usage with cache_creation_input_tokens and cache_read_input_tokens).
A request with `tools` and a forced `tool_choice` (langchain's structured output) gets a
`tool_use` block for that tool. Prompt caching is imitated as the API documents it: every block
marked `cache_control` is a breakpoint, the longest prefix up to one seen before is "read", the
prefix up to the last is "written", nothing under 1,024 tokens (Sonnet's minimum) is cached, and
`input_tokens` counts only the rest. A wrong key (`x-api-key` or `authorization: Bearer`) gets 401; errors carry
the API's body (`{"type": "error", "error": {"type": "rate_limit_error", ...}}`) and a
`retry-after` header when scripted. Replies are scripted as in tests/fakes/llm_script.py.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.llm_script import (
    Error,
    Hang,
    Refusal,
    ScriptedModelApi,
    Structured,
    Text,
    tokens,
)

API_KEY = "sk-ant-fake-key-for-pau-tests"
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class FakeAnthropicApi(ScriptedModelApi):
    """A Messages API server on a free loopback port; `start()`/`stop()` or `with`."""

    def __init__(self, api_key: str = API_KEY, *, min_cached_tokens: int = 1024) -> None:
        self.api_key = api_key
        self.min_cached_tokens = min_cached_tokens
        self._ids = itertools.count(1)
        super().__init__(
            Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])
        )

    async def _messages(self, request: Request) -> Response:
        body = json.loads(await request.body())
        headers = {k.lower(): v for k, v in request.headers.items()}
        structured = bool(body.get("tools")) and body.get("tool_choice", {}).get("type") == "tool"
        reply = self._take(body, headers, structured)
        await self._sleep(reply.delay)
        keys = (headers.get("x-api-key"), headers.get("authorization", "").removeprefix("Bearer "))
        if self.api_key not in keys:  # the SDK sends `authorization: Bearer` (2.x) or x-api-key
            return _error(401, "invalid x-api-key")
        if isinstance(reply, Hang):
            return _error(504, "the fake hung")
        if isinstance(reply, Error):
            extra = {} if reply.retry_after is None else {"retry-after": str(reply.retry_after)}
            return _error(reply.status, f"scripted {reply.status}", extra)
        content: list[dict[str, Any]]
        stop_reason = "end_turn"
        if isinstance(reply, Text):
            content = [{"type": "text", "text": reply.text}]
            stop_reason = reply.stop_reason or stop_reason
        elif isinstance(reply, Refusal):
            content = [{"type": "text", "text": reply.text}] if reply.text else []
            stop_reason = "refusal"
        else:
            content = [self._tool_use(body, reply)]
            stop_reason = "tool_use"
        return JSONResponse(
            {
                "id": f"msg_fake{next(self._ids):06d}",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", ""),
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": self._usage(body, content),
            },
            headers={"request-id": "req_fake"},
        )

    def _tool_use(self, body: dict[str, Any], reply: Structured) -> dict[str, Any]:
        name = body["tool_choice"]["name"]
        data = reply.data
        if isinstance(data, str):  # the API always sends an object; a str stands for junk
            data = {"unparsed": data}
        return {"type": "tool_use", "id": f"toolu_fake{next(self._ids):06d}", "name": name,
                "input": data}  # fmt: skip

    def _usage(self, body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
        """As the API counts: each block marked cache_control is a breakpoint; the longest
        prefix up to one that was seen before is read from the cache, the prefix up to the last
        mark is written; a prefix under MIN_CACHED_TOKENS is never cached."""
        parts, marks = _cache_order(body)
        read = 0
        for mark in reversed(marks):
            prefix = parts[: mark + 1]
            if tokens(prefix) >= self.min_cached_tokens and self._seen(prefix):
                read = tokens(prefix)
                break
        written = 0
        if marks and tokens(parts[: marks[-1] + 1]) >= self.min_cached_tokens:
            for mark in marks:  # every breakpoint's prefix is kept for next time
                self._cache(parts[: mark + 1])
            written = max(0, tokens(parts[: marks[-1] + 1]) - read)
        return {
            "input_tokens": tokens(parts) - read - written,
            "output_tokens": tokens(content),
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
        }


def _cache_order(body: dict[str, Any]) -> tuple[list[Any], list[int]]:
    """The request in the API's cache order (tools, system, messages), and where the blocks
    carrying cache_control are."""
    system = body.get("system") or []
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    parts: list[Any] = [*body.get("tools", []), *system, *body.get("messages", [])]
    marks = [
        i for i, part in enumerate(parts) if isinstance(part, dict) and "cache_control" in part
    ]
    return parts, marks


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    kind = _ERROR_TYPES.get(status, "api_error")
    return JSONResponse(
        {"type": "error", "error": {"type": kind, "message": message}},
        status_code=status,
        headers=headers,
    )
