"""Logging for `pau serve`, `pau worker` and the CLI: no learner data, no secrets.

PAU's own lines never carry message text, names, phone numbers or chat ids (failures are one
line from core.logs.failure). Other libraries' lines can: httpx's request lines hold the bot
token in the URL, python-telegram-bot's debug lines hold whole requests, SQLAlchemy's hold bound
parameters, uvicorn's access lines hold query strings (WhatsApp's verify token). So, unless
PAU_DEBUG_LOGS is on:

- those libraries (and APScheduler's per-run lines) log at WARNING and above only;
- every line that still names a bot token (`123456:AA...`) shows it as `<token>`;
- access lines show the path without its query string.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import IO, Any

from core.logs import show_debug_details

HANDLER_NAME = "pau"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TALKATIVE = (
    "httpx",
    "httpx2",  # installed beside httpx (for the test client): the same request lines
    "httpcore",
    "anthropic",  # the SDKs log request options (learner text) at DEBUG
    "openai",
    "langchain",
    "langchain_core",
    "telegram",
    "pywa",  # logs whole request bodies (learner text) at DEBUG, and update dumps at INFO
    "pywa_async",
    "sqlalchemy",
    "alembic",
    "hpack",
    "multipart",
    "apscheduler.executors",
)  # the last: two lines a second for the work job
BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{30,}")  # also inside "./bot<token>/"
QUERY = re.compile(r'(\s"[A-Z]+ [^ ?"]*)\?[^ "]*')


class Redact(logging.Filter):
    """Bot tokens out of every line, and query strings out of access lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        # formatted once here, and kept formatted (so the handler does not format it again)
        record.msg = QUERY.sub(r"\1", BOT_TOKEN.sub("<token>", record.getMessage()))
        record.args = None
        return True


def configure_logging(
    level: str, *, debug_logs: bool = False, stream: IO[str] | None = None
) -> None:
    """PAU's level for PAU's lines; see the module docstring for everyone else's."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    if not debug_logs:
        handler.addFilter(Redact())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in TALKATIVE:
        logging.getLogger(name).setLevel(logging.NOTSET if debug_logs else logging.WARNING)
    show_debug_details(debug_logs)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's loggers through the root handler above, at PAU_LOG_LEVEL (so its lines are
    redacted too; the access lines show at INFO)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
