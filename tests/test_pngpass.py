"""PNGs passed into the PDF undecoded: the pixels a reader decodes are the PNG's own, and the PNGs a PDF
cannot take as they are go through reportlab instead."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

from reportgen.pngpass import draw_png, passable


def png(mode: str, *, size: tuple[int, int] = (64, 40), **save: object) -> bytes:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.line([(0, 0), (size[0] - 1, size[1] - 1)], fill=(31, 119, 180), width=3)
    draw.rectangle((5, 5, 20, 15), fill=(214, 39, 40))
    for x in range(size[0]):  # more colours than a 4-bit palette holds, as a chart's antialiased lines have
        draw.point((x, size[1] - 1), fill=(x * 4 % 256, 255 - x * 3 % 256, 128))
    converted = image.convert(mode) if mode != "P" else image.quantize(256)
    out = io.BytesIO()
    converted.save(out, "PNG", **save)
    return out.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "L", "P"])
def test_a_passed_png_decodes_to_its_own_pixels(mode: str) -> None:
    data = png(mode)
    parts = passable(data)
    assert parts is not None
    out = io.BytesIO()
    canvas = Canvas(out, invariant=1)
    draw_png(canvas, data, parts, 10, 10, 128, 80)
    draw_png(canvas, data, parts, 10, 200, 64, 40)  # drawn twice, stored once
    canvas.showPage()
    canvas.save()
    reader = PdfReader(io.BytesIO(out.getvalue()))
    (embedded,) = reader.pages[0].images
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert (np.asarray(embedded.image.convert("RGB")) == expected).all()
    assert parts.idat in out.getvalue()  # the PNG's own compressed rows, not recompressed ones


def interlaced(data: bytes) -> bytes:
    """``data`` with its header's interlace flag set (Pillow writes no interlaced PNGs); the rest is unread."""
    start = 8 + 8  # signature, then IHDR's length and type
    header = bytearray(data[start:start + 13])
    header[12] = 1
    return data[:start] + bytes(header) + data[start + 13:]


@pytest.mark.parametrize(("data", "why"), [
    (png("RGBA"), "alpha"),
    (interlaced(png("RGB")), "interlaced"),
    (png("P", transparency=0), "transparency"),
    (png("I;16"), "16-bit"),
    (png("P", bits=4), "4-bit palette"),
    (b"not a png", "not a PNG"),
    (png("RGB")[:60], "truncated"),
])
def test_what_a_pdf_cannot_take_as_it_is_is_not_passed(data: bytes, why: str) -> None:
    assert passable(data) is None, why
