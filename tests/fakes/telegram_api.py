"""A loopback fake of the Telegram Bot API that the real python-telegram-bot client talks to.

    with FakeBotApi() as fake:
        bot = telegram.Bot(fake.token, base_url=fake.base_url)
        async with bot:  # calls getMe
            await bot.send_message(LEARNER_ID, "Hello")
        assert fake.sent_texts(LEARNER_ID) == ["Hello"]

It serves ``POST|GET /bot<TOKEN>/<method>`` on 127.0.0.1 (uvicorn in a background thread), decodes
the three body kinds clients send (PTB sends form-urlencoded, or multipart when there are files;
others send JSON), records every call and answers ``{"ok": true, "result": ...}`` with objects of
the shape Bot API 10.0 has and PTB 22.8 parses (polls carry ``correct_option_ids`` and option
``persistent_id``s: the old ``correct_option_id`` makes PTB 22.8 warn). Method names are
case-insensitive, as on Telegram.

It rejects what Telegram rejects where PAU's limits are concerned (text ≤ 4,096, caption ≤ 1,024,
callback_data 1..64 bytes, poll question ≤ 300, 1..12 options ≤ 100, explanation ≤ 200 with ≤ 2 line
feeds) with a 400 "Bad Request: ..."; lengths are counted in UTF-16 code units, Telegram's unit for
entity offsets, which is stricter than ``len()`` for emoji. A message with ``parse_mode`` "HTML" is
parsed as Telegram does (tests/fakes/telegram_html.py): malformed HTML gets 400 "can't parse
entities", the limit counts the parsed text, and the answer carries that text and its entities;
``Call.params["text"]`` keeps the HTML as sent. Other texts are echoed as sent.

Tests steer it with ``fail_next`` (Telegram's error bodies: 429 with ``retry_after``, 403, 400, 5xx),
``delay`` (a slow API), ``answer_late`` (delivered, but answered after the client gave up),
``hang`` (one chat's calls never answered) and check pacing with ``max_rate_per_chat`` /
``max_rate_overall``.
``update_payload`` loads the recorded Updates in tests/data/telegram/.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.loopback import LoopbackServer
from tests.fakes.telegram_html import HtmlError, parse_html

BOT_TOKEN = "123456789:AAFakeTokenForPauTests-0123456789ab"
LEARNER_ID = 111222333  # the fake learner "Ada" in every recorded payload; chat id = user id
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "telegram"

# Free-text parameters stay strings; every other form value is JSON-decoded when it parses.
_TEXT_PARAMS = frozenset(
    "text caption question explanation description short_description secret_token url "
    "callback_query_id inline_query_id emoji name title action parse_mode explanation_parse_mode "
    "question_parse_mode description_parse_mode language_code ip_address type file_id photo "
    "document sticker voice audio video animation business_connection_id message_effect_id".split()
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note".split()
)


@dataclass(frozen=True)
class FileUpload:
    """A file part of a multipart call (``Call.params[field]`` and ``Call.files[field]``)."""

    field: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Call:
    """One request the fake received. ``timestamp`` is ``time.monotonic()`` at arrival."""

    method: str
    params: dict[str, Any]
    chat_id: int | str | None
    timestamp: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def files(self) -> dict[str, FileUpload]:
        return {k: v for k, v in self.params.items() if isinstance(v, FileUpload)}


@dataclass
class _Failure:
    method: str  # "*" matches any method
    status: int
    description: str
    retry_after: float | None
    times: int | None  # None: until reset()
    chat_id: int | str | None

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        return self.method in ("*", method) and (
            self.chat_id is None or str(self.chat_id) == str(chat_id)
        )


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            self.body["parameters"] = {"retry_after": retry_after}
        self.status = status


def _bad_request(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def is_sending(method: str) -> bool:
    """Methods that put a message in a chat, the ones Telegram's flood limits count."""
    return method.startswith("send") and method != "sendChatAction"


def _max_in_window(timestamps: list[float], window: float) -> int:
    timestamps, best, start = sorted(timestamps), 0, 0
    for end, stamp in enumerate(timestamps):
        while stamp - timestamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


class FakeBotApi(LoopbackServer):
    """A Bot API server on a free loopback port; ``start()``/``stop()`` or ``with``."""

    def __init__(self, token: str = BOT_TOKEN, *, username: str = "pau_test_bot") -> None:
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": "PAU",
            "username": username, "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False, "can_connect_to_business": False,
            "has_main_web_app": False,
        }  # fmt: skip
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            name.removeprefix("_api_"): getattr(self, name)
            for name in dir(self)
            if name.startswith("_api_")
        }
        self._canonical = {name.lower(): name for name in self._handlers}
        super().__init__(
            Starlette(
                routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
            )
        )
        self.reset()

    def reset(self) -> None:
        """Forget calls, failures, delays, message counters, the webhook and the commands."""
        with self._lock:
            self._calls: list[Call] = []
            self._failures: list[_Failure] = []
            self._delays: dict[str, float] = {}
            self._late: dict[str, tuple[float, int]] = {}  # method -> (seconds, every n-th)
            self._late_seen: dict[str, int] = defaultdict(int)
            self._hung: set[str] = set()
            self._message_ids: dict[str, int] = defaultdict(int)
            self._ids = itertools.count(1)
            self.webhook: dict[str, Any] = {"url": ""}
            # (scope, language_code) -> commands; scope is "default", "all_private_chats", ...
            # or the scope's JSON when it has more than a type.
            self.my_commands: dict[tuple[str, str], list[dict[str, str]]] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``: PTB appends the token itself."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- steering --------------------------------------------------------------------------------

    def fail_next(
        self, method: str, *, status: int, description: str | None = None,
        retry_after: float | None = None, times: int | None = 1, chat_id: int | str | None = None,
    ) -> None:  # fmt: skip
        """Answer the next ``times`` calls of ``method`` ("*": any; optionally to one chat) with
        Telegram's error body for ``status``; ``times=None`` keeps failing until ``reset()``.

        429 gets "Too Many Requests: retry after N" and ``parameters.retry_after`` (default 1;
        Telegram sends whole seconds, a fraction keeps tests fast). The description otherwise
        defaults to Telegram's usual one for the status ("Forbidden: bot was blocked by the
        user", "Bad Request: chat not found", "Bad Gateway", ...).
        """
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after:g}"
        description = description or _DEFAULT_DESCRIPTIONS.get(status, "Internal Server Error")
        with self._lock:
            self._failures.append(
                _Failure(method, status, description, retry_after, times, chat_id)
            )

    def delay(self, method: str, seconds: float) -> None:
        """Answer every later call of ``method`` ("*": any) ``seconds`` late (0 to undo)."""
        with self._lock:
            self._delays[method] = seconds

    def answer_late(self, method: str, seconds: float, *, every: int = 1) -> None:
        """Carry out every ``every``-th call of ``method`` ("*": any) at once, as Telegram does,
        but send the answer ``seconds`` later: past the client's read timeout, the client cannot
        know the message arrived. 0 seconds to undo."""
        with self._lock:
            self._late[method] = (seconds, every)

    def hang(self, chat_id: int | str, hung: bool = True) -> None:
        """Calls to ``chat_id`` are neither carried out nor answered until ``hang(chat_id,
        False)``, ``reset()`` or ``stop()`` (and are not recorded)."""
        with self._lock:
            (self._hung.add if hung else self._hung.discard)(str(chat_id))

    # -- recorded calls --------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call so far, in the order they were answered."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts of the sendMessage calls that succeeded, to ``chat_id`` or to anyone."""
        return [
            call.params["text"]
            for call in self.calls_to("sendMessage")
            if call.ok and (chat_id is None or str(call.chat_id) == str(chat_id))
        ]

    def wait_for(
        self, until: int | Callable[[list[Call]], object] = 1, *, method: str | None = None,
        timeout: float = 5.0,
    ) -> list[Call]:  # fmt: skip
        """Block until there are ``until`` calls (of ``method``, if given) or ``until(calls)`` is
        true; return those calls. Raise AssertionError with the calls seen on timeout."""
        with self._changed:
            if self._changed.wait_for(lambda: self._reached(until, method), timeout):
                return self._matching(method)
            seen = [call.method for call in self._calls]
        raise AssertionError(f"timed out after {timeout}s waiting for {until!r}; calls: {seen}")

    async def await_calls(
        self, until: int | Callable[[list[Call]], object] = 1, *, method: str | None = None,
        timeout: float = 5.0,
    ) -> list[Call]:  # fmt: skip
        """``wait_for`` for async tests: polls without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._reached(until, method):
                    return self._matching(method)
            if time.monotonic() > deadline:
                return self.wait_for(until, method=method, timeout=0)
            await asyncio.sleep(0.002)

    def _matching(self, method: str | None) -> list[Call]:
        return [call for call in self._calls if method is None or call.method == method]

    def _reached(self, until: int | Callable[[list[Call]], object], method: str | None) -> bool:
        calls = self._matching(method)
        return len(calls) >= until if isinstance(until, int) else bool(until(calls))

    def max_rate_per_chat(
        self, window: float = 1.0, *, methods: Iterable[str] | None = None
    ) -> int:
        """The most calls to one chat within any ``window`` seconds. Counts failed attempts too
        (Telegram's limiter does); by default only message-sending methods (``is_sending``)."""
        by_chat: dict[str, list[float]] = defaultdict(list)
        for call in self._counted(methods):
            if call.chat_id is not None:
                by_chat[str(call.chat_id)].append(call.timestamp)
        return max((_max_in_window(stamps, window) for stamps in by_chat.values()), default=0)

    def max_rate_overall(self, window: float = 1.0, *, methods: Iterable[str] | None = None) -> int:
        """The most calls within any ``window`` seconds, all chats together."""
        return _max_in_window([call.timestamp for call in self._counted(methods)], window)

    def _counted(self, methods: Iterable[str] | None) -> list[Call]:
        wanted = set(methods) if methods is not None else None
        return [
            c
            for c in self.calls
            if (is_sending(c.method) if wanted is None else c.method in wanted)
        ]

    # -- HTTP ------------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        arrived = time.monotonic()
        name = request.path_params["method"]
        method = self._canonical.get(name.lower(), name)
        params: dict[str, Any] = {}
        try:
            params = await _read_params(request)
        except ClientDisconnect:  # the client died mid-request (a kill -9): nothing arrived
            return Response(status_code=400)
        except ValueError as error:
            status, body = 400, _bad_request(f"can't parse request: {error}").body
        else:
            if str(params.get("chat_id")) in self._hung:
                while str(params.get("chat_id")) in self._hung and not self._stopping.is_set():
                    await asyncio.sleep(0.05)
                return Response(status_code=504)
            await self._sleep(self._delays.get(method, self._delays.get("*", 0.0)))
            status, body = self._answer(request.path_params["token"], method, params)
        late = self._late_answer(method)
        chat_id = params.get("chat_id")
        call = Call(
            method,
            params,
            chat_id if isinstance(chat_id, int | str) else None,
            arrived,
            status,
            body,
        )
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()
        await self._sleep(late)
        return Response(json.dumps(body), status_code=status, media_type="application/json")

    def _late_answer(self, method: str) -> float:
        with self._lock:
            key = method if method in self._late else "*"
            if key not in self._late:
                return 0.0
            seconds, every = self._late[key]
            self._late_seen[key] += 1
            return seconds if self._late_seen[key] % every == 0 else 0.0

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))

    def _answer(
        self, token: str, method: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if token != self.token:
            return 401, _ApiError(401, "Unauthorized").body
        handler = self._handlers.get(method)
        if handler is None:
            return 404, _ApiError(404, "Not Found: method not found").body
        try:
            self._raise_injected_failure(method, params.get("chat_id"))
            return 200, {"ok": True, "result": handler(params)}
        except _ApiError as error:
            return error.status, error.body

    def _raise_injected_failure(self, method: str, chat_id: Any) -> None:
        with self._lock:
            for failure in self._failures:
                if failure.matches(method, chat_id):
                    if failure.times is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            self._failures.remove(failure)
                    raise _ApiError(failure.status, failure.description, failure.retry_after)

    # -- Bot API methods: each takes the decoded params and returns the "result" ----------------

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _api_getUpdates(self, params: dict[str, Any]) -> list[Any]:
        return []

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        if not params.get("url", "").startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        with self._lock:
            self.webhook = dict(params)
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self.webhook = {"url": ""}
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if info["url"]:
            info |= {
                "max_connections": self.webhook.get("max_connections", 40),
                "ip_address": "127.0.0.1",
            }
            if "allowed_updates" in self.webhook:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands", [])
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise _bad_request("command description is empty or too long")
        with self._lock:
            self.my_commands[_commands_key(params)] = commands
        return True

    def _api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return self.my_commands.get(_commands_key(params), [])

    def _api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self.my_commands.pop(_commands_key(params), None)
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if _utf16_len(params.get("text", "")) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        return True

    def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        _require_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text, entities = _parsed_text(params)
        if not text.strip():
            raise _bad_request("message text is empty")
        if _utf16_len(text) > 4096:
            raise _bad_request("message is too long")
        return self._message(params, text=text, **entities)

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        text, entities = _parsed_text(params)
        if not text.strip() or _utf16_len(text) > 4096:
            raise _bad_request("text is empty or too long")
        return self._message(params, edited=True, text=text, **entities)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params, edited=True, text="(the edited message)")

    def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        _require_chat(params)
        return True

    def _api_sendPoll(self, params: dict[str, Any]) -> dict[str, Any]:
        question, poll_type = params.get("question", ""), params.get("type", "regular")
        options = [o["text"] if isinstance(o, dict) else str(o) for o in params.get("options", [])]
        correct = params.get("correct_option_ids")
        if correct is None and params.get("correct_option_id") is not None:
            correct = [params["correct_option_id"]]
        explanation = params.get("explanation")
        if not 1 <= _utf16_len(question) <= 300:
            raise _bad_request("poll question length must be between 1 and 300")
        if not 1 <= len(options) <= 12:
            raise _bad_request("poll must have between 1 and 12 options")
        if any(not 1 <= _utf16_len(option) <= 100 for option in options):
            raise _bad_request("poll option length must be between 1 and 100")
        if poll_type == "quiz" and (not correct or any(not 0 <= i < len(options) for i in correct)):
            raise _bad_request("wrong correct option ids specified")
        if explanation and (_utf16_len(explanation) > 200 or explanation.count("\n") > 2):
            raise _bad_request("explanation is too long or has more than 2 line feeds")
        poll: dict[str, Any] = {
            "id": str(5_195_348_361_437_380_000 + next(self._ids)), "question": question,
            "options": [
                {"persistent_id": str(i), "text": text, "voter_count": 0}
                for i, text in enumerate(options)
            ],
            "total_voter_count": 0, "is_closed": bool(params.get("is_closed", False)),
            "is_anonymous": bool(params.get("is_anonymous", True)), "type": poll_type,
            "allows_multiple_answers": bool(params.get("allows_multiple_answers", False)),
            "allows_revoting": bool(params.get("allows_revoting", poll_type != "quiz")),
            "members_only": bool(params.get("members_only", False)),
        }  # fmt: skip
        if poll_type == "quiz":
            poll["correct_option_ids"] = correct
        if explanation:
            poll["explanation"] = explanation
        return self._message(params, poll=poll)

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        width, height = _png_size(photo.data) if isinstance(photo, FileUpload) else (800, 600)
        size = photo.size if isinstance(photo, FileUpload) else 40_000
        sizes = []
        for box in (90, 320, 800, 1280, 2560):
            scale = min(1.0, box / max(width, height))
            sizes.append(
                self._file(width=round(width * scale) or 1, height=round(height * scale) or 1,
                           file_size=max(1, round(size * scale * scale)))
            )  # fmt: skip
            if scale == 1.0:
                break
        return self._message(params, photo=sizes, **self._caption(params))

    def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("document")
        if isinstance(document, FileUpload):
            meta = {"file_name": document.filename, "mime_type": document.content_type,
                    "file_size": document.size}  # fmt: skip
        else:
            meta = {"file_name": "document", "mime_type": "application/octet-stream"}
        return self._message(params, document=self._file(**meta), **self._caption(params))

    def _message(
        self, params: dict[str, Any], *, edited: bool = False, **content: Any
    ) -> dict[str, Any]:
        chat_id = _require_chat(params)
        markup = params.get("reply_markup")
        inline = isinstance(markup, dict) and "inline_keyboard" in markup
        if inline:
            for button in itertools.chain.from_iterable(markup["inline_keyboard"]):
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise _bad_request("BUTTON_DATA_INVALID")
        if edited:
            message_id = params.get("message_id")
        else:
            with self._lock:
                self._message_ids[str(chat_id)] += 1
                message_id = self._message_ids[str(chat_id)]
        now = int(time.time())
        sender = {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}
        message = {"message_id": message_id, "from": sender, "chat": _chat(chat_id),
                   "date": now, **content}  # fmt: skip
        if edited:
            message["edit_date"] = now
        if inline:  # Telegram echoes inline keyboards only, never reply keyboards
            message["reply_markup"] = markup
        return message

    def _file(self, **meta: Any) -> dict[str, Any]:
        number = next(self._ids)
        return {
            "file_id": f"FAKE-file-{number:06d}",
            "file_unique_id": f"FAKEu{number:06d}",
            **meta,
        }

    @staticmethod
    def _caption(params: dict[str, Any]) -> dict[str, str]:
        caption = params.get("caption")
        if caption and _utf16_len(caption) > 1024:
            raise _bad_request("message caption is too long")
        return {"caption": caption} if caption else {}


def _parsed_text(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The text Telegram shows and, for parse_mode HTML, the message's ``entities``."""
    text, mode = params.get("text", ""), params.get("parse_mode")
    if not mode:
        return text, {}
    if mode.upper() != "HTML":  # MarkdownV2 and Markdown are not needed by PAU's tests
        raise _bad_request(f"unsupported parse_mode {mode!r} in the fake")
    try:
        plain, entities = parse_html(text)
    except HtmlError as error:
        raise _bad_request(f"can't parse entities: {error}") from None
    return plain, {"entities": entities} if entities else {}


def _require_chat(params: dict[str, Any]) -> int | str:
    chat_id = params.get("chat_id")
    if chat_id in (None, ""):
        raise _bad_request("chat_id is empty")
    return chat_id


def _chat(chat_id: int | str) -> dict[str, Any]:
    if isinstance(chat_id, str):  # "@channelusername"
        return {
            "id": -1001000000001,
            "title": chat_id,
            "username": chat_id.lstrip("@"),
            "type": "channel",
        }
    if chat_id > 0:
        return {
            "id": chat_id,
            "first_name": "Ada" if chat_id == LEARNER_ID else "Learner",
            "type": "private",
        }
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "title": f"Fake {kind}", "type": kind}


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    key = scope["type"] if set(scope) == {"type"} else json.dumps(scope, sort_keys=True)
    return key, params.get("language_code", "")


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return 512, 512


def _decode(key: str, value: str) -> Any:
    if key in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: Request) -> dict[str, Any]:
    params = {key: _decode(key, value) for key, value in request.query_params.multi_items()}
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if not body:
        return params
    if content_type.startswith("application/json"):
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("the JSON body is not an object")
        return params | decoded
    if content_type.startswith("multipart/form-data"):
        return params | _parse_multipart(body, content_type)
    return params | {k: _decode(k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)}


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    # python-multipart (Starlette's form parser) is not a dependency; this covers what HTTP
    # clients send: CRLF-delimited parts with a Content-Disposition and an optional Content-Type.
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError("multipart body without a boundary")
    params: dict[str, Any] = {}
    for part in body.split(b"--" + match.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = dict(
            (line.split(":", 1)[0].strip().lower(), line.split(":", 1)[1].strip())
            for line in head.decode("utf-8", "replace").split("\r\n") if ":" in line
        )  # fmt: skip
        disposition = headers.get("content-disposition", "")
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name is None:
            raise ValueError("multipart part without a name")
        content = content.removesuffix(b"\r\n")
        if filename is not None:
            params[name.group(1)] = FileUpload(
                name.group(1), filename.group(1),
                headers.get("content-type", "application/octet-stream"), content,
            )  # fmt: skip
        else:
            params[name.group(1)] = _decode(name.group(1), content.decode())
    return params


# -- recorded Update payloads -------------------------------------------------------------------

_MESSAGE_KEYS = ("message", "edited_message", "channel_post", "edited_channel_post")


def update_payload(name: str, **overrides: Any) -> dict[str, Any]:
    """A fresh copy of the recorded Update tests/data/telegram/<name>.json, with overrides.

    Keywords (each applies where the payload has it, else raises KeyError):
      update_id, date, message_id, chat_id: on the update and its message (or my_chat_member);
      text: the message's text (its caption for a photo); a leading "/command" gets its
        bot_command entity, other text loses the entities;
      data: the callback query's data;  poll_id, option_ids: the poll answer's (with matching
        option_persistent_ids, which the fake's polls number "0", "1", ...);
      user_id: the learner's id everywhere (from, user, and the private chat's id).
    Any other keyword is a path with "__" between keys and list indexes:
      update_payload("group_message", message__chat__title="Night owls").
    """
    payload = json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    if "user_id" in overrides:
        _replace_ids(payload, LEARNER_ID, overrides.pop("user_id"))
    message = next((payload[k] for k in _MESSAGE_KEYS if k in payload), None)
    if message is None and "callback_query" in payload:
        message = payload["callback_query"].get("message")
    holder = message if message is not None else payload.get("my_chat_member")
    for key, value in overrides.items():
        if key == "update_id":
            payload["update_id"] = value
        elif key in ("date", "message_id"):
            _target(holder, key)[key] = value
        elif key == "chat_id":
            _target(holder, "chat")["chat"]["id"] = value
        elif key == "text":
            _set_text(_target(message, "text or caption"), value)
        elif key == "data":
            _target(payload.get("callback_query"), "data")["data"] = value
        elif key in ("poll_id", "option_ids"):
            answer = _target(payload.get("poll_answer"), key)
            answer[key] = value
            if key == "option_ids":
                answer["option_persistent_ids"] = [str(index) for index in value]
        elif "__" in key:
            *path, last = [int(p) if p.isdigit() else p for p in key.split("__")]
            node: Any = payload
            for step in path:
                node = node[step]
            node[last] = value
        else:
            raise TypeError(f"update_payload() got an unknown override {key!r}")
    return payload


def _target(node: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if node is None:
        raise KeyError(f"this payload has no place for {what!r}")
    return node


def _set_text(message: dict[str, Any], text: str) -> None:
    if "caption" in message and "text" not in message:
        message["caption"] = text
        return
    message["text"] = text
    message.pop("entities", None)
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"offset": 0, "length": _utf16_len(command), "type": "bot_command"}]


def _replace_ids(node: Any, old: int, new: int) -> None:
    if isinstance(node, dict):
        if node.get("id") == old:
            node["id"] = new
        for child in node.values():
            _replace_ids(child, old, new)
    elif isinstance(node, list):
        for child in node:
            _replace_ids(child, old, new)
