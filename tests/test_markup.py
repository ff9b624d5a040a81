"""The course format's *emphasis* per channel (bot/markup.py), and the terminal's rendering."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.markup import to_ansi, to_plain, to_telegram_html
from bot.terminal import TerminalScreen, render
from core.replies import Choices, Option, Quiz, Text
from tests.fakes.telegram_html import parse_html


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 * 4 < 20 & *true*", "3 * 4 &lt; 20 &amp; <i>true</i>"),
        ("the *forgetting curve*.", "the <i>forgetting curve</i>."),
        ("a **strong** word", "a <b>strong</b> word"),
        ("**bold *and italic* too**", "<b>bold <i>and italic</i> too</b>"),
        ("*italic **and bold** too*", "<i>italic <b>and bold</b> too</i>"),
        ("(*see*), *this*; **that**!", "(<i>see</i>), <i>this</i>; <b>that</b>!"),
        ("🙂*yes*🙂 and *🧠*", "🙂<i>yes</i>🙂 and <i>🧠</i>"),
        ("Größe *Wörter* zählen", "Größe <i>Wörter</i> zählen"),
        ("<b>not a tag</b> & &amp; \"quoted\" 'too'",
         "&lt;b&gt;not a tag&lt;/b&gt; &amp; &amp;amp; \"quoted\" 'too'"),
        ("*<script>*", "<i>&lt;script&gt;</i>"),
    ],
)  # fmt: skip
def test_pairs_become_tags_and_everything_else_is_escaped(text: str, expected: str) -> None:
    assert to_telegram_html(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "3 * 4 * 5",  # loose: a space inside the markers
        "3*4*5",  # inside a word
        "file*name*",
        "* not emphasis *",
        "*", "**", "***", "****", "* *", "*open but never closed",
        "closed but never opened*",
        "**bold *italic***",  # a run of three fits no pair
        "**unbalanced*",
        "snake_*case*_word",
    ],
)  # fmt: skip
def test_unmatched_loose_or_intraword_asterisks_stay_literal(text: str) -> None:
    assert to_telegram_html(text) == text
    assert to_plain(text) == text


def test_a_pair_never_spans_lines_so_a_stray_marker_styles_nothing_after_it() -> None:
    text = "A stray * here\nand *one*\non *two\nlines*"
    assert to_telegram_html(text) == "A stray * here\nand <i>one</i>\non *two\nlines*"
    assert to_plain("first *line*\n\nsecond *line*") == "first line\n\nsecond line"


def test_plain_and_ansi_keep_the_text_and_drop_the_markers() -> None:
    assert to_plain("3 < 4 & **bold *both* ok** *it*") == "3 < 4 & bold both ok it"
    assert to_ansi("**b *i* b** *i*") == (
        "\x1b[1mb \x1b[3mi\x1b[23m b\x1b[22m \x1b[3mi\x1b[23m"
    )  # each style ends with its own code: the inner one does not end the outer


@pytest.mark.parametrize(
    "text",
    ["a < b > c & d", "*<*", "**&**", "*a* **b** ***c*** ****d****", "<i>*x*</i>", "&lt;*&amp;*",
     "* * ** ** *** *a*b*c*", "*🙂 **x *y* z** 🙂*", "\n*\n*\n", "*a **b *c* d** e*"],
)  # fmt: skip
def test_any_text_gives_html_telegram_can_parse_back_to_the_plain_text(text: str) -> None:
    shown, _ = parse_html(to_telegram_html(text))
    assert shown == to_plain(text)


def test_a_pathological_line_of_markers_converts_quickly() -> None:
    import time

    started = time.perf_counter()
    for text in (" *a" * 1300, "*a " * 1300, " **a" * 1000, "*" * 4000):
        to_telegram_html(text)
    assert time.perf_counter() - started < 1.0


# --- the terminal --------------------------------------------------------------------------------


def test_render_shows_texts_prompts_and_quizzes_without_markers(tmp_path: Path) -> None:
    assert render(Text("The *forgetting curve* & **savings**"), tmp_path) == (
        "PAU: The forgetting curve & savings"
    )
    choices = Choices("Ready for *one* more?", (Option("yes", "*Yes*"), Option("no", "No")))
    assert render(choices, tmp_path) == "PAU: Ready for one more?\n   [1] Yes\n   [2] No"
    quiz = Quiz("Which is *spaced*?", ("3 * 4", "*Days* apart"), 1, "", "q1")
    assert render(quiz, tmp_path) == "PAU: ❓ Which is spaced?\n   a) 3 * 4\n   b) Days apart"


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_the_screen_prints_plain_text_to_a_pipe_and_styles_only_on_a_tty(
    tmp_path: Path,
) -> None:
    piped, tty = io.StringIO(), FakeTty()
    for out in (piped, tty):
        await TerminalScreen(out, tmp_path).send("me", Text("This is the *spacing effect* (3*4)."))
    assert piped.getvalue() == "PAU: This is the spacing effect (3*4).\n"
    assert "\x1b" not in piped.getvalue()
    assert tty.getvalue() == "PAU: This is the \x1b[3mspacing effect\x1b[23m (3*4).\n"
