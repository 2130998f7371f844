"""reportgen.richtext: markdown commentary drawn into real PDFs and read back with pypdf."""

from __future__ import annotations

import io
from collections.abc import Callable
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, SimpleDocTemplate

from reportgen.richtext import TextStyles, check_markdown, markdown_flowables

STYLES = TextStyles(body=ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=13),
                    bullet=ParagraphStyle("bullet", fontName="Helvetica", fontSize=10, leading=13))
ACCENT = [0.054902, 0.454902, 0.564706]  # #0E7490 as reportlab writes it
MAX_INDENT = STYLES.bullet.leftIndent + 6 * 1.5 * STYLES.body.fontSize


def plain(text: str, bold: bool) -> str:
    return escape(text)


def flowables(text: str, styles: TextStyles = STYLES, markup: Callable[[str, bool], str] = plain) -> list[Flowable]:
    return markdown_flowables(text, styles, markup=markup)


def pdf(text: str, styles: TextStyles = STYLES, markup: Callable[[str, bool], str] = plain) -> PdfReader:
    return PdfReader(io.BytesIO(pdf_bytes(flowables(text, styles, markup))))


def pdf_bytes(story: list[Flowable]) -> bytes:
    out = io.BytesIO()
    SimpleDocTemplate(out, invariant=1).build(story)
    return out.getvalue()


def text_of(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def fonts_of(reader: PdfReader) -> set[str]:
    return {str(font.get_object()["/BaseFont"]).lstrip("/") for page in reader.pages
            for font in page["/Resources"]["/Font"].values()}


def uris_of(reader: PdfReader) -> list[str]:
    return [str(annot.get_object()["/A"]["/URI"]) for page in reader.pages for annot in page.get("/Annots", [])]


def x_of(reader: PdfReader) -> dict[str, float]:
    """Where on the page each text run starts, from the left edge."""
    starts: dict[str, float] = {}

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            starts.setdefault(text.strip(), cm[0] * tm[4] + cm[4])

    reader.pages[0].extract_text(visitor_text=visit)
    return starts


def fill_colour_of(reader: PdfReader, word: str) -> list[float]:
    colour: list[float] = []
    for operands, operator in ContentStream(reader.pages[0].get_contents(), reader).operations:
        if operator == b"rg":
            colour = [float(value) for value in operands]
        elif operator == b"Tj" and word in str(operands[0]):
            return colour
    raise AssertionError(f"{word!r} is not drawn")


@pytest.fixture(scope="module")
def vera() -> TextStyles:
    """Styles whose bullets are set in a TrueType font, so pypdf reads the bullet back as U+2022."""
    pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))  # ships with reportlab
    return TextStyles(body=STYLES.body, bullet=ParagraphStyle("bullet", parent=STYLES.bullet, bulletFontName="Vera"))


def test_paragraphs_draw_their_words_with_bold_italic_and_code_fonts() -> None:
    reader = pdf("Latency **rose** after the *deploy*;\nsee `p99`.\n\nSecond paragraph & more.")

    assert text_of(reader).splitlines() == ["Latency rose after the deploy; see p99.", "Second paragraph & more."]
    assert fonts_of(reader) == {"Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Courier"}


def test_a_hard_break_starts_a_new_line_and_a_soft_break_does_not() -> None:
    assert text_of(pdf("one  \ntwo\nthree")).splitlines() == ["one", "two three"]


def test_headings_are_bold_and_a_little_larger() -> None:
    story = flowables("# Summary\n\n### Detail\n\nbody")

    assert [paragraph.style.fontSize for paragraph in story] == [13, 11, 10]
    assert fonts_of(PdfReader(io.BytesIO(pdf_bytes(story)))) == {"Helvetica-Bold", "Helvetica"}


def test_links_are_accent_coloured_underlined_uri_annotations() -> None:
    reader = pdf("See [docs](https://example.com/a?x=1&copy=2), mail <ops@example.com>, [plain](http://example.org).")

    assert uris_of(reader) == ["https://example.com/a?x=1&copy=2", "mailto:ops@example.com", "http://example.org"]
    assert fill_colour_of(reader, "docs") == ACCENT
    assert fill_colour_of(reader, "See") == [0, 0, 0]
    operators = [(operator, operands) for operands, operator in ContentStream(reader.pages[0].get_contents(),
                                                                               reader).operations]
    assert (b"RG", ACCENT) in operators and (b"S", []) in operators  # the underline is stroked in the accent


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)", "file:///etc/passwd", "/relative",
                                 "data:text/html,x", "ftp://example.com"])
def test_other_links_are_plain_text_not_annotations(url: str) -> None:
    reader = pdf(f"[click here]({url}) and [ok](https://example.com)")

    assert uris_of(reader) == ["https://example.com"]
    assert text_of(reader).splitlines() == ["click here and ok"]
    assert fill_colour_of(reader, "click here") == [0, 0, 0]


def test_list_items_have_bullets_and_numbers_and_nest(vera: TextStyles) -> None:
    reader = pdf("- one\n- two\n  - inner\n\n3. three\n4. four\n\n-\n- - first of nested", styles=vera)

    lines = [" ".join(line.split()) for line in text_of(reader).splitlines()]
    assert lines == ["• one", "• two", "– inner", "3. three", "4. four", "•", "•", "– first of nested"]
    where = x_of(reader)
    assert where["inner"] > where["two"] > where["•"]


def test_block_quotes_are_indented() -> None:
    where = x_of(pdf("plain\n\n> quoted\n>\n> > deeper"))

    assert where["deeper"] > where["quoted"] > where["plain"]


def test_deep_nesting_is_drawn_with_a_capped_indent() -> None:
    text = "\n".join("  " * depth + f"- item{depth}" for depth in range(100))

    story = flowables(text)

    assert [paragraph.text for paragraph in story] == [f"item{depth}" for depth in range(100)]
    assert max(paragraph.style.leftIndent for paragraph in story) == MAX_INDENT
    assert check_markdown(text) == []
    assert "item99" in text_of(PdfReader(io.BytesIO(pdf_bytes(story))))


def test_raw_html_is_shown_as_text_never_read_as_markup() -> None:
    text = '<script>alert(1)</script>\n\nA <font name="x" color="red">tag</font> & <b>bold?</b> &amp; <br/>'

    reader = pdf(text)

    assert text_of(reader).splitlines() == ["<script>alert(1)</script>",
                                            'A <font name="x" color="red">tag</font> & <b>bold?</b> & <br/>']
    assert fonts_of(reader) == {"Helvetica"}


def test_every_run_goes_through_markup_with_its_boldness() -> None:
    seen: list[tuple[str, bool]] = []

    def shout_bold(text: str, bold: bool) -> str:
        seen.append((text, bold))
        return f'<font name="Times-Roman">{escape(text.upper() if bold else text)}</font>'

    reader = pdf("# head\n\nquiet **loud `code`** ![alt](x.png)\n\n| a |\n|---|\n| cell |", markup=shout_bold)

    assert text_of(reader).splitlines() == ["HEAD", "quiet LOUD CODE alt", "a", "cell"]
    assert ("code", True) in seen and ("alt", False) in seen
    assert "Times-Roman" in fonts_of(reader)


def test_code_blocks_and_tables_are_shown_as_text() -> None:
    reader = pdf("```sql\nSELECT 1;\nSELECT 2;\n```\n\n| host | p99 |\n|---|---|\n| web-1 | **120** |")

    assert text_of(reader).splitlines() == ["SELECT 1;", "SELECT 2;", "host | p99", "web-1 | 120"]
    assert "Courier" in fonts_of(reader)


def test_the_same_text_gives_the_same_pdf() -> None:
    text = "# T\n\n- a **b** [c](https://e.com)\n  1. d\n\n> e `f`\n\n---\n\n| g |\n|---|\n| h |"

    assert pdf_bytes(flowables(text)) == pdf_bytes(flowables(text))


@pytest.mark.parametrize(("text", "warnings"), [
    ("**bold** *it* `c` [x](https://e.com) <a@b.co>\n\n- a\n  1. b\n\n> q\n\n# h\n\nx  \ny", []),
    ("text\n\n![chart](c.png)", ["line 3: images are not drawn; the alt text is shown"]),
    ("a\nb <b>x</b>", ["line 2: raw HTML is not drawn; it is shown as text"]),
    ("<div>\nx\n</div>", ["line 1: raw HTML is not drawn; it is shown as text"]),
    ("para\n\n```\ncode\n```", ["line 3: code blocks are shown as plain text"]),
    ("    indented code", ["line 1: code blocks are shown as plain text"]),
    ("intro\n\n| a |\n|---|\n| 1 |", ["line 3: tables are shown as plain text, one line per row"]),
    ("- item\n  [x](javascript:alert(1))",
     ["line 2: the link to 'javascript:alert(1)' is shown as plain text; only http, https and mailto links are drawn"]),
    ("[x](/" + "a" * 100 + ")", [f"line 1: the link to '/{'a' * 58}…' is shown as plain text; only http, https and "
                                 "mailto links are drawn"]),
    ("![a](x) ![b](y)\n\n<i>z</i>", ["line 1: images are not drawn; the alt text is shown",
                                     "line 3: raw HTML is not drawn; it is shown as text"]),
])
def test_check_markdown_says_what_is_not_drawn_and_where(text: str, warnings: list[str]) -> None:
    assert check_markdown(text) == warnings


def test_check_markdown_warns_when_nesting_is_too_deep_to_draw() -> None:
    text = "\n".join("  " * depth + f"- item{depth}" for depth in range(200))

    assert any("nested deeper than this are not drawn" in warning for warning in check_markdown(text))


@pytest.mark.parametrize("text", [
    "*" * 20_000 + "a", "_a" * 5_000, "[" * 2_000 + "x", "![" * 500 + "a" + "](b)" * 500, "`" * 5_000 + "x",
    "> " * 3_000 + "x", "- " * 3_000 + "x", "1. " * 2_000 + "x", "<" * 5_000, "\x00\x01\x1b\x7f\ufffd\U0001F600",
    "| a |\n|---|\n" + "| x |\n" * 500, "word " * 8_000,
])
def test_pathological_input_is_drawn_without_error(text: str) -> None:
    check_markdown(text)
    pdf_bytes(flowables(text))


_PIECES = st.sampled_from([
    "**", "*", "_", "`", "```\n", "    ", "\n", "\n\n", "  \n", "- ", "* ", "1. ", "> ", "# ", "### ", "---\n",
    "| a | b |\n|---|---|\n",
    "[", "](", ")", "![", "<", ">", "https://example.com", "javascript:x", "mailto:a@b.c", "<script>", "</script>",
    '<font name="x">', "</font>", "<b>", "&", "&amp;", "&#0;", "\x00", "\\", "\t", "é", "中文", "\u200f", "<br/>",
])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=40).map("".join))
def test_any_text_becomes_flowables_reportlab_can_build(text: str) -> None:
    check_markdown(text)
    pdf_bytes(flowables(text))
