"""Failure lines that carry no learner data (DESIGN.md §9): no message text, name, phone number,
chat id or token, unless the operator turns PAU_DEBUG_LOGS on.

    failure(log, "event", learner=42, error=error, attempts=2)
    event failed learner=42 reason="IntegrityError at storage/learner_store.py:120" attempts=2

One line per failure, keyed by PAU's internal learner id; the traceback only with debug logs.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

from core.errors import PauError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_debug_details = False


def show_debug_details(on: bool) -> None:
    """PAU_DEBUG_LOGS: tracebacks and raw error messages in failure lines (learner data)."""
    global _debug_details
    _debug_details = on


def debug_details() -> bool:
    return _debug_details


def reason(error: BaseException) -> str:
    """What went wrong, without the data it was about. PAU's own errors say it in words PAU
    wrote; any other error is its type and the line of PAU's code it came through (its message
    may quote learner text or SQL values: a database's DETAIL line does)."""
    if isinstance(error, PauError) or _debug_details:
        return f"{type(error).__name__}: {error}"[:300]
    return f"{type(error).__name__} at {_where(error)}"


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if _is_ours(frame.filename)]
    if not (ours or frames):
        return "unknown place"
    frame = (ours or frames)[-1]
    path = Path(frame.filename)
    shown = path.relative_to(PROJECT_ROOT) if _is_ours(frame.filename) else Path(path.name)
    return f"{shown.as_posix()}:{frame.lineno}"


def _is_ours(filename: str) -> bool:
    path = Path(filename).resolve()
    return path.is_relative_to(PROJECT_ROOT) and ".venv" not in path.parts


def failure(
    logger: logging.Logger,
    what: str,
    *,
    error: BaseException,
    learner: int | None = None,
    level: int = logging.WARNING,
    **fields: Any,
) -> None:
    """Log `what failed learner=<id> reason="..." key=value ...` as one line."""
    parts = [f"{what} failed"]
    if learner is not None:
        parts.append(f"learner={learner}")
    parts.append('reason="{}"'.format(reason(error).replace('"', "'")))
    parts.extend(f"{key}={value}" for key, value in fields.items())
    logger.log(level, " ".join(parts), exc_info=error if _debug_details else None)
