"""The progress chart as a PNG, for channels that can show images (Pillow, no platform)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from core.mastery import IN_PROGRESS, MASTERED

WIDTH = 720
ROW = 34
TOP = 76
LABEL_WIDTH = 330
BACKGROUND = (250, 250, 247)
INK = (34, 34, 34)
MUTED = (130, 130, 130)
TRACK = (228, 228, 222)
COLOURS = {"mastered": (46, 160, 67), "in progress": (230, 160, 40), "not started": (200, 90, 80)}


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def progress_chart(title: str, concepts: Sequence[tuple[str, float]], subtitle: str) -> bytes:
    """A horizontal bar per concept (mastery 0..1), coloured by level, thresholds marked."""
    height = TOP + ROW * len(concepts) + 40
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((20, 14), title[:60], fill=INK, font=_font(22))
    draw.text((20, 44), subtitle[:90], fill=MUTED, font=_font(15))
    label_font, value_font = _font(15), _font(13)
    bar_left, bar_right = LABEL_WIDTH, WIDTH - 70
    for index, (name, mastery) in enumerate(concepts):
        y = TOP + index * ROW
        label = name if len(name) <= 40 else name[:38] + "…"
        draw.text((20, y + 6), label, fill=INK, font=label_font)
        draw.rounded_rectangle((bar_left, y + 6, bar_right, y + 24), radius=6, fill=TRACK)
        level = (
            "mastered"
            if mastery >= MASTERED
            else "in progress"
            if mastery >= IN_PROGRESS
            else "not started"
        )
        end = bar_left + (bar_right - bar_left) * max(0.0, min(1.0, mastery))
        if end > bar_left + 2:
            draw.rounded_rectangle((bar_left, y + 6, end, y + 24), radius=6, fill=COLOURS[level])
        draw.text((bar_right + 10, y + 7), f"{round(mastery * 100)}%", fill=INK, font=value_font)
    bottom = TOP + ROW * len(concepts)
    for threshold in (IN_PROGRESS, MASTERED):
        x = bar_left + (bar_right - bar_left) * threshold
        draw.line((x, TOP, x, bottom), fill=MUTED, width=1)
        draw.text((x - 12, bottom + 6), f"{round(threshold * 100)}%", fill=MUTED, font=value_font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")  # optimize=True took 30 ms for a few percent
    return buffer.getvalue()
