import functools
import io
import math
import os
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader
from pypdf.generic import ContentStream, Destination, DictionaryObject
from reportlab.lib.pagesizes import A3, A4, LEGAL, LETTER

from reportgen.assemble import build_pdf, draw_size, page_size
from reportgen.model import (
    AwsTarget,
    Layout,
    Period,
    ReportPlan,
    ReportSpec,
    Section,
    TimeWindow,
    WidgetRequest,
    WidgetResult,
    WidgetSpec,
)

GENERATED = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)  # 06:00 in Berlin
ERROR = "InvalidParameterValue: The parameter MetricWidget.metrics[0] must be a list"
TZ = "Europe/Berlin"


@functools.cache
def make_png(width: int = 900, height: int = 450, *, seed: int = 0, mode: str = "RGB") -> bytes:
    """A chart-ish PNG; ``seed`` makes each image's pixels (and so its PDF XObject) distinct."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height - 1), outline=(200, 200, 200))
    points = [(x, height // 2 + ((x * (seed + 3)) % (height // 2)) - height // 4) for x in range(0, width, 7)]
    draw.line(points, fill=(31, 119, 180), width=2)
    draw.text((10, 10), f"widget {seed}", fill="black")
    out = io.BytesIO()
    image.convert(mode).save(out, "PNG")
    return out.getvalue()


MakeReport = Callable[..., tuple[ReportPlan, list[WidgetResult]]]


@pytest.fixture
def make_report() -> MakeReport:
    """Build a plan and its results: ``sections`` gives the widget count of each section; ``outcomes``
    overrides widget k (counting across sections) with PNG bytes, an error text, or None for no result;
    ``spans`` gives widget k a span, ``page_breaks`` the sections that start a new page."""

    def make(sections: tuple[int, ...] = (2,), *, columns: int = 2, page: str = "A4",
             orientation: str = "landscape", size: tuple[int, int] = (900, 450),
             outcomes: Mapping[int, bytes | str | None] = {}, spans: Mapping[int, int | None] = {},
             page_breaks: tuple[int, ...] = ()) -> tuple[ReportPlan, list[WidgetResult]]:
        spec_sections: list[Section] = []
        requests: list[WidgetRequest] = []
        results: list[WidgetResult] = []
        for s, count in enumerate(sections):
            widgets = []
            for i in range(count):
                k = len(requests)
                title = f"Widget {k}"
                widgets.append(WidgetSpec(title=title, source={"title": title}, line=10 + k, span=spans.get(k, 1)))
                request = WidgetRequest("daily-ops", s, i, title, "{}", *size)
                requests.append(request)
                outcome = outcomes.get(k, make_png(*size, seed=k))
                if isinstance(outcome, bytes):
                    results.append(WidgetResult(request, png=outcome))
                elif isinstance(outcome, str):
                    results.append(WidgetResult(request, error=outcome, error_code=outcome.split(":")[0]))
            spec_sections.append(Section(f"Section {s}", tuple(widgets), page_break_before=s in page_breaks))
        spec = ReportSpec(id="daily-ops", title="Daily operations", path=Path("daily.yaml"), timezone=TZ,
                          period=Period(), aws=AwsTarget(), layout=Layout(page, orientation, columns),
                          sections=tuple(spec_sections))
        zone = ZoneInfo(TZ)
        window = TimeWindow(datetime(2026, 11, 25, tzinfo=zone), datetime(2026, 11, 26, tzinfo=zone), TZ)
        return ReportPlan(spec, date(2026, 11, 25), window, tuple(requests)), results

    return make


@pytest.fixture
def build(make_report: MakeReport) -> Callable[..., PdfReader]:
    """make_report's arguments in, the built PDF read back with pypdf out."""
    return lambda *args, **kwargs: read(build_pdf(*make_report(*args, **kwargs), generated_at=GENERATED))


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def page_texts(reader: PdfReader) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def image_boxes(reader: PdfReader) -> list[list[tuple[float, float, float, float]]]:
    """Per page, ``(x, y, width, height)`` in points of every image drawn, in order, from the transformation
    matrix in force at each ``Do`` of an image XObject (reportlab only translates and scales)."""
    pages = []
    for page in reader.pages:
        xobjects = cast(DictionaryObject, page["/Resources"]).get("/XObject", {})
        matrix, saved, boxes = (1.0, 1.0, 0.0, 0.0), [], []  # (sx, sy, tx, ty)
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"q":
                saved.append(matrix)
            elif operator == b"Q":
                matrix = saved.pop()
            elif operator == b"cm":
                a, _, _, d, e, f = (float(v) for v in operands)
                sx, sy, tx, ty = matrix
                matrix = (a * sx, d * sy, tx + e * sx, ty + f * sy)
            elif operator == b"Do" and xobjects[operands[0]].get_object()["/Subtype"] == "/Image":
                sx, sy, tx, ty = matrix
                boxes.append((tx, ty, sx, sy))
        pages.append(boxes)
    return pages


def drawn_images(reader: PdfReader) -> list[tuple[float, float]]:
    """Width and height in points of every image drawn, in order."""
    return [(round(w, 2), round(h, 2)) for boxes in image_boxes(reader) for _, _, w, h in boxes]


def outline(reader: PdfReader, *, level: int = 0) -> list[tuple[str, int]]:
    """Title and page index of each outline entry at ``level`` (0: sections, 1: their widgets), in order."""
    entries: list[tuple[str, int]] = []

    def walk(items: list[Any], depth: int) -> None:
        for entry in items:
            if isinstance(entry, list):
                walk(entry, depth + 1)
                continue
            assert isinstance(entry, Destination) and entry.title is not None
            if depth == level:
                page = reader.get_destination_page_number(entry)
                assert page is not None
                entries.append((entry.title, page))

    walk(reader.outline, 0)
    return entries


# -- what the report says ------------------------------------------------------------------------------

def test_first_page_names_the_report_period_and_generation_time(build: Callable[..., PdfReader]) -> None:
    first = page_texts(build())[0]
    assert "Daily operations" in first
    assert "Wed 25 Nov 2026 00:00 – Thu 26 Nov 2026 00:00 (Europe/Berlin, UTC+01:00)" in first
    assert "Wednesday 25 November 2026" in first
    assert "Thu 26 Nov 2026 06:00 CET" in first  # generated_at shown in the report's time zone
    assert "2 widgets in 1 section · all rendered" in first


def test_every_page_has_a_footer_with_page_x_of_y(build: Callable[..., PdfReader]) -> None:
    texts = page_texts(build((3, 4), columns=1))
    assert len(texts) == 7
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of 7" in text
        assert "Daily operations · Wed 25 Nov 2026 00:00 – Thu 26 Nov 2026 00:00" in text  # the footer
        # The running head says the title and period again, from page 2 on (page 1 has the cover).
        assert text.count("Wed 25 Nov 2026 00:00 – Thu 26 Nov 2026 00:00") == 2


def test_section_headings_are_in_the_text_and_the_outline(build: Callable[..., PdfReader]) -> None:
    reader = build((2, 3, 1), columns=1)
    texts = page_texts(reader)
    assert outline(reader) == [("Section 0", 0), ("Section 1", 2), ("Section 2", 5)]
    for title, page in outline(reader):
        assert title in texts[page]


def test_metadata(build: Callable[..., PdfReader]) -> None:
    meta = build().metadata
    assert meta is not None
    assert (meta.title, meta.author) == ("Daily operations", "reportgen")
    assert meta.subject == "Wed 25 Nov 2026 00:00 – Thu 26 Nov 2026 00:00 (Europe/Berlin, UTC+01:00)"
    assert meta.creation_date == datetime(2026, 11, 26, 6, 0, tzinfo=ZoneInfo(TZ))


# -- pages and grid ------------------------------------------------------------------------------------

# Landscape A4 takes two rows of two 900×450 images under the header (shrunk a little to fit) and two
# on later pages; a single column gives each image its own page (two would need them at 70 %), three
# columns take two rows and then four (shrunk a little).
@pytest.mark.parametrize(("columns", "widgets", "pages"), [
    (1, 1, 1), (1, 2, 2), (1, 5, 5),
    (2, 1, 1), (2, 2, 1), (2, 4, 1), (2, 5, 2), (2, 8, 2), (2, 9, 3),
    (3, 6, 1), (3, 7, 2), (3, 18, 2), (3, 19, 3),
])
def test_page_count(build: Callable[..., PdfReader], columns: int, widgets: int, pages: int) -> None:
    assert len(build((widgets,), columns=columns).pages) == pages


@pytest.mark.parametrize(("page", "orientation", "size"), [
    ("A4", "landscape", (A4[1], A4[0])), ("A4", "portrait", A4), ("A3", "landscape", (A3[1], A3[0])),
    ("Letter", "portrait", LETTER), ("Legal", "landscape", (LEGAL[1], LEGAL[0])), ("letter", "portrait", LETTER),
])
def test_page_size_and_orientation(build: Callable[..., PdfReader], page: str, orientation: str,
                                   size: tuple[float, float]) -> None:
    assert page_size(Layout(page, orientation)) == pytest.approx(size)
    box = build(page=page, orientation=orientation).pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(size, abs=0.01)


def test_unknown_page_size_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown page size 'B5'"):
        page_size(Layout("B5"))


# Shapes of real dashboard widgets: wide graphs, gauges and pies, single values, tall ones with a legend.
SHAPES = [(600, 400), (900, 450), (1200, 300), (400, 400), (600, 250), (300, 600), (1800, 600), (480, 360)]


@pytest.mark.parametrize(("columns", "page", "orientation"), [
    (2, "A4", "landscape"), (3, "A4", "landscape"), (2, "A4", "portrait"), (1, "Letter", "portrait"),
    (4, "A3", "landscape"),
])
def test_mixed_sizes_fill_their_pages(build: Callable[..., PdfReader], columns: int, page: str,
                                      orientation: str) -> None:
    shapes = [SHAPES[(k * 5) % len(SHAPES)] for k in range(40)]
    reader = build((30, 10), columns=columns, page=page, orientation=orientation, spans={7: None, 31: 2},
                   outcomes={k: make_png(*shape, seed=k) for k, shape in enumerate(shapes)})
    width, height = page_size(Layout(page, orientation))
    body_width, body_top, body_bottom = width - 2 * 42.52, height - 42.52, 42.52 + 14.17
    # What the images need: each its column's share of the width, as tall as it is drawn at the column's
    # width (never above 96 dpi), with a gutter under it; plus a page of slack for sections and the header.
    column = (body_width - 12 * (columns - 1)) / columns
    needed = sum(body_width / columns * (min(0.75, column / w) * h + 12) for w, h in shapes)
    assert len(reader.pages) <= math.ceil(needed / (body_width * (body_top - body_bottom))) + 1
    boxes = image_boxes(reader)
    assert sum(map(len, boxes)) == 40
    for page_boxes in boxes[:-1]:  # no page but the last more than a third empty below its lowest image
        assert (min(y for _, y, _, _ in page_boxes) - body_bottom) / (body_top - body_bottom) <= 1 / 3
    for page_boxes in boxes:
        assert all(x >= 42.51 and x + w <= width - 42.51 and y >= body_bottom - 0.01 for x, y, w, _ in page_boxes)


def test_a_full_span_widget_has_its_row_to_itself(build: Callable[..., PdfReader]) -> None:
    [(full, left, right)] = image_boxes(build((3,), spans={0: None}, size=(1800, 300)))
    assert left[1] == right[1] < full[1]  # one row under the other
    assert full[2] == pytest.approx(left[2] + 12 + right[2]) == pytest.approx(841.89 - 2 * 42.52, abs=0.01)


def test_page_break_before_starts_the_section_on_a_new_page(build: Callable[..., PdfReader]) -> None:
    assert outline(build((1, 1))) == [("Section 0", 0), ("Section 1", 0)]
    assert outline(build((1, 1), page_breaks=(1,))) == [("Section 0", 0), ("Section 1", 1)]


def test_headings_stay_with_their_first_row_and_rows_stay_whole(build: Callable[..., PdfReader]) -> None:
    # Every widget fails, so each one's title is text that can be located on a page.
    reader = build((3, 5, 4), columns=2, outcomes={k: ERROR for k in range(12)})
    texts = page_texts(reader)
    where = {f"Widget {k}": [p for p, text in enumerate(texts) if re.search(rf"\bWidget {k}\b", text)]
             for k in range(12)}
    assert all(len(pages) == 1 for pages in where.values())
    first_of_section = {"Section 0": "Widget 0", "Section 1": "Widget 3", "Section 2": "Widget 8"}
    for title, page in outline(reader):
        assert where[first_of_section[title]] == [page]
    for left, right in [(0, 1), (3, 4), (5, 6), (8, 9), (10, 11)]:
        assert where[f"Widget {left}"] == where[f"Widget {right}"]
    assert len(reader.pages) > 2


# -- images --------------------------------------------------------------------------------------------

def test_one_image_per_successful_widget(build: Callable[..., PdfReader]) -> None:
    assert len(drawn_images(build((3, 4)))) == 7


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "LA", "1"])
def test_png_colour_modes_are_drawn(build: Callable[..., PdfReader], mode: str) -> None:
    assert drawn_images(build((1,), outcomes={0: make_png(mode=mode)})) == [(372.43, 186.21)]


@pytest.mark.parametrize(("px", "limit", "points"), [
    ((200, 100), (500, 500), (150, 75)),       # 96 dpi at most: never upscaled
    ((900, 450), (1000, 1000), (675, 337.5)),
    ((900, 450), (372, 500), (372, 186)),     # shrunk to the column, aspect kept
    ((600, 1600), (700, 400), (150, 400)),    # shrunk to the height
])
def test_draw_size(px: tuple[int, int], limit: tuple[float, float], points: tuple[float, float]) -> None:
    assert draw_size(*px, *limit) == pytest.approx(points)


def test_small_images_are_not_upscaled(build: Callable[..., PdfReader]) -> None:
    assert drawn_images(build((2,), columns=1, size=(200, 100))) == [(150, 75), (150, 75)]


def test_drawn_size_comes_from_the_png_not_the_request(build: Callable[..., PdfReader]) -> None:
    # The request says 900×450, but CloudWatch sent a square image: it keeps its own shape.
    assert drawn_images(build((1,), outcomes={0: make_png(400, 400)})) == [(300, 300)]


# -- failures ------------------------------------------------------------------------------------------

def test_failed_widget_becomes_a_marked_box(build: Callable[..., PdfReader]) -> None:
    reader = build((3,), outcomes={1: ERROR})
    text = " ".join(page_texts(reader))
    assert "Widget could not be rendered" in text
    assert "Widget 1" in text
    assert ERROR in text
    assert "3 widgets in 1 section · 1 failed" in text
    assert len(drawn_images(reader)) == 2


def test_long_errors_are_cut(build: Callable[..., PdfReader]) -> None:
    error = "InternalServiceError: " + " ".join(f"word{i}" for i in range(400))
    text = " ".join(page_texts(build((1,), outcomes={0: error})))
    assert "InternalServiceError: word0 word1" in text
    assert "word399" not in text
    assert "…" in text


def test_tiny_failure_box_does_not_break_the_build(build: Callable[..., PdfReader]) -> None:
    assert len(build((2,), size=(20, 10), outcomes={0: ERROR}).pages) == 1


def _damaged_pixels(png: bytes) -> bytes:
    """The PNG with its pixel data overwritten but every chunk checksum still valid."""
    start = png.index(b"IDAT")
    length: int = struct.unpack(">I", png[start - 4:start])[0]
    data = b"\xff" * length
    return png[:start + 4] + data + struct.pack(">I", zlib.crc32(b"IDAT" + data)) + png[start + 8 + length:]


PNG = make_png()


@pytest.mark.parametrize("png", [
    pytest.param(b"", id="empty"),
    pytest.param(b"<html>502 Bad Gateway</html>", id="not-an-image"),
    pytest.param(PNG[:len(PNG) // 2], id="truncated"),
    pytest.param(PNG[:4000] + bytes([PNG[4000] ^ 0xFF]) + PNG[4001:], id="bit-flip"),
    pytest.param(_damaged_pixels(PNG), id="checksums-valid-pixels-not"),
])
def test_undecodable_png_becomes_a_marked_box(build: Callable[..., PdfReader], png: bytes) -> None:
    reader = build((2,), outcomes={0: png})
    text = " ".join(page_texts(reader))
    assert "Widget could not be rendered" in text
    assert f"The image CloudWatch returned could not be decoded ({len(png)} bytes)." in text
    assert len(drawn_images(reader)) == 1


def test_widget_without_result_becomes_a_marked_box(build: Callable[..., PdfReader]) -> None:
    reader = build((2,), outcomes={1: None})
    assert "No result was recorded for this widget." in " ".join(page_texts(reader))
    assert len(drawn_images(reader)) == 1


# -- reproducibility -----------------------------------------------------------------------------------

def test_same_inputs_give_the_same_bytes(make_report: MakeReport) -> None:
    plan, results = make_report((2, 1), outcomes={1: ERROR})
    first = build_pdf(plan, results, generated_at=GENERATED)
    assert build_pdf(plan, results, generated_at=GENERATED) == first
    assert build_pdf(plan, results, generated_at=GENERATED.replace(minute=1)) != first


_IN_A_WORKER = """
import pickle, sys
from reportgen.assemble import build_pdf
plan, results, generated_at = pickle.load(sys.stdin.buffer)
sys.stdout.buffer.write(build_pdf(plan, results, generated_at=generated_at))
"""


def test_same_bytes_in_another_process(make_report: MakeReport) -> None:
    # The pipeline builds in worker processes: hash seeds and import order must not leak into the file.
    import pickle

    plan, results = make_report((2, 1), outcomes={1: ERROR})
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    worker = subprocess.run([sys.executable, "-c", _IN_A_WORKER], input=pickle.dumps((plan, results, GENERATED)),
                            capture_output=True, check=True, env=env)
    assert bytes(worker.stdout) == build_pdf(plan, results, generated_at=GENERATED)


def test_naive_generated_at_is_refused(make_report: MakeReport) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_pdf(*make_report(), generated_at=datetime(2026, 11, 26, 6, 0))


def test_section_without_widgets_keeps_its_heading(build: Callable[..., PdfReader]) -> None:
    text = " ".join(page_texts(build((0, 2))))
    assert "Section 0 This section has no widgets. Section 1" in text
