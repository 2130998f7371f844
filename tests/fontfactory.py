"""Small, valid fonts built with fontTools, so font tests never depend on the machine's fonts.

``build_font(path, "가나Ω")`` writes a TrueType font (``glyf`` outlines) whose glyphs are plain rectangles;
``cff=True`` writes the same font with PostScript (CFF) outlines, which reportlab refuses to embed.
``build_collection`` packs built fonts into one ``.ttc``. Every glyph's advance is ``advance(char)`` font
units (1000 to the em), different for neighbouring code points, so a test can tell which font measured a text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fontTools.fontBuilder import FontBuilder, buildCmapSubTable
from fontTools.misc.timeTools import timestampFromString
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont

UNITS_PER_EM = 1000
SPACE_ADVANCE = 260
_CREATED = timestampFromString("Thu Jan  1 00:00:00 2026")  # fixed, so equal calls write equal bytes


def advance(char: str) -> int:
    """The advance width, in font units, that ``build_font`` gives ``char``."""
    return SPACE_ADVANCE if char == " " else 500 + (ord(char) % 9) * 50


def build_font(path: Path, chars: str, *, family: str = "Reportgen Test", style: str = "Regular",
               cff: bool = False) -> Path:
    """Write a font covering ``chars`` plus space and ``.notdef`` to ``path`` and return ``path``.

    The cmap has a format 4 subtable and a format 12 one (both Windows Unicode), the name table the
    family, style and a PostScript name ``<family without spaces>-<style>``; OS/2 marks bold and italic
    styles the way fontconfig and fontTools readers expect.
    """
    codepoints = sorted({ord(c) for c in chars} | {0x20})
    names = [".notdef", *(f"u{cp:04X}" for cp in codepoints)]
    cmap = {cp: f"u{cp:04X}" for cp in codepoints}
    ps_name = f"{family.replace(' ', '')}-{style.replace(' ', '')}"

    builder = FontBuilder(UNITS_PER_EM, isTTF=not cff)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap(cmap)
    subtables = builder.font["cmap"].tables
    if not any(table.format == 12 for table in subtables):
        # A copy: fontTools writes subtables that share one mapping object only once, as the first format.
        subtables.append(buildCmapSubTable(dict(cmap), 12, 3, 10))
    widths = {".notdef": 500, **{f"u{cp:04X}": advance(chr(cp)) for cp in codepoints}}
    if cff:
        charstrings = {name: _rectangle(T2CharStringPen(widths[name], None), widths[name], name)
                       for name in names}
        builder.setupCFF(ps_name, {"FullName": f"{family} {style}"}, charstrings, {})
    else:
        builder.setupGlyf({name: _rectangle(TTGlyphPen(None), widths[name], name) for name in names})
    builder.setupHorizontalMetrics({name: (width, 50) for name, width in widths.items()})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": family, "styleName": style, "psName": ps_name,
                            "uniqueFontIdentifier": f"{ps_name};test", "fullName": f"{family} {style}"})
    bold, italic = "Bold" in style, "Italic" in style or "Oblique" in style
    builder.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200,
                     usWeightClass=700 if bold else 400, fsType=0,
                     fsSelection=(bold << 5) | italic | ((not (bold or italic)) << 6))
    builder.setupPost(isFixedPitch=0)
    builder.setupHead(macStyle=bold | (italic << 1), created=_CREATED, modified=_CREATED)
    path.parent.mkdir(parents=True, exist_ok=True)
    builder.save(str(path))
    return path


def build_collection(path: Path, members: Sequence[Path]) -> Path:
    """Pack the fonts at ``members`` (built by ``build_font``) into one TrueType collection at ``path``."""
    collection = TTCollection()
    collection.fonts = [TTFont(str(member)) for member in members]
    collection.save(str(path))
    return path


def _rectangle(pen, width: int, name: str):  # type: ignore[no-untyped-def]
    # .notdef and space stay empty, like in real fonts; every other glyph is a box as wide as its advance.
    if name not in (".notdef", "u0020"):
        pen.moveTo((50, 0))
        pen.lineTo((50, 700))
        pen.lineTo((width - 50, 700))
        pen.lineTo((width - 50, 0))
        pen.closePath()
    return pen.getCharString() if isinstance(pen, T2CharStringPen) else pen.glyph()
