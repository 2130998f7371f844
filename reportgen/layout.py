"""Which widgets share a row, how large they are drawn, and which page each row goes on.

Pure arithmetic in points, no reportlab: ``assemble`` measures the headings, asks ``paginate`` for the
decisions and turns them into flowables, and tests check the decisions without rasterising anything.

Rows are justified: the widgets of a row share one height, so each one's width follows its own aspect
ratio and the row fills the frame's width with no space left beside a shorter chart. ``span`` decides
which widgets share a row (a widget of span k takes k of the row's columns; ``None`` takes the whole row).
Pages are filled greedily; when the next row does not fit, every row of the page is drawn smaller by one
factor so that it does: down to ``EASY_SCALE`` always, down to ``MIN_SCALE`` when the page would otherwise
end more than ``BLANK_LIMIT`` empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

POINTS_PER_PIXEL = 0.75  # 72 pt per inch over 96 px per inch: an image is never drawn larger than at 96 dpi
GUTTER = 12.0            # pt between widgets of a row and between rows
EASY_SCALE = 0.85        # a page's rows may shrink this far to take one more row in
MIN_SCALE = 0.5          # and this far when the page would otherwise be more than BLANK_LIMIT empty
BLANK_LIMIT = 1 / 3
# A row is at most this share of a page's room: any page less than BLANK_LIMIT full can then take one more
# row at MIN_SCALE or above, even page 1 under a header.
TALLEST_ROW = 0.8


@dataclass(frozen=True)
class Widget:
    """One widget as the layout sees it: its image's pixel size and the columns it takes (None: all)."""

    width_px: int
    height_px: int
    span: int | None = 1
    below: float = 0.0  # pt under the image that does not scale with it: a caption, a table of numbers


@dataclass(frozen=True)
class Block:
    """A section: a heading of fixed height that stays with the first row, then its widgets."""

    heading: float
    widgets: tuple[Widget, ...]
    columns: int
    rows: int | None = None   # at most this many rows on a page that takes a row of this section
    new_page: bool = False    # the heading starts a page


@dataclass(frozen=True)
class Cell:
    """Where a widget sits in its row at full scale: ``x`` from the row's left edge, top-aligned."""

    widget: int  # index of the widget in its block
    x: float
    width: float
    height: float       # of the image
    below: float = 0.0  # pt under the image, at every scale


@dataclass(frozen=True)
class Row:
    block: int
    cells: tuple[Cell, ...]

    @property
    def height(self) -> float:
        """The tallest image; what scales with the page."""
        return max(cell.height for cell in self.cells)

    @property
    def below(self) -> float:
        """The most any cell has under its image; it does not scale."""
        return max(cell.below for cell in self.cells)


@dataclass(frozen=True)
class Heading:
    block: int
    height: float


@dataclass
class Page:
    """What goes on one page, top to bottom, and the one factor its rows are drawn at."""

    room: float
    entries: list[Heading | Row] = field(default_factory=list)
    scale: float = 1.0

    @property
    def rows(self) -> list[Row]:
        return [entry for entry in self.entries if isinstance(entry, Row)]

    @property
    def used(self) -> float:
        """Height taken at the page's scale: headings, rows and the gutter under each row."""
        return _fixed(self.entries) + self.scale * sum(row.height for row in self.rows)

    @property
    def blank(self) -> float:
        """The share of the page's room left empty below its last entry."""
        return max(0.0, 1 - self.used / self.room)


def rows_of(block: Block, index: int, width: float, max_height: float) -> list[Row]:
    """The block's widgets in justified rows of ``width``, no row taller than ``max_height``.

    A row that is not full (the section's last) is sized as if the missing columns held widgets of the
    row's average shape, so a lone widget is as large as it would be among others.
    """
    rows: list[Row] = []
    group: list[int] = []
    for number, widget in enumerate(block.widgets):
        if group and _taken(block, group) + _span(widget, block.columns) > block.columns:
            rows.append(_justify(block, index, group, width, max_height))
            group = []
        group.append(number)
    if group:
        rows.append(_justify(block, index, group, width, max_height))
    return rows


def paginate(blocks: Sequence[Block], *, width: float, first_room: float, room: float) -> list[Page]:
    """Pages for ``blocks`` in order: ``first_room`` is the height free on page 1, ``room`` on the others.

    Every row is sized to fit an empty page under its heading, so nothing is cut; a page ends more than
    ``BLANK_LIMIT`` empty only before a block that asks for a new page, or for a `rows` limit.
    """
    pages = [Page(first_room)]
    for index, block in enumerate(blocks):
        if block.new_page and pages[-1].entries:
            pages.append(Page(room))
        heading = Heading(index, block.heading)
        rows = rows_of(block, index, width, max(min(room * TALLEST_ROW, room - block.heading - GUTTER), 1.0))
        # The heading goes with the first row; a section without widgets is its heading (and note) alone.
        groups: list[list[Heading | Row]] = [[heading, row] if n == 0 else [row] for n, row in enumerate(rows)]
        for entries in groups or [[heading]]:
            if not _fits(pages[-1], entries, block.rows):
                pages.append(Page(room))
                _fits(pages[-1], entries, block.rows, force=True)
    return pages


def _fits(page: Page, entries: list[Heading | Row], limit: int | None, *, force: bool = False) -> bool:
    """Put ``entries`` on ``page`` and rescale it, if they fit within the page's rules (or ``force``)."""
    candidate = page.entries + entries
    rows = sum(row.height for row in candidate if isinstance(row, Row))
    scale = min(1.0, (page.room - _fixed(candidate)) / rows) if rows else 1.0
    too_many = limit is not None and sum(isinstance(e, Row) for e in candidate) > limit
    lowest = MIN_SCALE if page.blank > BLANK_LIMIT else EASY_SCALE
    if not force and (too_many or scale < lowest or (not rows and _fixed(candidate) > page.room)):
        return False
    page.entries, page.scale = candidate, scale
    return True


def _fixed(entries: Sequence[Heading | Row]) -> float:
    """Height that does not scale: headings, and under each row its captions and tables and the gutter."""
    return sum(entry.height if isinstance(entry, Heading) else entry.below + GUTTER for entry in entries)


def _span(widget: Widget, columns: int) -> int:
    return columns if widget.span is None else min(widget.span, columns)


def _taken(block: Block, group: list[int]) -> int:
    return sum(_span(block.widgets[number], block.columns) for number in group)


def _justify(block: Block, index: int, group: list[int], width: float, max_height: float) -> Row:
    aspects = [block.widgets[n].width_px / block.widgets[n].height_px for n in group]
    missing = block.columns - _taken(block, group)
    average = sum(aspects) / _taken(block, group)  # per column
    slots = len(group) + missing
    below = max(block.widgets[n].below for n in group)
    height = min((width - (slots - 1) * GUTTER) / (sum(aspects) + missing * average), max(max_height - below, 1.0))
    cells, x = [], 0.0
    for number, aspect in zip(group, aspects):
        # Never above 96 dpi: a small image stays small, top-aligned beside its taller neighbours.
        own = min(height, block.widgets[number].height_px * POINTS_PER_PIXEL)
        cells.append(Cell(number, x, own * aspect, own, block.widgets[number].below))
        x += own * aspect + GUTTER
    return Row(index, tuple(cells))
