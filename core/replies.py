"""Channel-neutral outbound replies. Each adapter in bot/ renders them within its platform's limits.

Replies are stored in the outbox as JSON, so each has `to_dict` and `reply_from_dict` reverses it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Choices:
    """A prompt and 2..10 options the learner can tap (or type)."""

    prompt: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Quiz:
    question: str
    options: tuple[str, ...]
    correct_index: int
    explanation: str
    item_id: str


@dataclass(frozen=True)
class Image:
    png: bytes
    caption: str = ""


@dataclass(frozen=True)
class File:
    filename: str
    content: bytes
    mime_type: str
    caption: str = ""


@dataclass(frozen=True)
class Template:
    """A WhatsApp business-initiated template message (outside the 24-hour window)."""

    name: str
    language: str
    parameters: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Typing:
    """The platform's "typing…" indicator: PAU is working on an answer that follows."""


Reply = Text | Choices | Quiz | Image | File | Template | Typing


MAX_TEXT_UNITS = 4000  # under both platforms' 4,096, so no channel has to cut a message itself


def utf16_units(text: str) -> int:
    """Length as Telegram (and JavaScript) count it: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cut_within(text: str, limit: int) -> int:
    """The longest prefix (in code points) of `text` within `limit` UTF-16 units."""
    units, cut = 0, 0
    for cut, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return cut
    return len(text)


def split_long_texts(replies: list[Reply], limit: int = MAX_TEXT_UNITS) -> list[Reply]:
    """Texts over `limit` UTF-16 units become several, cut at paragraph, line or word boundaries.
    Each piece is its own outbox row, so a failure on one piece never makes a retry resend the
    others, nor loses them."""
    result: list[Reply] = []
    for reply in replies:
        if not isinstance(reply, Text) or utf16_units(reply.text) <= limit:
            result.append(reply)
            continue
        rest = reply.text.strip()
        while utf16_units(rest) > limit:
            window = rest[: _cut_within(rest, limit)]
            cut = next(
                (i for i in (window.rfind("\n\n"), window.rfind("\n"), window.rfind(" ")) if i > 0),
                len(window),
            )
            result.append(Text(rest[:cut].rstrip()))
            rest = rest[cut:].lstrip()
        if rest:
            result.append(Text(rest))
    return result


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    match reply:
        case Text(text):
            return {"type": "text", "text": text}
        case Choices(prompt, options):
            return {
                "type": "choices",
                "prompt": prompt,
                "options": [{"id": o.id, "label": o.label} for o in options],
            }
        case Quiz(question, options, correct, explanation, item_id):
            return {
                "type": "quiz",
                "question": question,
                "options": list(options),
                "correct_index": correct,
                "explanation": explanation,
                "item_id": item_id,
            }
        case Image(png, caption):
            return {"type": "image", "png": _b64(png), "caption": caption}
        case File(filename, content, mime_type, caption):
            return {
                "type": "file",
                "filename": filename,
                "content": _b64(content),
                "mime_type": mime_type,
                "caption": caption,
            }
        case Typing():
            return {"type": "typing"}
        case Template(name, language, parameters):
            return {
                "type": "template",
                "name": name,
                "language": language,
                "parameters": list(parameters),
            }
    raise TypeError(f"not a reply: {reply!r}")


def reply_from_dict(data: dict[str, Any]) -> Reply:
    kind = data["type"]
    if kind == "text":
        return Text(data["text"])
    if kind == "choices":
        options = tuple(Option(o["id"], o["label"]) for o in data["options"])
        return Choices(data["prompt"], options)
    if kind == "quiz":
        return Quiz(
            data["question"],
            tuple(data["options"]),
            int(data["correct_index"]),
            data["explanation"],
            data["item_id"],
        )
    if kind == "image":
        return Image(base64.b64decode(data["png"]), data.get("caption", ""))
    if kind == "file":
        return File(
            data["filename"],
            base64.b64decode(data["content"]),
            data["mime_type"],
            data.get("caption", ""),
        )
    if kind == "typing":
        return Typing()
    if kind == "template":
        return Template(data["name"], data["language"], tuple(data.get("parameters", ())))
    raise ValueError(f"unknown reply type {kind!r}")
