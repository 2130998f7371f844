import io
import os
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from fontfactory import UNITS_PER_EM, advance, build_collection, build_font
from pypdf import PdfReader
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from reportgen import fonts
from reportgen.fonts import FontChain, FontError, check_font, find_fonts

COVERED = "가나다日本語Ωж"
# Supplementary Private Use Area B: no real font covers these, so discovery tests cannot see the machine's fonts.
PRIVATE = "\U00100001\U00100002\U00100003"


@pytest.fixture
def chain(tmp_path: Path) -> FontChain:
    """A chain with one configured test font (and its bold beside it) and no installed fonts."""
    build_font(tmp_path / "fonts" / "test.ttf", COVERED + "\u3000")
    build_font(tmp_path / "fonts" / "test-Bold.ttf", "가나", style="Bold")
    return FontChain(["fonts/test.ttf"], base=tmp_path, installed=False)


def names(chain: FontChain) -> tuple[str, str]:
    """The registered names of the test font and its bold face, as runs report them."""
    ((regular, _),) = chain.runs("다")
    ((bold, _),) = chain.runs("가", bold=True)
    return regular, bold


def text_fonts(pdf: bytes) -> list[tuple[str, str, float]]:
    """(text, /BaseFont, x) of every piece of text on the first page, as a PDF reader sees them."""
    seen: list[tuple[str, str, float]] = []
    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(
        visitor_text=lambda text, cm, tm, font, size: text.strip() and seen.append(
            (text.strip(), str(font["/BaseFont"]), round(cm[4] + tm[4], 2))))
    return seen


def pdf_with(draw: Callable[[Canvas], None]) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, invariant=1)
    draw(canvas)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def test_runs_split_by_the_first_font_that_covers_each_character(chain: FontChain) -> None:
    test, _ = names(chain)
    assert chain.runs("Café 가나 ok") == [("Helvetica", "Café "), (test, "가나"), ("Helvetica", " ok")]
    assert chain.runs("가 나") == [(test, "가 나")]  # a space between two runs of one font stays in it
    assert chain.runs("") == []


def test_a_word_is_set_wholly_in_its_fallback_font_when_that_font_has_all_its_letters(tmp_path: Path) -> None:
    # "ł" is not in Helvetica: the word "Łódź" would otherwise switch typeface three times.
    build_font(tmp_path / "latin.ttf", "ŁódźZażółć")
    chain = FontChain(["latin.ttf"], base=tmp_path, installed=False)
    ((latin, _),) = chain.runs("ł")
    assert chain.runs("Łódź, ok") == [(latin, "Łódź"), ("Helvetica", ", ok")]
    # A word with letters the fallback font lacks keeps each letter in the first font that has it.
    assert chain.runs("Łódx") == [(latin, "Ł"), ("Helvetica", "ódx")]


def test_bold_uses_the_bold_face_beside_the_font_and_the_regular_one_where_it_has_no_glyph(chain: FontChain) -> None:
    test, test_bold = names(chain)
    assert test_bold != test
    assert chain.runs("Café 가나日", bold=True) == [("Helvetica-Bold", "Café "), (test_bold, "가나"), (test, "日")]
    assert chain.markup("a 가나", bold=True) == f'a <font name="{test_bold}">가나</font>'


def test_whitespace_and_invisible_characters_never_need_a_font(chain: FontChain) -> None:
    test, _ = names(chain)
    assert chain.runs("a\tb\nc") == [("Helvetica", "a b c")]     # Helvetica cannot draw controls
    assert chain.runs("a\u200db\ufe0f") == [("Helvetica", "ab")]  # nor zero-width joiners, selectors
    assert chain.runs("a\u3000b") == [("Helvetica", "a b")]     # an ideographic space is a space to it
    assert chain.runs(" 가\u3000") == [(test, " 가\u3000")]       # the CJK font has both spaces
    assert chain.missing == ""


def test_text_is_normalised_so_a_decomposed_accent_is_drawn_by_helvetica(chain: FontChain) -> None:
    assert chain.runs("Cafe\u0301") == [("Helvetica", "Café")]
    assert unicodedata.is_normalized("NFC", chain.runs("Cafe\u0301")[0][1])


def test_markup_escapes_and_wraps_only_fallback_runs(chain: FontChain) -> None:
    test, _ = names(chain)
    assert chain.markup("a<b> & 日本") == f'a&lt;b&gt; &amp; <font name="{test}">日本</font>'


def test_width_adds_up_each_run_in_its_own_font(chain: FontChain) -> None:
    expected = stringWidth("Café ", "Helvetica", 10) + (advance("가") + advance("나")) * 10 / UNITS_PER_EM
    assert chain.width("Café 가나", 10) == pytest.approx(expected)
    assert chain.width("Café", 10, bold=True) == pytest.approx(stringWidth("Café", "Helvetica-Bold", 10))


def test_the_pdf_embeds_the_font_and_gives_the_text_back(chain: FontChain) -> None:
    test, _ = names(chain)
    text = "Café 가나다 日本語 Ωж ok"

    def draw(canvas: Canvas) -> None:
        paragraph = Paragraph(chain.markup(text), ParagraphStyle("body", fontName="Helvetica", fontSize=10))
        paragraph.wrapOn(canvas, 400, 100)
        paragraph.drawOn(canvas, 50, 700)
        chain.draw(canvas, 50, 600, "日本語 drawn", 10)

    pdf = pdf_with(draw)
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    assert page.extract_text().splitlines() == [text, "日本語 drawn"]
    embedded = [font.get_object() for font in page["/Resources"]["/Font"].values()]
    (subset,) = [font for font in embedded if str(font["/BaseFont"]).endswith(f"+{test}")]
    descriptor = subset["/DescendantFonts"][0].get_object()["/FontDescriptor"] if "/DescendantFonts" in subset \
        else subset["/FontDescriptor"]
    assert "/FontFile2" in descriptor.get_object()
    assert "/ToUnicode" in subset


def test_equal_inputs_give_byte_identical_pdfs(chain: FontChain) -> None:
    def draw(canvas: Canvas) -> None:
        chain.draw(canvas, 50, 700, "Ωж 가나다 and Latin", 12, bold=True)
        Paragraph(chain.markup("日本語"), ParagraphStyle("p")).wrapOn(canvas, 300, 100)

    assert pdf_with(draw) == pdf_with(draw)


@pytest.mark.parametrize(("align", "shift"), [("left", 0.0), ("centre", 0.5), ("right", 1.0)])
def test_draw_aligns_like_reportlab_and_leaves_the_canvas_font_alone(chain: FontChain, align: str,
                                                                     shift: float) -> None:
    test, _ = names(chain)
    width = chain.width("가나 ok", 10)

    def draw(canvas: Canvas) -> None:
        canvas.setFont("Helvetica", 10)
        chain.draw(canvas, 300, 700, "가나 ok", 10, align=align)
        canvas.drawString(50, 600, "Tail")

    start = round(300 - shift * width, 2)
    assert text_fonts(pdf_with(draw)) == [("가나", f"/AAAAAA+{test}", start), ("ok", "/Helvetica", start),
                                          ("Tail", "/Helvetica", 50.0)]


def test_draw_refuses_an_unknown_alignment(chain: FontChain) -> None:
    with pytest.raises(ValueError, match="left, right or centre"):
        pdf_with(lambda canvas: chain.draw(canvas, 0, 0, "x", 10, align="center"))


def test_characters_no_font_covers_are_reported_once_and_drawn_by_helvetica() -> None:
    chain = FontChain(installed=False)
    assert chain.runs("ł가 ł") == [("Helvetica", "ł가 ł")]
    chain.runs("가")
    assert chain.missing == "ł가"
    warning = chain.warning()
    assert warning is not None and "\n" not in warning
    assert "ł (U+0142)" in warning and "가 (U+AC00)" in warning
    assert "fonts-dejavu-core" in warning and "fonts-wqy-zenhei" in warning and "`fonts:`" in warning


def test_reportlab_draws_greek_with_symbol_so_it_is_not_missing() -> None:
    # Helvetica cannot encode Ω, but reportlab sets it in its Symbol font rather than as a box.
    chain = FontChain(installed=False)
    assert chain.runs("Ω ok") == [("Helvetica", "Ω ok")]
    assert chain.width("Ω", 10) == pytest.approx(stringWidth("Ω", "Helvetica", 10))
    assert chain.missing == "" and chain.warning() is None


def test_a_long_warning_lists_twenty_characters_and_counts_the_rest() -> None:
    chain = FontChain(installed=False)
    chain.runs("".join(chr(0xAC00 + i) for i in range(25)))
    warning = chain.warning()
    assert warning is not None
    assert warning.count("(U+") == 20 and "and 5 more" in warning and warning.startswith("25 character(s)")


def test_the_same_file_name_in_two_folders_gives_two_fonts(tmp_path: Path) -> None:
    # Both fonts also share their PostScript name, which reportlab alone would take for one font.
    build_font(tmp_path / "a" / "twin.ttf", "가")
    build_font(tmp_path / "b" / "twin.ttf", "나")
    first = FontChain(["a/twin.ttf"], base=tmp_path, installed=False)
    second = FontChain(["b/twin.ttf"], base=tmp_path, installed=False)
    ((one, _),) = first.runs("가")
    ((two, _),) = second.runs("나")
    assert one != two
    assert second.runs("가") == [("Helvetica", "가")] and second.missing == "가"


def test_a_collection_uses_its_regular_face_and_its_bold_face(tmp_path: Path) -> None:
    bold = build_font(tmp_path / "bold.ttf", "가", style="Bold")
    regular = build_font(tmp_path / "regular.ttf", "가나")
    build_collection(tmp_path / "pair.ttc", [bold, regular])
    chain = FontChain(["pair.ttc"], base=tmp_path, installed=False)
    assert chain.runs("가나") == [("pair-1", "가나")]
    assert chain.runs("가나", bold=True) == [("pair-0", "가"), ("pair-1", "나")]
    # each name draws its own face: the bold one has no 나 and so draws it as a box
    assert chain.width("나", 10) == pytest.approx(advance("나") / 100)
    assert stringWidth("나", "pair-0", 10) != stringWidth("나", "pair-1", 10)


@pytest.mark.parametrize(("entry", "expected"), [
    ("missing.ttf", "font file {base}/missing.ttf does not exist"),
    ("cff.otf", "{base}/cff.otf has PostScript (CFF) outlines, which reportlab cannot embed"),
    ("text.ttf", "{base}/text.ttf is not a font fontTools can read"),
    ("", "is empty"),
])
def test_check_font_explains_what_is_wrong_with_a_file(tmp_path: Path, entry: str, expected: str) -> None:
    build_font(tmp_path / "cff.otf", "가", cff=True)
    (tmp_path / "text.ttf").write_text("not a font")
    reason = check_font(entry, base=tmp_path)
    assert reason is not None and reason.startswith(expected.format(base=tmp_path.resolve()))
    with pytest.raises(FontError) as raised:
        FontChain([entry], base=tmp_path, installed=False)
    assert str(raised.value) == f"`fonts` entry {entry!r}: {reason}"


def test_check_font_accepts_a_truetype_file(tmp_path: Path) -> None:
    build_font(tmp_path / "ok.ttf", "가")
    assert check_font("ok.ttf", base=tmp_path) is None
    assert check_font(str(tmp_path / "ok.ttf"), base=Path("/elsewhere")) is None


@pytest.fixture
def private_fontconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fontconfig that knows only the fonts in the returned folder."""
    if shutil.which("fc-list") is None or shutil.which("fc-match") is None:
        pytest.skip("fontconfig is not installed")
    folder = tmp_path / "fc-fonts"
    folder.mkdir()
    config = tmp_path / "fonts.conf"
    config.write_text(f'<?xml version="1.0"?>\n<fontconfig><dir>{folder}</dir>'
                      f'<cachedir>{tmp_path / "fc-cache"}</cachedir></fontconfig>\n')
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    return folder


def test_a_family_name_is_resolved_with_fontconfig(private_fontconfig: Path) -> None:
    build_font(private_fontconfig / "known.ttf", "가", family="Known Sans")
    build_font(private_fontconfig / "curly.otf", "가", family="Curly CFF", cff=True)
    assert check_font("Known Sans", base=Path(".")) is None
    assert check_font("known  sans", base=Path(".")) is None
    assert "has PostScript (CFF) outlines" in (check_font("Curly CFF", base=Path(".")) or "")
    assert check_font("Known Sanz", base=Path(".")) == "no installed font family is called 'Known Sanz'; did you " \
                                                      "mean 'Known Sans'?"
    assert (check_font("Unheard Of", base=Path(".")) or "").startswith("no installed font family is called")


def test_without_fontconfig_a_family_is_found_in_the_font_folders(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    build_font(tmp_path / "deep" / "fam.ttf", "가", family="Folder Family")
    monkeypatch.setattr(fonts, "FONT_FOLDERS", (str(tmp_path),))
    monkeypatch.setenv("PATH", "")
    assert check_font("Folder Family", base=Path(".")) is None
    assert check_font("Unheard Of", base=Path(".")) == ("no installed font family is called 'Unheard Of' "
                                                          "(`fc-list : family` lists them)")


def test_discovery_finds_the_font_that_covers_the_characters_and_skips_cff(tmp_path: Path) -> None:
    build_font(tmp_path / "a-cff.otf", PRIVATE, cff=True)            # covers all, but cannot be embedded
    build_font(tmp_path / "b-bold.ttf", PRIVATE, style="Bold")        # covers all, but bold
    build_font(tmp_path / "c-two.ttf", PRIVATE[:2])
    build_font(tmp_path / "d-one.ttf", PRIVATE[2])
    build_font(tmp_path / "e-two.ttf", PRIVATE[:2])                   # as good as c-two: the path decides
    build_font(tmp_path / "other.ttf", "가")
    found = find_fonts(PRIVATE, folders=[tmp_path], fontconfig=False, bundled=False)
    assert found == [(tmp_path / "c-two.ttf", 0), (tmp_path / "d-one.ttf", 0)]
    assert find_fonts("\U00100009", folders=[tmp_path], fontconfig=False, bundled=False) == []


def test_discovery_asks_fontconfig_when_it_is_there(private_fontconfig: Path) -> None:
    build_font(private_fontconfig / "cff.otf", PRIVATE, cff=True)
    build_font(private_fontconfig / "tt.ttf", PRIVATE)
    assert find_fonts(PRIVATE, folders=[], bundled=False) == [(private_fontconfig / "tt.ttf", 0)]


def test_a_chain_looks_for_installed_fonts_only_for_what_it_cannot_draw(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    build_font(tmp_path / "private.ttf", PRIVATE)
    monkeypatch.setattr(fonts, "FONT_FOLDERS", (str(tmp_path),))
    monkeypatch.setenv("PATH", "")  # no fontconfig: the folders are scanned
    scans = fonts._folder_catalogue.cache_info().misses
    chain = FontChain()
    assert chain.runs("Café, naïve") == [("Helvetica", "Café, naïve")]
    assert fonts._folder_catalogue.cache_info().misses == scans
    ((name, text),) = chain.runs(PRIVATE)
    assert name == "private" and text == PRIVATE
    chain.runs(PRIVATE[0] + "\U00100009")
    FontChain().runs(PRIVATE)
    assert fonts._folder_catalogue.cache_info().misses == scans + 1
    assert chain.missing == "\U00100009"


def test_wrap_breaks_cjk_text_between_characters_and_latin_at_spaces(chain: FontChain) -> None:
    text = "日本語日本語日本語 and some Latin words here"
    lines = chain.wrap(text, 10, 40)
    assert len(lines) > 3
    assert all(chain.width(line, 10) <= 40 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert "日本語日本語日本語".startswith(lines[0]) and len(lines[0]) < 9  # broken inside the CJK word
    assert "and" in " ".join(lines).split()


def test_wrap_keeps_line_breaks_and_cuts_words_longer_than_a_line(chain: FontChain) -> None:
    assert chain.wrap("one\n\ntwo", 10, 200) == ["one", "", "two"]
    lines = chain.wrap("Supercalifragilistic", 10, 30)
    assert len(lines) > 1 and "".join(lines) == "Supercalifragilistic"
    assert all(chain.width(line, 10) <= 30 for line in lines)
    assert chain.wrap("  ", 10, 30) == []


def test_shorten_cuts_with_an_ellipsis_only_when_needed(chain: FontChain) -> None:
    assert chain.shorten("fits", 10, 100) == "fits"
    short = chain.shorten("가나다 and a long tail that does not fit", 10, 60)
    assert short.endswith("…") and short.startswith("가나") and chain.width(short, 10) <= 60
    assert chain.shorten("anything", 10, 1) == ""


def test_fontfactory_writes_the_same_bytes_twice(tmp_path: Path) -> None:
    first = build_font(tmp_path / "1.ttf", COVERED).read_bytes()
    assert build_font(tmp_path / "2.ttf", COVERED).read_bytes() == first
    assert os.path.getsize(tmp_path / "1.ttf") < 10_000
