"""The course format's light Markdown (content/FORMAT.md), rendered for each channel.

Lesson bubbles and bot texts are plain strings that may hold *emphasis* and **strong**; everything
else is literal. Telegram gets HTML (python-telegram-bot's ``ParseMode.HTML``), WhatsApp its own
``*bold*`` and ``_italic_`` markers, the terminal gets plain text or ANSI styles, poll questions and
options and WhatsApp's buttons (which are never formatted) get plain text.

The rule for asterisks, chosen so that arithmetic, footnote stars and a learner's stray ``*`` stay
as typed:

- A pair counts only when it is tight: the opening marker is followed by a non-space, the closing
  one preceded by a non-space (``*true*`` yes, ``3 * 4 * 5`` no).
- Markers never sit inside a word: the opening one has no letter, digit or ``_`` before it, the
  closing one none after it (``3*4*5`` and ``file*name*`` stay literal; ``(*see*)`` and
  ``*word*,`` count). This is Markdown's rule for ``_``, stricter than its rule for ``*``.
- A pair lies within one line: a stray marker never styles the rest of a lesson.
- ``**strong**`` may hold ``*emphasis*`` and the other way round, one level deep; runs such as
  ``***`` or ``**a*`` that fit no pair stay literal.
- Anything unmatched stays literal, asterisks included.

For Telegram every other character is escaped (``&``, ``<``, ``>``), and the only tags are the
``<b>``/``<i>`` pairs emitted here, always closed in the same call: no text, a learner's or a
course's, can make Telegram answer "can't parse entities". Convert after splitting a long text, so
that a tag never spans two messages; a marker whose partner went to the next piece stays literal.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_OPEN = r"(?<![\w*])"  # no word character or other marker right before an opening marker
_CLOSE = r"(?![\w*])"  # nor right after a closing one
_INNER = r"(?![\s*])[^\n]*?(?<![\s*])"  # tight on both ends, one line, shortest first
_STRONG = rf"{_OPEN}\*\*(?P<strong>{_INNER})\*\*{_CLOSE}"
_EMPHASIS = rf"{_OPEN}\*(?P<emphasis>{_INNER})\*{_CLOSE}"

# What may be found inside what: at the top both kinds (strong tried first), inside one only the
# other, so nesting is at most two deep and every tag is closed where it was opened.
_PAIRS = {
    None: re.compile(f"{_STRONG}|{_EMPHASIS}"),
    "strong": re.compile(_EMPHASIS),
    "emphasis": re.compile(_STRONG),
}

Escape = Callable[[str], str]
Wrap = Callable[[str, str], str]  # (kind, rendered inner text) -> rendered span


def _render(text: str, escape: Escape, wrap: Wrap, inside: str | None = None) -> str:
    out, done = [], 0
    for match in _PAIRS[inside].finditer(text):
        kind = str(match.lastgroup)  # the one named group that matched: "strong" or "emphasis"
        out.append(escape(text[done : match.start()]))
        out.append(wrap(kind, _render(match.group(kind), escape, wrap, kind)))
        done = match.end()
    out.append(escape(text[done:]))
    return "".join(out)


_HTML_TAGS = {"strong": "b", "emphasis": "i"}
_ANSI = {"strong": ("\x1b[1m", "\x1b[22m"), "emphasis": ("\x1b[3m", "\x1b[23m")}


def _escape_html(text: str) -> str:
    return html.escape(text, quote=False)  # quotes are fine in text outside attributes


def to_telegram_html(text: str) -> str:
    """Text for ``parse_mode=HTML``: markers become <b>/<i>, everything else is escaped."""
    return _render(
        text, _escape_html, lambda kind, inner: f"<{_HTML_TAGS[kind]}>{inner}</{_HTML_TAGS[kind]}>"
    )


def to_plain(text: str) -> str:
    """The text with its emphasis markers removed, for places that show no formatting."""
    return _render(text, str, lambda _, inner: inner)


def to_ansi(text: str) -> str:
    """Bold and italics as terminal escape codes (for a TTY only); each style is ended with its
    own code, so a nested span does not end the outer one."""
    return _render(text, str, lambda kind, inner: f"{_ANSI[kind][0]}{inner}{_ANSI[kind][1]}")


_WHATSAPP = {"strong": "*", "emphasis": "_"}


def to_whatsapp(text: str) -> str:
    """WhatsApp's formatting: ``**strong**`` becomes ``*strong*``, ``*emphasis*`` becomes
    ``_emphasis_``, found by the same tight-pair rule. WhatsApp has no escapes, so everything else
    stays as typed; a converted text is never longer than the original, so a piece measured before
    conversion stays within the limit."""
    return _render(text, str, lambda kind, inner: f"{_WHATSAPP[kind]}{inner}{_WHATSAPP[kind]}")
