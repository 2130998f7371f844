import math
import random
from pathlib import Path

import pytest

from reportgen.layout import (
    BLANK_LIMIT,
    EASY_SCALE,
    GUTTER,
    MIN_SCALE,
    TALLEST_ROW,
    Block,
    Heading,
    Page,
    Row,
    Widget,
    paginate,
    rows_of,
)
from reportgen.spec import SpecError, load_spec

WIDTH, ROOM = 756.85, 495.0   # the body of an A4 landscape page
FIRST_ROOM = ROOM - 110       # under the report's header
HEADING = 40.0

# Shapes of real dashboard widgets: wide graphs, squares (gauges, pies), short strips (single values),
# tall ones (a legend on the right), and the 600×400 default.
SHAPES = [(600, 400), (900, 450), (1200, 300), (400, 400), (600, 250), (300, 600), (1800, 600), (480, 360)]


def mixed(count: int, seed: int) -> tuple[Widget, ...]:
    pick = random.Random(seed)
    return tuple(Widget(*pick.choice(SHAPES)) for _ in range(count))


def lay_out(*blocks: Block) -> list[Page]:
    return paginate(blocks, width=WIDTH, first_room=FIRST_ROOM, room=ROOM)


def needed_area(blocks: tuple[Block, ...]) -> float:
    """What the content takes at full size: every row across the frame with its gutter, and the headings."""
    return sum(WIDTH * (HEADING + sum(row.height + GUTTER for row in rows_of(block, n, WIDTH, ROOM)))
               for n, block in enumerate(blocks))


@pytest.mark.parametrize("columns", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(6))
def test_mixed_sizes_fill_their_pages(columns: int, seed: int) -> None:
    blocks = tuple(Block(HEADING, mixed(count, seed * 10 + n), columns)
                   for n, count in enumerate([47, 3, 11, 1, 20]))
    pages = lay_out(*blocks)
    # The first page loses the header's room; one more page of slack for sections that end early.
    assert len(pages) <= math.ceil((needed_area(blocks) + WIDTH * (ROOM - FIRST_ROOM)) / (WIDTH * ROOM)) + 1
    assert all(page.blank <= BLANK_LIMIT for page in pages[:-1]), [round(page.blank, 2) for page in pages]
    assert all(MIN_SCALE <= page.scale <= 1 and page.used <= page.room + 1e-9 for page in pages)
    placed = [(row.block, cell.widget) for page in pages for row in page.rows for cell in row.cells]
    assert placed == [(n, w) for n, block in enumerate(blocks) for w in range(len(block.widgets))]


def test_the_corpus_shapes_need_about_half_the_pages_of_one_row_per_page() -> None:
    # 47 mixed widgets in two columns used to make 24 pages, one row each.
    pages = lay_out(Block(HEADING, mixed(47, 1), 2))
    assert len(pages) <= 13
    assert sum(len(page.rows) for page in pages) >= 2 * len(pages) - 1


def test_a_row_shares_one_height_and_fills_the_width() -> None:
    [row] = rows_of(Block(HEADING, (Widget(1200, 600), Widget(600, 600)), 2), 0, WIDTH, ROOM)
    assert [cell.height for cell in row.cells] == pytest.approx([(WIDTH - GUTTER) / 3] * 2)
    last = row.cells[-1]
    assert last.x + last.width == pytest.approx(WIDTH)
    assert row.cells[0].width == pytest.approx(2 * row.cells[1].width)  # each keeps its aspect ratio


def test_a_small_image_is_not_upscaled_and_sits_at_the_top() -> None:
    [row] = rows_of(Block(HEADING, (Widget(200, 100), Widget(900, 450)), 2), 0, WIDTH, ROOM)
    small, large = row.cells
    assert (small.width, small.height) == (150, 75)
    assert large.x == 150 + GUTTER
    assert row.height == large.height > 75


def test_a_lone_widget_in_the_last_row_is_as_large_as_its_neighbours() -> None:
    first, last = rows_of(Block(HEADING, (Widget(900, 450),) * 3, 2), 0, WIDTH, ROOM)
    assert last.cells[0].width == pytest.approx(first.cells[0].width)


def test_a_tall_widget_is_shrunk_to_fit_a_page() -> None:
    pages = lay_out(Block(HEADING, (Widget(600, 2000),) * 3, 1))
    assert [len(page.rows) for page in pages] == [1, 1, 1]
    assert pages[1].rows[0].height == pytest.approx(ROOM * TALLEST_ROW)
    assert pages[0].used <= pages[0].room  # page 1 has less room under the header: shrunk further


@pytest.mark.parametrize(("spans", "rows"), [
    ([None, 1, 1], [[0], [1, 2]]),        # span: full has the row to itself
    ([2, 1, 1, 1, 1], [[0, 1], [2, 3, 4]]),
    ([1, 3, 1], [[0], [1], [2]]),         # three of three columns does not fit beside one
    ([9, 1], [[0], [1]]),                 # wider than the row: the whole row
])
def test_span_decides_who_shares_a_row(spans: list[int | None], rows: list[list[int]]) -> None:
    block = Block(HEADING, tuple(Widget(900, 450, span) for span in spans), 3)
    assert [[cell.widget for cell in row.cells] for row in rows_of(block, 0, WIDTH, ROOM)] == rows


def test_rows_limits_the_rows_on_a_page() -> None:
    pages = lay_out(Block(HEADING, (Widget(1200, 200),) * 8, 2, rows=1))
    assert [len(page.rows) for page in pages] == [1, 1, 1, 1]


def test_a_section_limit_applies_to_the_pages_it_shares() -> None:
    pages = lay_out(Block(HEADING, (Widget(1200, 200),) * 2, 1), Block(HEADING, (Widget(1200, 200),) * 2, 1, rows=2))
    assert [[row.block for row in page.rows] for page in pages] == [[0, 0], [1, 1]]


def test_page_break_before_starts_a_page_that_has_room_left() -> None:
    small = (Widget(900, 450),)
    assert len(lay_out(Block(HEADING, small, 2), Block(HEADING, small, 2))) == 1
    pages = lay_out(Block(HEADING, small, 2), Block(HEADING, small, 2, new_page=True))
    assert [[row.block for row in page.rows] for page in pages] == [[0], [1]]
    assert pages[0].blank > BLANK_LIMIT  # allowed: the next section asked for a new page


def test_a_heading_stays_with_its_first_row() -> None:
    pages = lay_out(Block(HEADING, (Widget(900, 600),) * 2, 1), Block(HEADING, (Widget(900, 600),), 1))
    assert len(pages) == 3
    for page in pages:
        for entry, after in zip(page.entries, page.entries[1:] + [None]):
            if isinstance(entry, Heading):
                assert isinstance(after, Row) and after.block == entry.block


def test_rows_shrink_only_as_far_as_a_page_needs() -> None:
    # Two 900×450 rows need 86 % under the header: taken; on a later page a third would need 80 %: not.
    pages = lay_out(Block(HEADING, (Widget(900, 450),) * 12, 2))
    assert [len(page.rows) for page in pages] == [2, 2, 2]
    assert EASY_SCALE <= pages[0].scale < 1 and pages[1].scale == 1


def test_a_section_without_widgets_is_its_heading() -> None:
    [page] = lay_out(Block(HEADING, (), 2), Block(HEADING, (Widget(900, 450),), 2))
    assert [type(entry).__name__ for entry in page.entries] == ["Heading", "Heading", "Row"]


# -- the spec keys ------------------------------------------------------------------------------------

SPEC = """\
report: dense
title: Dense
layout: {columns: 3, rows: 4}
sections:
  - title: Overview
    columns: 2
    rows: 2
    page_break: before
    widgets:
      - metrics: [[AWS/EC2, CPUUtilization]]
        span: full
      - metrics: [[AWS/EC2, NetworkIn]]
        span: 2
  - title: Rest
    widgets:
      - metrics: [[AWS/EC2, NetworkOut]]
"""


def test_spec_keys_reach_the_model(tmp_path: Path) -> None:
    path = tmp_path / "dense.yaml"
    path.write_text(SPEC)
    spec = load_spec(path)
    assert (spec.layout.columns, spec.layout.rows) == (3, 4)
    overview, rest = spec.sections
    assert (overview.columns, overview.rows, overview.page_break_before) == (2, 2, True)
    assert (rest.columns, rest.rows, rest.page_break_before) == (None, None, False)
    assert [widget.span for widget in overview.widgets + rest.widgets] == [None, 2, 1]
    assert all("span" not in widget.source for widget in overview.widgets)  # not sent to CloudWatch


@pytest.mark.parametrize(("change", "message"), [
    (("span: 2", "span: half"), "span"),
    (("span: 2", "span: 5"), "span"),
    (("rows: 2", "rows: 0"), "rows"),
    (("page_break: before", "page_break: after"), "page_break"),
    (("columns: 2", "colums: 2"), "columns"),
])
def test_bad_layout_keys_are_refused(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "dense.yaml"
    path.write_text(SPEC.replace(*change))
    with pytest.raises(SpecError, match=message):
        load_spec(path)
