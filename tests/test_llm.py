"""The real langchain clients (so the real anthropic and openai SDKs) against the loopback fakes
of the Messages API and of an OpenAI-compatible server; the circuit breaker; make_llm.

Timing assertions are loose on the slow side (a busy machine) and strict where it matters: a
retry honours retry-after, a timeout bounds the wait."""

from __future__ import annotations

import contextlib
import gc
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from pydantic import BaseModel, Field

from core.tutor.breaker import BreakerState, CircuitBreaker, GuardedLlm
from core.tutor.llm import (
    LlmError,
    LlmFailed,
    LlmMalformed,
    LlmMessage,
    LlmRateLimited,
    LlmRefused,
    LlmRejected,
    LlmRequest,
    LlmTimeout,
    LlmUnavailable,
)
from tests.fakes.anthropic_api import FakeAnthropicApi
from tests.fakes.llm_script import Error, Hang, Refusal, ScriptedModelApi, Structured, Text
from tests.fakes.openai_api import FakeOpenAiApi
from tests.fakes.scripted_llm import ScriptedLlm
from webhooks.config import Settings
from webhooks.langchain_llm import LangchainLlm
from webhooks.llm_setup import make_llm

SYSTEM = "You are PAU, a tutor. Answer from the course passages only."
CONTEXT = "Lesson 'Spacing': reviews spread over days beat one long session."
QUESTION = LlmMessage("user", "Why does spacing help?")
REQUEST = LlmRequest(
    purpose="answer", system=SYSTEM, context=CONTEXT,
    messages=(LlmMessage("user", "Hi"), LlmMessage("assistant", "Hello!"), QUESTION),
)  # fmt: skip


class Grade(BaseModel):
    score: float = Field(ge=0, le=1)
    covered: list[str]
    feedback: str


GRADE = {"score": 0.75, "covered": ["spacing"], "feedback": "Name the forgetting curve."}
GRADE_REQUEST = LlmRequest(purpose="grade", system=SYSTEM, messages=(QUESTION,), schema=Grade)


@dataclass
class Provider:
    name: str
    fake: ScriptedModelApi
    connect: Callable[..., LangchainLlm]


def _anthropic(fake: ScriptedModelApi, **options: Any) -> LangchainLlm:
    assert isinstance(fake, FakeAnthropicApi)
    settings = {"timeout": 2.0, "max_retries": 2, **options}
    return LangchainLlm.anthropic(
        api_key=fake.api_key, base_url=fake.base_url, model="claude-sonnet-4-5", **settings
    )


def _openai(fake: ScriptedModelApi, **options: Any) -> LangchainLlm:
    assert isinstance(fake, FakeOpenAiApi)
    settings = {"timeout": 2.0, "max_retries": 2, **options}
    return LangchainLlm.openai(
        api_key=fake.api_key, base_url=f"{fake.base_url}/v1", model="llama3.1:8b", **settings
    )


@pytest.fixture(params=["anthropic", "openai"])
def provider(request: pytest.FixtureRequest) -> Iterator[Provider]:
    fake: ScriptedModelApi = FakeAnthropicApi() if request.param == "anthropic" else FakeOpenAiApi()
    with fake:
        yield Provider(request.param, fake, _anthropic if request.param == "anthropic" else _openai)


@pytest.fixture
def connect(provider: Provider) -> Iterator[Callable[..., LangchainLlm]]:
    """`connect(timeout=..., max_retries=...)`: a client of the provider's fake, closed after."""
    made: list[LangchainLlm] = []

    def make(**options: Any) -> LangchainLlm:
        made.append(provider.connect(provider.fake, **options))
        return made[-1]

    yield make
    for llm in made:
        llm.close()


# -- answers -------------------------------------------------------------------------------------


def test_a_text_answer_with_its_usage(provider: Provider, connect: Callable[..., LangchainLlm]):
    provider.fake.script(Text("Spacing lets you forget a little, so each review works harder."))
    reply = connect().complete(REQUEST)
    assert reply.text == "Spacing lets you forget a little, so each review works harder."
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert reply.usage.cached_tokens == 0
    assert reply.model in ("claude-sonnet-4-5", "llama3.1:8b")


LONG_SYSTEM = (
    SYSTEM + "\n" + "\n".join(f"- Lesson {n}: a summary of the lesson." for n in range(200))
)


def test_the_second_same_prefix_is_read_from_the_prompt_cache(
    provider: Provider, connect: Callable[..., LangchainLlm]
):
    llm = connect()
    request = replace(REQUEST, system=LONG_SYSTEM)
    first, second = llm.complete(request), llm.complete(request)
    assert first.usage.cached_tokens == 0
    assert 0 < second.usage.cached_tokens <= second.usage.input_tokens


def test_the_stable_system_block_is_read_from_the_cache_when_the_context_changes(
    connect: Callable[..., LangchainLlm], provider: Provider
):
    """Every cache_control mark is a breakpoint (Anthropic): a new question's passages do not
    spoil the rules and the course outline before them; a short prefix is never cached."""
    if provider.name != "anthropic":
        pytest.skip("breakpoints are Anthropic's; OpenAI-compatible servers cache as they do")
    llm = connect()
    llm.complete(replace(REQUEST, system=LONG_SYSTEM, context="Lesson 'Spacing': spread it."))
    other = llm.complete(replace(REQUEST, system=LONG_SYSTEM, context="Lesson 'Sleep': sleep."))
    assert other.usage.cached_tokens >= len(LONG_SYSTEM) // 4 - 50
    short = connect()
    short.complete(REQUEST)
    assert short.complete(REQUEST).usage.cached_tokens == 0  # under 1,024 tokens


def test_system_then_context_then_the_conversation(
    connect: Callable[..., LangchainLlm], provider: Provider
):
    connect().complete(REQUEST)
    body = provider.fake.requests[0].body
    conversation = [m for m in body["messages"] if m["role"] != "system"]
    turns = [(m["role"], m["content"]) for m in conversation]
    assert turns == [("user", "Hi"), ("assistant", "Hello!"), ("user", QUESTION.text)]
    if provider.name == "anthropic":  # two system blocks, both marked for prompt caching
        assert body["system"] == [
            {"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": CONTEXT, "cache_control": {"type": "ephemeral"}},
        ]
    else:  # the context follows the rules in the one system message
        assert body["messages"][0] == {"role": "system", "content": f"{SYSTEM}\n\n{CONTEXT}"}


def test_max_tokens_is_the_requests(provider: Provider, connect: Callable[..., LangchainLlm]):
    llm = connect()
    llm.complete(REQUEST)
    llm.complete(LlmRequest(purpose="draft", system=SYSTEM, messages=(QUESTION,), max_tokens=1500))
    sent = [
        r.body.get("max_tokens") or r.body.get("max_completion_tokens")
        for r in provider.fake.requests
    ]
    assert sent == [600, 1500]


def test_structured_output_is_validated_data(
    provider: Provider, connect: Callable[..., LangchainLlm]
):
    provider.fake.script(Structured(GRADE))
    reply = connect().complete(GRADE_REQUEST)
    assert reply.data == GRADE
    assert reply.usage.output_tokens > 0
    body = provider.fake.requests[0].body
    if provider.name == "anthropic":  # tool use, forced
        assert body["tool_choice"] == {"type": "tool", "name": "Grade"}
        assert body["tools"][0]["input_schema"]["required"] == ["score", "covered", "feedback"]
    else:  # langchain-openai's default: json_schema
        assert body["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize(
    "data",
    [
        {"score": "high", "covered": [], "feedback": "x"},  # wrong type
        {"score": 1.5, "covered": [], "feedback": "x"},  # out of range
        {"covered": ["spacing"]},  # missing keys
        '{"score": 0.5, "covered": [',  # broken JSON
    ],
)
def test_output_that_does_not_fit_the_schema_is_malformed(
    provider: Provider, connect: Callable[..., LangchainLlm], data: Any
):
    provider.fake.script(Structured(data))
    with pytest.raises(LlmMalformed) as caught:
        connect().complete(GRADE_REQUEST)
    assert caught.value.usage is not None  # the answer came back: it is paid for
    assert caught.value.usage.input_tokens > 0 and caught.value.usage.output_tokens > 0


def test_a_text_answer_to_a_structured_request_is_malformed(
    provider: Provider, connect: Callable[..., LangchainLlm]
):
    provider.fake.script(Text("I think the score is about 0.7."))
    with pytest.raises(LlmMalformed) as caught:
        connect().complete(GRADE_REQUEST)
    assert caught.value.usage is not None and caught.value.usage.output_tokens > 0


@pytest.mark.parametrize("request_", [REQUEST, GRADE_REQUEST], ids=["text", "structured"])
def test_a_refusal_is_refused(
    provider: Provider, connect: Callable[..., LangchainLlm], request_: LlmRequest
):
    provider.fake.script(Refusal("I can't help with that."))
    with pytest.raises(LlmRefused) as caught:
        connect().complete(request_)
    assert str(caught.value)
    usage = caught.value.usage  # the refusal came back: the learner is charged for it
    assert usage is not None and usage.input_tokens > 0 and usage.output_tokens > 0


def test_an_empty_answer_is_refused(provider: Provider, connect: Callable[..., LangchainLlm]):
    provider.fake.script(Text("   "))
    with pytest.raises(LlmRefused) as caught:
        connect().complete(REQUEST)
    assert caught.value.usage is not None and caught.value.usage.input_tokens > 0


def test_a_slow_answer_within_the_timeout_arrives(
    provider: Provider, connect: Callable[..., LangchainLlm]
):
    provider.fake.script(Text("Worth the wait.", delay=0.3))
    assert connect(timeout=2.0).complete(REQUEST).text == "Worth the wait."


# -- retries, timeouts, failures ------------------------------------------------------------------


def test_429_is_retried_after_retry_after(provider: Provider, connect: Callable[..., LangchainLlm]):
    provider.fake.script(Error(429, retry_after=0.2), Text("Now it works."))
    assert connect().complete(REQUEST).text == "Now it works."
    first, second = provider.fake.requests
    waited = second.timestamp - first.timestamp
    assert 0.19 <= waited < 0.35  # the SDK's own backoff would be 0.375-0.5 s
    assert second.headers["x-stainless-retry-count"] == "1"


def test_429_after_the_retries_is_rate_limited(
    provider: Provider, connect: Callable[..., LangchainLlm]
):
    provider.fake.script(*[Error(429, retry_after=0.05)] * 3)
    with pytest.raises(LlmRateLimited):
        connect(max_retries=2).complete(REQUEST)
    assert len(provider.fake.requests) == 3


def test_a_long_retry_after_is_not_waited_for(
    provider: Provider, connect: Callable[..., LangchainLlm]
):
    provider.fake.script(Error(429, retry_after=3600), Text("never asked"))
    started = time.monotonic()
    with pytest.raises(LlmRateLimited):
        connect(max_retries=2).complete(REQUEST)
    assert time.monotonic() - started < 1.0
    assert len(provider.fake.requests) == 1


@pytest.mark.parametrize("status", [500, 529, 503])
def test_5xx_is_retried_with_backoff_then_failed(
    provider: Provider, connect: Callable[..., LangchainLlm], status: int
):
    provider.fake.script(*[Error(status)] * 3)
    with pytest.raises(LlmFailed):
        connect(max_retries=2).complete(REQUEST)
    stamps = [r.timestamp for r in provider.fake.requests]
    assert len(stamps) == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert 0.3 <= gaps[0] < 0.8 and 0.6 <= gaps[1] < 1.3  # 0.5 s, then 1 s, less jitter


def test_5xx_then_an_answer(provider: Provider, connect: Callable[..., LangchainLlm]):
    provider.fake.script(Error(500), Text("Back again."))
    assert connect(max_retries=1).complete(REQUEST).text == "Back again."


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_a_request_the_provider_rejects_is_rejected_without_retries(
    provider: Provider, connect: Callable[..., LangchainLlm], status: int
):
    provider.fake.script(Error(status), Text("never asked"))
    with pytest.raises(LlmRejected) as caught:
        connect(max_retries=2).complete(REQUEST)
    assert str(status) in str(caught.value) and caught.value.usage is None
    assert len(provider.fake.requests) == 1


def test_403_is_a_failure_without_retries(provider: Provider, connect: Callable[..., LangchainLlm]):
    provider.fake.script(Error(403), Text("never asked"))
    with pytest.raises(LlmFailed):  # the configuration: every call will fail
        connect(max_retries=2).complete(REQUEST)
    assert len(provider.fake.requests) == 1


def test_a_wrong_key_fails_without_retries(provider: Provider):
    fake = provider.fake
    real_key = fake.api_key  # type: ignore[attr-defined]
    fake.api_key = "wrong"  # type: ignore[attr-defined]
    llm = provider.connect(fake)
    fake.api_key = real_key  # type: ignore[attr-defined]
    try:
        with pytest.raises(LlmFailed):
            llm.complete(REQUEST)
    finally:
        llm.close()
    assert len(fake.requests) == 1


def test_a_hung_provider_times_out_within_the_bound(
    provider: Provider, connect: Callable[..., LangchainLlm]
):
    provider.fake.script(Hang(), Hang())
    timeout, retries = 0.3, 1
    started = time.monotonic()
    with pytest.raises(LlmTimeout):
        connect(timeout=timeout, max_retries=retries).complete(REQUEST)
    elapsed = time.monotonic() - started
    backoff = 0.5  # the SDK's first retry waits at most this
    assert timeout * (retries + 1) <= elapsed < timeout * (retries + 1) + backoff + 0.5
    assert len(provider.fake.requests) == retries + 1


def test_an_unreachable_server_fails(provider: Provider):
    llm = provider.connect(provider.fake, max_retries=0)
    provider.fake.stop()  # nothing listens on that port any more
    try:
        with pytest.raises(LlmFailed):
            llm.complete(REQUEST)
    finally:
        llm.close()


# -- closing --------------------------------------------------------------------------------------


def test_close_closes_the_http_client_and_leaves_no_socket(provider: Provider):
    llm = provider.connect(provider.fake)
    llm.complete(REQUEST)  # a keep-alive connection is open now
    chat: Any = llm._chat
    client = chat._client if provider.name == "anthropic" else chat.root_client
    assert not client._client.is_closed
    llm.close()
    llm.close()  # idempotent
    assert client._client.is_closed
    del llm, chat, client
    gc.collect()  # an unclosed socket would warn here (and warnings are errors)


def test_two_clients_of_one_server_are_independent(provider: Provider):
    first, second = provider.connect(provider.fake), provider.connect(provider.fake)
    first.complete(REQUEST)
    first.close()
    assert second.complete(REQUEST).text  # langchain's shared cached client would be closed
    second.close()


# -- the circuit breaker --------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_half_opens_and_closes_against_the_real_client(provider: Provider):
    clock = FakeClock()
    breaker = CircuitBreaker(failures=3, open_seconds=60, clock=clock)
    llm = GuardedLlm(provider.connect(provider.fake, max_retries=0), breaker)
    provider.fake.script(*[Error(500)] * 3, Error(500), Text("Recovered."))
    try:
        for _ in range(3):
            with pytest.raises(LlmFailed):
                llm.complete(REQUEST)
        assert breaker.state is BreakerState.OPEN
        started = time.monotonic()
        for _ in range(5):
            with pytest.raises(LlmUnavailable):
                llm.complete(REQUEST)
        assert time.monotonic() - started < 0.05
        assert len(provider.fake.requests) == 3  # nothing more reached the provider
        clock.now += 60
        assert breaker.state is BreakerState.HALF_OPEN
        with pytest.raises(LlmFailed):  # the trial fails: open again, for another minute
            llm.complete(REQUEST)
        assert breaker.state is BreakerState.OPEN and len(provider.fake.requests) == 4
        clock.now += 59
        with pytest.raises(LlmUnavailable):
            llm.complete(REQUEST)
        clock.now += 1
        assert llm.complete(REQUEST).text == "Recovered."
        assert breaker.state is BreakerState.CLOSED
        assert llm.complete(REQUEST).text  # closed: calls go through again
    finally:
        llm.close()


def test_rejected_requests_do_not_open_the_breaker_but_5xx_do(provider: Provider):
    breaker = CircuitBreaker(failures=5, open_seconds=60, clock=FakeClock())
    llm = GuardedLlm(provider.connect(provider.fake, max_retries=0), breaker)
    provider.fake.script(*[Error(400)] * 5, *[Error(500)] * 5)
    try:
        for _ in range(5):
            with pytest.raises(LlmRejected):
                llm.complete(REQUEST)
        assert breaker.state is BreakerState.CLOSED
        for _ in range(4):
            with pytest.raises(LlmFailed):
                llm.complete(REQUEST)
        assert breaker.state is BreakerState.CLOSED  # the 400s did not count towards the five
        with pytest.raises(LlmFailed):
            llm.complete(REQUEST)
        assert breaker.state is BreakerState.OPEN
        assert len(provider.fake.requests) == 10
    finally:
        llm.close()


@pytest.mark.parametrize(
    ("answers", "state"),
    [
        ([LlmFailed(), LlmTimeout(), LlmRateLimited()], BreakerState.OPEN),
        ([LlmRejected(), LlmRejected(), LlmRejected()], BreakerState.CLOSED),  # this request
        ([LlmFailed(), LlmFailed(), LlmRejected(), LlmFailed()], BreakerState.CLOSED),
        ([LlmFailed(), LlmFailed(), "ok", LlmFailed()], BreakerState.CLOSED),  # not consecutive
        ([LlmFailed(), LlmRefused(), LlmFailed()], BreakerState.CLOSED),  # a refusal is an answer
        ([LlmMalformed(), LlmMalformed(), LlmMalformed()], BreakerState.CLOSED),
        ([LlmFailed(), LlmFailed()], BreakerState.CLOSED),  # not yet
    ],
)
def test_what_counts_as_a_failure(answers: list[Any], state: BreakerState):
    breaker = CircuitBreaker(failures=3, open_seconds=60, clock=FakeClock())
    llm = GuardedLlm(ScriptedLlm(*answers), breaker)
    for _ in answers:
        with contextlib.suppress(LlmError):
            llm.complete(REQUEST)
    assert breaker.state is state


def test_half_open_lets_one_trial_through_at_a_time():
    clock = FakeClock()
    breaker = CircuitBreaker(failures=1, open_seconds=10, clock=clock)
    breaker.failed()
    clock.now += 10
    breaker.before_call()  # the trial
    with pytest.raises(LlmUnavailable):
        breaker.before_call()  # a second caller while the trial runs
    breaker.released()  # the trial ended in a bug, not a verdict: the next one may try
    breaker.before_call()
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED


def test_an_unexpected_error_releases_the_trial():
    clock = FakeClock()
    breaker = CircuitBreaker(failures=1, open_seconds=10, clock=clock)
    breaker.failed()
    clock.now += 10

    def boom(request: LlmRequest) -> Any:
        raise RuntimeError("a bug")

    llm = GuardedLlm(ScriptedLlm(boom), breaker)
    with pytest.raises(RuntimeError):
        llm.complete(REQUEST)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.before_call()  # not stuck behind a trial that ended


def test_the_breaker_is_thread_safe():
    breaker = CircuitBreaker(failures=50, open_seconds=60, clock=FakeClock())
    llm = GuardedLlm(ScriptedLlm(LlmFailed()), breaker)
    unavailable = []

    def hammer() -> None:
        for _ in range(20):
            try:
                llm.complete(REQUEST)
            except LlmUnavailable:
                unavailable.append(1)
            except LlmFailed:
                pass

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.state is BreakerState.OPEN
    assert len(llm.inner.requests) + len(unavailable) == 160  # type: ignore[attr-defined]
    assert len(llm.inner.requests) >= 50  # type: ignore[attr-defined]


# -- make_llm -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {},  # nothing configured
        {"pau_llm_provider": "anthropic"},  # no key
        {"pau_llm_provider": "anthropic", "anthropic_api_key": ""},
        {"pau_llm_provider": "none", "anthropic_api_key": "sk-ant-x"},
        {"pau_llm_provider": "openai"},  # no server URL
        {"pau_llm_provider": "openai", "pau_llm_base_url": ""},
    ],
)
def test_make_llm_is_none_without_a_model(settings: dict[str, Any]):
    assert make_llm(Settings(**settings)) is None


def test_settings_pick_anthropic_when_its_key_is_set():
    assert Settings().llm_provider == "none"
    assert Settings(anthropic_api_key="sk-ant-x").llm_provider == "anthropic"
    assert Settings(pau_llm_provider="", anthropic_api_key="sk-ant-x").llm_provider == "anthropic"


def test_make_llm_answers_through_the_configured_fake(provider: Provider):
    fake = provider.fake
    if provider.name == "anthropic":
        settings = Settings(anthropic_api_key=fake.api_key, anthropic_base_url=fake.base_url)  # type: ignore[attr-defined]
    else:
        settings = Settings(
            pau_llm_provider="openai", pau_llm_base_url=f"{fake.base_url}/v1",
            pau_llm_api_key=fake.api_key, pau_llm_model="llama3.1:8b",  # type: ignore[attr-defined]
        )  # fmt: skip
    llm = make_llm(settings.model_copy(update={"pau_llm_timeout": 1.5, "pau_llm_max_retries": 0}))
    assert isinstance(llm, GuardedLlm)
    try:
        assert llm.complete(REQUEST).text == fake.default_text
        assert fake.requests[0].headers["x-stainless-read-timeout"] == "1.5"
        assert fake.requests[0].headers["x-stainless-retry-count"] == "0"
    finally:
        llm.close()


def test_an_ollama_server_needs_no_key():
    with FakeOpenAiApi(api_key="unused") as fake:
        settings = Settings(pau_llm_provider="openai", pau_llm_base_url=f"{fake.base_url}/v1")
        llm = make_llm(settings)
        assert llm is not None
        try:
            assert llm.complete(REQUEST).text
        finally:
            llm.close()
