"""Text in any script for the PDF: a chain of fonts, each character set in the first font that has it.

reportlab's standard fonts draw only what its ``winansi`` codec encodes (cp1252 without the C0 controls and
DEL). For any other character reportlab tries the Symbol font, then ZapfDingbats, and draws ZapfDingbats'
black square ``n`` for whatever is left: Korean, Chinese, Cyrillic or ``ł`` come out as boxes. reportlab
has no per-glyph fallback of its own, so a ``FontChain`` splits each text into runs by which font covers
each character:

1. Helvetica (Helvetica-Bold for bold), for everything WinAnsi encodes;
2. the report's ``fonts:`` (files, or family names resolved with fontconfig), in their order;
3. installed fonts found when a text needs them: matplotlib's bundled DejaVu Sans first, then fontconfig's
   fonts (or, without fontconfig, the usual font folders read with fontTools), preferring regular sans
   faces, then the face covering most of the missing characters, then DejaVu Sans, then the path.

reportlab embeds only TrueType outlines (a ``glyf`` table); fonts with PostScript (CFF) outlines, such as
Debian's ``fonts-noto-cjk``, are skipped when found and refused when configured. TrueType fonts that cover
what Helvetica lacks: ``fonts-dejavu-core`` (Greek, Cyrillic, extended Latin), ``fonts-wqy-zenhei``
(Chinese, Japanese, Korean), ``fonts-noto-core`` (most other scripts).

Registering a font with reportlab is global and happens once per process per face, under a name derived
from the file name (and face index), which is also the font's name in the PDF: equal inputs, equal bytes.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import hashlib
import importlib.util
import itertools
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from fontTools.ttLib import TTFont as _FontFile
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from reportgen.errors import ReportgenError

FONT_FOLDERS: tuple[str, ...] = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts",
                                 "/Library/Fonts", "/System/Library/Fonts", "C:\\Windows\\Fonts")
FONT_SUFFIXES = (".ttf", ".ttc", ".otf")
_ELLIPSIS = "…"  # in WinAnsi, so Helvetica draws it
_LISTED = 20     # a warning names at most this many characters


class FontError(ReportgenError):
    """A configured font (a ``fonts:`` entry) that cannot be used: missing, unknown, unreadable or CFF."""

    def __init__(self, message: str, *, entry: str) -> None:
        super().__init__(message)
        self.message = message
        self.entry = entry

    def __str__(self) -> str:
        return f"`fonts` entry {self.entry!r}: {self.message}"


def check_font(entry: str, *, base: Path) -> str | None:
    """Why a configured font entry (path relative to `base`, or a family name) cannot be used, or None.

    A path names a ``.ttf``, ``.otf`` or ``.ttc`` file (of a collection, its first regular face is used);
    anything else is a family name as fontconfig knows it (``fc-list : family``), or, without fontconfig,
    as the fonts in ``FONT_FOLDERS`` name themselves. The font must have TrueType outlines and allow
    embedding. Nothing is registered with reportlab.
    """
    try:
        _configured_face(entry, base)
    except FontError as error:
        return error.message
    return None


def find_fonts(chars: Iterable[str], *, folders: Sequence[str | Path] | None = None, fontconfig: bool = True,
               bundled: bool = True) -> list[tuple[Path, int]]:
    """Installed font faces, as ``(file, face index)``, that together cover as many of ``chars`` as possible.

    Each face covers something the ones before it do not; all have TrueType outlines reportlab can embed.
    ``bundled`` tries matplotlib's DejaVu Sans first (no scan at all if it covers everything); then
    fontconfig's fonts, or, when ``fontconfig`` is false or ``fc-list`` is missing, the fonts under
    ``folders`` (default ``FONT_FOLDERS``). Results are cached per process, and the installed fonts are
    listed at most once per process.
    """
    where = tuple(str(folder) for folder in (FONT_FOLDERS if folders is None else folders))
    faces = _find(frozenset(chars), where, _fontconfig("fc-list") if fontconfig else None, bundled)
    return [(Path(face.path), face.index) for face in faces]


class FontChain:
    """The fonts a PDF's text is set in; see the module docstring for the order.

    ``configured`` are the spec's ``fonts:`` entries, relative to ``base`` (the spec's folder); a
    ``FontError`` says which one cannot be used. ``installed=False`` never looks at the machine's fonts.
    Methods take the text as written: it is NFC-normalised, and whitespace, controls, zero-width joiners
    and variation selectors never need a font of their own (one the run's font cannot draw becomes a space
    if it is whitespace and disappears otherwise).
    """

    __slots__ = ("regular", "bold", "_fonts", "_installed", "_chosen", "_searched", "_missing")

    def __init__(self, configured: Sequence[str] = (), *, base: Path = Path("."), installed: bool = True) -> None:
        self.regular = "Helvetica"
        self.bold = "Helvetica-Bold"
        self._fonts: list[_Registered] = []
        self._installed = installed
        self._chosen: dict[tuple[str, bool], str] = {}  # (character, bold) -> font name, until the chain grows
        self._searched: set[str] = set()                # characters discovery has been asked about
        self._missing: set[str] = set()
        for entry in configured:
            self._add(_configured_face(entry, base), entry=entry)

    def runs(self, text: str, *, bold: bool = False) -> list[tuple[str, str]]:
        """``text`` cut into ``(reportlab font name, text)`` pieces, in order, each drawn in its font.

        A character no font covers goes with the base font (reportlab draws a box) and is noted in
        ``missing``. Whitespace between two runs goes with the base font when one side is in it.
        """
        base = self.bold if bold else self.regular
        if text.isascii() and text.isprintable():  # most of a report: the base font has every character
            return [(base, text)] if text else []
        text = unicodedata.normalize("NFC", text)
        self._discover(text, bold)
        fonts = [None if _neutral(char) else self._font_for(char, bold) for char in text]
        self._whole_words(text, fonts, base)
        pieces: list[tuple[str, str]] = []
        end = 0
        for font, group in itertools.groupby(fonts):
            start, end = end, end + len(list(group))
            if font is None:  # neutral characters: give them to a neighbour
                before = pieces[-1][0] if pieces else None
                font = self._neighbour(text[start:end], before, fonts[end] if end < len(text) else None, base)
                pieces.append((font, "".join(_fit(char, font) for char in text[start:end])))
            else:
                pieces.append((font, text[start:end]))
        return _merged(pieces)

    def markup(self, text: str, *, bold: bool = False) -> str:
        """``text`` as reportlab Paragraph markup: XML-escaped, with each run not in the style's own font
        (Helvetica, or Helvetica-Bold when ``bold``) wrapped in ``<font name="…">…</font>``.

        reportlab's ``<font name=…>`` resets the weight, so for a bold span inside a regular paragraph use
        ``"<b>" + markup(text, bold=True) + "</b>"``: the fallback runs then name their bold faces.
        """
        base = self.bold if bold else self.regular
        return "".join(escape(piece) if font == base else f'<font name="{font}">{escape(piece)}</font>'
                       for font, piece in self.runs(text, bold=bold))

    def width(self, text: str, size: float, *, bold: bool = False) -> float:
        """How wide ``text`` is, in points, at ``size``, drawn by ``draw``."""
        return _width(self.runs(text, bold=bold), size)

    def draw(self, canvas: Canvas, x: float, y: float, text: str, size: float, *, bold: bool = False,
             align: str = "left") -> None:
        """Draw ``text`` on one line with its baseline at ``y``, starting at, ending at (``right``) or centred on
        (``centre``) ``x``, like ``drawString``/``drawRightString``/``drawCentredString``. The canvas's own
        font and size are left as they were."""
        shift = {"left": 0.0, "right": 1.0, "centre": 0.5}.get(align)
        if shift is None:
            raise ValueError(f"align must be left, right or centre, not {align!r}")
        pieces = self.runs(text, bold=bold)
        total = _width(pieces, size)
        canvas.saveState()  # the fonts set below are graphics state; later text must not inherit them
        line = canvas.beginText(x - shift * total, y)
        for font, piece in pieces:
            line.setFont(font, size)
            line.textOut(piece)
        canvas.drawText(line)
        canvas.restoreState()

    def wrap(self, text: str, size: float, width: float, *, bold: bool = False) -> list[str]:
        """``text`` in lines no wider than ``width``: a new line at each ``\\n``, breaks at spaces (runs of
        whitespace become one space) and between any two CJK characters, and a word wider than a line cut
        where it must. A single character wider than ``width`` still gets a line of its own."""
        text = unicodedata.normalize("NFC", text)
        if not text.strip():
            return []
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line = ""
            for glue, piece in _breakable(paragraph):
                if not line or self.width(line + glue + piece, size, bold=bold) > width:
                    if line:
                        lines.append(line)
                    line = piece
                    while len(line) > 1 and self.width(line, size, bold=bold) > width:
                        cut = max(1, self._fitting(line, size, width, bold))
                        lines.append(line[:cut])
                        line = line[cut:]
                else:
                    line += glue + piece
            lines.append(line)
        return lines

    def shorten(self, text: str, size: float, width: float, *, bold: bool = False) -> str:
        """``text`` if it fits ``width``, else its longest start that fits with ``…`` appended (``""`` if not
        even ``…`` fits)."""
        text = unicodedata.normalize("NFC", text)
        if self.width(text, size, bold=bold) <= width:
            return text
        keep = self._fitting(text, size, width, bold, suffix=_ELLIPSIS)
        while keep and unicodedata.combining(text[keep]):  # never strip an accent off its letter
            keep -= 1
        if keep == 0 and self.width(_ELLIPSIS, size, bold=bold) > width:
            return ""
        return text[:keep].rstrip() + _ELLIPSIS

    @property
    def missing(self) -> str:
        """The characters no font covered so far, sorted, each once."""
        return "".join(sorted(self._missing))

    def warning(self) -> str | None:
        """One line naming the characters drawn as boxes and the fonts that would draw them, or None."""
        if not self._missing:
            return None
        chars = sorted(self._missing)
        listed = ", ".join(f"{char} (U+{ord(char):04X})" for char in chars[:_LISTED])
        more = f" and {len(chars) - _LISTED} more" if len(chars) > _LISTED else ""
        packages = " or ".join(sorted({_package_for(char) for char in chars}))
        return (f"{len(chars)} character(s) have no font and show as boxes: {listed}{more}; install {packages} "
                f"(Debian packages with TrueType outlines) or name a TrueType font in the spec's `fonts:`")

    def __repr__(self) -> str:
        fonts = ", ".join(font.regular for font in self._fonts)
        return f"<FontChain {self.regular} [{fonts}] missing={self.missing!r}>"

    def _add(self, face: _Face, *, entry: str | None = None) -> None:
        try:
            registered = _register(face)
        except TTFError as error:
            if entry is None:  # an installed font reportlab refuses: skip it, the next may do
                return
            raise FontError(f"reportlab cannot use {face.path}: {error}", entry=entry) from error
        if registered not in self._fonts:
            self._fonts.append(registered)
            self._chosen.clear()

    def _discover(self, text: str, bold: bool) -> None:
        # Only characters the chain cannot draw yet, and each only once per chain.
        wanted = {char for char in text if char not in self._searched and not _neutral(char)
                  and self._covering(char, bold) is None}
        if not wanted or not self._installed:
            return
        self._searched |= wanted
        for path, index in find_fonts(wanted):
            self._add(_Face(str(path), index))

    def _font_for(self, char: str, bold: bool) -> str:
        key = (char, bold)
        font = self._chosen.get(key)
        if font is None:
            font = self._covering(char, bold)
            if font is None:
                font = self.bold if bold else self.regular
                if not _substituted(char, font):
                    self._missing.add(char)
            self._chosen[key] = font
        return font

    def _covering(self, char: str, bold: bool) -> str | None:
        if _draws(char, self.bold if bold else self.regular):
            return self.bold if bold else self.regular
        return next((name for font in self._fonts if (name := font.name_for(ord(char), bold))), None)

    def _whole_words(self, text: str, fonts: list[str | None], base: str) -> None:
        """A word that needs a fallback font for some letters ("Zażółć") is set wholly in it when that font
        has all its letters, so a word never changes typeface halfway."""
        for word in re.finditer(r"\w+", text):
            used = set(fonts[word.start():word.end()])
            fallback = [font for font in used if font not in (base, None)]
            if len(used) > 1 and len(fallback) == 1 and all(_draws(char, fallback[0]) for char in word.group()):
                fonts[word.start():word.end()] = [fallback[0]] * (word.end() - word.start())

    def _neighbour(self, block: str, before: str | None, after: str | None, base: str) -> str:
        if before is None or after is None or before == after:
            return before or after or base
        options = [base] if base in (before, after) else []
        options += [before, after]
        return next((font for font in options if all(_draws(char, font) for char in block)), options[0])

    def _fitting(self, text: str, size: float, width: float, bold: bool, suffix: str = "") -> int:
        # The longest prefix that fits with `suffix`, by bisection: widths only grow with the prefix.
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if self.width(text[:middle] + suffix, size, bold=bold) <= width:
                low = middle
            else:
                high = middle - 1
        return low


@dataclass(frozen=True, order=True)
class _Face:
    """One face of a font file: the file itself, or member ``index`` of a ``.ttc`` collection."""

    path: str
    index: int = 0


@dataclass(frozen=True, eq=False)
class _Registered:
    """A face registered with reportlab, with the bold face that stands in for it in bold text."""

    regular: str
    bold: str
    regular_glyphs: dict[int, int]  # reportlab's own cmap: code point -> glyph (0 is .notdef)
    bold_glyphs: dict[int, int]

    def name_for(self, codepoint: int, bold: bool) -> str | None:
        if bold and self.bold_glyphs.get(codepoint):
            return self.bold
        return self.regular if self.regular_glyphs.get(codepoint) else None


@dataclass(frozen=True)
class _Facts:
    """What a face says about itself: enough to rank it as a fallback and to know if reportlab can embed it."""

    families: tuple[str, ...]
    weight: int          # OS/2 usWeightClass: 400 regular, 700 bold
    stretch: int         # OS/2 usWidthClass: 5 normal
    italic: bool
    mono: bool
    problem: str | None  # why reportlab cannot embed it


@dataclass(frozen=True, eq=False)
class _Candidate:
    """An installed face as discovery ranks it."""

    face: _Face
    families: tuple[str, ...]
    plain: bool       # regular weight, upright, normal width
    sans: bool        # neither serif nor monospaced, as far as its name and spacing tell
    embeddable: bool  # TrueType outlines (checked again with fontTools before use)
    starts: tuple[int, ...] = ()  # covered code points as inclusive ranges starts[i]..ends[i], sorted
    ends: tuple[int, ...] = ()

    def covers(self, char: str) -> bool:
        i = bisect.bisect_right(self.starts, ord(char)) - 1
        return i >= 0 and ord(char) <= self.ends[i]

    def rank(self, covered: int) -> tuple[Any, ...]:
        return (not self.plain, not self.sans, -covered, _folded(self.families[0]) != "dejavu sans", self.face)


# --- configured fonts ---------------------------------------------------------------------------------------

def _configured_face(entry: str, base: Path) -> _Face:
    if not entry.strip():
        raise FontError("is empty; give a font file or a family name", entry=entry)
    if entry.lower().endswith(FONT_SUFFIXES) or "/" in entry or "\\" in entry:
        path = base / Path(entry).expanduser()
        if not path.is_file():
            raise FontError(f"font file {path} does not exist", entry=entry)
        face = _main_face(str(path.resolve()))
    else:
        face = _family_face(entry)
    problem = _facts(face).problem
    if problem:
        raise FontError(problem, entry=entry)
    return face


def _main_face(path: str) -> _Face:
    # A collection's first face that is regular and embeddable, else its first embeddable one, else face 0.
    faces = [_Face(path, index) for index in range(_face_count(path))]
    usable = [face for face in faces if _facts(face).problem is None]
    return next((face for face in usable if _plain(_facts(face))), usable[0] if usable else faces[0])


def _family_face(family: str) -> _Face:
    fc_match = _fontconfig("fc-match")
    if fc_match:
        found = _fc_match(family, fc_match)
        if found is not None:
            return found
    known = _installed(tuple(FONT_FOLDERS), _fontconfig("fc-list"))
    if not fc_match:
        matches = sorted((not candidate.plain, not candidate.embeddable, candidate.face) for candidate in known
                         if _folded(family) in map(_folded, candidate.families))
        if matches:
            return matches[0][2]
    families = sorted({name for candidate in known for name in candidate.families})
    close = difflib.get_close_matches(family, families, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else " (`fc-list : family` lists them)"
    raise FontError(f"no installed font family is called {family!r}{hint}", entry=family)


@functools.cache
def _fc_match(family: str, fc_match: _Fontconfig) -> _Face | None:
    # fc-match always answers, with a default font when it knows no such family: accept only the family asked.
    pattern = re.sub(r"([\\:,\-])", r"\\\1", family)
    answer = _run([fc_match.program, "--format", "%{file}\t%{index}\t%{family}", pattern])
    if answer is None or answer.count("\t") < 2:
        return None
    path, index, names = answer.split("\t", 2)
    if _folded(family) not in map(_folded, re.split(r"(?<!\\),", names)):
        return None
    return _Face(path, int(index))


# --- registration with reportlab ----------------------------------------------------------------------------

_NAMES: dict[str, _Face] = {}  # registered font name -> face, so two files never share a name


@functools.cache
def _register(face: _Face) -> _Registered:
    """Register ``face`` (and a bold sibling, if any) with reportlab, once per process. Raises TTFError."""
    regular = _load(face)
    bold_face = _bold_sibling(face)
    try:
        bold = _load(bold_face) if bold_face else regular
    except TTFError:
        bold = regular
    pdfmetrics.registerFontFamily(regular.fontName, normal=regular.fontName, bold=bold.fontName,
                                  italic=regular.fontName, boldItalic=bold.fontName)
    return _Registered(regular.fontName, bold.fontName, regular.face.charToGlyph, bold.face.charToGlyph)


@functools.cache
def _load(face: _Face) -> Any:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "", Path(face.path).stem) or "font"
    collection = face.path.lower().endswith(".ttc") or _face_count(face.path) > 1
    name = f"{stem}-{face.index}" if collection else stem
    if not _free(name, face):
        stem += "-" + hashlib.sha1(face.path.encode(errors="surrogateescape")).hexdigest()[:8]
        name = f"{stem}-{face.index}" if collection else stem
    font = TTFont(name, face.path, subfontIndex=face.index)
    # reportlab merges fonts whose faces share a name (the PostScript name, the same in every face of a
    # collection and often in two versions of a font) and calls the font in the PDF by it: use ours instead.
    font.face.name, font.face.subfontNameX = name.encode(), b""
    pdfmetrics.registerFont(font)
    _NAMES[name] = face
    return font


def _free(name: str, face: _Face) -> bool:
    if name in _NAMES:
        return _NAMES[name] == face
    return name not in pdfmetrics.standardFonts and name not in pdfmetrics.getRegisteredFontNames()


@functools.cache
def _bold_sibling(face: _Face) -> _Face | None:
    # The bold face of the same family and width, from the same collection or a file beside it whose name
    # starts like this one's (NotoSans-Regular.ttf -> NotoSans-Bold.ttf, arial.ttf -> arialbd.ttf).
    facts = _facts(face)
    if facts.problem:
        return None
    path = Path(face.path)
    prefix = re.sub(r"[-_ ]?(regular|book|roman|normal)$", "", path.stem, flags=re.IGNORECASE).casefold()
    siblings = [_Face(face.path, index) for index in range(_face_count(face.path)) if index != face.index]
    siblings += [_Face(str(other), index) for other in sorted(path.parent.iterdir())
                 if other != path and other.suffix.lower() in FONT_SUFFIXES
                 and other.stem.casefold().startswith(prefix) for index in range(_face_count(str(other)))]
    family = set(map(_folded, facts.families))
    bold = [(abs(other.weight - 700), sibling) for sibling in siblings
            if (other := _facts(sibling)).problem is None and other.weight >= 600 and not other.italic
            and other.stretch == facts.stretch and family & set(map(_folded, other.families))]
    return min(bold)[1] if bold else None


# --- what a font file says ----------------------------------------------------------------------------------

def _face_count(path: str) -> int:
    try:
        with open(path, "rb") as file:
            header = file.read(12)
    except OSError:
        return 1
    return max(1, int.from_bytes(header[8:12], "big")) if header[:4] == b"ttcf" else 1


@functools.cache
def _facts(face: _Face) -> _Facts:
    try:
        # Our own file object, so that it is closed even when fontTools gives up halfway through opening.
        with open(face.path, "rb") as file, _FontFile(file, fontNumber=face.index, lazy=True) as font:
            return _read_facts(font, face)
    except OSError as error:
        return _Facts((), 400, 5, False, False, f"cannot read font file {face.path}: {error.strerror or error}")
    except Exception as error:  # fontTools raises many kinds of error on a damaged file
        return _Facts((), 400, 5, False, False, f"{face.path} is not a font fontTools can read ({error})")


def _read_facts(font: _FontFile, face: _Face) -> _Facts:
    names = font["name"]
    families = tuple(dict.fromkeys(str(record) for record in names.names if record.nameID in (16, 1)
                                   and record.isUnicode())) or (Path(face.path).stem,)
    os2 = font["OS/2"] if "OS/2" in font else None
    weight = os2.usWeightClass if os2 else 400
    italic = bool(os2.fsSelection & 0x201) if os2 else "italic" in str(names.getBestSubFamilyName()).lower()
    mono = "post" in font and bool(font["post"].isFixedPitch)
    problem = None
    if "CFF " in font or "CFF2" in font:
        problem = (f"{face.path} has PostScript (CFF) outlines, which reportlab cannot embed; use a font with "
                   f"TrueType outlines (a .ttf, or a .ttc such as fonts-wqy-zenhei's; fonts-noto-cjk is CFF)")
    elif "glyf" not in font:
        problem = f"{face.path} has no TrueType outlines (no `glyf` table), which reportlab needs to embed it"
    elif os2 and (os2.fsType == 0x0002 or os2.fsType & 0x0300) and font["maxp"].numGlyphs > 0xFF:
        problem = f"{face.path} forbids embedding it in documents (OS/2 fsType {os2.fsType:#06x})"
    elif font.getBestCmap() is None:
        problem = f"{face.path} has no Unicode character map"
    return _Facts(families, weight, os2.usWidthClass if os2 else 5, italic, mono, problem)


def _plain(facts: _Facts) -> bool:
    return 350 <= facts.weight <= 500 and not facts.italic and facts.stretch == 5


def _sans(families: tuple[str, ...], mono: bool) -> bool:
    name = _folded(families[0]) if families else ""
    return not mono and ("sans" in name or not re.search(r"serif|mincho|ming\b|song|batang|myeongjo", name))


def _folded(name: str) -> str:
    return " ".join(name.casefold().split())


# --- discovery ----------------------------------------------------------------------------------------------

@functools.cache
def _find(chars: frozenset[str], folders: tuple[str, ...], fontconfig: _Fontconfig | None,
          bundled: bool) -> tuple[_Face, ...]:
    left = set(chars)
    chosen = _pick(left, _bundled()) if bundled else []
    if left:  # never list the installed fonts when what is bundled covers the text
        chosen += _pick(left, _installed(folders, fontconfig))
    return tuple(chosen)


def _pick(left: set[str], candidates: Iterable[_Candidate]) -> list[_Face]:
    """Greedily, the best-ranked faces covering what is still in ``left``; removes what they cover from it."""
    covering = {candidate: {char for char in left if candidate.covers(char)}
                for candidate in candidates if candidate.embeddable}
    chosen = []
    while useful := [candidate for candidate, chars in covering.items() if chars & left]:
        best = min(useful, key=lambda candidate: candidate.rank(len(covering[candidate] & left)))
        if _facts(best.face).problem is None:  # fontconfig calls colour bitmap fonts TrueType too
            left -= covering[best]
            chosen.append(best.face)
        del covering[best]
    return chosen


@functools.cache
def _bundled() -> tuple[_Candidate, ...]:
    spec = importlib.util.find_spec("matplotlib")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return ()
    paths = [Path(location, "mpl-data", "fonts", "ttf", "DejaVuSans.ttf") for location in
             spec.submodule_search_locations]
    return tuple(candidate for path in paths if path.is_file() for candidate in _scan_file(path))


def _installed(folders: tuple[str, ...], fontconfig: _Fontconfig | None) -> tuple[_Candidate, ...]:
    listed = _fontconfig_catalogue(fontconfig) if fontconfig else None
    return listed if listed is not None else _folder_catalogue(folders)


@dataclass(frozen=True)
class _Fontconfig:
    """A fontconfig program and the configuration it reads: what it answers depends on both, and so do caches."""

    program: str
    config_file: str | None
    config_path: str | None


def _fontconfig(name: str) -> _Fontconfig | None:
    program = shutil.which(name)
    if program is None:
        return None
    return _Fontconfig(program, os.environ.get("FONTCONFIG_FILE"), os.environ.get("FONTCONFIG_PATH"))


_FC_FORMAT = ("%{file}\t%{index}\t%{family}\t%{weight}\t%{slant}\t%{width}\t%{spacing}\t%{fontformat}\t"
              "%{charset}\n")


@functools.cache
def _fontconfig_catalogue(fc_list: _Fontconfig) -> tuple[_Candidate, ...] | None:
    listing = _run([fc_list.program, "--format", _FC_FORMAT])
    if listing is None:
        return None
    candidates = []
    for line in sorted(listing.splitlines()):
        fields = line.split("\t")
        if len(fields) != 9 or not fields[1].isdigit() or int(fields[1]) > 0xFFFF:
            continue  # indexes above 0xFFFF are named instances of a variable font, listed once as the font
        path, index, names, weight, slant, stretch, spacing, kind, charset = fields
        families = tuple(re.split(r"(?<!\\),", names))
        starts, ends = _parse_ranges(charset)
        plain = _within(weight, 75, 100) and _within(slant, 0, 0) and _within(stretch or "100", 100, 100)
        candidates.append(_Candidate(_Face(path, int(index)), families, plain,
                                     _sans(families, spacing not in ("", "0")), kind == "TrueType", starts, ends))
    return tuple(candidates)


@functools.cache
def _folder_catalogue(folders: tuple[str, ...]) -> tuple[_Candidate, ...]:
    candidates: list[_Candidate] = []
    for folder in folders:
        for root, directories, files in os.walk(Path(folder).expanduser()):
            directories.sort()
            for name in sorted(files):
                if name.lower().endswith(FONT_SUFFIXES):
                    candidates += _scan_file(Path(root, name))
    return tuple(candidates)


def _scan_file(path: Path) -> list[_Candidate]:
    # Reads only the tables it needs; a face reportlab cannot embed is kept (for its family name) but never
    # offered as a fallback, and a damaged file is passed over.
    candidates = []
    for index in range(_face_count(str(path))):
        face = _Face(str(path), index)
        facts = _facts(face)
        if not facts.families:
            continue
        codepoints: list[int] = []
        if facts.problem is None:
            with open(face.path, "rb") as file, _FontFile(file, fontNumber=index, lazy=True) as font:
                codepoints = sorted(font.getBestCmap())
        starts, ends = _ranges(codepoints)
        candidates.append(_Candidate(face, facts.families, _plain(facts), _sans(facts.families, facts.mono),
                                     facts.problem is None, starts, ends))
    return candidates


def _ranges(codepoints: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    starts: list[int] = []
    ends: list[int] = []
    for codepoint in codepoints:
        if ends and codepoint == ends[-1] + 1:
            ends[-1] = codepoint
        else:
            starts.append(codepoint)
            ends.append(codepoint)
    return tuple(starts), tuple(ends)


def _parse_ranges(charset: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    # fontconfig writes a charset as sorted hex code points and ranges: "20-7e a0-17f 192".
    pairs = [(int(first, 16), int(last or first, 16)) for first, _, last in
             (token.partition("-") for token in charset.split())]
    return tuple(first for first, _ in pairs), tuple(last for _, last in pairs)


def _within(value: str, low: float, high: float) -> bool:
    # fontconfig prints a number, or "[from to]" for a variable font's axis.
    numbers = [float(number) for number in re.findall(r"\d+(?:\.\d+)?", value)]
    return bool(numbers) and min(numbers) <= high and max(numbers) >= low


def _run(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, encoding="utf-8", errors="surrogateescape", timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


# --- characters ---------------------------------------------------------------------------------------------

def _neutral(char: str) -> bool:
    codepoint = ord(char)
    return (char.isspace() or unicodedata.category(char) in ("Cc", "Cf") or 0xFE00 <= codepoint <= 0xFE0F
            or 0xE0100 <= codepoint <= 0xE01EF)


def _draws(char: str, font_name: str) -> bool:
    font = pdfmetrics.getFont(font_name)
    if font._dynamicFont:
        return bool(font.face.charToGlyph.get(ord(char)))
    return _encodes(char, font.encName)


def _substituted(char: str, font_name: str) -> bool:
    # reportlab draws what a standard font cannot encode with Symbol or ZapfDingbats if they can: not a box.
    return any(_encodes(char, substitute.encName) for substitute in pdfmetrics.getFont(font_name).substitutionFonts)


@functools.cache
def _encodes(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _fit(char: str, font_name: str) -> str:
    if _draws(char, font_name):
        return char
    return " " if char.isspace() else ""


def _merged(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for font, piece in pieces:
        if merged and merged[-1][0] == font:
            merged[-1] = (font, merged[-1][1] + piece)
        elif piece:
            merged.append((font, piece))
    return merged


def _width(pieces: list[tuple[str, str]], size: float) -> float:
    return sum(float(pdfmetrics.stringWidth(piece, font, size)) for font, piece in pieces)


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F") and not char.isspace()


def _breakable(paragraph: str) -> Iterator[tuple[str, str]]:
    # (glue, piece): the words of a paragraph, CJK words cut between their characters; glue is what joins a
    # piece to the one before it on the same line.
    for word in paragraph.split():
        glue = " "
        start = 0
        for end in range(1, len(word) + 1):
            if end == len(word) or (_wide(word[end - 1]) and _wide(word[end])):
                yield glue, word[start:end]
                glue, start = "", end


def _package_for(char: str) -> str:
    script = unicodedata.name(char, "").split(" ")[0]
    if script in ("LATIN", "GREEK", "CYRILLIC"):
        return "fonts-dejavu-core"
    if script in ("CJK", "HANGUL", "HIRAGANA", "KATAKANA", "BOPOMOFO", "IDEOGRAPHIC", "FULLWIDTH", "HALFWIDTH"):
        return "fonts-wqy-zenhei"
    return "fonts-noto-core"
