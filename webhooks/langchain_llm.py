"""The `Llm` port (core/tutor/llm.py) on langchain's chat-model interface: `ChatAnthropic` for
Claude, `ChatOpenAI` for any OpenAI-compatible server (Ollama, vLLM, llama.cpp).

    llm = LangchainLlm.anthropic(api_key=..., model="claude-sonnet-4-5", timeout=20, max_retries=2)
    reply = llm.complete(LlmRequest(purpose="answer", system=..., context=..., messages=...))
    llm.close()

What this adds to langchain:
- An explicit timeout always (ChatAnthropic's default is none at all) and the SDKs' own retries
  (429, 408/409, 5xx and timeouts, with backoff, honouring `retry-after`), except that a
  `retry-after` longer than `max_retry_after` is not waited for: a worker thread asleep for an
  hour helps nobody, the offline path answers at once.
- Its own HTTP client per instance, closed by `close()`: langchain shares one cached client per
  base URL and timeout across instances, which can be neither closed nor left open safely.
- Prompt caching (Anthropic): the system text and the course context are two system blocks
  marked `cache_control: ephemeral`; for an OpenAI-compatible server the context is appended to
  the system message (their prefix caching is automatic).
- One error tree: every failure is an `LlmError` subclass. A request the provider rejects
  (400/404/413/422: too long, a bad model name) is `LlmRejected`, which the circuit breaker does
  not count; 401/403 (the configuration: every call will fail), 408/409/429/5xx are failures.
- Usage from langchain's `usage_metadata` (input tokens include the cached ones;
  `cached_tokens` says how many), also on `LlmRefused`/`LlmMalformed` (`error.usage`): a reply
  that came back was paid for.
Instances are thread-safe: the command worker's threads share one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from functools import cached_property
from typing import Any, Literal

import anthropic
import openai
import pydantic
from langchain_anthropic import ChatAnthropic
from langchain_core.exceptions import ModelRefusalError, OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from core.tutor.llm import (
    LlmFailed,
    LlmMalformed,
    LlmRateLimited,
    LlmRefused,
    LlmRejected,
    LlmReply,
    LlmRequest,
    LlmTimeout,
    LlmUsage,
)

Provider = Literal["anthropic", "openai"]
CACHE_MARK = {"type": "ephemeral"}
REJECTED_STATUSES = frozenset({400, 404, 413, 422})  # this request, not the provider, is wrong
# The HTTP responses of the `complete` call running in this context: a list set by the call and
# filled by the client (langchain runs structured output in a pool thread, in a copied context,
# so the list object, not the variable, carries them back).
_RESPONSES: ContextVar[list[Any] | None] = ContextVar("pau_llm_responses", default=None)


class _RetryAfterCap:
    """Mixed into the SDK clients: no retry when the server asks for a longer wait than this."""

    max_retry_after: float = 10.0

    def _should_retry(self, response: Any) -> bool:
        wait = self._parse_retry_after_header(response.headers)  # type: ignore[attr-defined]
        if wait is not None and wait > self.max_retry_after:
            return False
        return bool(super()._should_retry(response))  # type: ignore[misc]


class _AnthropicClient(_RetryAfterCap, anthropic.Anthropic):
    pass


class PauOpenAI(_RetryAfterCap, openai.OpenAI):
    """Named for the user agent the SDK sends ("PauOpenAI/Python ...").

    Records each HTTP response in the current call's `_RESPONSES` list: the SDK validates
    json_schema answers itself and raises before langchain sees the reply, so the usage of a
    malformed answer is read from there."""

    def _process_response(self, **kwargs: Any) -> Any:
        responses = _RESPONSES.get()
        if responses is not None:
            responses.append(kwargs.get("response"))
        return super()._process_response(**kwargs)


class _ChatAnthropicOwnClient(ChatAnthropic):
    """ChatAnthropic with an anthropic client of its own (langchain's is shared and cached)."""

    max_retry_after: float = 10.0

    @cached_property
    def _client(self) -> anthropic.Client:
        client = _AnthropicClient(**self._client_params)
        client.max_retry_after = self.max_retry_after
        return client


class LangchainLlm:
    """One chat model behind the `Llm` port; build it with `anthropic()` or `openai()`."""

    def __init__(
        self, chat: BaseChatModel, *, provider: Provider, model: str,
        closers: Sequence[Callable[[], None]] = (),
    ) -> None:  # fmt: skip
        self._chat = chat
        self.provider: Provider = provider
        self.model = model
        self._closers = list(closers)
        self._by_max_tokens: dict[int, BaseChatModel] = {}
        self._lock = threading.Lock()

    @classmethod
    def anthropic(
        cls, *, api_key: str, model: str, timeout: float, max_retries: int,
        base_url: str | None = None, max_retry_after: float = 10.0,
    ) -> LangchainLlm:  # fmt: skip
        """Claude through langchain-anthropic; `base_url` None means Anthropic's API."""
        chat = _ChatAnthropicOwnClient(
            model_name=model,
            api_key=pydantic.SecretStr(api_key),
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_tokens_to_sample=600,
            stop=None,
            max_retry_after=max_retry_after,
        )
        client = chat._client  # made now, so that the per-max_tokens copies share it
        return cls(chat, provider="anthropic", model=model, closers=[client.close])

    @classmethod
    def openai(
        cls, *, base_url: str, api_key: str, model: str, timeout: float, max_retries: int,
        max_retry_after: float = 10.0,
    ) -> LangchainLlm:  # fmt: skip
        """Any OpenAI-compatible server (e.g. Ollama at http://localhost:11434/v1)."""
        root = PauOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        root.max_retry_after = max_retry_after
        chat = ChatOpenAI(
            model=model,
            api_key=pydantic.SecretStr(api_key),
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_completion_tokens=600,
            root_client=root,
            client=root.chat.completions,
        )
        return cls(chat, provider="openai", model=model, closers=[root.close])

    def complete(self, request: LlmRequest) -> LlmReply:
        """Send one request; raises an LlmError subclass for every way it can fail."""
        responses: list[Any] = []
        token = _RESPONSES.set(responses)
        try:
            return self._complete(request, responses)
        finally:
            _RESPONSES.reset(token)

    def _complete(self, request: LlmRequest, responses: list[Any]) -> LlmReply:
        chat = self._model_for(request.max_tokens)
        messages = self._messages(request)
        try:
            if request.schema is None:
                raw = chat.invoke(messages)
                if not isinstance(raw, AIMessage):
                    raise LlmMalformed(f"{self.provider}: not a chat answer")
                return self._text_reply(raw)
            structured = chat.with_structured_output(request.schema, include_raw=True)
            result = structured.invoke(messages)
        except (anthropic.APITimeoutError, openai.APITimeoutError) as exc:
            raise LlmTimeout(f"{self.provider}: no answer in time") from exc
        except (anthropic.RateLimitError, openai.RateLimitError) as exc:
            raise LlmRateLimited(f"{self.provider}: rate limited (429)") from exc
        except (anthropic.APIStatusError, openai.APIStatusError) as exc:
            if exc.status_code in REJECTED_STATUSES:
                raise LlmRejected(f"{self.provider}: HTTP {exc.status_code}") from exc
            raise LlmFailed(f"{self.provider}: HTTP {exc.status_code}") from exc
        except (anthropic.APIConnectionError, openai.APIConnectionError) as exc:
            raise LlmFailed(f"{self.provider}: connection failed") from exc
        except openai.ContentFilterFinishReasonError as exc:
            usage = _sdk_usage(exc.completion, responses)
            raise LlmRefused(f"{self.provider}: content filter", usage=usage) from exc
        except (
            openai.LengthFinishReasonError, pydantic.ValidationError, json.JSONDecodeError,
            OutputParserException,
        ) as exc:  # fmt: skip
            # the openai SDK parses json_schema answers itself, before langchain's parser
            usage = _sdk_usage(getattr(exc, "completion", None), responses)
            raise LlmMalformed(f"{self.provider}: {type(exc).__name__}", usage=usage) from exc
        except (anthropic.AnthropicError, openai.OpenAIError) as exc:
            raise LlmFailed(f"{self.provider}: {type(exc).__name__}") from exc
        return self._structured_reply(result)

    def close(self) -> None:
        """Close the HTTP clients (idempotent)."""
        closers, self._closers = self._closers, []
        for close in closers:
            close()

    def _model_for(self, max_tokens: int) -> BaseChatModel:
        """A copy of the chat model per max_tokens value (structured output has no per-call
        setting for it); the copies share the client."""
        with self._lock:
            chat = self._by_max_tokens.get(max_tokens)
            if chat is None:
                chat = self._chat.model_copy(update={"max_tokens": max_tokens})
                self._by_max_tokens[max_tokens] = chat
            return chat

    def _messages(self, request: LlmRequest) -> list[BaseMessage]:
        system: str | list[str | dict[str, Any]]
        if self.provider == "anthropic":
            blocks = [request.system, request.context] if request.context else [request.system]
            system = [
                {"type": "text", "text": text, "cache_control": CACHE_MARK} for text in blocks
            ]
        else:
            system = f"{request.system}\n\n{request.context}" if request.context else request.system
        turns: list[BaseMessage] = [SystemMessage(content=system)]
        for message in request.messages:
            kind = AIMessage if message.role == "assistant" else HumanMessage
            turns.append(kind(content=message.text))
        return turns

    def _text_reply(self, raw: AIMessage) -> LlmReply:
        text = raw.text.strip()
        if _refused(raw):
            raise LlmRefused(f"{self.provider}: the model refused", usage=_usage(raw))
        if not text:
            raise LlmRefused(f"{self.provider}: an empty answer", usage=_usage(raw))
        return LlmReply(text=text, usage=_usage(raw), model=self._model_name(raw))

    def _structured_reply(self, result: Any) -> LlmReply:
        raw, parsed, error = result["raw"], result["parsed"], result["parsing_error"]
        usage = _usage(raw) if isinstance(raw, AIMessage) else None
        if isinstance(error, ModelRefusalError) or (isinstance(raw, AIMessage) and _refused(raw)):
            raise LlmRefused(f"{self.provider}: the model refused", usage=usage)
        if error is not None or not isinstance(parsed, pydantic.BaseModel):
            reason = type(error).__name__ if error is not None else "no structured answer"
            raise LlmMalformed(f"{self.provider}: {reason}", usage=usage)
        return LlmReply(
            text="", usage=_usage(raw), data=parsed.model_dump(mode="json"),
            model=self._model_name(raw),
        )  # fmt: skip

    def _model_name(self, raw: AIMessage) -> str:
        return str(raw.response_metadata.get("model_name") or self.model)


def _refused(message: AIMessage) -> bool:
    """Anthropic: stop reason "refusal"; OpenAI: a `refusal` field or the content filter."""
    metadata = message.response_metadata
    return (
        metadata.get("stop_reason") == "refusal"
        or metadata.get("finish_reason") == "content_filter"
        or bool(message.additional_kwargs.get("refusal"))
    )


def _usage(message: Any) -> LlmUsage:
    metadata = getattr(message, "usage_metadata", None) or {}
    details = metadata.get("input_token_details") or {}
    return LlmUsage(
        input_tokens=int(metadata.get("input_tokens") or 0),
        output_tokens=int(metadata.get("output_tokens") or 0),
        cached_tokens=int(details.get("cache_read") or 0),
    )


def _sdk_usage(completion: Any, responses: list[Any]) -> LlmUsage | None:
    """The usage of a reply the openai SDK itself rejected: from its completion when the error
    has one, else from the last response body; None if no answer came back."""
    usage = getattr(completion, "usage", None)
    if not isinstance(usage, openai.types.CompletionUsage):
        if not responses:
            return None
        try:
            body: Any = responses[-1].json()
            usage = openai.types.CompletionUsage.model_validate(body["usage"])
        except (ValueError, TypeError, KeyError, AttributeError, pydantic.ValidationError):
            return None
    return _openai_usage(usage)


def _openai_usage(usage: openai.types.CompletionUsage) -> LlmUsage:
    details = usage.prompt_tokens_details
    return LlmUsage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        cached_tokens=(details.cached_tokens or 0) if details is not None else 0,
    )
