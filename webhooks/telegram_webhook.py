"""POST /webhooks/telegram: verify the secret, parse, store (deduplicated), answer 200 at once.

The dialogue runs later in the background jobs; only the button spinner (answerCallbackQuery)
and the "typing…" action go out right after the 200, as background tasks.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import replace

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.telegram import CHANNEL
from bot.telegram_updates import TelegramInbound, parse_update
from core.events import EventKind
from core.logs import failure
from storage.channel_state import poll_item, set_reachable
from storage.db import transaction
from storage.learner_store import Ingested, ingest
from webhooks import metrics
from webhooks.container import Pau

log = logging.getLogger(__name__)
router = APIRouter()
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1_000_000


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


@router.post("/webhooks/telegram")
async def telegram_webhook(request: Request, background: BackgroundTasks) -> JSONResponse:
    pau: Pau = request.app.state.pau
    secret = pau.settings.telegram_webhook_secret
    if pau.telegram is None or secret is None or not secret.get_secret_value():
        # no secret, no webhook: an empty one would let anybody post updates
        return _error(404, "the Telegram channel is not configured (token and secret)")
    given = request.headers.get(SECRET_HEADER)
    if given is None:
        return _error(401, "missing secret token")
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        return _error(403, "wrong secret token")
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        return _error(413, "update too large")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _error(413, "update too large")
    try:
        inbound = parse_update(json.loads(body), pau.telegram.bot)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # JSONDecodeError too
        metrics.count_inbound(CHANNEL, "refused")
        return _error(400, f"malformed update: {str(error)[:100]}")
    if inbound is None:
        return JSONResponse({"ok": True, "ignored": True})
    if inbound.blocked is not None:  # (un)blocked: noted for a known learner, never a new one
        await run_in_threadpool(note_block, pau, inbound)
        return JSONResponse({"ok": True})
    try:
        ingested = await run_in_threadpool(store, pau, inbound)
    except SQLAlchemyError as error:  # the database is away: Telegram delivers it again later
        failure(log, "storing an update", error=error, channel=CHANNEL)
        return _error(503, "storage unavailable, try again")
    metrics.count_inbound(CHANNEL, "duplicate" if ingested.duplicate else "stored")
    if not ingested.duplicate:
        pau.request_work()
        if inbound.callback_query_id:
            background.add_task(pau.telegram.answer_callback, inbound.callback_query_id)
        elif inbound.event.kind in (EventKind.TEXT, EventKind.COMMAND):
            background.add_task(pau.telegram.typing, inbound.sender_id)
    return JSONResponse({"ok": True, "duplicate": ingested.duplicate})


def note_block(pau: Pau, inbound: TelegramInbound) -> None:
    with transaction(pau.engine) as session:
        set_reachable(
            session, channel=CHANNEL, address=inbound.sender_id, reachable=not inbound.blocked
        )


def store(pau: Pau, inbound: TelegramInbound) -> Ingested:
    """One transaction: the poll's quiz item looked up, then the event stored (deduplicated).
    Short and what the platform waits for: first in line for SQLite's write lock."""
    event = inbound.event
    with transaction(pau.engine, urgent=True) as session:
        if inbound.poll_id is not None:
            item = poll_item(session, poll_id=inbound.poll_id)
            event = replace(event, ref=item or "unknown-poll")  # unknown: answered as "closed"
        return ingest(
            session,
            channel=CHANNEL,
            sender_id=inbound.sender_id,
            # Telegram picks update ids at random again after a week without updates; with the
            # chat id in the key an old id cannot swallow a new message from someone else.
            platform_message_id=f"{inbound.sender_id}:{inbound.update_id}",
            event=event,
            received_at=pau.clock(),
            secret=pau.settings.secret_key_bytes,
            sequence=inbound.update_id,
        )
