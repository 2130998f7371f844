"""Widget PNGs into the PDF as they are: their compressed pixel data becomes the image's stream, undecoded.

A PNG's IDAT data is a zlib stream of rows, each with a filter byte: exactly what a PDF image stream with
``/FlateDecode`` and ``/DecodeParms << /Predictor 15 … >>`` holds. reportlab instead decodes every image to
RGB and compresses it again, which is most of the time a report takes to build. PNGs that a PDF cannot
take this way (interlaced ones, and those with transparency, which need a soft mask) go through reportlab.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLORS = {0: 1, 2: 3, 3: 1}  # PNG colour type → components per pixel: grey, RGB, palette


@dataclass(frozen=True)
class PngData:
    width: int
    height: int
    bits: int
    color_type: int
    palette: bytes | None
    idat: bytes


def passable(png: bytes) -> PngData | None:
    """The parts of ``png`` a PDF can embed as they are, or None when it must be decoded (interlaced, alpha,
    transparency, other than 8 bits per sample, or not a well-formed PNG)."""
    if not png.startswith(_SIGNATURE):
        return None
    offset, header, palette, idat = len(_SIGNATURE), None, None, []
    while offset + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[offset:offset + 8])
        data = png[offset + 8:offset + 8 + length]
        if len(data) != length:
            return None
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"PLTE":
            palette = data
        elif kind == b"tRNS":
            return None  # transparency: reportlab makes the soft mask
        elif kind == b"IDAT":
            idat.append(data)
        elif kind == b"IEND":
            break
        offset += 12 + length
    if header is None or not idat:
        return None
    width, height, bits, color_type, _, _, interlace = header
    if interlace or color_type not in _COLORS or bits != 8 or (color_type == 3) != bool(palette):
        return None
    parts = PngData(width, height, bits, color_type, palette if color_type == 3 else None, b"".join(idat))
    return parts if _whole(parts) else None


def _whole(data: PngData) -> bool:
    """Whether the pixel data inflates to exactly its rows (a filter byte and the row each): a damaged stream
    whose chunk checksums still hold must be drawn as a failure, not embedded for the reader to choke on.
    Inflating takes about half a millisecond for a chart; compressing again, which this spares, twenty."""
    expected = data.height * (1 + data.width * _COLORS[data.color_type] * data.bits // 8)
    inflate = zlib.decompressobj()
    try:
        size = 0
        chunk = inflate.decompress(data.idat, 1 << 20)
        while chunk:
            size += len(chunk)
            chunk = inflate.decompress(inflate.unconsumed_tail, 1 << 20)
        return size == expected and inflate.eof
    except zlib.error:
        return False


class _Hex(pdfdoc.PDFObject):  # type: ignore[misc]
    """Binary data written as a PDF hex string (the palette of an indexed image)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: object) -> bytes:
        return b"<" + self.data.hex().encode() + b">"


class _PassedImage(pdfdoc.PDFImageXObject):  # type: ignore[misc]
    """An image XObject whose stream is a PNG's IDAT data, decoded by the reader with the PNG predictors."""

    def __init__(self, name: str, data: PngData) -> None:
        super().__init__(name)
        self.data, self.width, self.height, self.mask = data, data.width, data.height, None

    def format(self, document: object) -> bytes:
        data = self.data
        stream = pdfdoc.PDFStream(content=data.idat, filters=())
        entries = stream.dictionary
        entries["Type"] = pdfdoc.PDFName("XObject")
        entries["Subtype"] = pdfdoc.PDFName("Image")
        entries["Width"] = data.width
        entries["Height"] = data.height
        entries["BitsPerComponent"] = data.bits
        if data.palette is not None:
            entries["ColorSpace"] = pdfdoc.PDFArray([pdfdoc.PDFName("Indexed"), pdfdoc.PDFName("DeviceRGB"),
                                                     len(data.palette) // 3 - 1, _Hex(data.palette)])
        else:
            entries["ColorSpace"] = pdfdoc.PDFName("DeviceRGB" if data.color_type == 2 else "DeviceGray")
        entries["Filter"] = pdfdoc.PDFName("FlateDecode")
        entries["DecodeParms"] = pdfdoc.PDFDictionary({
            "Predictor": 15, "Colors": _COLORS[data.color_type], "BitsPerComponent": data.bits,
            "Columns": data.width})
        entries["Length"] = len(data.idat)
        result: bytes = stream.format(document)
        return result


def draw_png(canvas: Canvas, png: bytes, data: PngData, x: float, y: float, width: float, height: float) -> None:
    """Draw ``png`` (whose ``passable`` parts are ``data``) into the box, as ``Canvas.drawImage`` would, once
    per document however often it is drawn."""
    name = hashlib.sha256(png).hexdigest()
    document = canvas._doc  # reportlab's own drawImage registers images on the document the same way
    registered = document.getXObjectName(name)
    if document.idToObject.get(registered) is None:
        image = _PassedImage(name, data)
        canvas._setXObjects(image)
        document.Reference(image, registered)
        document.addForm(name, image)
    canvas._currentPageHasImages = 1
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(width, height)
    canvas._code.append(f"/{registered} Do")
    canvas.restoreState()
    canvas._formsinuse.append(name)  # the page's resources name what it draws
