"""WhatsApp through pywa_async: replies out as Cloud API calls (DESIGN.md §3). Webhooks come in
through PAU's own route; this module only sends.

pywa sends and raises the Cloud API's errors as classes; PAU keeps the conversation, the pacing
and the retries (no listeners, no handlers, no server). Errors map onto core.errors so the
outbox knows what to do:

    130429 RateLimitHit, 131056 TooManyMessages,  -> RetryableDelivery(retry_after: a hint)
      other throttling
    5xx, is_transient, 131000, 131016             -> RetryableDelivery
    connect error or time-out, pool time-out      -> RetryableDelivery (nothing went out)
    read or write time-out, connection dropped    -> DeliveryOutcomeUnknown (it may have arrived)
      while waiting for the answer to a send
    131047 ReEngagementMessage                    -> OutsideWindow (send the template instead)
    131026 MessageUndeliverable, other 4xx         -> PermanentDelivery

Only business-initiated templates may go outside the 24-hour window: ``window_open(address)``
(the learner wrote within 24 hours; from storage) is asked before any other reply, and a closed
window raises OutsideWindow before anything is sent. A template that names a kind of the
templates file (a nudge: ``nudge_daily``) goes out as that kind's approved template, in the
learner's language or the kind's first (bot/whatsapp_templates.py).

Pacing: at most ``overall_per_second`` sends in any sliding second for the number, as Meta
counts them (where they arrive), and per learner a burst then about
``per_recipient_per_second``; the dispatcher sends one reply per learner at a time, so a
learner's messages keep their order.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
from aiolimiter import AsyncLimiter
from pywa_async.client import WhatsApp
from pywa_async.errors import (
    ReEngagementMessage,
    ThrottlingError,
    WhatsAppError,
)
from pywa_async.types.callback import Button, Section, SectionList, SectionRow
from pywa_async.types.templates import TemplateLanguage

from bot.whatsapp_render import (
    ButtonsMessage,
    ListMessage,
    MediaMessage,
    Outgoing,
    TemplateMessage,
    TextMessage,
    render,
)
from bot.whatsapp_templates import TemplateKind, resolve
from bot.whatsapp_updates import USER_ID
from core.errors import (
    ConfigurationError,
    DeliveryError,
    DeliveryOutcomeUnknown,
    OutsideWindow,
    PermanentDelivery,
    RetryableDelivery,
)
from core.logs import debug_details
from core.replies import Reply, Template, Typing

log = logging.getLogger(__name__)

GRAPH_API_URL = "https://graph.facebook.com"
API_VERSION = "23.0"
# Explicit per-request timeouts: the Cloud API answers a send in well under a second; uploads
# take longer. core/delivery.py's 15 s deadline per reply is the last guard.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 10.0
POOL_TIMEOUT = 5.0
CONNECTIONS = 64  # more than the sends the dispatcher has in flight
OVERALL_PER_SECOND = 80.0  # Meta's default throughput per number (up to 1,000 on request)
PER_RECIPIENT_PER_SECOND = 1.0
PER_RECIPIENT_BURST = 5  # a lesson's few bubbles go at once, then about one a second
# Backoff hints (seconds): Meta gives no Retry-After. 131056: its pair limit averages one
# message every 6 s to one user; 130429: throughput, usually clear within a second or two.
RETRY_AFTER = {130429: 2.0, 131056: 6.0, 4: 60.0, 80007: 60.0, 131048: 600.0, 131064: 3600.0}
THROTTLED_RETRY_AFTER = 60.0
TRANSIENT_CODES = frozenset({1, 2, 131000, 131016})
CREDENTIAL_CODES = frozenset({0, 3, 10, 190, 200})  # token expired or revoked, no permission
CREDENTIAL_RETRY_AFTER = 300.0
ADDRESS = re.compile(rf"{USER_ID.pattern}|\+?\d{{6,15}}")  # a user id ("US.…") or a number
LANGUAGES = frozenset(language.value for language in TemplateLanguage)

WindowCheck = Callable[[str], bool]  # address -> the learner wrote within the last 24 hours


class BaseUrlTransport(httpx.AsyncBaseTransport):
    """Sends every request to `base_url` (scheme, host, port, and a path prefix if it has one).
    pywa sets its session's base URL to graph.facebook.com itself, so another Graph API (a
    loopback fake, a proxy) is reached here, below pywa."""

    def __init__(self, base_url: str, inner: httpx.AsyncBaseTransport) -> None:
        self._target = httpx.URL(base_url)
        self._prefix = self._target.raw_path.rstrip(b"/")
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self._target
        request.url = request.url.copy_with(
            scheme=target.scheme, host=target.host, port=target.port,
            raw_path=self._prefix + request.url.raw_path,
        )  # fmt: skip
        request.headers["Host"] = target.netloc.decode("ascii")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True)
class WhatsAppClient:
    """pywa's client and the httpx session under it, which pywa never closes."""

    wa: WhatsApp
    session: httpx.AsyncClient

    async def aclose(self) -> None:
        await self.session.aclose()


def make_client(
    *, phone_id: str, token: str, api_version: str = API_VERSION, base_url: str = GRAPH_API_URL,
    connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT,
) -> WhatsAppClient:  # fmt: skip
    """The pywa_async client for WHATSAPP_PHONE_ID and WHATSAPP_TOKEN, talking to
    WHATSAPP_API_BASE_URL (Meta's Graph API by default) at WHATSAPP_API_VERSION, with explicit
    timeouts and no webhook server, handlers or listeners."""
    if not phone_id or not token:
        raise ConfigurationError("set WHATSAPP_PHONE_ID and WHATSAPP_TOKEN")
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"WHATSAPP_API_BASE_URL is not an http(s) URL: {base_url!r}")
    if not re.fullmatch(r"\d+\.\d", api_version):
        raise ConfigurationError(f"WHATSAPP_API_VERSION looks like 23.0, not {api_version!r}")
    transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    )
    if base_url.rstrip("/") != GRAPH_API_URL:
        transport = BaseUrlTransport(base_url, transport)
    timeout = httpx.Timeout(
        connect=connect_timeout, read=read_timeout, write=WRITE_TIMEOUT, pool=POOL_TIMEOUT
    )
    session = httpx.AsyncClient(transport=transport, timeout=timeout)
    wa = WhatsApp(phone_id=phone_id, token=token, api_version=api_version, session=session,
                  server=None, verify_token=None, validate_updates=False)  # fmt: skip
    return WhatsAppClient(wa, session)


class ThroughputLimiter:
    """At most `rate` sends in any `period` seconds as the API sees them arrive, first come
    first served. A send arrives somewhere between its request and its answer, so its slot is
    taken when the request starts and given back `period` seconds after the answer: the next
    send in that slot arrives at least `period` after this one, whatever the travel times. (A
    leaky bucket such as aiolimiter's lets a full bucket through and refills it within the same
    second, up to twice the rate in one sliding second, which Meta answers with 130429.) The
    price: with answers that take L seconds, about rate / (1 + L) a second."""

    def __init__(self, rate: float, period: float = 1.0) -> None:
        self.capacity = max(1, math.floor(rate * period))
        self.period = period
        self._in_flight = 0
        self._answered: deque[float] = deque()  # when each recent send was answered
        self._turn = asyncio.Lock()

    async def __aenter__(self) -> None:
        async with self._turn:
            while True:
                now = time.monotonic()
                while self._answered and now - self._answered[0] >= self.period:
                    self._answered.popleft()
                if self._in_flight + len(self._answered) < self.capacity:
                    self._in_flight += 1
                    return
                wait = self.period - (now - self._answered[0]) if self._answered else 0.005
                await asyncio.sleep(max(wait, 0.001))

    async def __aexit__(self, *exc_info: object) -> None:
        self._in_flight -= 1
        self._answered.append(time.monotonic())


def outcome_unknown(error: httpx.TransportError) -> bool:
    """The request went out and no answer came back (see bot/telegram.py)."""
    return isinstance(
        error, httpx.ReadTimeout | httpx.WriteTimeout | httpx.ReadError | httpx.RemoteProtocolError
    )


def describe(error: WhatsAppError) -> str:
    """Code, class and Meta's short message; the details only with PAU_DEBUG_LOGS (they may
    quote what was sent)."""
    text = f"{error.code} {type(error).__name__}: {error.message}"
    return f"{text} ({error.details})" if debug_details() and error.details else text


def classify(error: WhatsAppError | httpx.TransportError, *, sending: bool = True) -> DeliveryError:
    """The core.errors class for a failed call; `sending`: the call was the message itself (an
    upload before it that timed out left nothing with the learner)."""
    if isinstance(error, httpx.TransportError):
        name = type(error).__name__
        if sending and outcome_unknown(error):
            return DeliveryOutcomeUnknown(f"no answer: {name}")
        return RetryableDelivery(f"network: {name}")
    if isinstance(error, ReEngagementMessage):
        return OutsideWindow(describe(error))
    if isinstance(error, ThrottlingError):
        return RetryableDelivery(
            describe(error), retry_after=RETRY_AFTER.get(error.code, THROTTLED_RETRY_AFTER)
        )
    status = error.status_code or 0
    if status >= 500 or error.is_transient or error.code in TRANSIENT_CODES:
        return RetryableDelivery(f"{status or 'transient'}: {describe(error)}")
    if error.code in CREDENTIAL_CODES:  # PAU's token or permissions, not the learner: the
        # operator fixes it and the replies go then (an error line says so on every try)
        log.error("WhatsApp refused PAU's credentials (%s): check WHATSAPP_TOKEN", error.code)
        return RetryableDelivery(describe(error), retry_after=CREDENTIAL_RETRY_AFTER)
    return PermanentDelivery(describe(error))


def body_parameters(parameters: tuple[str, ...]) -> dict[str, object]:
    """The template's body component with positional text parameters ({{1}}, {{2}}, ...)."""
    return {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}


class WhatsAppSender:
    """Renders channel-neutral replies as Cloud API messages, within the window and the pace."""

    def __init__(
        self, client: WhatsAppClient, window_open: WindowCheck, *,
        overall_per_second: float = OVERALL_PER_SECOND,
        per_recipient_per_second: float = PER_RECIPIENT_PER_SECOND,
        per_recipient_burst: int = PER_RECIPIENT_BURST,
        last_message: Callable[[str], str | None] | None = None,
        templates: Mapping[str, TemplateKind] | None = None,
    ) -> None:  # fmt: skip
        self.client = client
        self.window_open = window_open
        self.templates = templates or {}  # kind -> approved template (nudge_daily -> pau_…)
        self.last_message = last_message  # the learner's latest wamid, for "typing…"
        self.per_recipient_per_second = per_recipient_per_second
        self.per_recipient_burst = per_recipient_burst
        self._overall = ThroughputLimiter(overall_per_second)
        self._recipients: dict[str, AsyncLimiter] = {}

    def _recipient_limiter(self, address: str) -> AsyncLimiter:
        if address not in self._recipients:
            if len(self._recipients) > 10_000:
                self._recipients.clear()  # idle limiters are full again anyway
            burst = max(1, self.per_recipient_burst)
            self._recipients[address] = AsyncLimiter(burst, burst / self.per_recipient_per_second)
        return self._recipients[address]

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, address: str, reply: Reply) -> str | None:
        """Send one reply; the wamid of its last message (delivery statuses refer to it), or
        None when nothing was sent (Typing)."""
        if isinstance(reply, Typing):  # "typing…" hangs on the learner's latest message
            latest = (
                await asyncio.to_thread(self.last_message, address) if self.last_message else None
            )
            if latest:
                await self.mark_read_and_typing(latest)
            return None
        if not ADDRESS.fullmatch(address):
            raise PermanentDelivery("not a WhatsApp user id or phone number")
        if isinstance(reply, Template):  # a kind ("nudge_daily") becomes its approved template
            reply = resolve(self.templates, reply)
        # the window is read from storage: in a thread, so the event loop never waits for it
        if not isinstance(reply, Template) and not await asyncio.to_thread(
            self.window_open, address
        ):
            raise OutsideWindow("the learner has not written within 24 hours")
        messages = render(reply)
        refused: list[str] = []
        wamid: str | None = None
        for number, message in enumerate(messages, 1):
            try:
                wamid = await self._send_one(address, message)
            except PermanentDelivery as error:  # the messages after it still go out
                refused.append(f"message {number} of {len(messages)}: {error}")
        if refused:
            raise PermanentDelivery("; ".join(refused))
        return wamid

    async def _send_one(self, address: str, message: Outgoing) -> str:
        media_id = ""
        if isinstance(message, MediaMessage):  # the upload is not a message: no pacing
            try:
                uploaded = await self.client.wa.upload_media(
                    message.content, mime_type=message.mime_type, filename=message.filename
                )
            except (WhatsAppError, httpx.TransportError) as error:
                raise classify(error, sending=False) from error
            media_id = uploaded.id
        async with self._recipient_limiter(address), self._overall:
            try:
                return await self._post(address, message, media_id)
            except (WhatsAppError, httpx.TransportError) as error:
                raise classify(error) from error

    async def _post(self, to: str, message: Outgoing, media_id: str) -> str:
        """One Cloud API send; its wamid."""
        wa = self.client.wa
        match message:
            case TextMessage(body):
                return (await wa.send_message(to=to, text=body)).id
            case ButtonsMessage(body, buttons):
                markup = [Button(title=title, callback_data=key) for key, title in buttons]
                return (await wa.send_message(to=to, text=body, buttons=markup)).id
            case ListMessage(body, rows, button, section):
                items = [SectionRow(title=r.title, callback_data=r.id, description=r.description)
                         for r in rows]  # fmt: skip
                lists = SectionList(button_title=button, sections=[Section(section, items)])
                return (await wa.send_message(to=to, text=body, buttons=lists)).id
            case MediaMessage(kind="image", caption=caption):
                return (await wa.send_image(to=to, image=media_id, caption=caption or None)).id
            case MediaMessage(filename=filename, caption=caption):
                sent = await wa.send_document(
                    to=to, document=media_id, filename=filename, caption=caption or None
                )
                return sent.id
            case TemplateMessage(name, language, parameters):
                if language not in LANGUAGES:
                    raise PermanentDelivery(f"template language {language!r} is not Meta's")
                params = [body_parameters(parameters)] if parameters else None
                sent_template = await wa.send_template(
                    to=to, name=name, language=TemplateLanguage(language), params=params
                )
                return sent_template.id
        raise TypeError(f"not a WhatsApp message: {message!r}")

    async def mark_read_and_typing(self, wamid: str, *, typing: bool = True) -> bool:
        """Mark the learner's message read and show "typing…" while the reply is prepared (it
        ends with the reply, or after 25 s). Best effort: False when it did not work."""
        try:
            if typing:
                await self.client.wa.indicate_typing(wamid)
            else:
                await self.client.wa.mark_message_as_read(wamid)
        except (WhatsAppError, httpx.TransportError) as error:
            log.debug("mark as read failed: %s", classify(error, sending=False))
            return False
        return True
