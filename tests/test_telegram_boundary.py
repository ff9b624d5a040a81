"""The Telegram webhook's boundary: whatever an authenticated sender posts, the answer is a 200, a
400 with a reason, or a 413, never a 5xx; and what is accepted can always be processed."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.telegram_api import update_payload
from tests.test_telegram import SECRET, ada, client, fake, post, stored, telegram_pau  # noqa: F401
from webhooks.container import Pau


def nested(depth: int) -> str:
    return '{"update_id": 1, "message": ' + "[" * depth + "]" * depth + "}"


def with_path(name: str, path: list[Any], value: Any) -> dict[str, Any]:
    payload = update_payload(name)
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


# The cases seen when PAU was probed by a sender holding the secret (issue 8).
REFUSED = {
    "JSON nested 1,000 levels": nested(1000),
    "a message without a chat": json.dumps(with_path("message_text", ["message", "chat"], None)),
    "update_id of 2^63": json.dumps(with_path("message_text", ["update_id"], 2**63)),
    "update_id true": json.dumps(with_path("message_text", ["update_id"], True)),
    "a date out of range": json.dumps(with_path("message_text", ["message", "date"], 10**20)),
    "a list as poll_id": json.dumps(with_path("poll_answer", ["poll_answer", "poll_id"], ["x"])),
    "a chat id of 10^200": json.dumps(
        with_path("message_text", ["message", "chat", "id"], 10**200)
    ),
    'option_ids ["a"]': json.dumps(with_path("poll_answer", ["poll_answer", "option_ids"], ["a"])),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_bodies_that_cannot_be_updates_get_400_and_nothing_is_stored(
    client: httpx.AsyncClient, telegram_pau: Pau, case: str
) -> None:
    response = await post(client, REFUSED[case])
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("malformed update")
    assert stored(telegram_pau) == 0


@pytest.mark.parametrize("text", ["Ad\ud800a", "Ada\x00", "\x00\x00"])
async def test_text_storage_cannot_hold_is_cleaned_before_it_is_stored(
    client: httpx.AsyncClient, telegram_pau: Pau, text: str
) -> None:
    body = json.dumps(update_payload("message_text", text=text))  # \ud800 travels as an escape
    assert (await post(client, body)).status_code == 200
    await telegram_pau.drain()
    with telegram_pau.engine.connect() as connection:
        errors = connection.execute(
            sa.text("SELECT count(*) FROM inbound_message WHERE error IS NOT NULL")
        ).scalar()
        payloads = (
            connection.execute(sa.text("SELECT payload FROM inbound_message")).scalars().all()
        )
    assert errors == 0
    assert all("\\u0000" not in str(p) and "\\ud800" not in str(p) for p in payloads)


# -- fuzzing: real Updates, mutated ----------------------------------------------------------

RECORDED = ["message_text", "command_start", "callback_query", "poll_answer", "photo", "sticker",
            "my_chat_member_blocked", "edited_message", "group_message"]  # fmt: skip
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), st.text(max_size=30), st.just("\ud800"), st.just("\x00"),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.just("🙂" * 50), st.just("e\u0301\u200d\ufeff\U0010ffff"), st.builds(lambda: json.loads(nested(60))["message"]),
)  # fmt: skip


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append((*prefix, key))
            found.extend(paths(inner, (*prefix, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.append((*prefix, index))
            found.extend(paths(inner, (*prefix, index)))
    return found


@st.composite
def mutated_updates(draw: st.DrawFn) -> dict[str, Any]:
    payload = copy.deepcopy(update_payload(draw(st.sampled_from(RECORDED))))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(payload)))
        target = payload
        for key in where[:-1]:
            target = target[key]
        if draw(st.booleans()) and isinstance(target, dict):
            target.pop(where[-1], None)  # a field goes missing
        else:
            target[where[-1]] = draw(ODD_VALUES)
    return payload


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
@given(payload=mutated_updates())
async def test_mutated_updates_never_get_a_5xx_and_what_is_accepted_is_processed(
    client: httpx.AsyncClient, telegram_pau: Pau, payload: dict[str, Any]
) -> None:
    response = await post(client, json.dumps(payload))  # the ASGI client raises on any app error
    assert response.status_code in (200, 400), response.text
    await telegram_pau.drain()  # bounded: returns when nothing is due
    with telegram_pau.engine.connect() as connection:
        waiting = connection.execute(
            sa.text("SELECT count(*) FROM inbound_message WHERE processed_at IS NULL")
        ).scalar()  # fmt: skip
    assert waiting == 0  # everything accepted was processed (or set aside), none failed
