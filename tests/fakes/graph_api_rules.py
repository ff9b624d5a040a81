"""What the fake Graph API (tests/fakes/graph_api.py) checks in a send, and Meta's error bodies.

The limits are the Cloud API's where PAU's rendering depends on them (DESIGN.md §3); lengths are
counted in UTF-16 code units, which is never more lenient than counting characters. The error
bodies have Meta's shape, so pywa raises the class it maps the code to (pywa/errors.py):
130429 RateLimitHit, 131056 TooManyMessages, 131026 MessageUndeliverable, 131047
ReEngagementMessage, 131009 InvalidParameter, 132000/132001 template errors; codes pywa does not
map (100, 1, 2, 190 is mapped: ExpiredAccessToken) become a plain WhatsAppError.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Mapping
from typing import Any

# code -> (message, details), after Meta's error-code reference.
KNOWN_ERRORS: dict[int, tuple[str, str]] = {
    1: ("An unknown error has occurred.", "Please retry your request later."),
    2: ("Service temporarily unavailable", "Please retry your request later."),
    100: ("(#100) Invalid parameter", "The request included invalid or unsupported parameters."),
    130429: ("(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    131000: ("(#131000) Something went wrong", "Message failed to send due to an unknown error."),
    131009: ("(#131009) Parameter value is not valid", "One or more parameter values are invalid."),
    131016: ("(#131016) Service unavailable", "A service is temporarily unavailable."),
    131026: ("(#131026) Message undeliverable", "Message Undeliverable."),
    131047: (
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last "
        "replied to this number.",
    ),
    131051: ("(#131051) Unsupported message type", "Message type is not currently supported."),
    131053: ("(#131053) Media upload error", "Unable to upload the media used in the message."),
    131056: (
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone "
        "number to the same phone number in a short period of time.",
    ),
    132000: (
        "(#132000) Number of parameters does not match the expected number of params",
        "The number of variable parameter values does not match the template.",
    ),
    132001: (
        "(#132001) Template name does not exist in the translation",
        "The template does not exist in the specified language or is not approved.",
    ),
}
_SERVER_CODES = {500: 1, 502: 1, 503: 2, 504: 2}  # HTTP status -> Meta's code in the body


class ApiError(Exception):
    """An error answer: ``status`` and Meta's ``{"error": {...}}`` body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["error"]["message"])
        self.status = status
        self.body = body


def meta_error(
    code: int, *, status: int = 400, message: str | None = None, details: str | None = None,
    subcode: int | None = None, type_: str = "OAuthException",
) -> ApiError:  # fmt: skip
    """Meta's error for ``code`` (a 5xx status as the code means a server error)."""
    if 500 <= code < 600:
        status, code = code, _SERVER_CODES.get(code, 1)
    known_message, known_details = KNOWN_ERRORS.get(code, (f"(#{code}) Error", "Error."))
    error: dict[str, Any] = {
        "message": message or known_message,
        "type": type_,
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or known_details},
        "fbtrace_id": "A" + secrets.token_urlsafe(16),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if status >= 500:
        error["is_transient"] = True
    return ApiError(status, {"error": error})


def invalid(details: str, code: int = 131009) -> ApiError:
    return meta_error(code, details=details)


def units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _length(value: Any, what: str, low: int, high: int) -> str:
    if not isinstance(value, str) or not low <= units(value) <= high:
        raise invalid(f"{what} length invalid. Min length: {low}, Max length: {high}")
    return value


RECIPIENT = re.compile(r"[A-Z]{2}\.(?:ENT\.)?\d+|\+?[\d\s()-]{6,20}")


def check_message(
    body: Mapping[str, Any], recipient: str | None, uploaded: Collection[str],
    templates: Mapping[tuple[str, str], int],
) -> None:  # fmt: skip
    """Raise ApiError where Meta would refuse this send body."""
    if body.get("messaging_product") != "whatsapp":
        raise invalid("The parameter messaging_product is required.", 100)
    if recipient is None or not RECIPIENT.fullmatch(recipient):
        raise invalid(f"Invalid recipient: {recipient!r}", 100)
    kind = body.get("type", "text")
    content = body.get(kind)
    if not isinstance(content, dict):
        raise invalid(f"The parameter {kind} is required.", 100)
    if kind == "text":
        _length(content.get("body"), "Param text['body']", 1, 4096)
    elif kind == "interactive":
        _check_interactive(content)
    elif kind == "template":
        _check_template(content, templates)
    elif kind in ("image", "document"):
        _check_media(content, uploaded)
    else:
        raise meta_error(131051)


def _check_interactive(content: Mapping[str, Any]) -> None:
    header, footer = content.get("header"), content.get("footer")
    if header is not None:
        if header.get("type") != "text":
            raise invalid("only text headers are supported by the fake")
        _length(header.get("text"), "Header text", 1, 60)
    if footer is not None:
        _length(footer.get("text"), "Footer text", 1, 60)
    _length((content.get("body") or {}).get("text"), "Body text", 1, 1024)
    action = content.get("action") or {}
    if content.get("type") == "button":
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= 3:
            raise invalid("Buttons count invalid. Min: 1, Max: 3")
        replies = [button.get("reply") or {} for button in buttons]
        ids = [_length(reply.get("id"), "Button id", 1, 256) for reply in replies]
        titles = [_length(reply.get("title"), "Button title", 1, 20) for reply in replies]
        if len(set(ids)) != len(ids) or len(set(titles)) != len(titles):
            raise invalid("Button title and id must be unique")
    elif content.get("type") == "list":
        _length(action.get("button"), "Button text", 1, 20)
        sections = action.get("sections") or []
        if not 1 <= len(sections) <= 10:
            raise invalid("Sections count invalid. Min: 1, Max: 10")
        rows = [row for section in sections for row in section.get("rows") or []]
        if not 1 <= len(rows) <= 10:
            raise invalid("Total row count exceed max allowed count: 10")
        for section in sections:
            if len(sections) > 1 or "title" in section:
                _length(section.get("title"), "Section title", 1, 24)
        ids = [_length(row.get("id"), "Row id", 1, 200) for row in rows]
        for row in rows:
            _length(row.get("title"), "Row title", 1, 24)
            if "description" in row:
                _length(row["description"], "Row description", 0, 72)
        if len(set(ids)) != len(ids):
            raise invalid("Row id must be unique")
    else:
        raise invalid(f"interactive type {content.get('type')!r} is not supported by the fake")


def _check_template(content: Mapping[str, Any], templates: Mapping[tuple[str, str], int]) -> None:
    name = _length(content.get("name"), "Template name", 1, 512)
    language = (content.get("language") or {}).get("code")
    if not isinstance(language, str) or not language:
        raise invalid("The parameter template['language']['code'] is required.", 100)
    body_params = [
        parameter
        for component in content.get("components") or []
        if str(component.get("type", "")).lower() == "body"
        for parameter in component.get("parameters") or []
    ]
    for parameter in body_params:
        if parameter.get("type") == "text":
            _length(parameter.get("text"), "Template parameter text", 1, 32768)
    if templates:
        if (name, language) not in templates:
            raise meta_error(132001, details=f"template name ({name}) does not exist in {language}")
        if len(body_params) != templates[(name, language)]:
            raise meta_error(132000)


def _check_media(content: Mapping[str, Any], uploaded: Collection[str]) -> None:
    if "id" in content:
        if str(content["id"]) not in uploaded:
            raise invalid(f"Media id {content['id']} was not uploaded", 100)
    elif not str(content.get("link", "")).startswith(("https://", "http://")):
        raise invalid("The parameter id or link is required.", 100)
    if "caption" in content:
        _length(content["caption"], "Caption", 0, 1024)
    if "filename" in content:
        _length(content["filename"], "Filename", 1, 240)
