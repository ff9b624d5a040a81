"""Admin page: the playground. A staff member chats with the real engine as a test learner of
their own (channel "playground", sender f"staff-{id}"); the transcript is read back from the
stored rows (what the learner sent, what PAU queued for them), so it shows exactly what a
learner would get, buttons and quizzes included. The page polls it every second: replies appear
once the background work has run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session, col, select

from bot.markup import to_telegram_html
from bot.playground import CHANNEL, sender_id_for
from core.events import MAX_TEXT_CHARS, EventKind, InboundEvent
from storage.db import from_db, reading, transaction
from storage.models import InboundMessage, Learner, OutboxMessage
from storage.privacy import delete_learner
from webhooks.admin.deps import AdminUser, PauDep, StaffView, audit, csrf_protected, render
from webhooks.container import Pau

router = APIRouter()
SHOWN_LINES = 200  # the latest part of a long test conversation
LEARNER_KINDS = {EventKind.TEXT, EventKind.CHOICE, EventKind.POLL_ANSWER, EventKind.COMMAND,
                 EventKind.UNSUPPORTED}  # fmt: skip


@dataclass(frozen=True)
class Button:
    label: Markup
    choice_id: str = ""
    option_index: int | None = None
    item_id: str = ""
    chosen: bool = False


@dataclass(frozen=True)
class Line:
    """One bubble of the transcript. `text` is the learner's own words (escaped when shown);
    `html` is PAU's, already escaped with only <b>/<i> added (bot/markup.py)."""

    who: str  # learner | pau | system
    kind: str  # text | choices | quiz | image | file | template
    at: datetime
    text: str = ""
    html: Markup | str = ""
    buttons: tuple[Button, ...] = ()
    answered: bool = False  # a quiz already answered: its options are no longer buttons
    typed_answer: bool = False  # a quiz without options: the learner types the answer
    data_uri: str = ""  # an image or a file, inline
    filename: str = ""
    kept: bool = True  # False: the learner's event was not kept (sent before consent)


@dataclass(frozen=True)
class Transcript:
    lines: list[Line]
    waiting: bool  # something the learner sent is not processed yet


def _pau_html(text: str) -> Markup:
    return Markup(to_telegram_html(text))  # every character escaped, bar its own <b>/<i>


def _pau_line(payload: dict[str, Any], at: datetime) -> Line | None:
    kind = payload.get("type")
    if kind == "text":
        return Line("pau", "text", at, html=_pau_html(payload["text"]))
    if kind == "choices":
        buttons = tuple(
            Button(_pau_html(o["label"]), choice_id=o["id"]) for o in payload["options"]
        )
        return Line("pau", "choices", at, html=_pau_html(payload["prompt"]), buttons=buttons)
    if kind == "quiz":
        buttons = tuple(
            Button(
                _pau_html(f"{chr(97 + i)}) {option}"), option_index=i, item_id=payload["item_id"]
            )
            for i, option in enumerate(payload["options"])
        )
        return Line("pau", "quiz", at, html=_pau_html(payload["question"]), buttons=buttons,
                    typed_answer=not buttons)  # fmt: skip
    if kind == "image":
        uri = f"data:image/png;base64,{payload['png']}"
        return Line("pau", "image", at, text=payload.get("caption", ""), data_uri=uri)
    if kind == "file":
        uri = f"data:{payload['mime_type']};base64,{payload['content']}"
        name = payload["filename"]
        return Line("pau", "file", at, text=payload.get("caption") or name, data_uri=uri,
                    filename=name)  # fmt: skip
    if kind == "template":
        words = " ".join(payload.get("parameters", ()))
        return Line("system", "template", at, text=f"template {payload['name']}: {words}")
    return None  # typing


def _learner_text(
    event: InboundEvent, labels: dict[str, str], options: dict[str, list[str]]
) -> str:
    if event.kind is EventKind.CHOICE:
        return labels.get(event.choice_id, event.choice_id)
    if event.kind is EventKind.POLL_ANSWER and event.option_index is not None:
        quiz = options.get(event.ref, [])
        index = event.option_index
        return quiz[index] if 0 <= index < len(quiz) else f"option {index + 1}"
    if event.kind is EventKind.UNSUPPORTED:
        return f"({event.media_type or 'something unsupported'})"
    return event.text


def _mark_answered(lines: list[Line], index: int, chosen: int | None) -> None:
    """A quiz answered (as a Telegram poll): its options stay visible, the learner's marked."""
    quiz = lines[index]
    buttons = tuple(replace(b, chosen=b.option_index == chosen) for b in quiz.buttons)
    lines[index] = replace(quiz, answered=True, buttons=buttons)


def transcript(session: Session, *, learner_id: int) -> Transcript:
    """The test learner's conversation, oldest first: their events and PAU's replies."""
    inbound = session.exec(
        select(InboundMessage)
        .where(InboundMessage.learner_id == learner_id, InboundMessage.channel == CHANNEL)
        .order_by(col(InboundMessage.id).desc())
        .limit(SHOWN_LINES)
    ).all()
    outbox = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.learner_id == learner_id, OutboxMessage.channel == CHANNEL)
        .order_by(col(OutboxMessage.id).desc())
        .limit(SHOWN_LINES)
    ).all()
    # at the same moment, the learner's message came first (a reply never precedes its cause)
    rows: list[tuple[datetime, int, int, dict[str, Any]]] = sorted(
        [(from_db(r.received_at), 0, r.id or 0, r.payload) for r in inbound]
        + [(from_db(r.created_at), 1, r.id or 0, r.payload) for r in outbox]
    )
    events = {id_: InboundEvent.from_dict(p) for _, side, id_, p in rows if side == 0 and p}
    labels: dict[str, str] = {}
    options: dict[str, list[str]] = {}
    open_quizzes: dict[str, int] = {}  # item id -> its latest quiz line, not answered yet
    lines: list[Line] = []
    for at, side, id_, payload in rows:
        if side == 1:
            line = _pau_line(payload, at)
            if payload.get("type") == "choices":
                labels.update({o["id"]: o["label"] for o in payload["options"]})
            if payload.get("type") == "quiz":
                options[payload["item_id"]] = list(payload["options"])
                open_quizzes[payload["item_id"]] = len(lines)
        elif not payload:  # processed before consent: nothing of it was kept
            line = Line("learner", "text", at, kept=False)
        elif (event := events.get(id_)) is not None and event.kind in LEARNER_KINDS:
            line = Line("learner", "text", at, text=_learner_text(event, labels, options))
            if event.kind is EventKind.POLL_ANSWER and event.ref in open_quizzes:
                _mark_answered(lines, open_quizzes.pop(event.ref), event.option_index)
        else:
            line = None
        if line is not None:
            lines.append(line)
    waiting = any(r.processed_at is None for r in inbound)
    return Transcript(lines=lines[-SHOWN_LINES:], waiting=waiting)


def _learner_id(session: Session, staff: StaffView) -> int | None:
    return session.exec(
        select(Learner.id).where(
            Learner.channel == CHANNEL, Learner.external_id == sender_id_for(staff.id)
        )
    ).first()


def _chat(request: Request, staff: StaffView, pau: Pau, **extra: Any) -> HTMLResponse:
    with reading(pau.engine) as session:
        learner_id = _learner_id(session, staff)
        shown = transcript(session, learner_id=learner_id) if learner_id else None
    return render(request, "_playground_chat.html", staff, chat=shown, **extra)


@router.get("/playground")
def playground_page(request: Request, staff: AdminUser, pau: PauDep) -> HTMLResponse:
    with reading(pau.engine) as session:
        learner_id = _learner_id(session, staff)
        shown = transcript(session, learner_id=learner_id) if learner_id else None
    return render(request, "playground.html", staff, chat=shown,
                  sender_id=sender_id_for(staff.id))  # fmt: skip


@router.get("/playground/chat")
def playground_chat(request: Request, staff: AdminUser, pau: PauDep) -> HTMLResponse:
    return _chat(request, staff, pau)


def _event(
    text: str, choice_id: str, option_index: int | None, item_id: str
) -> InboundEvent | None:
    if choice_id:
        return InboundEvent(EventKind.CHOICE, choice_id=choice_id)
    if option_index is not None:
        return InboundEvent(EventKind.POLL_ANSWER, option_index=option_index, ref=item_id)
    typed = text.strip()
    if not typed:
        return None
    if typed.startswith("/"):  # as Telegram sends /help
        return InboundEvent(EventKind.COMMAND, text=typed)
    return InboundEvent.text_message(typed)


@router.post("/playground/say", dependencies=[csrf_protected])
def playground_say(
    request: Request,
    staff: AdminUser,
    pau: PauDep,
    text: Annotated[str, Form(max_length=MAX_TEXT_CHARS)] = "",
    choice_id: Annotated[str, Form(max_length=200)] = "",
    option_index: Annotated[int | None, Form(ge=0, le=20)] = None,
    item_id: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    event = _event(text, choice_id, option_index, item_id)
    if event is not None:
        pau.ingest(
            channel=CHANNEL, sender_id=sender_id_for(staff.id),
            platform_message_id=uuid.uuid4().hex, event=event,
        )  # fmt: skip
        with transaction(pau.engine) as session:  # what kind of input; the text is a test's
            audit(session, staff, request, "playground.say", CHANNEL, kind=event.kind.value)
        pau.request_work()
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse("/admin/playground", status_code=303)
    return _chat(request, staff, pau, clear_input=True)


@router.post("/playground/reset", dependencies=[csrf_protected])
def playground_reset(request: Request, staff: AdminUser, pau: PauDep) -> Response:
    with transaction(pau.engine) as session:
        learner_id = _learner_id(session, staff)
        if learner_id is not None:
            delete_learner(session, learner_id=learner_id)
            audit(session, staff, request, "playground.reset", f"learner:{learner_id}")
    return RedirectResponse("/admin/playground", status_code=303)
