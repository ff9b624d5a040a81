"""The tutor end to end on a real PAU (database, runner, command worker, outbox) with the real
langchain client and anthropic SDK talking to the loopback fake of the Messages API: a question
shows "typing…" at once, the grounded answer follows with its lesson, the activity resumes; an
explanation is graded by the model; with the provider down or over budget the course answers
and the learner is told so. No test reaches a real provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import func, select

from core.content import Course
from core.replies import Typing
from storage.content_repo import import_course
from storage.db import transaction
from storage.locks import LocalLocks
from storage.models import LlmUsageRecord as UsageRow
from tests.chat import ChatLearner, RecordingSender
from tests.conftest import TEST_SECRET_KEY, FixedClock, fresh_sqlite
from tests.fakes.anthropic_api import FakeAnthropicApi
from tests.fakes.llm_script import Error, Structured, Text
from webhooks.config import Settings
from webhooks.container import Pau
from webhooks.llm_setup import make_llm

ANSWER = (
    "Spread your reviews out: a day after, then a few days, then a week. Each return makes "
    "the memory last longer than cramming it in one go would."
)


@pytest.fixture
def fake() -> Iterator[FakeAnthropicApi]:
    with FakeAnthropicApi() as api:
        yield api


def tutored_pau(
    fake: FakeAnthropicApi, course: Course, clock: FixedClock, tokens_per_learner: int = 50_000
) -> Pau:
    """A PAU whose tutor is Claude through the real client, reaching the fake Messages API."""
    engine = fresh_sqlite()
    with transaction(engine) as session:
        import_course(session, course=course, now=clock())
    settings = Settings(
        database_url=str(engine.url), pau_secret_key=TEST_SECRET_KEY,
        anthropic_api_key=fake.api_key, anthropic_base_url=fake.base_url,
        pau_llm_timeout=2.0, pau_llm_max_retries=0,
        pau_llm_daily_tokens_per_learner=tokens_per_learner,
    )  # fmt: skip
    pau = Pau(settings=settings, engine=engine, locks=LocalLocks(), clock=clock,
              llm=make_llm(settings))  # fmt: skip
    pau.senders["test"] = RecordingSender()
    return pau


@pytest.fixture
def tutored(fake: FakeAnthropicApi, demo_course: Course, clock: FixedClock) -> Iterator[Pau]:
    pau = tutored_pau(fake, demo_course, clock)
    yield pau
    pau.close()


@pytest.fixture
def ada(tutored: Pau, clock: FixedClock) -> ChatLearner:
    learner = ChatLearner(tutored, "ada", clock)
    learner.onboard()
    return learner


def test_a_question_mid_lesson_is_answered_by_the_model_with_its_lesson_and_the_lesson_resumes(
    ada: ChatLearner, fake: FakeAnthropicApi
) -> None:
    fake.script(Text(ANSWER))
    replies = ada.send_event(ada_text("how should I space my reviews before an exam?"))
    assert isinstance(replies[0], Typing)  # the first sign of life, before the model answers
    shown = ChatLearner.text_of(replies)
    assert ANSWER in shown and "📖" in shown and "Back to the lesson" in shown
    [request] = fake.requests
    system = request.body["system"]
    assert system[0]["cache_control"] == {"type": "ephemeral"}  # the stable part is cached
    assert "<learner_message>" in str(request.body["messages"])


def test_an_explanation_is_graded_by_the_model(ada: ChatLearner, fake: FakeAnthropicApi) -> None:
    fake.script(
        Structured({"score": 0.5, "covered": ["1"], "missed": ["2"], "misconception": None,
                    "feedback": "You named the effort of recalling.\nAdd why it beats rereading."})
    )  # fmt: skip
    # today's three (lesson, quiz, reflection), then one more round ending in an explain-back
    for message in ("Continue", "1", "I will close the book and recall the main points"):
        ada.say(message)
    ada.tap("cmd:more")
    ada.say("Continue")
    ada.say("1")
    explained = ada.say("Forgetting is fastest right after learning and each review slows it.")
    assert "Add why it beats rereading." in explained  # the model's two lines of feedback
    [request] = fake.requests
    assert request.body.get("tool_choice")  # structured output: a forced tool call


def test_with_the_provider_down_the_course_answers_and_the_learner_is_told(
    ada: ChatLearner, fake: FakeAnthropicApi
) -> None:
    fake.script(Error(500), Error(500), Error(500))
    shown = ChatLearner.text_of(ada.send_event(ada_text("why do we forget things so fast?")))
    assert "The tutor isn't available right now" in shown
    assert "forget" in shown.lower() and "Back to the lesson" in shown


def test_over_the_daily_budget_no_call_is_made_and_the_learner_is_told(
    fake: FakeAnthropicApi, demo_course: Course, clock: FixedClock
) -> None:
    pau = tutored_pau(fake, demo_course, clock, tokens_per_learner=100)
    try:
        ada = ChatLearner(pau, "ada", clock)
        ada.onboard()
        fake.script(Text(ANSWER))
        ada.send_event(ada_text("how should I space my reviews before an exam?"))  # > 100 tokens
        with transaction(pau.engine) as session:
            spent = session.exec(select(func.sum(UsageRow.input_tokens))).one()
        assert spent and spent > 100  # recorded per learner and day
        shown = ChatLearner.text_of(ada.send_event(ada_text("and what about sleep before exams?")))
        assert len(fake.requests) == 1  # no second call
        assert "used today's tutor time" in shown and "Back to the lesson" in shown
    finally:
        pau.close()


def ada_text(text: str):  # type: ignore[no-untyped-def]
    from core.events import InboundEvent

    return InboundEvent.text_message(text)
