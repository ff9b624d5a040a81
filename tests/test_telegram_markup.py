"""Lesson formatting on Telegram (issue 14, point 5): the course format's *emphasis* reaches the
Bot API as HTML with parse_mode "HTML", escaped so that no text can break the parse. Through the
real python-telegram-bot client and the loopback fake, which parses the HTML as Telegram does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import telegram
from telegram.error import BadRequest

from bot.telegram import TelegramSender, make_bot
from core.replies import Choices, Option, Quiz, Text
from tests.fakes.telegram_api import BOT_TOKEN, LEARNER_ID, Call, FakeBotApi
from tests.test_telegram import (  # noqa: F401
    TelegramLearner,
    ada,
    client,
    fake,
    telegram_pau,
)

CHAT = str(LEARNER_ID)


@pytest.fixture
async def sender(fake: FakeBotApi) -> AsyncIterator[TelegramSender]:
    async def remember(*_: str) -> None:
        return None

    telegram_sender = TelegramSender(make_bot(BOT_TOKEN, fake.base_url), remember, 100)
    yield telegram_sender
    await telegram_sender.stop()


def sent(fake: FakeBotApi) -> list[Call]:
    return [call for call in fake.calls_to("sendMessage") if call.ok]


async def test_a_lesson_with_lt_amp_and_asterisks_arrives_as_escaped_html(
    sender: TelegramSender, fake: FakeBotApi
) -> None:
    await sender.send(CHAT, Text("3 * 4 < 20 & *true*, so **remember** it 🙂"))
    [call] = sent(fake)
    assert call.params["parse_mode"] == "HTML"
    assert call.params["text"] == "3 * 4 &lt; 20 &amp; <i>true</i>, so <b>remember</b> it 🙂"
    assert call.result["text"] == "3 * 4 < 20 & true, so remember it 🙂"  # what Ada sees
    assert call.result["entities"] == [
        {"type": "italic", "offset": 13, "length": 4},
        {"type": "bold", "offset": 22, "length": 8},
    ]


async def test_a_prompt_with_buttons_is_html_and_its_labels_are_plain(
    sender: TelegramSender, fake: FakeBotApi
) -> None:
    options = (Option("yes", "*Yes*, let's go"), Option("no", "Not <now>"))
    await sender.send(CHAT, Choices("Ready for *one* more & then rest?", options))
    [call] = sent(fake)
    assert call.params["parse_mode"] == "HTML"
    assert call.params["text"] == "Ready for <i>one</i> more &amp; then rest?"
    labels = [row[0]["text"] for row in call.params["reply_markup"]["inline_keyboard"]]
    assert labels == ["Yes, let's go", "Not <now>"]  # buttons show no formatting


async def test_a_poll_loses_the_markers_and_a_typed_answer_question_is_html(
    sender: TelegramSender, fake: FakeBotApi
) -> None:
    quiz = Quiz(
        "Which is *spaced*?", ("All at once", "*Days* apart"), 1, "*Gaps* help & last.", "q1"
    )
    await sender.send(CHAT, quiz)
    [poll] = fake.calls_to("sendPoll")
    assert poll.params["question"] == "Which is spaced?"
    assert [option["text"] for option in poll.params["options"]] == ["All at once", "Days apart"]
    assert poll.params["explanation"] == "Gaps help & last."
    assert "parse_mode" not in poll.params and "question_parse_mode" not in poll.params
    await sender.send(CHAT, Quiz("Reviewing just before you ___ is *best* (x<y)", (), 0, "", "q2"))
    assert (
        sent(fake)[-1].params["text"] == "❓ Reviewing just before you ___ is <i>best</i> (x&lt;y)"
    )


async def test_long_texts_are_converted_per_piece_so_no_tag_spans_two_messages(
    sender: TelegramSender, fake: FakeBotApi
) -> None:
    # Escaping makes the HTML longer than 4,096, but Telegram counts the parsed text.
    await sender.send(CHAT, Text("*a&b* " * 1000))
    pieces = [call.params["text"] for call in sent(fake)]
    assert len(pieces) == 2 and all(p.count("<i>") == p.count("</i>") for p in pieces)
    assert len(pieces[0]) > 4096 and pieces[0].startswith("<i>a&amp;b</i> <i>a&amp;b</i>")
    # A pair cut in two by the split stays literal on both sides.
    fake.reset()
    await sender.send(CHAT, Text("y " * 2045 + "*ab cd* end"))
    first, second = (call.params["text"] for call in sent(fake))
    assert first.endswith("y *ab") and second == "cd* end"


async def test_the_first_lesson_shows_its_emphasis_and_a_learners_name_is_escaped(
    ada: TelegramLearner,
) -> None:
    await ada.say("/start")
    await ada.tap("yes")
    greeting = await ada.say("A<da & *Co*")
    calls = sent(ada.fake)
    assert all(call.params["parse_mode"] == "HTML" for call in calls)
    assert "A&lt;da &amp; <i>Co</i>" in greeting  # her own asterisks are formatted too
    await ada.tap("course:science-of-learning")
    await ada.tap("level:new")
    await ada.tap("time:morning")
    await ada.say("Berlin")
    lesson = await ada.tap("no")
    assert "<i>forgetting curve</i>" in lesson and "*forgetting curve*" not in lesson


# --- the fake parses HTML as Telegram does, so a mistake here would fail the tests above ---------


@pytest.mark.parametrize(
    "html", ["3 < 4", "<x>y</x>", "<b>open", "<b><i>crossed</b></i>", "a & b", "</i>"]
)
async def test_the_fake_refuses_html_telegram_cannot_parse(fake: FakeBotApi, html: str) -> None:
    async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:
        with pytest.raises(BadRequest, match="Can't parse entities"):
            await bot.send_message(LEARNER_ID, html, parse_mode="HTML")


async def test_the_fake_counts_the_parsed_text_against_the_limit(fake: FakeBotApi) -> None:
    async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:
        message = await bot.send_message(LEARNER_ID, "&amp;" * 4096, parse_mode="HTML")
        assert message.text == "&" * 4096
        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(LEARNER_ID, "&amp;" * 4097, parse_mode="HTML")
