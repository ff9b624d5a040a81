"""The loopback Graph API fake, driven by the real pywa_async client (through bot/whatsapp.py's
make_client, whose transport points pywa at the fake), and the status webhooks it builds. These
tests also pin what pywa 4.5 does with Meta's answers: the exception classes the adapter relies
on, where it puts a user id, and what its status parser needs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pywa_async.client import WhatsApp
from pywa_async.errors import (
    ExpiredAccessToken,
    InvalidParameter,
    MediaUploadError,
    MessageUndeliverable,
    RateLimitHit,
    ReEngagementMessage,
    TemplateNotExists,
    TemplateParamCountMismatch,
    TooManyMessages,
    WhatsAppError,
)
from pywa_async.types import MessageStatus
from pywa_async.types.base_update import RawUpdate
from pywa_async.types.callback import Button, Section, SectionList, SectionRow
from pywa_async.types.templates import TemplateLanguage

from bot.whatsapp import WhatsAppClient, body_parameters, make_client
from tests.fakes.graph_api import (
    LEARNER_USER_ID,
    LEARNER_WA_ID,
    PHONE_ID,
    TOKEN,
    FakeGraphApi,
    failed_status_payload,
    status_payload,
)

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
async def client(fake: FakeGraphApi) -> AsyncIterator[WhatsAppClient]:
    made = make_client(phone_id=PHONE_ID, token=TOKEN, base_url=fake.base_url)
    yield made
    await made.aclose()


def buttons(*titles: str) -> list[Button]:
    return [Button(title=title, callback_data=f"id{i}") for i, title in enumerate(titles)]


def rows(count: int, title: str = "Row", description: str | None = None) -> SectionList:
    items = [
        SectionRow(title=f"{title}{i}"[:30], callback_data=f"row{i}", description=description)
        for i in range(count)
    ]
    return SectionList(button_title="Choose", sections=[Section(title="Options", rows=items)])


async def test_a_text_to_a_user_id_goes_as_recipient_and_comes_back_as_user_id(
    fake: FakeGraphApi, client: WhatsAppClient
) -> None:
    sent = await client.wa.send_message(to=LEARNER_USER_ID, text="Hello *Ada*")
    assert sent.to == LEARNER_USER_ID and sent.id.startswith("wamid.")
    [body] = fake.messages()
    assert body["recipient"] == LEARNER_USER_ID and "to" not in body  # pywa 4.5 puts ids there
    assert body["text"]["body"] == "Hello *Ada*"
    assert fake.sent_texts(LEARNER_USER_ID) == ["Hello *Ada*"]
    assert fake.calls[0].response["contacts"] == [
        {"input": LEARNER_USER_ID, "user_id": LEARNER_USER_ID}
    ]
    assert fake.wamids(LEARNER_USER_ID) == [sent.id]


async def test_a_phone_number_goes_as_to_and_the_wamids_are_unique(
    fake: FakeGraphApi, client: WhatsAppClient
) -> None:
    first = await client.wa.send_message(to="+1 631-555-1181", text="one")
    second = await client.wa.send_message(to=LEARNER_WA_ID, text="two")
    assert first.to == second.to == LEARNER_WA_ID
    assert first.id != second.id
    assert [body["to"] for body in fake.messages()] == ["+1 631-555-1181", LEARNER_WA_ID]
    assert fake.sent_texts(LEARNER_WA_ID) == ["two"]


def test_both_to_and_recipient_are_accepted_and_to_comes_first(fake: FakeGraphApi) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{fake.base_url}/v23.0/{PHONE_ID}/messages"
    body = {"messaging_product": "whatsapp", "type": "text", "text": {"body": "hi"}}
    both = httpx.post(url, json=body | {"to": LEARNER_WA_ID, "recipient": LEARNER_USER_ID},
                      headers=headers)  # fmt: skip
    assert both.json()["contacts"] == [{"input": LEARNER_WA_ID, "wa_id": LEARNER_WA_ID}]
    nobody = httpx.post(url, json=body, headers=headers)
    assert nobody.status_code == 400 and nobody.json()["error"]["code"] == 100
    assert set(nobody.json()["error"]) >= {"message", "type", "code", "fbtrace_id"}
    garbage = httpx.post(url, content=b"{not json", headers=headers)
    assert garbage.status_code == 400


async def test_interactive_buttons_and_lists_within_the_limits(
    fake: FakeGraphApi, client: WhatsAppClient
) -> None:
    wa = client.wa
    await wa.send_message(to=LEARNER_USER_ID, text="Pick", buttons=buttons("A" * 20, "B", "C"))
    await wa.send_message(to=LEARNER_USER_ID, text="Pick", buttons=rows(10, "R" * 20, "d" * 72))
    kinds = [body["interactive"]["type"] for body in fake.messages()]
    assert kinds == ["button", "list"]
    assert fake.sent_texts() == ["Pick", "Pick"]


@pytest.mark.parametrize(
    "markup",
    [
        buttons("A" * 21),
        buttons("A", "B", "C", "D"),
        buttons("Same", "Same"),
        [Button(title="A", callback_data="x" * 257)],
        rows(11),
        rows(2, "R" * 25),
        rows(2, "Row", "d" * 73),
        SectionList(
            button_title="B" * 21,
            sections=[Section(title="S", rows=[SectionRow(title="a", callback_data="a")])],
        ),
        SectionList(
            button_title="B",
            sections=[Section(title="S" * 25, rows=[SectionRow(title="a", callback_data="a")])],
        ),
        SectionList(
            button_title="B",
            sections=[
                Section(
                    title="S",
                    rows=[
                        SectionRow(title="a", callback_data="same"),
                        SectionRow(title="b", callback_data="same"),
                    ],
                )
            ],
        ),
    ],
    ids=[
        "title 21",
        "4 buttons",
        "same titles",
        "id 257",
        "11 rows",
        "row title 25",
        "description 73",
        "list button 21",
        "section title 25",
        "same row ids",
    ],
)
async def test_interactive_over_the_limits_is_invalid_parameter(
    fake: FakeGraphApi, client: WhatsAppClient, markup: list[Button] | SectionList
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        await client.wa.send_message(to=LEARNER_USER_ID, text="Pick", buttons=markup)
    assert caught.value.code == 131009 and caught.value.status_code == 400
    assert fake.messages() == [] and len(fake.messages(failed=True)) == 1


@pytest.mark.parametrize(
    ("text", "header", "footer"),
    [("x" * 1025, None, None), ("x", "h" * 61, None), ("x", None, "f" * 61)],
    ids=["body 1025", "header 61", "footer 61"],
)
async def test_interactive_body_header_and_footer_limits(
    client: WhatsAppClient, text: str, header: str | None, footer: str | None
) -> None:
    with pytest.raises(InvalidParameter):
        await client.wa.send_message(
            to=LEARNER_USER_ID, text=text, header=header, footer=footer, buttons=buttons("A")
        )


async def test_text_limit_counts_utf16_units(fake: FakeGraphApi, client: WhatsAppClient) -> None:
    await client.wa.send_message(to=LEARNER_USER_ID, text="x" * 4096)
    await client.wa.send_message(to=LEARNER_USER_ID, text="😀" * 2048)
    for text in ("x" * 4097, "😀" * 2049, ""):
        with pytest.raises(WhatsAppError) as caught:
            await client.wa.send_message(to=LEARNER_USER_ID, text=text)
        assert caught.value.code == 131009
    assert len(fake.messages()) == 2


async def test_templates_and_approved_templates(fake: FakeGraphApi, client: WhatsAppClient) -> None:
    wa = client.wa
    sent = await wa.send_template(
        to=LEARNER_USER_ID, name="anything", language=TemplateLanguage.ENGLISH
    )
    assert sent.status is not None and sent.status.value == "accepted"
    fake.approve_template("pau_nudge", "de", parameters=2)
    await wa.send_template(to=LEARNER_USER_ID, name="pau_nudge", language=TemplateLanguage("de"),
                           params=[body_parameters(("Ada", "Lesson 3"))])  # fmt: skip
    with pytest.raises(TemplateNotExists):
        await wa.send_template(
            to=LEARNER_USER_ID, name="anything", language=TemplateLanguage.ENGLISH
        )
    with pytest.raises(TemplateParamCountMismatch):
        await wa.send_template(
            to=LEARNER_USER_ID, name="pau_nudge", language=TemplateLanguage("de")
        )
    template = fake.messages()[1]["template"]
    assert template["language"] == {"code": "de"}
    assert template["components"] == [{"type": "body", "parameters": [
        {"type": "text", "text": "Ada"}, {"type": "text", "text": "Lesson 3"}]}]  # fmt: skip


async def test_media_upload_then_image_and_document(
    fake: FakeGraphApi, client: WhatsAppClient
) -> None:
    wa = client.wa
    media = await wa.upload_media(PNG, mime_type="image/png", filename="progress.png")
    assert media.id.isdigit()  # pywa reads a digit string as a media id, anything else not
    [upload] = fake.uploads
    assert (upload.id, upload.filename, upload.mime_type, upload.size) == (
        media.id, "progress.png", "image/png", len(PNG))  # fmt: skip
    assert upload.data == PNG
    await wa.send_image(to=LEARNER_USER_ID, image=media.id, caption="Your week")
    await wa.send_image(to=LEARNER_USER_ID, image="https://example.org/a.png")
    doc = await wa.upload_media(b'{"a": 1}', mime_type="application/json", filename="export.json")
    await wa.send_document(to=LEARNER_USER_ID, document=doc.id, filename="export.json")
    image, link, document = fake.messages()
    assert image["image"] == {"id": media.id, "caption": "Your week"}
    assert link["image"] == {"link": "https://example.org/a.png"}
    assert document["document"] == {"id": doc.id, "filename": "export.json"}
    with pytest.raises(WhatsAppError) as caught:
        await wa.send_image(to=LEARNER_USER_ID, image="999")
    assert caught.value.code == 100
    with pytest.raises(MediaUploadError):
        await wa.upload_media(b"MZ", mime_type="application/x-msdownload", filename="a.exe")
    assert [call.kind for call in fake.calls].count("media") == 3


async def test_mark_as_read_with_and_without_typing(
    fake: FakeGraphApi, client: WhatsAppClient
) -> None:
    await client.wa.mark_message_as_read("wamid.IN1")
    await client.wa.indicate_typing("wamid.IN2")
    assert fake.reads() == [
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"},
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN2",
         "typing_indicator": {"type": "text"}},
    ]  # fmt: skip
    assert fake.messages() == [] and fake.max_rate_overall() == 0  # not counted as sends


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (130429, RateLimitHit),
        (131056, TooManyMessages),
        (131026, MessageUndeliverable),
        (131047, ReEngagementMessage),
    ],
)
async def test_injected_errors_become_pywa_exceptions(
    fake: FakeGraphApi, client: WhatsAppClient, code: int, error_class: type[WhatsAppError]
) -> None:
    fake.fail_next(code)
    with pytest.raises(error_class) as caught:
        await client.wa.send_message(to=LEARNER_USER_ID, text="hi")
    assert caught.value.code == code and caught.value.status_code == 400
    await client.wa.send_message(to=LEARNER_USER_ID, text="hi")  # once only
    assert [call.status for call in fake.calls] == [400, 200]
    assert fake.calls[0].error_code == code


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_transient(
    fake: FakeGraphApi, client: WhatsAppClient, status: int
) -> None:
    fake.fail_next(status, times=2)
    for _ in range(2):
        with pytest.raises(WhatsAppError) as caught:
            await client.wa.send_message(to=LEARNER_USER_ID, text="hi")
        assert caught.value.status_code == status and caught.value.is_transient
    await client.wa.send_message(to=LEARNER_USER_ID, text="hi")


async def test_failures_target_a_recipient_an_endpoint_and_may_last(
    fake: FakeGraphApi, client: WhatsAppClient
) -> None:
    wa = client.wa
    fake.fail_next(131026, recipient="US.2", times=None)
    fake.fail_next(131000, endpoint="media")
    await wa.send_message(to=LEARNER_USER_ID, text="fine")
    for _ in range(3):
        with pytest.raises(MessageUndeliverable):
            await wa.send_message(to="US.2", text="never")
    with pytest.raises(WhatsAppError):
        await wa.upload_media(PNG, mime_type="image/png", filename="p.png")
    await wa.indicate_typing("wamid.X")  # reads are not sends
    fake.reset()
    await wa.send_message(to="US.2", text="now")
    assert fake.sent_texts("US.2") == ["now"]


async def test_auth_and_paths(fake: FakeGraphApi) -> None:
    bad = make_client(phone_id=PHONE_ID, token="EAAwrong", base_url=fake.base_url)
    other = make_client(phone_id="999", token=TOKEN, base_url=fake.base_url)
    try:
        with pytest.raises(ExpiredAccessToken) as caught:
            await bad.wa.send_message(to=LEARNER_USER_ID, text="hi")
        assert caught.value.status_code == 401
        with pytest.raises(WhatsAppError) as unknown:
            await other.wa.send_message(to=LEARNER_USER_ID, text="hi")
        assert unknown.value.code == 100 and unknown.value.subcode == 33
    finally:
        await bad.aclose()
        await other.aclose()


async def test_throughput_beyond_the_rate_is_130429(
    fake: FakeGraphApi, client: WhatsAppClient
) -> None:
    fake.rate_per_second = 5
    results = []
    for number in range(8):
        try:
            await client.wa.send_message(to=f"US.{number}", text="hi")
            results.append("ok")
        except RateLimitHit:
            results.append("130429")
    assert results == ["ok"] * 5 + ["130429"] * 3
    assert fake.max_rate_overall() == 8 and fake.max_rate_overall(accepted_only=True) == 5
    assert fake.max_rate_per_recipient() == 1 and fake.rate_of("US.0") == 1


async def test_a_late_answer_times_out_after_the_message_arrived(fake: FakeGraphApi) -> None:
    impatient = make_client(phone_id=PHONE_ID, token=TOKEN, base_url=fake.base_url,
                            read_timeout=0.2)  # fmt: skip
    fake.answer_late(0.6)
    try:
        with pytest.raises(httpx.ReadTimeout):
            await impatient.wa.send_message(to=LEARNER_USER_ID, text="hi")
    finally:
        await impatient.aclose()
    assert fake.sent_texts() == ["hi"]


async def test_a_server_that_is_down_is_a_connect_error() -> None:
    with FakeGraphApi() as gone:
        base_url = gone.base_url
    down = make_client(phone_id=PHONE_ID, token=TOKEN, base_url=base_url)
    try:
        with pytest.raises(httpx.ConnectError):
            await down.wa.send_message(to=LEARNER_USER_ID, text="hi")
    finally:
        await down.aclose()


async def test_waiting_for_calls(fake: FakeGraphApi, client: WhatsAppClient) -> None:
    await client.wa.send_message(to=LEARNER_USER_ID, text="hi")
    assert len(await fake.await_calls(1)) == 1
    with pytest.raises(AssertionError, match="timed out"):
        fake.wait_for(2, timeout=0.05)


# -- status webhooks ----------------------------------------------------------------------------


def parse(payload: dict[str, Any]) -> MessageStatus:
    """As a webhook would: pywa's parser on a client without a token (no network)."""
    raw = RawUpdate(json.dumps(payload).encode(), hmac_header=None, update_hash="test")
    return MessageStatus.from_update(WhatsApp(phone_id=PHONE_ID), raw)


@pytest.mark.parametrize("status", ["sent", "delivered", "read"])
def test_status_payloads_parse_with_pywa(status: str) -> None:
    payload = status_payload("wamid.A", LEARNER_USER_ID, status, wa_id=LEARNER_WA_ID)
    value = payload["entry"][0]["changes"][0]["value"]
    assert value["statuses"][0]["recipient_id"] == LEARNER_WA_ID
    assert value["statuses"][0]["recipient_user_id"] == LEARNER_USER_ID
    parsed = parse(payload)
    assert (parsed.id, parsed.status.value) == ("wamid.A", status)
    assert (parsed.from_user.bsuid, parsed.from_user.wa_id) == (LEARNER_USER_ID, LEARNER_WA_ID)
    assert parsed.metadata.phone_number_id == PHONE_ID


def test_status_to_a_phone_number_has_no_user_id() -> None:
    payload = status_payload("wamid.B", LEARNER_WA_ID, "delivered")
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status["recipient_id"] == LEARNER_WA_ID and "recipient_user_id" not in status
    assert parse(payload).from_user.wa_id == LEARNER_WA_ID


def test_failed_status_has_meta_shape_and_pywa_needs_contacts() -> None:
    payload = failed_status_payload("wamid.C", LEARNER_USER_ID)
    value = payload["entry"][0]["changes"][0]["value"]
    assert "contacts" not in value  # Meta leaves them out of failed statuses
    [error] = value["statuses"][0]["errors"]
    assert error["code"] == 131047 and error["error_data"]["details"]
    assert value["statuses"][0]["recipient_user_id"] == LEARNER_USER_ID
    with pytest.raises(KeyError, match="contacts"):  # pywa 4.5's MessageStatus reads contacts[0]
        parse(payload)
    parsed = parse(failed_status_payload("wamid.C", LEARNER_USER_ID, 131026,
                                                 with_contacts=True))  # fmt: skip
    assert parsed.status.value == "failed" and isinstance(parsed.error, MessageUndeliverable)
