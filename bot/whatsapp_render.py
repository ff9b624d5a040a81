"""Channel-neutral replies rendered within WhatsApp's limits (DESIGN.md §3), as plain data that
bot/whatsapp.py hands to pywa. Pure functions: every limit is tested without a network.

- Text: pieces of at most 4,096 UTF-16 units, cut at paragraph, line, then word boundaries
  (core.replies.split_long_texts), then the course Markdown as WhatsApp's ``*bold*``/``_italic_``.
- Choices: up to 3 options are reply buttons (title ≤ 20, shortened with "…"; ids are the option
  ids, ≤ 256); 4..10 are a list (button label ≤ 20, row title ≤ 24 with the whole label in the
  description ≤ 72, row id ≤ 200). Shortened button titles that would collide become a list.
- Quiz: the same, with ids ``answer:<item_id>:<index>``; an option that does not fit is never cut
  where it has to be read: the options go into the body as "A. …" lines and the buttons or rows
  carry the letters.
- The prompt or question is the interactive body, ≤ 1,024 units: a longer one goes first as plain
  text and the body keeps its last paragraphs.
- Image and File: an upload, then the message with the caption (≤ 1,024, else sent after it).
- Template: name, language and body parameters (no new lines, tabs or runs of spaces: Meta
  refuses them in parameters). Typing renders to nothing here (see WhatsAppSender).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.markup import to_plain, to_whatsapp
from core.errors import PermanentDelivery
from core.replies import (
    Choices,
    File,
    Image,
    Quiz,
    Reply,
    Template,
    Text,
    Typing,
    split_long_texts,
    utf16_units,
)

MAX_TEXT = 4096
MAX_BODY = 1024  # the body of an interactive message
MAX_CAPTION = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROW_ID = 200
# The list's button and its one section title: short, and the same in every language (a catalog
# entry would tie rendering to the learner's language, which the outbox does not carry).
LIST_BUTTON = "Choose"
LIST_SECTION = "Options"
EMPTY_BODY = "👇"  # an interactive message needs a body; a Choices without a prompt gets this
ELLIPSIS = "…"


@dataclass(frozen=True)
class TextMessage:
    body: str


@dataclass(frozen=True)
class ButtonsMessage:
    body: str
    buttons: tuple[tuple[str, str], ...]  # (id, title)


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class ListMessage:
    body: str
    rows: tuple[Row, ...]
    button: str = LIST_BUTTON
    section: str = LIST_SECTION


@dataclass(frozen=True)
class MediaMessage:
    kind: str  # "image" or "document"
    content: bytes
    mime_type: str
    filename: str
    caption: str = ""


@dataclass(frozen=True)
class TemplateMessage:
    name: str
    language: str
    parameters: tuple[str, ...] = ()


Outgoing = TextMessage | ButtonsMessage | ListMessage | MediaMessage | TemplateMessage


def render(reply: Reply) -> list[Outgoing]:
    """The WhatsApp messages for one reply, in the order they go out."""
    match reply:
        case Text(text):
            return [TextMessage(piece) for piece in text_pieces(text)]
        case Choices(prompt, options):
            return interactive(prompt, [(o.id, to_plain(o.label)) for o in options])
        case Quiz(question, options, _, _, item_id):
            if not options:  # cloze or short answer: the learner types
                return [TextMessage(piece) for piece in text_pieces(f"❓ {question}")]
            ids = [f"answer:{item_id}:{index}" for index in range(len(options))]
            return interactive(question, list(zip(ids, map(to_plain, options), strict=True)),
                               whole=True)  # fmt: skip
        case Image(png, caption):
            return media("image", png, "image/png", "progress.png", caption)
        case File(filename, content, mime_type, caption):
            return media("document", content, mime_type, filename, caption)
        case Template(name, language, parameters):
            return [TemplateMessage(name, language, tuple(map(template_parameter, parameters)))]
        case Typing():
            return []
    raise TypeError(f"not a reply: {reply!r}")


def text_pieces(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces within `limit` UTF-16 units, split before conversion (a marker whose partner went
    to the next piece stays literal), empty ones dropped: Meta refuses an empty body."""
    pieces = split_long_texts([Text(text)], limit)
    return [to_whatsapp(p.text.strip()) for p in pieces if isinstance(p, Text) and p.text.strip()]


def shorten(label: str, limit: int) -> str:
    """`label` within `limit` UTF-16 units, cut at a word where one is near and ended with "…";
    never inside a character."""
    label = " ".join(label.split())
    if utf16_units(label) <= limit:
        return label
    cut, units = 0, 0
    while units + utf16_units(label[cut]) <= limit - 1:  # room for the ellipsis
        units += utf16_units(label[cut])
        cut += 1
    head = label[:cut]
    word = head.rfind(" ")
    if word >= len(head) * 2 // 3:  # a word boundary in the last third: keep whole words
        head = head[:word]
    return _drop_joiners(head.rstrip()) + ELLIPSIS


def _drop_joiners(text: str) -> str:
    """No zero-width joiner, variation selector or skin tone left dangling at the end."""
    return re.sub(r"[\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]+$", "", text)


def interactive(
    body: str, options: list[tuple[str, str]], *, whole: bool = False
) -> list[Outgoing]:
    """Buttons for up to 3 options, else a list; `whole`: labels must be readable in full (quiz
    options), so ones that do not fit go into the body as lettered lines."""
    if not options:
        return [TextMessage(piece) for piece in text_pieces(body)]
    if len(options) > MAX_ROWS:
        raise PermanentDelivery(f"{len(options)} options: WhatsApp shows at most {MAX_ROWS}")
    letters = [chr(65 + index) for index in range(len(options))]
    labels = [label for _, label in options]
    if len(options) <= MAX_BUTTONS:
        too_long = any(utf16_units(label) > MAX_BUTTON_TITLE for label in labels)
        if whole and too_long:
            titles = letters
            body = _lettered(body, labels)
        else:
            titles = [shorten(label, MAX_BUTTON_TITLE) or letter for label, letter in
                      zip(labels, letters, strict=True)]  # fmt: skip
        if len(set(titles)) == len(titles):
            buttons = tuple(
                (_id(option_id, MAX_BUTTON_ID), title)
                for (option_id, _), title in zip(options, titles, strict=True)
            )
            return _with_body(body, lambda text: ButtonsMessage(text, buttons))
    if whole and any(utf16_units(label) > MAX_ROW_DESCRIPTION for label in labels):
        body = _lettered(body, labels)
        rows = tuple(
            Row(_id(i, MAX_ROW_ID), letter, shorten(label, MAX_ROW_DESCRIPTION))
            for (i, label), letter in zip(options, letters, strict=True)
        )
    else:
        rows = tuple(
            _row(option_id, label, letter)
            for (option_id, label), letter in zip(options, letters, strict=True)
        )
    return _with_body(body, lambda text: ListMessage(text, rows))


def _row(option_id: str, label: str, letter: str) -> Row:
    title = shorten(label, MAX_ROW_TITLE) or letter
    cut = utf16_units(label) > MAX_ROW_TITLE
    description = shorten(label, MAX_ROW_DESCRIPTION) if cut else None
    return Row(_id(option_id, MAX_ROW_ID), title, description)


def _lettered(body: str, labels: list[str]) -> str:
    lines = "\n".join(f"{chr(65 + index)}. {label}" for index, label in enumerate(labels))
    return f"{body}\n\n{lines}" if body.strip() else lines


def _id(option_id: str, limit: int) -> str:
    """Option ids are short by design; one over the limit is a bug and fails loudly here."""
    if not 1 <= len(option_id) <= limit:
        raise PermanentDelivery(f"option id of {len(option_id)} characters (1..{limit})")
    return option_id


def _with_body(body: str, build: Callable[[str], Outgoing]) -> list[Outgoing]:
    head, tail = split_tail(body.strip(), MAX_BODY)
    lead: list[Outgoing] = [TextMessage(piece) for piece in text_pieces(head)]
    return [*lead, build(to_whatsapp(tail) or EMPTY_BODY)]


def split_tail(text: str, limit: int) -> tuple[str, str]:
    """(head, tail): the longest tail within `limit` units that starts at a paragraph, else a
    line, else a word boundary; the head is the rest."""
    if utf16_units(text) <= limit:
        return "", text
    start, units = len(text), 0
    while start > 0 and units + utf16_units(text[start - 1]) <= limit:
        start -= 1
        units += utf16_units(text[start])
    window = text[start:]
    for boundary in ("\n\n", "\n", " "):
        found = window.find(boundary)
        if found >= 0:
            cut = start + found
            break
    else:
        cut = start
    return text[:cut].rstrip(), text[cut:].strip()


def media(kind: str, content: bytes, mime_type: str, filename: str, caption: str) -> list[Outgoing]:
    """The file with its caption; a caption over 1,024 units follows as text instead."""
    pieces = text_pieces(caption) if caption.strip() else []
    if len(pieces) == 1 and utf16_units(pieces[0]) <= MAX_CAPTION:
        return [MediaMessage(kind, content, mime_type, filename, pieces[0])]
    return [MediaMessage(kind, content, mime_type, filename), *map(TextMessage, pieces)]


def template_parameter(value: str) -> str:
    """Meta refuses parameters with new lines, tabs or more than 4 spaces in a row."""
    return " ".join(value.split()) or "-"
