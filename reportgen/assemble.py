"""Lay a report's widget images out as a PDF, with reportlab's platypus doing the flow.

``build_pdf`` is pure and synchronous: plan and results in, PDF bytes out, nothing else touched but
reportlab's ``rl_config``. The pipeline runs it in a worker process. The same inputs give the same bytes.

Layout: a header on the first page (title, period, report date, generation time, a summary), then each
section as a heading followed by its widgets in rows of up to ``columns``. ``reportgen.layout`` decides the
rows and pages (justified rows, pages filled by shrinking their rows a little); this module measures the
headings and draws what it decided. A row never splits across pages and a heading stays with its first
row. Images keep their aspect ratio and are never drawn larger than at 96 dpi; a widget without a usable
image becomes a marked box of the size it asked for.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A3, A4, LEGAL, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    AnchorFlowable,
    BaseDocTemplate,
    Flowable,
    Frame,
    HRFlowable,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from reportgen.files import write_atomic
from reportgen.layout import GUTTER, POINTS_PER_PIXEL, Block, Cell, Heading, Widget, paginate
from reportgen.model import Layout, ReportPlan, WidgetRequest, WidgetResult

PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "A3": A3, "LETTER": LETTER, "LEGAL": LEGAL}

_MARGIN = 1.5 * cm
_FOOTER_SPACE = 0.5 * cm   # between the body and the footer rule, which sits on the bottom margin line
_SLACK = 1.0               # pt kept free at the foot of every page against rounding in reportlab's frame
_ERROR_CHARS = 280         # a placeholder shows at most this much of an error message

_INK = HexColor("#1E293B")
_MUTED = HexColor("#64748B")
_RULE = HexColor("#CBD5E1")
_ACCENT = HexColor("#0E7490")
_FAIL_INK = HexColor("#B42318")
_FAIL_FILL = HexColor("#FEF3F2")
_FAIL_BORDER = HexColor("#F97066")
_FAIL_TEXT = HexColor("#475569")
_LEADING = 1.3  # line height over font size inside failure boxes

_FONT, _BOLD = "Helvetica", "Helvetica-Bold"
_NO_PADDING = [(side, (0, 0), (-1, -1), 0) for side in ("LEFTPADDING", "RIGHTPADDING", "TOPPADDING",
                                                         "BOTTOMPADDING")]


def _style(name: str, size: float, *, font: str = _FONT, color: Color = _INK, leading: float | None = None,
           **kwargs: Any) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading or size * 1.25, textColor=color,
                          **kwargs)


_EYEBROW = _style("eyebrow", 8, font=_BOLD, color=_ACCENT, spaceAfter=4)
_TITLE = _style("title", 22, font=_BOLD, leading=27)
_DESCRIPTION = _style("description", 10, color=_MUTED, spaceBefore=4)
_META_LABEL = _style("meta-label", 8, font=_BOLD, color=_MUTED, leading=13)
_META_VALUE = _style("meta-value", 9.5, leading=13)
_HEADING = _style("heading", 13, font=_BOLD, leading=16, spaceBefore=14, spaceAfter=5)
_NOTE = _style("note", 9, color=_MUTED)


def build_pdf(plan: ReportPlan, results: Sequence[WidgetResult], *, generated_at: datetime) -> bytes:
    """Return the report for ``plan`` as PDF bytes, one image (or failure box) per requested widget.

    ``results`` are matched to the plan's widgets by section and index; a widget without a result, or
    whose PNG cannot be decoded, is drawn as a failure box. ``generated_at`` must be timezone-aware; it is
    shown in the report's time zone and becomes the PDF's creation date, so equal inputs give equal bytes.
    """
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    rl_config.useA85 = 0  # plain Flate streams: about a fifth smaller than ASCII85-wrapped ones
    spec = plan.spec
    generated = generated_at.astimezone(spec.tz)
    pagesize = page_size(spec.layout)
    body = Frame(_MARGIN, _MARGIN + _FOOTER_SPACE, pagesize[0] - 2 * _MARGIN,
                 pagesize[1] - 2 * _MARGIN - _FOOTER_SPACE, leftPadding=0, rightPadding=0, topPadding=0,
                 bottomPadding=0, id="body")
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out, pagesize=pagesize, pageTemplates=[PageTemplate("report", [body])],
        title=spec.title, author="reportgen", subject=plan.window.label(), creator="reportgen",
        keywords=[spec.id], displayDocTitle=True, invariant=1,
    )
    by_place = {(r.request.section, r.request.index): r for r in results}
    shown = {request: _image_or_error(by_place.get((request.section, request.index)))
             for request in sorted(plan.widgets, key=lambda r: (r.section, r.index))}
    failed = sum(isinstance(outcome, str) for outcome in shown.values())
    story = _header(plan, generated, body.width, widgets=len(shown), failed=failed)
    first_room = body.height - _height(story, body)
    headings: list[list[Flowable]] = []
    blocks: list[Block] = []
    members: list[list[WidgetRequest]] = []
    for number, section in enumerate(spec.sections):
        requests = [request for request in shown if request.section == number]
        headings.append(_heading(number, section.title, empty=not requests))
        members.append(requests)
        blocks.append(Block(
            _height(headings[-1], body),
            tuple(Widget(*_pixels(request, shown[request]), section.widgets[request.index].span)
                  for request in requests),
            columns=section.columns or spec.layout.columns, rows=section.rows or spec.layout.rows,
            new_page=section.page_break_before,
        ))
    pages = paginate(blocks, width=body.width, first_room=first_room - _SLACK, room=body.height - _SLACK)
    for number, page in enumerate(pages):
        if number:
            story.append(PageBreak())
        for entry in page.entries:
            if isinstance(entry, Heading):
                story += headings[entry.block]
            else:
                story.append(_Row([_cell(members[entry.block][cell.widget], shown[members[entry.block][cell.widget]],
                                         cell, page.scale) for cell in entry.cells], entry.height * page.scale))
    furniture = _Furniture(
        pagesize=pagesize, footer=f"{spec.title}  ·  {spec.id}", running_head=spec.title,
        running_date=f"{plan.report_date:%a %d %b %Y}", created=_pdf_date(generated),
    )
    doc.build(story, canvasmaker=functools.partial(_ReportCanvas, furniture=furniture))
    return out.getvalue()


def write_pdf(plan: ReportPlan, results: Sequence[WidgetResult], path: Path, *, generated_at: datetime) -> None:
    """Build the report and put it at ``path`` whole or not at all (the pipeline runs this in a worker)."""
    write_atomic(path, build_pdf(plan, results, generated_at=generated_at))


def page_size(layout: Layout) -> tuple[float, float]:
    """The page size in points for a layout's paper name and orientation."""
    try:
        size = PAGE_SIZES[layout.page.upper()]
    except KeyError:
        raise ValueError(f"unknown page size {layout.page!r}; expected one of A4, A3, Letter, Legal") from None
    short, long = sorted(size)
    return (long, short) if layout.orientation == "landscape" else (short, long)


def draw_size(width_px: int, height_px: int, max_width: float, max_height: float) -> tuple[float, float]:
    """Size in points to draw a ``width_px`` × ``height_px`` image: its own aspect ratio, at most 96 dpi
    (0.75 pt per pixel), and shrunk to fit inside ``max_width`` × ``max_height``."""
    scale = min(POINTS_PER_PIXEL, max_width / width_px, max_height / height_px)
    return width_px * scale, height_px * scale


def _header(plan: ReportPlan, generated: datetime, width: float, *, widgets: int, failed: int) -> list[Flowable]:
    spec = plan.spec
    summary = f"{_plural(widgets, 'widget')} in {_plural(len(spec.sections), 'section')}"
    summary += (f'  ·  <font name="{_BOLD}" color="#{_FAIL_INK.hexval()[2:]}">{failed} failed</font>'
                if failed else "  ·  all rendered")
    rows = [
        ("PERIOD", escape(plan.window.label())),
        ("REPORT DATE", f"{plan.report_date:%A %d %B %Y}"),
        ("GENERATED", f"{generated:%a %d %b %Y %H:%M} {escape(generated.tzname() or '')}"),
        ("CONTENTS", summary),
    ]
    meta = Table([[Paragraph(label, _META_LABEL), Paragraph(value, _META_VALUE)] for label, value in rows],
                 colWidths=[80, width - 80], hAlign="LEFT")
    meta.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), *_NO_PADDING,
                              ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    flowables: list[Flowable] = [Paragraph(f"CLOUDWATCH REPORT  ·  {escape(spec.id.upper())}", _EYEBROW),
                                 Paragraph(escape(spec.title), _TITLE)]
    if spec.description:
        flowables.append(Paragraph(escape(spec.description), _DESCRIPTION))
    return flowables + [Spacer(0, 10), meta,
                        HRFlowable(width="100%", thickness=1.5, color=_ACCENT, spaceBefore=10, spaceAfter=4)]


def _heading(number: int, title: str, *, empty: bool) -> list[Flowable]:
    """A section's anchor, title and rule; a section without widgets says so under them."""
    heading: list[Flowable] = [
        _SectionAnchor(f"section-{number}", title), Paragraph(escape(title), _HEADING),
        HRFlowable(width="100%", thickness=0.5, color=_RULE, spaceBefore=0, spaceAfter=8),
    ]
    return [*heading, Paragraph("This section has no widgets.", _NOTE)] if empty else heading


class _Row(Flowable):
    """One row of widgets, top-aligned; each cell is ``(x, flowable)`` with x from the frame's left edge."""

    def __init__(self, cells: list[tuple[float, Flowable]], height: float) -> None:
        super().__init__()
        self.cells, self.height, self.spaceAfter = cells, height, GUTTER

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, self.height

    def draw(self) -> None:
        for x, cell in self.cells:
            cell.drawOn(self.canv, x, self.height - cell.height)


def _height(flowables: list[Flowable], frame: Frame) -> float:
    height: float = sum(f.wrap(frame.width, frame.height)[1] + f.getSpaceBefore() + f.getSpaceAfter()
                         for f in flowables)
    return height


def _image_or_error(result: WidgetResult | None) -> tuple[bytes, tuple[int, int]] | str:
    """A widget's PNG with its pixel size, or the error text to show in its place."""
    if result is None:
        return "No result was recorded for this widget."
    if result.png is None:
        return result.error or "No image and no error were recorded."
    size = _pixel_size(result.png)
    return (result.png, size) if size else _UNDECODABLE.format(len(result.png))


def _pixels(request: WidgetRequest, outcome: tuple[bytes, tuple[int, int]] | str) -> tuple[int, int]:
    """The pixel size a widget is laid out by: its image's own, or for a failure the size it asked for."""
    return (request.width, request.height) if isinstance(outcome, str) else outcome[1]


def _cell(request: WidgetRequest, outcome: tuple[bytes, tuple[int, int]] | str, cell: Cell,
          scale: float) -> tuple[float, Flowable]:
    width, height = cell.width * scale, cell.height * scale
    if isinstance(outcome, str):
        return cell.x * scale, _FailureBox(width, height, request.title, outcome)
    return cell.x * scale, _Picture(outcome[0], width, height, title=request.title)


_UNDECODABLE = "The image CloudWatch returned could not be decoded ({} bytes)."


def _pixel_size(png: bytes) -> tuple[int, int] | None:
    """The image's size from its header, or None when it is not an image or fails its checksums.

    ``verify`` reads every chunk and checks its CRC without decoding pixels (about 0.05 ms against 5 ms
    for a full decode), which catches truncated and damaged downloads.
    """
    try:
        with PILImage.open(io.BytesIO(png)) as image:
            image.verify()
            return image.size
    except Exception:  # Pillow reports corrupt data as OSError, SyntaxError, ValueError and more
        return None


class _Picture(Flowable):
    """A widget's PNG at a fixed size, decoded only when drawn so a report's images are never all in
    memory at once."""

    def __init__(self, png: bytes, width: float, height: float, *, title: str) -> None:
        super().__init__()
        self.png, self.width, self.height, self.title = png, width, height, title

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        try:
            self.canv.drawImage(ImageReader(io.BytesIO(self.png)), 0, 0, self.width, self.height, mask="auto")
        except Exception:  # pixel data that passed its checksums and still does not decode
            box = _FailureBox(self.width, self.height, self.title, _UNDECODABLE.format(len(self.png)))
            box.drawOn(self.canv, 0, 0)


class _FailureBox(Flowable):
    """A widget's stand-in: a tinted, bordered box naming the widget and saying what went wrong.

    The text is centred; the title gets at most two lines and the error what room is left, and a cut
    line ends in an ellipsis.
    """

    _PADDING = 8.0
    _ICON = 18.0  # the warning triangle and its gap to the text
    _GAP = 3.0    # between the label, the title and the error

    def __init__(self, width: float, height: float, title: str, error: str) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.title, self.error = title, error

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canv = self.canv
        canv.saveState()
        canv.setFillColor(_FAIL_FILL)
        canv.setStrokeColor(_FAIL_BORDER)
        canv.setLineWidth(0.8)
        canv.roundRect(0, 0, self.width, self.height, 4, stroke=1, fill=1)
        error = " ".join(self.error.split())
        if len(error) > _ERROR_CHARS:
            error = error[:_ERROR_CHARS].rstrip() + "…"
        room = self.height - 2 * self._PADDING - self._ICON
        blocks: list[tuple[list[str], str, float, Color]] = []
        for text, font, size, color, most in (("Widget could not be rendered", _BOLD, 9.0, _FAIL_INK, 2),
                                              (self.title, _BOLD, 9.0, _INK, 2),
                                              (error, _FONT, 8.0, _FAIL_TEXT, None)):
            fit = int(room // (size * _LEADING))
            lines = _wrap_lines(text, font, size, self.width - 2 * self._PADDING,
                                fit if most is None else min(most, fit))
            if not lines:
                break
            blocks.append((lines, font, size, color))
            room -= len(lines) * size * _LEADING + self._GAP
        used = self._ICON + sum(len(lines) * size * _LEADING + self._GAP for lines, _, size, _ in blocks) - self._GAP
        top = (self.height + used) / 2
        if blocks:  # a box too small for one line of text stays empty
            _draw_warning_icon(canv, self.width / 2, top - self._ICON + 4)
        y = top - self._ICON
        for lines, font, size, color in blocks:
            canv.setFont(font, size)
            canv.setFillColor(color)
            for line in lines:
                y -= size * _LEADING
                canv.drawCentredString(self.width / 2, y + size * 0.25, line)
            y -= self._GAP
        canv.restoreState()


def _wrap_lines(text: str, font: str, size: float, width: float, most: int) -> list[str]:
    """``text`` broken into at most ``most`` lines of ``width``; a cut ends in an ellipsis."""
    lines: list[str] = simpleSplit(text, font, size, width)
    if len(lines) <= most:
        return lines
    if most <= 0:
        return []
    return lines[:most - 1] + [_ellipsize(lines[most - 1] + " " + lines[most], font, size, width)]


def _draw_warning_icon(canv: Canvas, x: float, y: float) -> None:
    """A filled triangle with an exclamation mark, its base centred on (x, y)."""
    side = 13.0
    canv.saveState()
    canv.setFillColor(_FAIL_INK)
    path = canv.beginPath()
    path.moveTo(x - side / 2, y)
    path.lineTo(x + side / 2, y)
    path.lineTo(x, y + side * 0.87)
    path.close()
    canv.drawPath(path, stroke=0, fill=1)
    canv.setFillColor(_FAIL_FILL)
    canv.setFont(_BOLD, 8.5)
    canv.drawCentredString(x, y + 1.6, "!")
    canv.restoreState()


class _SectionAnchor(AnchorFlowable):
    """A zero-size marker before a section heading: a bookmark at that spot and an outline entry for it."""

    def __init__(self, key: str, title: str) -> None:
        super().__init__(key)
        self.key, self.title = key, title

    def draw(self) -> None:
        super().draw()
        self.canv.addOutlineEntry(self.title, self.key, level=0)


@dataclass(frozen=True)
class _Furniture:
    """What every page shows outside the body frame."""

    pagesize: tuple[float, float]
    footer: str
    running_head: str
    running_date: str
    created: str  # PDF date string for the document info


class _ReportCanvas(Canvas):
    """A canvas that holds pages back until ``save`` so each footer can say "Page X of Y".

    Deferring ``showPage`` means a page is added to the document only at the end, so bookmarks (which
    name the page being added) are held back with their page too.
    """

    def __init__(self, *args: Any, furniture: _Furniture, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        self._held_pages: list[dict[str, Any]] = []
        self._page_bookmarks: list[tuple[str, dict[str, Any]]] = []
        self.setDateFormatter(lambda *_: furniture.created)
        self.showOutline()

    def bookmarkPage(self, key: str, **kwargs: Any) -> None:
        self._page_bookmarks.append((key, kwargs))

    def showPage(self) -> None:
        self._held_pages.append(dict(self.__dict__))
        self._page_bookmarks = []
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for state in self._held_pages:
            self.__dict__.update(state)
            for key, kwargs in self._page_bookmarks:
                super().bookmarkPage(key, **kwargs)
            self._draw_furniture(total)
            super().showPage()
        super().save()

    def _draw_furniture(self, total: int) -> None:
        furniture = self._furniture
        width, height = furniture.pagesize
        number = self.getPageNumber()
        self.saveState()
        self.setFillColor(_ACCENT)
        self.rect(0, height - 5, width, 5, stroke=0, fill=1)
        self.setStrokeColor(_RULE)
        self.setLineWidth(0.5)
        self.line(_MARGIN, _MARGIN, width - _MARGIN, _MARGIN)
        self.setFillColor(_MUTED)
        self.setFont(_FONT, 8)
        page = f"Page {number} of {total}"
        self.drawRightString(width - _MARGIN, _MARGIN - 12, page)
        text_room = width - 2 * _MARGIN - stringWidth(page, _FONT, 8) - 24
        self.drawString(_MARGIN, _MARGIN - 12, _shorten(furniture.footer, _FONT, 8, text_room))
        if number > 1:
            baseline = height - _MARGIN + 14
            self.drawRightString(width - _MARGIN, baseline, furniture.running_date)
            self.setFont(_BOLD, 8)
            self.drawString(_MARGIN, baseline, _shorten(furniture.running_head, _BOLD, 8, text_room))
        self.restoreState()


def _shorten(text: str, font: str, size: float, width: float) -> str:
    return text if stringWidth(text, font, size) <= width else _ellipsize(text, font, size, width)


def _ellipsize(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut so that it fits ``width`` with a trailing ellipsis."""
    while text and stringWidth(text.rstrip() + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _pdf_date(moment: datetime) -> str:
    offset = moment.strftime("%z") or "+0000"
    return f"D:{moment:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:]}'"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
