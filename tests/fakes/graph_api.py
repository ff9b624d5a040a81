"""A loopback fake of the WhatsApp Cloud API (Graph API) that the real pywa_async client talks to.

    with FakeGraphApi() as fake:
        wa = make_client(phone_id=PHONE_ID, token=TOKEN, base_url=fake.base_url)
        await wa.send_message(to=LEARNER_USER_ID, text="Hello")
        assert fake.sent_texts(LEARNER_USER_ID) == ["Hello"]

It serves ``POST /v{version}/{phone_id}/messages`` (text, interactive buttons and lists, template,
image and document by media id or link, and the mark-as-read call with its optional typing
indicator) and ``POST /v{version}/{phone_id}/media`` (multipart uploads) on 127.0.0.1, uvicorn in a
background thread, records every call and answers as Meta does: ``{"messaging_product":
"whatsapp", "contacts": [{"input", "wa_id" | "user_id"}], "messages": [{"id": "wamid.…"}]}`` (a
send to a business-scoped user id, "US.…", gets ``user_id`` back, a send to a phone number
``wa_id``, as the Cloud API does and pywa 4.5 reads). The recipient is ``to`` or ``recipient``,
``to`` first when both are given; either may hold a user id or a phone number.

It rejects what Meta rejects where PAU's limits matter, with Meta's error body (HTTP 400, ``{"error":
{"message", "type", "code", "error_data": {"details"}, "fbtrace_id"}}``, which pywa turns into the
exception class of the code): text body 1..4,096; interactive body ≤ 1,024, header ≤ 60, footer
≤ 60; 1..3 reply buttons, title 1..20, id 1..256, both unique; a list button 1..20, ≤ 10 sections,
≤ 10 rows in all, row title 1..24, description ≤ 72, id 1..200 and unique, a section title ≤ 24
(required when there are several); captions ≤ 1,024; media ids that were uploaded. Lengths count
UTF-16 code units, stricter than characters for emoji. A template is checked against
``approve_template`` registrations once there are any (132001 unknown, 132000 wrong count).

Tests steer it with ``fail_next`` (130429 throughput, 131056 pair rate, 131026 undeliverable,
131047 re-engagement, 5xx, any other code), ``rate_per_second`` (sends beyond it in any sliding
second are answered 130429, as Meta does), ``delay`` and ``answer_late``; and read it back with
``calls``, ``messages``, ``sent_texts``, ``wamids``, ``uploads``, ``max_rate_overall`` and
``max_rate_per_recipient``. ``status_payload`` and ``failed_status_payload`` build status webhooks
of Meta's shape for the webhook tests.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.graph_api_payloads import (
    BSUID,
    DISPLAY_PHONE_NUMBER,
    LEARNER_USER_ID,
    LEARNER_WA_ID,
    PHONE_ID,
    WABA_ID,
    failed_status_payload,
    status_payload,
)
from tests.fakes.graph_api_rules import ApiError, check_message, invalid, meta_error
from tests.fakes.loopback import LoopbackServer
from tests.fakes.telegram_api import FileUpload, _max_in_window, _parse_multipart

TOKEN = "EAAGFakeWhatsAppTokenForPauTests0123456789"
API_VERSION = "23.0"
__all__ = [
    "API_VERSION", "BSUID", "DISPLAY_PHONE_NUMBER", "LEARNER_USER_ID", "LEARNER_WA_ID",
    "PHONE_ID", "TOKEN", "WABA_ID", "Call", "FakeGraphApi", "MediaUpload",
    "failed_status_payload", "status_payload",
]  # fmt: skip
MEDIA_TYPES = {
    "image/png": 5_000_000, "image/jpeg": 5_000_000, "application/pdf": 100_000_000,
    "application/json": 100_000_000, "text/plain": 100_000_000, "text/csv": 100_000_000,
    "application/zip": 100_000_000,
}  # fmt: skip


@dataclass(frozen=True)
class MediaUpload:
    """One file uploaded to ``/media``; its ``id`` is what a message refers to."""

    id: str
    filename: str
    mime_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Call:
    """One request. ``kind``: "message" (a send), "read" (mark as read, with or without the
    typing indicator), "media" (an upload) or "other". ``timestamp`` is ``time.monotonic()``."""

    kind: str
    path: str
    body: dict[str, Any]
    recipient: str | None
    timestamp: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def error_code(self) -> int | None:
        error = self.response.get("error")
        return int(error["code"]) if isinstance(error, dict) else None

    @property
    def wamid(self) -> str | None:
        messages = self.response.get("messages")
        return str(messages[0]["id"]) if self.ok and messages else None


@dataclass
class _Failure:
    code: int
    status: int
    times: int | None  # None: until reset()
    recipient: str | None
    endpoint: str  # "message", "read", "media" or "*"

    def matches(self, kind: str, recipient: str | None) -> bool:
        return self.endpoint in ("*", kind) and (
            self.recipient is None or self.recipient == recipient
        )


class FakeGraphApi(LoopbackServer):
    """A Graph API server on a free loopback port; ``start()``/``stop()`` or ``with``."""

    def __init__(
        self, *, token: str = TOKEN, phone_id: str = PHONE_ID, rate_per_second: float = 80
    ) -> None:
        self.token = token
        self.phone_id = phone_id
        self.rate_per_second = rate_per_second
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        super().__init__(
            Starlette(
                routes=[
                    Route("/{version}/{phone_id}/messages", self._messages, methods=["POST"]),
                    Route("/{version}/{phone_id}/media", self._media, methods=["POST"]),
                    Route("/{path:path}", self._unknown, methods=["GET", "POST", "DELETE"]),
                ]
            )
        )
        self.reset()

    def reset(self) -> None:
        """Forget calls, uploads, failures, delays and approved templates (not the rate)."""
        with self._lock:
            self._calls: list[Call] = []
            self._failures: list[_Failure] = []
            self._uploads: dict[str, MediaUpload] = {}
            self._templates: dict[tuple[str, str], int] = {}
            self._accepted: list[float] = []  # arrival of accepted sends, for the throughput
            self._delay = 0.0
            self._late: tuple[float, int] = (0.0, 1)
            self._late_seen = 0
            self._ids = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """WHATSAPP_API_BASE_URL for this fake; the client adds ``/v{version}/...``."""
        return f"http://127.0.0.1:{self.port}"

    # -- steering --------------------------------------------------------------------------------

    def fail_next(
        self, code: int, *, status: int = 400, times: int | None = 1,
        recipient: str | None = None, endpoint: str = "message",
    ) -> None:  # fmt: skip
        """Answer the next ``times`` sends (to ``recipient``, if given) with Meta's error for
        ``code``: 130429, 131056, 131026, 131047, 131000, ... A code or status of 500..599 is a
        server error with Meta's body for it (``fail_next(503)`` or ``fail_next(131016,
        status=503)``). ``times=None`` keeps failing until ``reset()``. ``endpoint``: "message"
        (sends), "read" (mark as read), "media" (uploads) or "*"."""
        if 500 <= code < 600 and status == 400:
            status = code
        with self._lock:
            self._failures.append(_Failure(code, status, times, recipient, endpoint))

    def delay(self, seconds: float) -> None:
        """Answer every later request ``seconds`` late, before acting on it (0 to undo)."""
        with self._lock:
            self._delay = seconds

    def answer_late(self, seconds: float, *, every: int = 1) -> None:
        """Carry out every ``every``-th send at once but answer ``seconds`` later: past the
        client's read timeout the client cannot know it arrived. 0 seconds to undo."""
        with self._lock:
            self._late, self._late_seen = (seconds, every), 0

    def approve_template(self, name: str, language: str, *, parameters: int = 0) -> None:
        """From the first approval on, only approved templates (name, language code) are
        accepted, each with exactly its number of body parameters."""
        with self._lock:
            self._templates[(name, language)] = parameters

    # -- recorded calls --------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every request so far, in the order they were answered."""
        with self._lock:
            return list(self._calls)

    def messages(
        self, recipient: str | None = None, *, failed: bool = False
    ) -> list[dict[str, Any]]:
        """The JSON bodies of the accepted sends (``failed=True``: all attempts), in order."""
        return [
            call.body
            for call in self.calls
            if call.kind == "message"
            and (call.ok or failed)
            and (recipient is None or call.recipient == recipient)
        ]

    def sent_texts(self, recipient: str | None = None) -> list[str]:
        """What the learner reads: text bodies and interactive bodies of accepted sends."""
        texts = []
        for body in self.messages(recipient):
            if body.get("type") == "text":
                texts.append(body["text"]["body"])
            elif body.get("type") == "interactive":
                texts.append(body["interactive"].get("body", {}).get("text", ""))
        return texts

    def wamids(self, recipient: str | None = None) -> list[str]:
        """The message ids handed out, in order (for status webhooks about them)."""
        return [
            call.wamid
            for call in self.calls
            if call.kind == "message"
            and call.wamid
            and (recipient is None or call.recipient == recipient)
        ]

    def reads(self) -> list[dict[str, Any]]:
        """Bodies of the accepted mark-as-read calls (with ``typing_indicator`` when asked)."""
        return [call.body for call in self.calls if call.kind == "read" and call.ok]

    @property
    def uploads(self) -> list[MediaUpload]:
        with self._lock:
            return list(self._uploads.values())

    def wait_for(
        self, until: int | Callable[[list[Call]], object] = 1, *, kind: str | None = "message",
        timeout: float = 5.0,
    ) -> list[Call]:  # fmt: skip
        """Block until there are ``until`` calls (of ``kind``; None: any) or ``until(calls)`` is
        true; return those calls. Raise AssertionError with the calls seen on timeout."""
        with self._changed:
            if self._changed.wait_for(lambda: self._reached(until, kind), timeout):
                return self._matching(kind)
            seen = [(call.kind, call.status) for call in self._calls]
        raise AssertionError(f"timed out after {timeout}s waiting for {until!r}; calls: {seen}")

    async def await_calls(
        self, until: int | Callable[[list[Call]], object] = 1, *, kind: str | None = "message",
        timeout: float = 5.0,
    ) -> list[Call]:  # fmt: skip
        """``wait_for`` for async tests: polls without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._reached(until, kind):
                    return self._matching(kind)
            if time.monotonic() > deadline:
                return self.wait_for(until, kind=kind, timeout=0)
            await asyncio.sleep(0.002)

    def _matching(self, kind: str | None) -> list[Call]:
        return [call for call in self._calls if kind is None or call.kind == kind]

    def _reached(self, until: int | Callable[[list[Call]], object], kind: str | None) -> bool:
        calls = self._matching(kind)
        return len(calls) >= until if isinstance(until, int) else bool(until(calls))

    def max_rate_overall(self, window: float = 1.0, *, accepted_only: bool = False) -> int:
        """The most sends within any ``window`` seconds (refused attempts too, unless
        ``accepted_only``): what the client's pacing let through."""
        return _max_in_window(
            [
                c.timestamp
                for c in self.calls
                if c.kind == "message" and (c.ok or not accepted_only)
            ],
            window,
        )

    def max_rate_per_recipient(self, window: float = 1.0) -> int:
        """The most sends to one recipient within any ``window`` seconds."""
        return max((self.rate_of(r, window) for r in self._recipients()), default=0)

    def rate_of(self, recipient: str, window: float = 1.0) -> int:
        stamps = [
            c.timestamp for c in self.calls if c.kind == "message" and c.recipient == recipient
        ]
        return _max_in_window(stamps, window)

    def _recipients(self) -> set[str]:
        return {c.recipient for c in self.calls if c.kind == "message" and c.recipient is not None}

    # -- HTTP ------------------------------------------------------------------------------------

    async def _messages(self, request: Request) -> Response:
        arrived = time.monotonic()
        try:
            body = json.loads(await request.body() or b"{}")
        except ClientDisconnect:
            return Response(status_code=400)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._record(
                "other", request, {}, None, arrived, _answer(invalid("Invalid JSON", 100))
            )
        kind = "read" if body.get("status") == "read" else "message"
        recipient = body.get("to") or body.get("recipient")
        recipient = str(recipient) if recipient else None
        await self._sleep(self._delay)
        answer = self._answer(request, kind, body, recipient, arrived)
        late = self._late_answer() if kind == "message" else 0.0
        response = self._record(kind, request, body, recipient, arrived, answer)
        await self._sleep(late)
        return response

    async def _media(self, request: Request) -> Response:
        arrived = time.monotonic()
        try:
            raw = await request.body()
            params = _parse_multipart(raw, request.headers.get("content-type", ""))
        except ClientDisconnect:
            return Response(status_code=400)
        except ValueError as error:
            return self._record(
                "media", request, {}, None, arrived, _answer(invalid(str(error), 100))
            )
        await self._sleep(self._delay)
        body = {k: (v.filename if isinstance(v, FileUpload) else v) for k, v in params.items()}
        try:
            self._check_request(request, "media", None)
            answer: tuple[int, dict[str, Any]] = (200, {"id": self._store_upload(params)})
        except ApiError as error:
            answer = _answer(error)
        return self._record("media", request, body, None, arrived, answer)

    async def _unknown(self, request: Request) -> Response:
        error = meta_error(100, message=f"Unsupported {request.method.lower()} request. Object "
                           f"with ID '{request.url.path}' does not exist", subcode=33,
                           type_="GraphMethodException")  # fmt: skip
        return self._record("other", request, {}, None, time.monotonic(), _answer(error))

    def _answer(
        self, request: Request, kind: str, body: dict[str, Any], recipient: str | None,
        arrived: float,
    ) -> tuple[int, dict[str, Any]]:  # fmt: skip
        try:
            self._check_request(request, kind, recipient)
            if kind == "read":
                return 200, {"success": True}
            with self._lock:
                uploaded, templates = set(self._uploads), dict(self._templates)
            check_message(body, recipient, uploaded, templates)
            with self._lock:  # Meta counts what it accepts against the number's throughput
                recent = [t for t in self._accepted if arrived - t < 1.0]
                if len(recent) >= self.rate_per_second:
                    self._accepted = recent
                    raise meta_error(130429)
                self._accepted = [*recent, arrived]
            return 200, self._sent(body, str(recipient))
        except ApiError as error:
            return _answer(error)

    def _check_request(self, request: Request, kind: str, recipient: str | None) -> None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            raise meta_error(190, status=401, message="Invalid OAuth access token - Cannot parse "
                             "access token")  # fmt: skip
        version, phone_id = request.path_params["version"], request.path_params["phone_id"]
        if not re.fullmatch(r"v\d+\.\d+", version):
            raise meta_error(2500, message=f"Unknown path components: /{version}")
        if phone_id != self.phone_id:
            raise meta_error(100, message="Unsupported post request. Object with ID "
                             f"'{phone_id}' does not exist", subcode=33)  # fmt: skip
        with self._lock:
            for failure in self._failures:
                if failure.matches(kind, recipient):
                    if failure.times is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            self._failures.remove(failure)
                    raise meta_error(failure.code, status=failure.status)

    def _sent(self, body: dict[str, Any], recipient: str) -> dict[str, Any]:
        number = next(self._ids)
        raw = f"{recipient}:{number}:{uuid.uuid4().hex}".encode()
        wamid = "wamid." + base64.b64encode(raw).decode().rstrip("=")
        if BSUID.fullmatch(recipient):
            contact = {"input": recipient, "user_id": recipient}
        else:
            contact = {"input": recipient, "wa_id": re.sub(r"\D", "", recipient)}
        message: dict[str, Any] = {"id": wamid}
        if body.get("type") == "template":
            message["message_status"] = "accepted"
        return {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}

    def _store_upload(self, params: dict[str, Any]) -> str:
        upload = params.get("file")
        if params.get("messaging_product") != "whatsapp":
            raise invalid("The parameter messaging_product is required.", 100)
        if not isinstance(upload, FileUpload):
            raise invalid("The parameter file is required.", 100)
        mime = str(params.get("type") or upload.content_type)
        if mime not in MEDIA_TYPES:
            raise invalid(f"Unsupported mime type {mime}", 131053)
        if not 0 < upload.size <= MEDIA_TYPES[mime]:
            raise invalid(f"File size {upload.size} out of range for {mime}", 131053)
        with self._lock:
            media_id = str(1_000_000_000_000_000 + next(self._ids))  # pywa takes digits as ids
            self._uploads[media_id] = MediaUpload(media_id, upload.filename, mime, upload.data)
        return media_id

    def _record(
        self, kind: str, request: Request, body: dict[str, Any], recipient: str | None,
        arrived: float, answer: tuple[int, dict[str, Any]],
    ) -> Response:  # fmt: skip
        status, response = answer
        call = Call(kind, request.url.path, body, recipient, arrived, status, response)
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()
        return Response(json.dumps(response), status_code=status, media_type="application/json")

    def _late_answer(self) -> float:
        with self._lock:
            seconds, every = self._late
            if seconds <= 0:
                return 0.0
            self._late_seen += 1
            return seconds if self._late_seen % every == 0 else 0.0

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))


def _answer(error: ApiError) -> tuple[int, dict[str, Any]]:
    return error.status, error.body
