"""GET and POST /webhooks/whatsapp: Meta's verification challenge, then signed deliveries.

PAU owns the POST route (DESIGN.md §3: pywa's own would answer 422 to a missing signature and 200
to malformed JSON, and dedupe in memory only): the X-Hub-Signature-256 HMAC over the raw body is
checked with pywa's validator (missing: 401, wrong: 403, nothing stored), the body must be a
WhatsApp webhook (else 400, over 1 MB: 413), each message and status is stored once, raw, keyed on
its wamid, and the answer is 200 at once. Parsing with pywa comes afterwards, from the stored rows
(webhooks/whatsapp_channel.py), so a crash after the 200 loses nothing.
"""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pywa import utils as pywa_utils
from sqlalchemy.exc import SQLAlchemyError

from bot.whatsapp_updates import CHANNEL, Item, split_payload
from core.logs import failure
from storage.db import transaction
from storage.webhook_items import NewItem, store_items
from webhooks import metrics
from webhooks.container import Pau

log = logging.getLogger(__name__)
router = APIRouter()
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_BODY_BYTES = 1_000_000


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


@router.get("/webhooks/whatsapp")
async def verify(request: Request) -> Response:
    """Meta's subscription check: echo hub.challenge when hub.verify_token is ours."""
    pau: Pau = request.app.state.pau
    token = pau.settings.whatsapp_verify_token
    expected = token.get_secret_value() if token is not None else ""
    params = request.query_params
    given = params.get("hub.verify_token", "")
    subscribing = params.get("hub.mode") == "subscribe"
    if not (subscribing and expected and hmac.compare_digest(given.encode(), expected.encode())):
        return PlainTextResponse("forbidden", status_code=403)
    return PlainTextResponse(params.get("hub.challenge", ""))


@router.post("/webhooks/whatsapp")
async def deliveries(request: Request, background: BackgroundTasks) -> JSONResponse:
    pau: Pau = request.app.state.pau
    secret = pau.settings.whatsapp_app_secret
    if pau.whatsapp is None or secret is None or not secret.get_secret_value():
        return _error(404, "the WhatsApp channel is not configured (token and app secret)")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return _error(413, "delivery too large")
    body = await _body_within_limit(request)
    if body is None:
        return _error(413, "delivery too large")
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return _error(401, "missing signature")
    if not _signed(body, signature, secret.get_secret_value()):
        return _error(403, "wrong signature")
    try:
        items = split_payload(json.loads(body))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # JSONDecodeError too
        metrics.count_inbound(CHANNEL, "refused")
        return _error(400, f"not a WhatsApp webhook: {str(error)[:100]}")
    try:
        stored, duplicates = await run_in_threadpool(store, pau, items)
    except SQLAlchemyError as error:  # the database is away: Meta delivers it again later
        failure(log, "storing a WhatsApp delivery", error=error, channel=CHANNEL)
        return _error(503, "storage unavailable, try again")
    metrics.count_inbound(CHANNEL, "stored", stored)
    metrics.count_inbound(CHANNEL, "duplicate", duplicates)
    if stored:
        pau.request_work()
        for item in items:
            if item.kind == "message" and item.body_type in ("text", "interactive", "button"):
                background.add_task(pau.whatsapp.mark_read_and_typing, item.platform_id)
    return JSONResponse({"ok": True, "stored": stored, "duplicates": duplicates})


async def _body_within_limit(request: Request) -> bytes | None:
    """The raw body, read no further than the limit (a chunked body has no Content-Length)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _signed(body: bytes, signature: str, secret: str) -> bool:
    try:
        return bool(pywa_utils.webhook_updates_validator(
            app_secret=secret, request_body=body, x_hub_signature=signature
        ))  # fmt: skip
    except (TypeError, ValueError):  # a header that is not even hex (non-ASCII): wrong
        return False


def store(pau: Pau, items: list[Item]) -> tuple[int, int]:
    new = [NewItem(item.kind, item.dedupe_key, item.body) for item in items]
    with transaction(pau.engine, urgent=True) as session:
        return store_items(
            session, channel=CHANNEL, items=new, now=pau.clock(),
            secret=pau.settings.secret_key_bytes,
        )  # fmt: skip
