"""A loopback fake of an OpenAI-compatible chat server (Ollama, vLLM, llama.cpp all serve this
shape) that the real openai SDK (through langchain's `ChatOpenAI`) talks to.

    with FakeOpenAiApi() as fake:
        llm = LangchainLlm.openai(base_url=fake.base_url + "/v1", api_key=fake.api_key, ...)

It serves `POST /v1/chat/completions` on 127.0.0.1 and answers a `chat.completion` object.
Structured output arrives either way langchain asks for it: with `response_format`
`{"type": "json_schema", ...}` the data is the message's JSON content; with `tools` and a forced
`tool_choice` it is a `tool_calls` entry. A refusal is the message's `refusal` field. Prefix
caching is imitated: a system message seen before counts as `prompt_tokens_details.cached_tokens`
(included in `prompt_tokens`, as OpenAI counts). A wrong bearer token gets 401; errors carry
OpenAI's body (`{"error": {"message", "type", "code"}}`) and a `retry-after` header when
scripted. Replies are scripted as in tests/fakes/llm_script.py.
"""

from __future__ import annotations

import itertools
import json
import time
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
    Text,
    tokens,
)

API_KEY = "ollama-fake-key"
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_api_key",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}


class FakeOpenAiApi(ScriptedModelApi):
    """An OpenAI-compatible server on a free loopback port; `start()`/`stop()` or `with`."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self._ids = itertools.count(1)
        route = Route("/v1/chat/completions", self._completions, methods=["POST"])
        super().__init__(Starlette(routes=[route]))

    async def _completions(self, request: Request) -> Response:
        body = json.loads(await request.body())
        headers = {k.lower(): v for k, v in request.headers.items()}
        format_type = (body.get("response_format") or {}).get("type")
        forced_tool = isinstance(body.get("tool_choice"), dict)
        reply = self._take(body, headers, format_type == "json_schema" or forced_tool)
        await self._sleep(reply.delay)
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided")
        if isinstance(reply, Hang):
            return _error(504, "the fake hung")
        if isinstance(reply, Error):
            extra = {} if reply.retry_after is None else {"retry-after": str(reply.retry_after)}
            return _error(reply.status, f"scripted {reply.status}", extra)
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        finish_reason = "stop"
        if isinstance(reply, Text):
            message["content"] = reply.text
            finish_reason = reply.stop_reason or finish_reason
        elif isinstance(reply, Refusal):
            message["refusal"] = reply.text or "I can't help with that."
        else:
            arguments = reply.data if isinstance(reply.data, str) else json.dumps(reply.data)
            if forced_tool:
                name = body["tool_choice"]["function"]["name"]
                message["tool_calls"] = [
                    {"id": f"call_fake{next(self._ids):06d}", "type": "function",
                     "function": {"name": name, "arguments": arguments}}
                ]  # fmt: skip
                finish_reason = "tool_calls"
            else:
                message["content"] = arguments
        return JSONResponse(
            {
                "id": f"chatcmpl-fake{next(self._ids):06d}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": self._usage(body, message),
            }
        )

    def _usage(self, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages", [])
        prefix = [m for m in messages[:1] if m.get("role") in ("system", "developer")]
        prompt = tokens([body.get("tools", []), messages])
        cached = tokens(prefix) if prefix and self._cache(prefix) else 0
        completion = tokens(
            [message.get("content") or "", message.get("tool_calls") or message.get("refusal")]
        )
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    kind = _ERROR_TYPES.get(status, "server_error")
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": kind, "param": None}},
        status_code=status,
        headers=headers,
    )
