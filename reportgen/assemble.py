"""Lay a report's widget images out as a PDF, with reportlab's platypus doing the flow.

``build_pdf`` is pure and synchronous: plan and results in, PDF bytes out, nothing else touched but
reportlab's ``rl_config`` and its font registry. The pipeline runs it in a worker process. The same inputs
give the same bytes.

Layout: a cover on the first page (logo, title, period, report date, generation time, a summary), then the
front matter (a table of contents, the summary of what changed), then each section as a heading followed by
its `text:` items and its widgets in rows of up to ``columns``, each with its caption and table of numbers.
``reportgen.layout`` decides the rows and pages (justified rows, pages filled by shrinking their rows a
little); this module measures the headings, captions and tables and draws what it decided. A row never splits
across pages and a heading or text stays with the row after it. Images keep their aspect ratio and are never
drawn larger than at 96 dpi; a widget without a usable image becomes a marked box of the size it asked for.
Every string goes through ``reportgen.fonts``, so any script is drawn with a font that has it.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A3, A4, LEGAL, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
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

from reportgen.alarmreport import AlarmsResult
from reportgen.alarmtable import AlarmsTable
from reportgen.files import write_atomic
from reportgen.fonts import FontChain
from reportgen.images import logo_flowable
from reportgen.layout import BLANK_LIMIT, GUTTER, POINTS_PER_PIXEL, Block, Cell, Heading, Widget, paginate
from reportgen.model import (
    CONTENTS_AFTER,
    Layout,
    ReportPlan,
    TimeWindow,
    WidgetNumbers,
    WidgetRequest,
    WidgetResult,
    WidgetSpec,
)
from reportgen.numbertables import NumbersTable, SummaryTable, comparisons, flagged, long_window, table_height
from reportgen.pngpass import draw_png, passable
from reportgen.richtext import TextStyles, markdown_flowables

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
_SUBHEADING = _style("subheading", 10, font=_BOLD, spaceBefore=6, spaceAfter=4)
_CAPTION = _style("caption", 8, font="Helvetica-Oblique", color=_MUTED, leading=10)
_CAPTION_LINES = 3
_TEXT_STYLES = TextStyles(body=_style("text", 9.5, leading=13, spaceAfter=4),
                          bullet=_style("text-bullet", 9.5, leading=13, spaceAfter=2, leftIndent=14, bulletIndent=4))
_LOGO_WIDTH, _LOGO_HEIGHT = 150.0, 56.0  # pt: the most a cover logo takes, beside the title


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    warnings: tuple[str, ...]  # what the reader should know, e.g. characters no font could draw


# The alarms of each `alarms:` item, by (section, the item's place among the section's alarms items).
Alarms = Mapping[tuple[int, int], AlarmsResult]
_NO_ALARMS: Alarms = {}


def build_pdf(plan: ReportPlan, results: Sequence[WidgetResult], *, generated_at: datetime,
              alarms: Alarms = _NO_ALARMS) -> bytes:
    """Return the report for ``plan`` as PDF bytes, one image (or failure box) per requested widget.

    ``results`` are matched to the plan's widgets by section and index; a widget without a result, or
    whose PNG cannot be decoded, is drawn as a failure box. ``generated_at`` must be timezone-aware; it is
    shown in the report's time zone and becomes the PDF's creation date, so equal inputs give equal bytes.
    """
    return render_pdf(plan, results, generated_at=generated_at, alarms=alarms).data


def render_pdf(plan: ReportPlan, results: Sequence[WidgetResult], *, generated_at: datetime,
               alarms: Alarms = _NO_ALARMS) -> RenderedPdf:
    """``build_pdf``, and the warnings the build raised."""
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    rl_config.useA85 = 0  # plain Flate streams: about a fifth smaller than ASCII85-wrapped ones
    return _Builder(plan, results, generated_at.astimezone(plan.spec.tz), alarms).build()


def write_pdf(plan: ReportPlan, results: Sequence[WidgetResult], path: Path, *,
              generated_at: datetime, alarms: Alarms = _NO_ALARMS) -> tuple[str, ...]:
    """Build the report and put it at ``path`` whole or not at all (the pipeline runs this in a worker);
    return the build's warnings."""
    rendered = render_pdf(plan, results, generated_at=generated_at, alarms=alarms)
    write_atomic(path, rendered.data)
    return rendered.warnings


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


class _Builder:
    """One report's story: the cover, the front matter (contents, summary), then the sections as
    ``reportgen.layout`` paginates them; and the canvas that draws the page furniture around it."""

    def __init__(self, plan: ReportPlan, results: Sequence[WidgetResult], generated: datetime,
                 alarms: Alarms) -> None:
        self.alarms = alarms
        self.plan, self.spec, self.generated = plan, plan.spec, generated
        self.fonts = FontChain(self.spec.layout.fonts, base=self.spec.path.parent)
        self.pagesize = page_size(self.spec.layout)
        self.frame = self._body()
        by_place = {(r.request.section, r.request.index): r for r in results}
        self.requests = sorted(plan.widgets, key=lambda r: (r.section, r.index))
        self.results = {request: by_place.get((request.section, request.index)) for request in self.requests}
        self.shown = {request: _image_or_error(self.results[request]) for request in self.requests}
        self.long_window = long_window(plan.window.start, plan.window.end)

    def _body(self) -> Frame:
        """The page's body frame; a new one per document, since a frame keeps where its last build stopped."""
        return Frame(_MARGIN, _MARGIN + _FOOTER_SPACE, self.pagesize[0] - 2 * _MARGIN,
                     self.pagesize[1] - 2 * _MARGIN - _FOOTER_SPACE, leftPadding=0, rightPadding=0,
                     topPadding=0, bottomPadding=0, id="body")

    def para(self, text: str, style: ParagraphStyle) -> Paragraph:
        """Plain text as a paragraph, each run in a font that has its characters."""
        return Paragraph(self.fonts.markup(text, bold=style.fontName == _BOLD), style)

    def build(self) -> RenderedPdf:
        spec, frame = self.spec, self.frame
        failed = sum(isinstance(outcome, str) for outcome in self.shown.values())
        cover = self._cover(widgets=len(self.shown), failed=failed)
        contents_wanted = spec.layout.contents
        if contents_wanted is None:
            contents_wanted = len(spec.sections) > CONTENTS_AFTER
        # The front matter's page count decides where sections start, and the contents list those pages:
        # measure it first without the contents' numbers (its height does not depend on them).
        contents = _Contents([section.title for section in spec.sections], self.fonts) if contents_wanted else None
        front = self._front(contents)
        blocks, members, headings, first_block = self._blocks()
        # `offset` pages of front matter come before the page the sections start on; that one has
        # `first_room` left under the front matter, or all of it after a page break.
        offset, first_room, new_page = 0, frame.height - _height(cover + front, frame), False
        if front and first_room < frame.height * BLANK_LIMIT:  # it may run over a page: lay it out to see
            # On flowables of its own: reportlab marks the ones it moves to another page, and a flowable moved
            # once in the measuring would count as moved twice in the real build.
            titles = contents.titles if contents is not None else None
            again = self._cover(widgets=len(self.shown), failed=failed) + self._front(
                None if titles is None else _Contents(titles, self.fonts))
            pages_filled, left = self._pages_of(again)
            if left >= frame.height * BLANK_LIMIT:  # the sections go on under its end
                offset, first_room = pages_filled - 1, left
            else:
                offset, first_room, new_page = pages_filled, frame.height, True
        pages = paginate(blocks, width=frame.width, first_room=first_room - _SLACK, room=frame.height - _SLACK)
        if contents is not None:
            contents.pages = [1 + offset + next(n for n, page in enumerate(pages)
                                                if any(isinstance(e, Heading) and e.block == first_block[s]
                                                       for e in page.entries))
                              for s in range(len(spec.sections))]
        story = cover + front
        if new_page:
            story.append(PageBreak())
        for number, page in enumerate(pages):
            if number:
                story.append(PageBreak())
            for entry in page.entries:
                if isinstance(entry, Heading):
                    story += headings[entry.block]
                else:
                    story.append(_Row([self._cell(members[entry.block][cell.widget], cell, page.scale)
                                       for cell in entry.cells], entry.height * page.scale + entry.below))
        out = io.BytesIO()
        doc = BaseDocTemplate(
            out, pagesize=self.pagesize, pageTemplates=[PageTemplate("report", [frame])],
            title=spec.title, author="reportgen", subject=self.plan.window.label(), creator="reportgen",
            keywords=[spec.id], displayDocTitle=True, invariant=1,
        )
        furniture = _Furniture(
            pagesize=self.pagesize, fonts=self.fonts, title=spec.title, period=self.plan.window.label(),
            footer=spec.layout.footer, report=spec.id, created=_pdf_date(self.generated),
        )
        doc.build(story, canvasmaker=functools.partial(_ReportCanvas, furniture=furniture))
        warning = self.fonts.warning()
        return RenderedPdf(out.getvalue(), (warning,) if warning else ())

    # --- the cover and the front matter ------------------------------------------------------------------

    def _cover(self, *, widgets: int, failed: int) -> list[Flowable]:
        spec, width = self.spec, self.frame.width
        summary = f"{_plural(widgets, 'widget')} in {_plural(len(spec.sections), 'section')}"
        summary += (f'  ·  <font name="{_BOLD}" color="#{_FAIL_INK.hexval()[2:]}">{failed} failed</font>'
                    if failed else "  ·  all rendered")
        rows = [
            ("PERIOD", self.fonts.markup(self.plan.window.label())),
            ("REPORT DATE", f"{self.plan.report_date:%A %d %B %Y}"),
            ("GENERATED", f"{self.generated:%a %d %b %Y %H:%M} {escape(self.generated.tzname() or '')}"),
            ("CONTENTS", summary),
        ]
        meta = Table([[Paragraph(label, _META_LABEL), Paragraph(value, _META_VALUE)] for label, value in rows],
                     colWidths=[80, width - 80], hAlign="LEFT")
        meta.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), *_NO_PADDING,
                                  ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
        title: list[Flowable] = [self.para(f"CLOUDWATCH REPORT  ·  {spec.id.upper()}", _EYEBROW),
                                 self.para(spec.title, _TITLE)]
        if spec.description:
            title.append(self.para(spec.description, _DESCRIPTION))
        top: list[Flowable] = title
        if spec.layout.logo is not None:
            logo = logo_flowable(spec.layout.logo, _LOGO_WIDTH, _LOGO_HEIGHT)
            block = Table([[title, logo]], colWidths=[width - _LOGO_WIDTH - 12, _LOGO_WIDTH + 12], hAlign="LEFT")
            block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                                       *_NO_PADDING]))
            top = [block]
        return top + [Spacer(0, 10), meta,
                      HRFlowable(width="100%", thickness=1.5, color=_ACCENT, spaceBefore=10, spaceAfter=4)]

    def _front(self, contents: _Contents | None) -> list[Flowable]:
        front: list[Flowable] = []
        if contents is not None:
            front += [_Bookmark("contents", "Contents"), self.para("Contents", _HEADING), contents]
        if self.spec.summary is not None:
            front += self._summary(self.spec.summary.threshold)
        return front

    def _summary(self, threshold: float) -> list[Flowable]:
        """What changed: every tabled series against the period before, the largest moves first."""
        tabled = [(request.title, result.numbers) for request, result in self.results.items()
                  if result is not None and result.numbers is not None and result.numbers.error is None]
        rows = comparisons(tabled)
        moved = flagged(rows, threshold)
        window = self.plan.window
        length = window.end - window.start  # aware datetimes: the real length, 25 hours on a DST day
        before = TimeWindow((window.start.astimezone(UTC) - length).astimezone(window.start.tzinfo),
                            window.start, window.timezone)
        story: list[Flowable] = [
            _Bookmark("summary", "What changed"), self.para("What changed", _HEADING),
            self.para(f"This period against the one before it ({before.label()}): the average and the maximum "
                      f"of every series with a table. Changes of {threshold:g} % or more either way are flagged.",
                      _NOTE),
            Spacer(0, 6),
        ]
        if moved:
            story += [self.para(f"{_plural(len(moved), 'series')} changed by {threshold:g} % or more", _SUBHEADING),
                      SummaryTable(moved, self.fonts, threshold=threshold), Spacer(0, 10)]
        else:
            story += [self.para(f"No series changed by {threshold:g} % or more.", _SUBHEADING)]
        if rows:
            story += [self.para("All series", _SUBHEADING), SummaryTable(rows, self.fonts, threshold=threshold)]
        else:
            story += [self.para("No numbers were available for this period.", _NOTE)]
        missing = sum(1 for request, result in self.results.items()
                      if self._table_wanted(request) and (result is None or result.numbers is None
                                                          or result.numbers.error is not None))
        if missing:
            story.append(self.para(f"{_plural(missing, 'widget')} with a table had no numbers; see the tables "
                                   "under their charts.", _NOTE))
        return story

    def _pages_of(self, story: list[Flowable]) -> tuple[int, float]:
        """How many pages ``story`` fills on its own (the front matter, before the sections), and the height
        left free on the last of them."""
        body = self._body()
        doc = BaseDocTemplate(io.BytesIO(), pagesize=self.pagesize, pageTemplates=[PageTemplate("report", [body])],
                              invariant=1)
        doc.build(list(story))
        return int(doc.page), float(doc.frame._y - doc.frame._y1p)  # the frame's cursor and its floor

    # --- the sections ------------------------------------------------------------------------------------

    def _blocks(self) -> tuple[list[Block], list[list[WidgetRequest]], list[list[Flowable]], list[int]]:
        """The sections as layout blocks. A `text:` item starts a block of its own (it stays with the row
        after it); the first block of a section carries the section's heading."""
        blocks: list[Block] = []
        members: list[list[WidgetRequest]] = []
        headings: list[list[Flowable]] = []
        first_block: list[int] = []
        width = self.frame.width
        for number, section in enumerate(self.spec.sections):
            first_block.append(len(blocks))
            requests = [request for request in self.requests if request.section == number]
            columns = section.columns or self.spec.layout.columns
            places = [text.before for text in section.texts] + [alarms.before for alarms in section.alarms]
            cuts = sorted({0, len(requests), *places})
            for start, stop in zip(cuts, cuts[1:] + [None]):
                if start and stop is None and start not in places:
                    break
                part = requests[start:stop]
                flowables = self._heading(number, section.title) if start == 0 else []
                if not requests and not section.texts and not section.alarms:
                    flowables.append(self.para("This section has no widgets.", _NOTE))
                for text in section.texts:
                    if text.before == start:
                        flowables += markdown_flowables(text.text, _TEXT_STYLES,
                                                        markup=lambda run, bold: self.fonts.markup(run, bold=bold))
                        flowables.append(Spacer(0, 4))
                for place, item in enumerate(section.alarms):
                    if item.before == start:
                        result = self.alarms.get((number, place), AlarmsResult((), "the alarms were not fetched"))
                        flowables += [AlarmsTable(result, self.fonts, zone=self.spec.tz, end=self.plan.window.end,
                                                  long_window=self.long_window), Spacer(0, 6)]
                headings.append(flowables)
                members.append(part)
                blocks.append(Block(
                    _height(flowables, self.frame),
                    tuple(self._widget(request, columns, width) for request in part),
                    columns=columns, rows=section.rows or self.spec.layout.rows,
                    new_page=section.page_break_before and start == 0,
                ))
                if stop is None:
                    break
        return blocks, members, headings, first_block

    def _heading(self, number: int, title: str) -> list[Flowable]:
        """A section's anchor, title and rule."""
        return [_SectionAnchor(f"section-{number}", title), self.para(title, _HEADING),
                HRFlowable(width="100%", thickness=0.5, color=_RULE, spaceBefore=0, spaceAfter=8)]

    def _spec_of(self, request: WidgetRequest) -> WidgetSpec:
        return self.spec.sections[request.section].widgets[request.index]

    def _table_wanted(self, request: WidgetRequest) -> bool:
        return self._spec_of(request).table

    def _widget(self, request: WidgetRequest, columns: int, width: float) -> Widget:
        """The layout's view of a widget: its pixels, its span, and the room its caption and table take."""
        widget = self._spec_of(request)
        span = columns if widget.span is None else min(widget.span, columns)
        nominal = (width - (columns - 1) * GUTTER) / columns * span + (span - 1) * GUTTER
        return Widget(*_pixels(request, self.shown[request]), widget.span,
                      below=self._caption_height(widget, nominal) + self._table_height(request))

    def _caption_height(self, widget: WidgetSpec, width: float) -> float:
        if not widget.caption:
            return 0.0
        lines = len(self.fonts.wrap(widget.caption, _CAPTION.fontSize, width))
        return 3 + min(lines, _CAPTION_LINES) * float(_CAPTION.leading)

    def _table_height(self, request: WidgetRequest) -> float:
        result = self.results[request]
        if not self._table_wanted(request) or result is None or result.png is None:
            return 0.0
        return table_height(result.numbers or WidgetNumbers(error="no numbers were fetched"))

    def _cell(self, request: WidgetRequest, cell: Cell, scale: float) -> tuple[float, Flowable]:
        width, height = cell.width * scale, cell.height * scale
        outcome = self.shown[request]
        widget = self._spec_of(request)
        picture: Flowable = (_FailureBox(width, height, request.title, outcome, self.fonts) if isinstance(outcome, str)
                             else _Picture(outcome[0], width, height, title=request.title, fonts=self.fonts))
        parts = [picture]
        if widget.caption:
            lines = self.fonts.wrap(widget.caption, _CAPTION.fontSize, width)
            if len(lines) > _CAPTION_LINES:
                lines = lines[:_CAPTION_LINES - 1] + [self.fonts.shorten(" ".join(lines[_CAPTION_LINES - 1:]),
                                                                         _CAPTION.fontSize, width)]
            parts += [Spacer(0, 3), Paragraph("<br/>".join(self.fonts.markup(line) for line in lines), _CAPTION)]
        result = self.results[request]
        if self._table_wanted(request) and result is not None and result.png is not None:
            parts.append(NumbersTable(result.numbers or WidgetNumbers(error="no numbers were fetched"), width,
                                      self.fonts, zone=self.spec.tz, long_window=self.long_window))
        key = f"widget-{request.section}-{request.index}"
        return cell.x * scale, _Stack(parts, width, bookmark=(key, request.title))


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


class _Stack(Flowable):
    """A widget's cell: its chart, then its caption and table, top to bottom; and its outline entry."""

    def __init__(self, parts: list[Flowable], width: float, *, bookmark: tuple[str, str]) -> None:
        super().__init__()
        self.parts, self.width, self.bookmark = parts, width, bookmark
        self.heights = [part.wrap(width, 10_000)[1] for part in parts]
        self.height = sum(self.heights)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        key, title = self.bookmark
        self.canv.bookmarkHorizontal(key, 0, self.height)
        self.canv.addOutlineEntry(title, key, level=1)
        y = self.height
        for part, height in zip(self.parts, self.heights):
            y -= height
            part.drawOn(self.canv, 0, y)


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

    def __init__(self, png: bytes, width: float, height: float, *, title: str, fonts: FontChain) -> None:
        super().__init__()
        self.png, self.width, self.height, self.title, self.fonts = png, width, height, title, fonts

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        passed = passable(self.png)
        if passed is not None:  # its compressed rows go into the PDF as they are, not decoded and recompressed
            draw_png(self.canv, self.png, passed, 0, 0, self.width, self.height)
            return
        try:
            self.canv.drawImage(ImageReader(io.BytesIO(self.png)), 0, 0, self.width, self.height, mask="auto")
        except Exception:  # pixel data that passed its checksums and still does not decode
            box = _FailureBox(self.width, self.height, self.title, _UNDECODABLE.format(len(self.png)), self.fonts)
            box.drawOn(self.canv, 0, 0)


class _FailureBox(Flowable):
    """A widget's stand-in: a tinted, bordered box naming the widget and saying what went wrong.

    The text is centred; the title gets at most two lines and the error what room is left, and a cut
    line ends in an ellipsis.
    """

    _PADDING = 8.0
    _ICON = 18.0  # the warning triangle and its gap to the text
    _GAP = 3.0    # between the label, the title and the error

    def __init__(self, width: float, height: float, title: str, error: str, fonts: FontChain) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.title, self.error, self.fonts = title, error, fonts

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canv, fonts = self.canv, self.fonts
        canv.saveState()
        canv.setFillColor(_FAIL_FILL)
        canv.setStrokeColor(_FAIL_BORDER)
        canv.setLineWidth(0.8)
        canv.roundRect(0, 0, self.width, self.height, 4, stroke=1, fill=1)
        error = " ".join(self.error.split())
        if len(error) > _ERROR_CHARS:
            error = error[:_ERROR_CHARS].rstrip() + "…"
        room = self.height - 2 * self._PADDING - self._ICON
        blocks: list[tuple[list[str], bool, float, Color]] = []
        for text, bold, size, color, most in (("Widget could not be rendered", True, 9.0, _FAIL_INK, 2),
                                              (self.title, True, 9.0, _INK, 2),
                                              (error, False, 8.0, _FAIL_TEXT, None)):
            fit = int(room // (size * _LEADING))
            most = fit if most is None else min(most, fit)
            lines = self._lines(text, bold, size, self.width - 2 * self._PADDING, most)
            if not lines:
                break
            blocks.append((lines, bold, size, color))
            room -= len(lines) * size * _LEADING + self._GAP
        used = self._ICON + sum(len(lines) * size * _LEADING + self._GAP for lines, _, size, _ in blocks) - self._GAP
        top = (self.height + used) / 2
        if blocks:  # a box too small for one line of text stays empty
            _draw_warning_icon(canv, self.width / 2, top - self._ICON + 4)
        y = top - self._ICON
        for lines, bold, size, color in blocks:
            canv.setFillColor(color)
            for line in lines:
                y -= size * _LEADING
                fonts.draw(canv, self.width / 2, y + size * 0.25, line, size, bold=bold, align="centre")
            y -= self._GAP
        canv.restoreState()

    def _lines(self, text: str, bold: bool, size: float, width: float, most: int) -> list[str]:
        """``text`` broken into at most ``most`` lines of ``width``; a cut ends in an ellipsis."""
        lines = self.fonts.wrap(text, size, width, bold=bold)
        if len(lines) <= most:
            return lines
        if most <= 0:
            return []
        return lines[:most - 1] + [self.fonts.shorten(lines[most - 1] + " " + lines[most], size, width, bold=bold)]


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


class _Bookmark(AnchorFlowable):
    """A zero-size marker: a bookmark at this spot and a top-level outline entry for it."""

    def __init__(self, key: str, title: str) -> None:
        super().__init__(key)
        self.key, self.title = key, title

    def draw(self) -> None:
        super().draw()
        self.canv.addOutlineEntry(self.title, self.key, level=0)


class _SectionAnchor(_Bookmark):
    """The marker before a section heading; its widgets' outline entries nest under it."""


class _Contents(Flowable):
    """The table of contents: each section's title, dot leaders, and the page it starts on, linked to it.

    Its height depends only on the number of sections, so the pages can be decided before the page
    numbers are filled in (``pages``, one per section).
    """

    _SIZE = 10.0
    _LEADING = 17.0

    def __init__(self, titles: list[str], fonts: FontChain) -> None:
        super().__init__()
        self.titles, self.fonts = titles, fonts
        self.pages: list[int] = [0] * len(titles)
        self.height = self._LEADING * len(titles) + 6

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, self.height

    def draw(self) -> None:
        canv, fonts, size = self.canv, self.fonts, self._SIZE
        canv.saveState()
        for number, (title, page) in enumerate(zip(self.titles, self.pages)):
            baseline = self.height - (number + 1) * self._LEADING + 4
            label = f"{number + 1}.  "
            page_text = str(page)
            room = self.width - fonts.width(label, size) - fonts.width(page_text, size) - 40
            shown = fonts.shorten(title, size, room)
            canv.setFillColor(_MUTED)
            fonts.draw(canv, 0, baseline, label, size)
            canv.setFillColor(_INK)
            left = fonts.width(label, size)
            fonts.draw(canv, left, baseline, shown, size)
            canv.setFillColor(_RULE)
            dots_from = left + fonts.width(shown, size) + 6
            dots_to = self.width - fonts.width(page_text, size) - 6
            dot = fonts.width(". ", size)
            if dots_to > dots_from:
                fonts.draw(canv, dots_to, baseline, ". " * int((dots_to - dots_from) // dot), size, align="right")
            canv.setFillColor(_INK)
            fonts.draw(canv, self.width, baseline, page_text, size, align="right")
            if page:  # known once the sections are placed; measuring the front matter draws it without
                canv.linkRect("", f"section-{number}", (0, baseline - 4, self.width, baseline + size), relative=1,
                              thickness=0)
        canv.restoreState()


@dataclass(frozen=True)
class _Furniture:
    """What every page shows outside the body frame."""

    pagesize: tuple[float, float]
    fonts: FontChain
    title: str
    period: str
    footer: str | None  # the spec's own line, e.g. "Confidential"
    report: str
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
        """The accent bar; the title and period above the body from page 2 on (page 1 has its cover); the
        footer line, and "Page X of Y", below it on every page."""
        furniture = self._furniture
        fonts = furniture.fonts
        width, height = furniture.pagesize
        number = self.getPageNumber()
        room = width - 2 * _MARGIN
        self.saveState()
        self.setFillColor(_ACCENT)
        self.rect(0, height - 5, width, 5, stroke=0, fill=1)
        self.setStrokeColor(_RULE)
        self.setLineWidth(0.5)
        self.line(_MARGIN, _MARGIN, width - _MARGIN, _MARGIN)
        self.setFillColor(_MUTED)
        page = f"Page {number} of {total}"
        fonts.draw(self, width - _MARGIN, _MARGIN - 12, page, 8, align="right")
        fonts.draw(self, _MARGIN, _MARGIN - 12, fonts.shorten(f"{furniture.title}  ·  {furniture.period}", 8,
                                                              room - fonts.width(page, 8) - 24), 8)
        if furniture.footer:  # the spec's own line ("Confidential") under them, centred
            fonts.draw(self, width / 2, _MARGIN - 23, fonts.shorten(furniture.footer, 8, room), 8, bold=True,
                       align="centre")
        if number > 1:
            baseline = height - _MARGIN + 14
            period = fonts.shorten(furniture.period, 8, room / 2)
            fonts.draw(self, width - _MARGIN, baseline, period, 8, align="right")
            self.setFillColor(_INK)
            fonts.draw(self, _MARGIN, baseline, fonts.shorten(furniture.title, 8, room - fonts.width(period, 8) - 24,
                                                              bold=True), 8, bold=True)
        self.restoreState()


def _pdf_date(moment: datetime) -> str:
    offset = moment.strftime("%z") or "+0000"
    return f"D:{moment:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:]}'"


def _plural(count: int, noun: str) -> str:
    if count == 1 or noun.endswith("s"):
        return f"{count} {noun}"
    return f"{count} {noun}s"
