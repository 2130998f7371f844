"""A report's cover logo: a PNG or JPEG drawn as it is, or an SVG drawn as vectors (svglib).

Checked when the spec loads, so a missing or broken logo is a spec error at its line rather than a
failure in the middle of a night's run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image as PILImage
from reportlab.graphics.shapes import Drawing
from reportlab.platypus import Flowable, Image

MAX_LOGO_BYTES = 5 * 1024 * 1024  # a logo, not a photograph; every PDF embeds it
_SVG = ".svg"


def logo_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a cover logo (missing, too large, not a PNG/JPEG/SVG that decodes), or None."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if size > MAX_LOGO_BYTES:
        return f"{path} is {size / 1024 / 1024:.1f} MB; a logo may be at most {MAX_LOGO_BYTES // 1024 // 1024} MB"
    if path.suffix.lower() == _SVG:
        return None if _svg(path) is not None else f"{path} is not an SVG image svglib can draw"
    try:
        with PILImage.open(path) as image:
            if image.format not in {"PNG", "JPEG"}:
                return f"{path} is a {image.format} image; a logo must be PNG, JPEG or SVG"
            image.verify()
    except Exception as exc:  # Pillow reports bad data as OSError, SyntaxError, ValueError and more
        return f"{path} is not a PNG, JPEG or SVG image that can be read ({exc})"
    return None


def logo_flowable(path: Path, max_width: float, max_height: float) -> Flowable:
    """The logo at its own aspect ratio, as large as fits ``max_width`` × ``max_height`` points."""
    if path.suffix.lower() == _SVG:
        drawing = _svg(path)
        if drawing is None:  # checked at load; the file changed since
            raise ValueError(f"{path} is no longer an SVG image svglib can draw")
        scale = min(max_width / drawing.width, max_height / drawing.height)
        drawing.scale(scale, scale)
        drawing.width, drawing.height = drawing.width * scale, drawing.height * scale
        return drawing
    with PILImage.open(path) as image:
        width, height = image.size
    scale = min(max_width / width, max_height / height)
    return Image(str(path), width * scale, height * scale)


def _svg(path: Path) -> Drawing | None:
    from svglib.svglib import svg2rlg  # imported here: it pulls in lxml, needed only for SVG logos

    # svglib logs a parse failure as an error and returns None; the caller says what went wrong instead.
    logging.getLogger("svglib.svglib").setLevel(logging.CRITICAL)
    try:
        drawing = svg2rlg(str(path))
    except Exception:  # svglib raises on some malformed documents rather than returning None
        return None
    if drawing is None or not drawing.width or not drawing.height:
        return None
    return drawing
