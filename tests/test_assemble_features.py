"""What a report holds besides its charts, read back from the PDF with pypdf: the table of contents and its
page numbers, the outline, commentary and captions, the numbers under each chart, the summary of what
changed, text in any script with a font embedded for it, the logo and the footer line."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from fontfactory import build_font
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from test_assemble import make_png, outline, page_texts

from reportgen.assemble import build_pdf, render_pdf
from reportgen.model import (
    AwsTarget,
    Layout,
    Period,
    ReportPlan,
    ReportSpec,
    Section,
    SeriesStats,
    Summary,
    TextItem,
    TimeWindow,
    WidgetNumbers,
    WidgetRequest,
    WidgetResult,
    WidgetSpec,
)
from reportgen.numbertables import format_change, format_number

GENERATED = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
TZ = "Europe/Berlin"
ZONE = ZoneInfo(TZ)
TWO_COLUMNS = Layout(columns=2)
WINDOW = TimeWindow(datetime(2026, 11, 25, tzinfo=ZONE), datetime(2026, 11, 26, tzinfo=ZONE), TZ)


def stats(label: str, average: float, maximum: float, *, max_at: datetime | None = None) -> SeriesStats:
    return SeriesStats(id=label.lower().replace(" ", "_"), label=label, unit="Percent", minimum=average / 2,
                       average=average, maximum=maximum, last=average + 1,
                       max_at=max_at or datetime(2026, 11, 25, 13, 35, tzinfo=UTC), points=288)


Build = Callable[..., tuple[ReportPlan, list[WidgetResult]]]


@pytest.fixture
def report(tmp_path: Path) -> Build:
    """``sections`` maps a section title to its widgets, each ``(title, WidgetNumbers | None)``; a widget with
    numbers has a table. ``texts`` gives a section's `text:` items as (before, markdown)."""

    def make(sections: Mapping[str, Sequence[tuple[str, WidgetNumbers | None]]], *, title: str = "Daily operations",
             layout: Layout = TWO_COLUMNS, texts: Mapping[str, Sequence[tuple[int, str]]] = {},
             captions: Mapping[str, str] = {}, summary: Summary | None = None,
             size: tuple[int, int] = (900, 450)) -> tuple[ReportPlan, list[WidgetResult]]:
        spec_sections, requests, results = [], [], []
        for s, (section_title, widgets) in enumerate(sections.items()):
            specs = []
            for i, (widget_title, numbers) in enumerate(widgets):
                specs.append(WidgetSpec(widget_title, {"title": widget_title}, line=10 + len(requests),
                                        caption=captions.get(widget_title), table=numbers is not None))
                request = WidgetRequest("daily-ops", s, i, widget_title, "{}", *size)
                requests.append(request)
                results.append(WidgetResult(request, png=make_png(*size, seed=len(requests)), numbers=numbers))
            spec_sections.append(Section(section_title, tuple(specs), texts=tuple(
                TextItem(text, before=before, line=1) for before, text in texts.get(section_title, ()))))
        spec = ReportSpec(id="daily-ops", title=title, path=tmp_path / "daily.yaml", timezone=TZ, period=Period(),
                          aws=AwsTarget(), layout=layout, sections=tuple(spec_sections), summary=summary)
        return ReportPlan(spec, date(2026, 11, 25), WINDOW, tuple(requests)), results

    return make


def read(plan: ReportPlan, results: list[WidgetResult]) -> PdfReader:
    return PdfReader(io.BytesIO(build_pdf(plan, results, generated_at=GENERATED)))


def contents_lines(text: str) -> dict[str, int]:
    """Section title → page number, from the table of contents' "1. Title . . . . 3" lines."""
    return {title: int(page) for title, page in re.findall(r"\d+\. (.+?) (?:\. )+\.? ?(\d+)", text)}


def sections_of(sizes: Sequence[int], numbers: WidgetNumbers | None = None) -> dict[str, list[tuple[str, Any]]]:
    return {f"Section {s}": [(f"Widget {s}.{i}", numbers) for i in range(count)] for s, count in enumerate(sizes)}


# --- navigation ---------------------------------------------------------------------------------------


def test_contents_list_each_section_with_the_page_it_starts_on(report: Build) -> None:
    reader = read(*report(sections_of((3, 1, 5, 2, 4)), layout=Layout(columns=1)))
    texts = page_texts(reader)
    listed = contents_lines(texts[0])
    starts = dict(outline(reader))
    assert starts.pop("Contents") == 0
    assert list(listed) == [f"Section {s}" for s in range(5)]
    for title, page in listed.items():
        assert starts[title] + 1 == page      # the outline says where the heading is drawn …
        assert title in texts[page - 1]       # … and the page shows it
    assert len(set(listed.values())) > 2      # the sections are spread over several pages
    # Each line links to where its section starts.
    pages = {page.indirect_reference: number for number, page in enumerate(reader.pages, start=1)}
    links = [annotation.get_object() for annotation in reader.pages[0].get("/Annots", [])]
    assert [pages[link["/Dest"][0]] for link in links if "/Dest" in link] == list(listed.values())


def test_few_sections_get_no_contents_unless_asked(report: Build) -> None:
    assert "Contents" not in page_texts(read(*report(sections_of((1, 1)))))[0]
    asked = read(*report(sections_of((1, 1)), layout=Layout(contents=True)))
    assert contents_lines(page_texts(asked)[0]) == {title: page + 1 for title, page in outline(asked)
                                                    if title != "Contents"}
    refused = read(*report(sections_of((1, 1, 1, 1, 1)), layout=Layout(contents=False)))
    assert "Contents" not in page_texts(refused)[0]


@pytest.mark.parametrize(("series", "after"), [(8, 0), (10, 1)])
def test_contents_after_a_front_matter_of_several_pages(report: Build, series: int, after: int) -> None:
    # The summary compares 4 × `series` rows, most of them listed twice (flagged, then all): pages of them.
    # With 8 the last page of it has room for the first section under it; with 10 it has not, and the
    # sections start on the next page. Either way the contents must count the front matter's pages.
    many = WidgetNumbers(stats=tuple(stats(f"host-{n}", 10 + n, 20 + n) for n in range(series)),
                         previous=tuple(stats(f"host-{n}", 10, 20) for n in range(series)))
    sections = {f"Section {s}": [(f"Widget {s}", many)] for s in range(4)}
    reader = read(*report(sections, summary=Summary(), layout=Layout(columns=1)))
    texts = page_texts(reader)
    listed = contents_lines(texts[0])
    starts = dict(outline(reader))
    summary_ends = max(number for number, text in enumerate(texts, start=1) if "Widget 3 host-" in text)
    assert starts["What changed"] == 0 and summary_ends > 2
    assert listed["Section 0"] == summary_ends + after
    for title, page in listed.items():
        assert starts[title] + 1 == page and title in texts[page - 1]


def test_the_outline_holds_the_sections_and_their_widgets(report: Build) -> None:
    reader = read(*report(sections_of((2, 3)), layout=Layout(columns=1)))
    sections = outline(reader)
    widgets = outline(reader, level=1)
    assert [title for title, _ in sections] == ["Section 0", "Section 1"]
    assert [title for title, _ in widgets] == ["Widget 0.0", "Widget 0.1", "Widget 1.0", "Widget 1.1", "Widget 1.2"]
    pages = [page for _, page in widgets]
    assert pages == sorted(pages) and pages[0] == sections[0][1] and pages[2] == sections[1][1]
    images_per_page = [len(cast(DictionaryObject, page["/Resources"]).get("/XObject", {})) for page in reader.pages]
    assert [pages.count(n) for n in range(len(reader.pages))] == images_per_page


def test_every_page_has_the_running_head_and_the_footer_line(report: Build) -> None:
    texts = page_texts(read(*report(sections_of((4, 4)), layout=Layout(columns=1, footer="Confidential"))))
    assert len(texts) > 2
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {len(texts)}" in text and "Confidential" in text
        assert text.count("Wed 25 Nov 2026 00:00 – Thu 26 Nov 2026 00:00") == 2  # cover or head, and footer


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_a_logo_on_the_cover(report: Build, tmp_path: Path, kind: str) -> None:
    logo = tmp_path / f"logo.{kind}"
    if kind == "png":
        Image.new("RGB", (400, 100), "#0E7490").save(logo)
    else:
        logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100">'
                        '<rect width="100" height="100" fill="#0E7490"/>'
                        '<text x="110" y="60" font-size="30">Acme</text></svg>')
    plain = read(*report(sections_of((1,))))
    reader = read(*report(sections_of((1,)), layout=Layout(logo=logo)))
    xobjects = cast(DictionaryObject, reader.pages[0]["/Resources"]).get("/XObject", {})
    plain_xobjects = cast(DictionaryObject, plain.pages[0]["/Resources"]).get("/XObject", {})
    if kind == "png":
        assert len(xobjects) == len(plain_xobjects) + 1
    else:  # drawn as vectors and text, not as an image
        assert len(xobjects) == len(plain_xobjects) and "Acme" in page_texts(reader)[0]


# --- words --------------------------------------------------------------------------------------------


def test_text_items_and_captions(report: Build) -> None:
    texts = {"Section 0": [(0, "The web tier runs **three** instances; see the "
                               "[runbook](https://wiki.example.com/web)."),
                           (1, "- first point\n- second point")]}
    reader = read(*report(sections_of((2,)), texts=texts, captions={"Widget 0.1": "Pages the on-call above 80 %."}))
    text = " ".join(page_texts(reader))
    assert text.index("Section 0") < text.index("The web tier runs three instances") < text.index("first point")
    assert "second point" in text and "Pages the on-call above 80 %." in text
    uris = [annotation.get_object()["/A"]["/URI"] for page in reader.pages for annotation in page.get("/Annots", [])
            if "/A" in annotation.get_object()]
    assert uris == ["https://wiki.example.com/web"]


def test_a_text_item_splits_a_section_between_rows(report: Build) -> None:
    # The text goes between the first widget and the second, in a two-column layout: they are in rows of
    # their own, one above the text, one below it.
    plan, results = report(sections_of((2,)), texts={"Section 0": [(1, "Between the charts.")]})
    reader = read(plan, results)
    widgets = outline(reader, level=1)
    assert [page for _, page in widgets] == [0, 0]
    text = page_texts(reader)[0]
    assert "Between the charts." in text


# --- numbers ------------------------------------------------------------------------------------------


def test_a_table_under_a_chart_holds_its_numbers(report: Build) -> None:
    numbers = WidgetNumbers(stats=(stats("web-1", 22.4712, 37.7, max_at=datetime(2026, 11, 25, 12, 35, tzinfo=UTC)),
                                   stats("web-2", 1234.5, 99_999.0)))
    text = page_texts(read(*report({"Compute": [("CPU", numbers)]}, layout=Layout(columns=1))))[0]
    row = re.search(r"web-1 Percent (\S+) (\S+) (\S+) (\S+) (\S+)", text)
    assert row is not None
    assert row.groups() == ("11.24", "22.47", "37.7", "23.47", "13:35")  # max at 12:35 UTC is 13:35 in Berlin
    assert "web-2 Percent 617.2 1,234 99,999 1,236" in text
    assert "Series Unit Min Average Max Last Max at" in text


def test_a_table_without_numbers_says_why(report: Build) -> None:
    failed = WidgetNumbers(error="Throttling: Rate exceeded (after 6 attempts)")
    text = page_texts(read(*report({"Compute": [("CPU", failed)]})))[0]
    assert "Numbers unavailable: Throttling: Rate exceeded (after 6 attempts)" in text


def test_a_long_table_shows_its_first_rows_and_counts_the_rest(report: Build) -> None:
    numbers = WidgetNumbers(stats=tuple(stats(f"host-{n:02}", n, n) for n in range(14)))
    text = page_texts(read(*report({"Fleet": [("CPU", numbers)]}, layout=Layout(columns=1))))[0]
    assert "host-09" in text and "host-10" not in text
    assert "… and 4 more series (all are in the CSV export)" in text


def test_the_summary_flags_what_changed_past_the_threshold(report: Build) -> None:
    cpu = WidgetNumbers(stats=(stats("web-1", 30, 60), stats("web-2", 10, 20)),
                        previous=(stats("web-1", 20, 58), stats("web-2", 10.5, 21)))
    errors = WidgetNumbers(stats=(stats("5XX", 1, 100),), previous=(stats("5XX", 2, 25),))
    reader = read(*report({"Compute": [("CPU", cpu)], "Web": [("Errors", errors)]}, summary=Summary(threshold=25)))
    text = page_texts(reader)[0]
    flagged = text[text.index("2 series changed by 25 % or more"):text.index("All series")]
    # Largest move first: the errors' max quadrupled (+300 %), web-1's average rose by half (+50 %).
    assert flagged.index("Errors 5XX") < flagged.index("CPU web-1")
    assert "+300 %" in flagged and "+50 %" in flagged and "web-2" not in flagged
    assert "CPU web-2 10 10.5 -4.8 % 20 21 -4.8 %" in text[text.index("All series"):]
    assert "Tue 24 Nov 2026 00:00 – Wed 25 Nov 2026 00:00" in text  # the period compared with
    assert ("What changed", 0) in outline(reader)


@pytest.mark.parametrize(("percent", "shown"), [
    (None, "–"), (0.0, "0.0 %"), (-0.04, "0.0 %"), (0.04, "0.0 %"), (4.76, "+4.8 %"), (-9.96, "-10 %"),
    (50, "+50 %"), (-97.3, "-97 %"), (25_000, "+2.5e+04 %"),
])
def test_changes_are_signed_and_rounded(percent: float | None, shown: str) -> None:
    assert format_change(percent) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (0, "0"), (22.4712, "22.47"), (1234.5, "1,234"), (0.001234, "0.001234"), (0.5, "0.5"), (100, "100"),
    (-3.25, "-3.25"), (2.5e-6, "2.5e-06"), (None, "–"), (float("nan"), "–"), (289871812419.0, "289,871,812,419"),
])
def test_numbers_are_shown_to_four_significant_digits(value: float | None, shown: str) -> None:
    assert format_number(value) == shown


# --- every language -----------------------------------------------------------------------------------


def test_text_in_any_script_is_drawn_with_an_embedded_font(report: Build, tmp_path: Path) -> None:
    # A font built here covers the characters, so the test does not depend on the fonts of the machine.
    title = "운영 보고서 日本語 Ωмега"
    font = build_font(tmp_path / "testfont.ttf", "".join(sorted(set(title.replace(" ", "")))))
    numbers = WidgetNumbers(stats=(stats("서버-1", 5, 9),))
    plan, results = report({"섹션 一": [("위젯", numbers)]}, title=title, captions={"위젯": "説明文"},
                           layout=Layout(fonts=(str(font),), footer="社外秘"))
    rendered = render_pdf(plan, results, generated_at=GENERATED)
    reader = PdfReader(io.BytesIO(rendered.data))
    text = page_texts(reader)[0]
    assert title in text and "섹션 一" in text and "서버-1" in text and "社外秘" in text
    resources = [cast(DictionaryObject, page["/Resources"])["/Font"] for page in reader.pages]
    fonts = {str(font_dict["/BaseFont"]): font_dict
             for font_refs in resources for font_dict in (ref.get_object() for ref in font_refs.values())}
    embedded = [name for name, font_dict in fonts.items() if name.endswith("testfont")]
    assert embedded and re.fullmatch(r"/[A-Z]{6}\+testfont", embedded[0])  # a subset
    descendant = fonts[embedded[0]]
    descriptor = (descendant["/DescendantFonts"][0].get_object() if "/DescendantFonts" in descendant
                  else descendant)["/FontDescriptor"].get_object()
    assert "/FontFile2" in descriptor
    assert rendered.warnings == ()  # "説明文" has glyphs in the test font too


def test_characters_no_font_has_are_one_warning(report: Build, tmp_path: Path) -> None:
    font = build_font(tmp_path / "testfont.ttf", "가")
    # Private-use characters: no font anywhere covers them.
    plan, results = report({"A \ue001": [("chart", None)]}, title="가 \ue000 \ue001",
                           layout=Layout(fonts=(str(font),)))
    warnings = render_pdf(plan, results, generated_at=GENERATED).warnings
    assert len(warnings) == 1 and "U+E000" in warnings[0] and "U+E001" in warnings[0]


def test_equal_inputs_give_equal_bytes_with_every_feature(report: Build, tmp_path: Path) -> None:
    font = build_font(tmp_path / "testfont.ttf", "운영")
    logo = tmp_path / "logo.png"
    Image.new("RGB", (300, 100), "#0E7490").save(logo)
    numbers = WidgetNumbers(stats=(stats("a", 1, 2),), previous=(stats("a", 2, 2),))
    args = (sections_of((2, 2, 1, 1), numbers),)
    kwargs: dict[str, Any] = dict(title="운영", summary=Summary(), texts={"Section 0": [(1, "**Note**")]},
                                  layout=Layout(logo=logo, fonts=(str(font),), footer="Internal"))
    first = build_pdf(*report(*args, **kwargs), generated_at=GENERATED)
    assert build_pdf(*report(*args, **kwargs), generated_at=GENERATED) == first
    assert build_pdf(*report(*args, **kwargs), generated_at=GENERATED + timedelta(seconds=1)) != first


@pytest.mark.parametrize(("columns", "orientation"), [(1, "portrait"), (3, "landscape"), (4, "portrait")])
def test_tables_and_captions_get_their_room_at_any_layout(report: Build, columns: int, orientation: str) -> None:
    # Tall tables and three-line captions under narrow charts: every page still holds what it was given
    # (reportlab refuses a row that overflows its frame), and every widget is drawn once.
    numbers = WidgetNumbers(stats=tuple(stats(f"a rather long series label {n}", n + 1, n + 2) for n in range(12)),
                            notes=("a row in eu-west-1 is not shown",))
    sections = {f"S{s}": [(f"W{s}.{i}", numbers) for i in range(5)] for s in range(3)}
    caption = "A caption long enough to need more than one line, even two, under a narrow chart of a dense page."
    reader = read(*report(sections, layout=Layout(columns=columns, orientation=orientation),
                          captions={f"W{s}.{i}": caption for s in range(3) for i in range(5)}, size=(600, 500)))
    assert [title for title, _ in outline(reader, level=1)] == [f"W{s}.{i}" for s in range(3) for i in range(5)]
    assert sum(text.count("… and 2 more series") for text in page_texts(reader)) == 15
