"""The learner's evidence report as a PDF (fpdf2), for training providers who must show evidence
of learning: name, course, period, mastery per concept, every activity, totals.

Text is Unicode-safe without downloading anything: DejaVu Sans from the system when it is there
(characters it has no glyph for, such as CJK or emoji, become "?"), otherwise a core font with
the text reduced to latin-1 ("?" for the rest). Either way a name in any script never crashes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import TTFFont

from webhooks.admin.evidence_view import ActivityLine, EvidenceView

DEJAVU = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)
ROW_HEIGHT = 5.5
COLUMNS = (("Date", 38), ("Kind", 28), ("Concept", 86), ("Result", 38))


def _system_font() -> Path | None:
    return next((path for path in DEJAVU if path.is_file()), None)


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _setup(pdf: FPDF, font: Path | None) -> tuple[str, Callable[[str], str]]:
    """The font family to use and the function that makes text printable in it."""
    if font is None:
        return "helvetica", _latin1
    pdf.add_font("dejavu", "", str(font))
    bold = font.with_name(font.stem + "-Bold" + font.suffix)
    pdf.add_font("dejavu", "B", str(bold if bold.exists() else font))
    face = pdf.fonts["dejavu"]
    glyphs = set(face.cmap) if isinstance(face, TTFFont) else set()

    def printable(text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        return "".join(ch if ord(ch) in glyphs or ch in "\n" else "?" for ch in text)

    return "dejavu", printable


def safe_filename(name: str, learner_id: int) -> str:
    """An ASCII file name for Content-Disposition: the learner's name reduced to letters and
    digits, with the id so two namesakes never collide."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-").lower()[:40]
    return f"evidence-{learner_id}{'-' + slug if slug else ''}.pdf"


def evidence_pdf(
    view: EvidenceView, *, font: Path | None = None, system_font: bool = True
) -> bytes:
    """The report as PDF bytes. `system_font=False` forces the core-font path (for tests)."""
    pdf = FPDF(format="A4")
    family, text = _setup(pdf, font or (_system_font() if system_font else None))
    pdf.set_title(text(f"Evidence of learning: {view.name}"))
    pdf.set_subject(f"{view.total_activities} activities")
    pdf.set_creator("PAU")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    def line(value: str, size: int = 10, style: str = "", height: float = 6) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(0, height, text(value), new_x="LMARGIN", new_y="NEXT")

    line("Evidence of learning", 18, "B", 10)
    line(f"Learner: {view.name} (id {view.learner_id})", 12)
    line(f"Course: {view.course_title or '-'}")
    line(f"Period: {view.period}")
    line(f"Generated: {view.generated}")
    pdf.ln(3)
    line("Totals", 13, "B", 8)
    for label, value in view.totals:
        line(f"{label}: {value}")
    pdf.ln(3)
    line("Mastery per concept", 13, "B", 8)
    for concept in view.concepts:
        line(f"{concept.title}: {concept.percent}% ({concept.level})")
    pdf.ln(3)
    line(f"Activities ({view.total_activities})", 13, "B", 8)
    pdf.set_font(family, "B", 9)
    for title, width in COLUMNS:
        pdf.cell(width, 6, title, border="B")
    pdf.ln()
    pdf.set_font(family, "", 9)
    bottom = pdf.h - pdf.b_margin
    for row in view.activities:
        # text() at fixed positions, not cell(): five times faster for a year of history
        if pdf.get_y() + ROW_HEIGHT > bottom:
            pdf.add_page()
        x, baseline = pdf.l_margin, pdf.get_y() + ROW_HEIGHT - 1.5
        for value, (_, width) in zip(row_cells(row), COLUMNS, strict=True):
            pdf.text(x, baseline, text(_fit(value, width)))
            x += width
        pdf.set_y(pdf.get_y() + ROW_HEIGHT)
    return bytes(pdf.output())


def row_cells(row: ActivityLine) -> tuple[str, str, str, str]:
    return (row.when, row.kind, row.concept, row.result)


def _fit(value: str, width: float) -> str:
    """Cut a long cell so the table keeps its columns (about 2 mm a character at 9 pt)."""
    most = int(width / 1.9)
    return value if len(value) <= most else value[: most - 3] + "..."
