"""WhatsAppSender through the real pywa_async client against the loopback Graph API fake, which
refuses what Meta refuses: every reply kind within WhatsApp's limits, the course Markdown as
WhatsApp formatting, uploads, templates, each error code as the core.errors class the outbox acts
on, the 24-hour window, the number's throughput and a learner's pace."""

from __future__ import annotations

import asyncio
import time
import unicodedata
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.whatsapp import WhatsAppSender, make_client
from bot.whatsapp_render import render, shorten, split_tail
from core.errors import (
    ConfigurationError,
    DeliveryOutcomeUnknown,
    LearnerUnreachable,
    OutsideWindow,
    PermanentDelivery,
    RetryableDelivery,
)
from core.replies import (
    Choices,
    File,
    Image,
    Option,
    Quiz,
    Reply,
    Template,
    Text,
    Typing,
    utf16_units,
)
from tests.fakes.graph_api import LEARNER_USER_ID, PHONE_ID, TOKEN, FakeGraphApi

ADA = LEARNER_USER_ID
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGraphApi]:
    with FakeGraphApi() as api:
        yield api


@pytest.fixture
def fake(server: FakeGraphApi) -> Iterator[FakeGraphApi]:
    server.reset()
    server.rate_per_second = 80
    yield server
    server.reset()


@pytest.fixture
def closed() -> set[str]:
    """Addresses whose 24-hour window is closed (every other one is open)."""
    return set()


def new_sender(fake: FakeGraphApi, closed: set[str], **options: Any) -> WhatsAppSender:
    timeouts = {k: options.pop(k) for k in ("read_timeout",) if k in options}
    client = make_client(phone_id=PHONE_ID, token=TOKEN, base_url=fake.base_url, **timeouts)
    options.setdefault("per_recipient_per_second", 1000.0)
    return WhatsAppSender(client, lambda address: address not in closed, **options)


@pytest.fixture
async def sender(fake: FakeGraphApi, closed: set[str]) -> AsyncIterator[WhatsAppSender]:
    made = new_sender(fake, closed)
    yield made
    await made.close()


def interactive(fake: FakeGraphApi) -> list[dict[str, Any]]:
    return [body["interactive"] for body in fake.messages() if body["type"] == "interactive"]


def refused(fake: FakeGraphApi) -> list[int]:
    return [call.status for call in fake.calls if not call.ok]


def options(*labels: str) -> tuple[Option, ...]:
    return tuple(Option(f"opt:{i}", label) for i, label in enumerate(labels))


# -- rendering within the limits ----------------------------------------------------------------

EMOJI = ["👨‍👩‍👧", "👍🏽", "🇩🇪", "❤️", "😀"]


def long_text() -> str:
    words = [f"word{i}{EMOJI[i % len(EMOJI)]}" if i % 7 == 0 else f"w{i}" for i in range(1800)]
    paragraphs = [" ".join(words[i : i + 150]) for i in range(0, len(words), 150)]
    text = "\n\n".join(paragraphs)
    assert len(text) > 10_000
    return text


async def test_a_long_text_with_emoji_splits_without_cutting_a_word(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    text = long_text()
    await sender.send(ADA, Text(text))
    pieces = fake.sent_texts(ADA)
    assert len(pieces) >= 3 and refused(fake) == []
    assert all(utf16_units(piece) <= 4096 for piece in pieces)
    assert [word for piece in pieces for word in piece.split()] == text.split()
    for piece in pieces:  # no piece starts or ends inside a character sequence
        assert unicodedata.category(piece[0]) not in ("Mn", "Sk", "Cf")
        assert not piece.endswith("\u200d")


async def test_course_markdown_becomes_whatsapp_formatting(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    await sender.send(ADA, Text("**Spacing** beats *cramming*; 3 * 4 * 5 stays."))
    await sender.send(ADA, Choices("Ready for **part 2**?", options("*Yes*", "No")))
    assert fake.sent_texts() == [
        "*Spacing* beats _cramming_; 3 * 4 * 5 stays.",
        "Ready for *part 2*?",
    ]
    titles = [b["reply"]["title"] for b in interactive(fake)[0]["action"]["buttons"]]
    assert titles == ["Yes", "No"]  # buttons are never formatted


@pytest.mark.parametrize("count", [2, 3])
async def test_up_to_three_options_are_reply_buttons(
    fake: FakeGraphApi, sender: WhatsAppSender, count: int
) -> None:
    labels = ["Yes please", "Not now", "Tell me more about it first"][:count]
    await sender.send(ADA, Choices("Shall we start?", options(*labels)))
    [message] = interactive(fake)
    assert message["type"] == "button" and message["body"] == {"text": "Shall we start?"}
    replies = [button["reply"] for button in message["action"]["buttons"]]
    assert [reply["id"] for reply in replies] == [f"opt:{i}" for i in range(count)]
    assert [reply["title"] for reply in replies] == [shorten(label, 20) for label in labels]
    assert all(len(reply["title"]) <= 20 for reply in replies)
    if count == 3:
        assert replies[2]["title"] == "Tell me more about…"


@pytest.mark.parametrize("count", [4, 10])
async def test_four_to_ten_options_are_a_list(
    fake: FakeGraphApi, sender: WhatsAppSender, count: int
) -> None:
    labels = [f"Topic {i}: retrieval practice and spacing" for i in range(count)]
    await sender.send(ADA, Choices("Pick a topic", options(*labels)))
    [message] = interactive(fake)
    assert message["type"] == "list" and message["action"]["button"] == "Choose"
    [section] = message["action"]["sections"]
    assert [row["id"] for row in section["rows"]] == [f"opt:{i}" for i in range(count)]
    for row, label in zip(section["rows"], labels, strict=True):
        assert utf16_units(row["title"]) <= 24 and row["title"].endswith("…")
        assert row["description"] == label  # the whole label, within 72


async def test_shortened_titles_that_collide_become_a_list(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    labels = ["Review the chapter on memory", "Review the chapter on sleep"]
    await sender.send(ADA, Choices("Next?", options(*labels)))
    [message] = interactive(fake)
    assert message["type"] == "list"
    assert [row["description"] for row in message["action"]["sections"][0]["rows"]] == labels


async def test_more_than_ten_options_are_refused_before_sending(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    with pytest.raises(PermanentDelivery, match="11 options"):
        await sender.send(ADA, Choices("Too many", options(*map(str, range(11)))))
    assert fake.calls == []


async def test_a_long_prompt_goes_first_and_the_body_keeps_its_end(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    prompt = "\n\n".join(f"Paragraph {i} " + "lorem ipsum " * 30 for i in range(6))
    await sender.send(ADA, Choices(prompt, options("Yes", "No")))
    lead, body = fake.sent_texts()
    assert utf16_units(body) <= 1024 and lead.split() + body.split() == prompt.split()
    assert body.startswith("Paragraph")


async def test_a_quiz_as_buttons_with_answer_ids(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    quiz = Quiz("Which *helps* recall most?", ("Rereading", "Testing", "Highlighting"), 1, "", "q7")
    await sender.send(ADA, quiz)
    [message] = interactive(fake)
    assert message["body"]["text"] == "Which _helps_ recall most?"
    replies = [button["reply"] for button in message["action"]["buttons"]]
    assert replies == [
        {"id": "answer:q7:0", "title": "Rereading"},
        {"id": "answer:q7:1", "title": "Testing"},
        {"id": "answer:q7:2", "title": "Highlighting"},
    ]


async def test_quiz_options_too_long_for_buttons_are_read_in_the_body(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    choices = ("Reading it again slowly", "Recalling it without notes", "Underlining key words")
    await sender.send(ADA, Quiz("Best way to learn?", choices, 1, "", "q8"))
    [message] = interactive(fake)
    assert message["body"]["text"] == (
        "Best way to learn?\n\nA. Reading it again slowly\nB. Recalling it without notes\n"
        "C. Underlining key words"
    )
    assert [b["reply"] for b in message["action"]["buttons"]] == [
        {"id": f"answer:q8:{i}", "title": letter} for i, letter in enumerate("ABC")
    ]


async def test_a_quiz_with_four_options_is_a_list(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    await sender.send(
        ADA, Quiz("Pick one", ("One", "Two", "Three", "A fourth, rather long option"), 0, "", "q9")
    )
    rows = interactive(fake)[0]["action"]["sections"][0]["rows"]
    assert [row["id"] for row in rows] == [f"answer:q9:{i}" for i in range(4)]
    assert rows[0] == {"id": "answer:q9:0", "title": "One"}
    assert rows[3]["description"] == "A fourth, rather long option"
    long_options = tuple(f"Option {i} " + "with many words " * 6 for i in range(5))
    await sender.send(ADA, Quiz("Pick again", long_options, 0, "", "q10"))
    message = interactive(fake)[1]
    assert "E. Option 4" in message["body"]["text"]
    assert [row["title"] for row in message["action"]["sections"][0]["rows"]] == list("ABCDE")
    assert refused(fake) == []


async def test_a_quiz_without_options_is_a_question(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    await sender.send(ADA, Quiz("Fill in: the ___ effect", (), 0, "", "q11"))
    assert fake.sent_texts() == ["❓ Fill in: the ___ effect"]


async def test_an_image_is_uploaded_then_sent_with_its_caption(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    await sender.send(ADA, Image(PNG, "Your *week*"))
    [upload] = fake.uploads
    assert (upload.mime_type, upload.filename, upload.data) == ("image/png", "progress.png", PNG)
    assert [call.kind for call in fake.calls] == ["media", "message"]
    assert fake.messages()[0]["image"] == {"id": upload.id, "caption": "Your _week_"}


async def test_a_file_is_uploaded_then_sent_as_a_document(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    await sender.send(ADA, File("pau-export.json", b'{"a": 1}', "application/json", "Your data"))
    [upload] = fake.uploads
    assert fake.messages()[0]["document"] == {
        "id": upload.id, "caption": "Your data", "filename": "pau-export.json",
    }  # fmt: skip


async def test_a_caption_over_the_limit_follows_as_text(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    caption = "word " * 300
    await sender.send(ADA, Image(PNG, caption))
    image, text = fake.messages()
    assert "caption" not in image["image"] and text["text"]["body"] == caption.strip()


async def test_a_template_with_body_parameters(fake: FakeGraphApi, sender: WhatsAppSender) -> None:
    fake.approve_template("pau_nudge", "en", parameters=2)
    await sender.send(ADA, Template("pau_nudge", "en", ("Ada", "Spacing\nand  recall")))
    template = fake.messages()[0]["template"]
    assert template["name"] == "pau_nudge" and template["language"] == {"code": "en"}
    assert template["components"][0]["parameters"] == [
        {"type": "text", "text": "Ada"}, {"type": "text", "text": "Spacing and recall"},
    ]  # fmt: skip
    with pytest.raises(PermanentDelivery, match="language"):
        await sender.send(ADA, Template("pau_nudge", "xx_YY"))


async def test_typing_is_not_a_message(fake: FakeGraphApi, sender: WhatsAppSender) -> None:
    assert await sender.send(ADA, Typing()) is None
    assert fake.calls == [] and render(Typing()) == []


async def test_send_returns_the_wamid_of_the_last_message(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    """Delivery statuses name the wamid: the outbox keeps it (the last one, for a reply sent as
    several messages: a long prompt and its buttons, an image and its long caption)."""
    first = await sender.send(ADA, Text("hi"))
    second = await sender.send(ADA, Image(PNG, "word " * 300))
    third = await sender.send(ADA, Template("pau_nudge", "en"))
    assert fake.wamids(ADA) == [first, fake.wamids()[1], second, third]
    assert len({first, second, third}) == 3


async def test_mark_read_and_typing_is_best_effort(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    assert await sender.mark_read_and_typing("wamid.IN1")
    assert await sender.mark_read_and_typing("wamid.IN2", typing=False)
    fake.fail_next(500, endpoint="read")
    assert not await sender.mark_read_and_typing("wamid.IN3")
    assert [read.get("typing_indicator") for read in fake.reads()] == [{"type": "text"}, None]


# -- the 24-hour window -------------------------------------------------------------------------

CLOSED_REPLIES: list[Reply] = [
    Text("A late tutor answer"),
    Choices("Continue?", options("Yes", "No")),
    Quiz("Q?", ("a", "b"), 0, "", "q1"),
    Image(PNG),
    File("a.json", b"{}", "application/json"),
]


@pytest.mark.parametrize("reply", CLOSED_REPLIES, ids=lambda reply: type(reply).__name__)
async def test_a_closed_window_refuses_before_anything_is_sent(
    fake: FakeGraphApi, sender: WhatsAppSender, closed: set[str], reply: Reply
) -> None:
    closed.add(ADA)
    with pytest.raises(OutsideWindow):
        await sender.send(ADA, reply)
    assert fake.calls == []


async def test_templates_go_when_the_window_is_closed(
    fake: FakeGraphApi, sender: WhatsAppSender, closed: set[str]
) -> None:
    closed.add(ADA)
    await sender.send(ADA, Template("pau_nudge", "de", ("Ada",)))
    assert [body["type"] for body in fake.messages(ADA)] == ["template"]


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected", "retry_after"),
    [
        (130429, RetryableDelivery, 2.0),
        (131056, RetryableDelivery, 6.0),
        (131047, OutsideWindow, None),
        (131026, PermanentDelivery, None),
        (131009, PermanentDelivery, None),
        (190, RetryableDelivery, 300.0),  # the token: the operator fixes it, nothing is lost
        (500, RetryableDelivery, None),
        (503, RetryableDelivery, None),
        (131000, RetryableDelivery, None),
    ],
)
async def test_each_error_code_maps_to_its_core_error(
    fake: FakeGraphApi, sender: WhatsAppSender, code: int, expected: type[Exception],
    retry_after: float | None,
) -> None:  # fmt: skip
    fake.fail_next(code)
    with pytest.raises(expected) as caught:
        await sender.send(ADA, Text("hi"))
    assert type(caught.value) is expected  # not a subclass: 5xx is not "outcome unknown"
    assert getattr(caught.value, "retry_after", None) == retry_after
    assert not isinstance(caught.value, LearnerUnreachable)
    assert str(code) in str(caught.value) or code >= 500


async def test_an_answer_after_the_read_timeout_is_outcome_unknown(
    fake: FakeGraphApi, closed: set[str]
) -> None:
    impatient = new_sender(fake, closed, read_timeout=0.2)
    fake.answer_late(0.6)
    try:
        with pytest.raises(DeliveryOutcomeUnknown, match="ReadTimeout"):
            await impatient.send(ADA, Text("hi"))
    finally:
        await impatient.close()
    assert fake.sent_texts() == ["hi"]  # it did arrive


async def test_an_api_that_is_down_is_retryable_not_unknown() -> None:
    with FakeGraphApi() as gone:
        base_url = gone.base_url  # nothing listens there once it stopped
    client = make_client(phone_id=PHONE_ID, token=TOKEN, base_url=base_url)
    down = WhatsAppSender(client, lambda _: True)
    try:
        with pytest.raises(RetryableDelivery) as caught:
            await down.send(ADA, Text("hi"))
        assert type(caught.value) is RetryableDelivery and "ConnectError" in str(caught.value)
    finally:
        await down.close()


async def test_a_failed_upload_is_retryable_and_sends_nothing(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    fake.fail_next(503, endpoint="media")
    with pytest.raises(RetryableDelivery):
        await sender.send(ADA, Image(PNG, "chart"))
    assert fake.messages(failed=True) == []


async def test_a_refused_piece_does_not_stop_the_others(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    fake.fail_next(131009)
    with pytest.raises(PermanentDelivery, match="message 1 of 2"):
        await sender.send(ADA, Image(PNG, "word " * 300))
    assert [body["type"] for body in fake.messages()] == ["text"]


async def test_addresses_that_are_not_whatsapp_ids_are_refused(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    for address in ("", "abc", "123"):
        with pytest.raises(PermanentDelivery):
            await sender.send(address, Text("hi"))
    await sender.send("+16315551181", Text("by number"))
    assert fake.messages()[0]["to"] == "+16315551181"


# -- pacing -------------------------------------------------------------------------------------


async def test_a_burst_stays_within_80_a_second_with_nothing_lost_or_doubled(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    learners = [f"US.{100 + i}" for i in range(200)]
    await asyncio.gather(*(sender.send(learner, Text(f"hi {learner}")) for learner in learners))
    assert refused(fake) == []  # the fake answers 130429 beyond 80 in any second
    assert 70 <= fake.max_rate_overall() <= 80
    assert sorted(body["recipient"] for body in fake.messages()) == sorted(learners)
    assert len(set(fake.wamids())) == 200


async def test_one_learner_gets_a_burst_then_a_steady_pace_in_order(
    fake: FakeGraphApi, closed: set[str]
) -> None:
    paced = new_sender(fake, closed, per_recipient_per_second=10.0, per_recipient_burst=2)
    try:
        started = time.monotonic()
        for number in range(6):
            await paced.send(ADA, Text(f"bubble {number}"))
        elapsed = time.monotonic() - started
    finally:
        await paced.close()
    assert elapsed >= 0.35  # 2 at once, then 4 at 10 a second
    assert fake.sent_texts(ADA) == [f"bubble {number}" for number in range(6)]
    assert fake.rate_of(ADA, window=0.09) <= 2


# -- the client ---------------------------------------------------------------------------------


async def test_the_base_url_keeps_a_path_prefix_and_the_client_closes(
    fake: FakeGraphApi, closed: set[str]
) -> None:
    client = make_client(phone_id=PHONE_ID, token=TOKEN, base_url=f"{fake.base_url}/graph")
    prefixed = WhatsAppSender(client, lambda _: True)
    with pytest.raises(PermanentDelivery):  # the fake serves no /graph prefix: "unknown path"
        await prefixed.send(ADA, Text("hi"))
    assert fake.calls[0].path == f"/graph/v23.0/{PHONE_ID}/messages"
    await prefixed.close()
    assert client.session.is_closed


def test_make_client_refuses_what_cannot_work() -> None:
    with pytest.raises(ConfigurationError):
        make_client(phone_id="", token=TOKEN)
    with pytest.raises(ConfigurationError):
        make_client(phone_id=PHONE_ID, token=TOKEN, base_url="ftp://example.org")
    with pytest.raises(ConfigurationError):
        make_client(phone_id=PHONE_ID, token=TOKEN, api_version="v23")


def test_split_tail_and_shorten() -> None:
    assert split_tail("one two three", 9) == ("one two", "three")
    assert split_tail("para one\n\npara two", 12) == ("para one", "para two")
    assert shorten("A rather long button label", 20) == "A rather long…"
    assert shorten("👍🏽" * 30, 20).endswith("…") and utf16_units(shorten("👍🏽" * 30, 20)) <= 20
    assert shorten("short", 20) == "short"
