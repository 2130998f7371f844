"""The figure being drawn (``_Page``), a plot area on it (``_Plane``), and the PNG it becomes."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Polygon, Rectangle
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import Affine2D, Bbox
from PIL import Image

from reportgen.local import fonts
from reportgen.local.render.text import _font, _measure
from reportgen.local.render.theme import _PIXELS, DPI, MARK, PAD, PALETTE, SMALL_PT, THEMES, TITLE_PT, WARNING
from reportgen.local.widget import Widget


@dataclass(frozen=True)
class _Box:
    """A rectangle in pixels."""

    left: float
    bottom: float
    width: float
    height: float

    @property
    def top(self) -> float:
        return self.bottom + self.height

    @property
    def right(self) -> float:
        return self.left + self.width


class _Page:
    """The figure being drawn, with helpers that place text and shapes in pixels."""

    def __init__(self, widget: Widget) -> None:
        self.widget = widget
        self.theme = THEMES[widget.theme]
        self.width, self.height = widget.width, widget.height
        # Below this there is room for the data alone: no title, legend or tick labels.
        self.tiny = self.width < 160 or self.height < 100
        # Agg truncates width × dpi to whole pixels; a hair more keeps 0.29 × 100 from becoming 28.
        size = ((self.width + 1e-6) / DPI, (self.height + 1e-6) / DPI)
        self.figure = Figure(figsize=size, dpi=DPI, facecolor=self.theme.background)
        self.canvas = FigureCanvasAgg(self.figure)

    def add(self, artist: Artist, zorder: float) -> None:
        artist.set_zorder(zorder)
        self.figure.add_artist(artist)

    def text(self, x: float, y: float, text: str, *, points: float = SMALL_PT, color: str | None = None,
             ha: str = "left", va: str = "baseline", bold: bool = False, rotation: float = 0) -> None:
        fonts.report_missing(text)
        self.add(Text(x, y, text, fontproperties=_font(points, bold), color=color or self.theme.text, ha=ha, va=va,
                      rotation=rotation, rotation_mode="anchor", transform=_PIXELS, parse_math=False), 3)

    def rectangle(self, box: _Box, color: str, alpha: float = 1.0, zorder: float = 3) -> None:
        self.add(Rectangle((box.left, box.bottom), box.width, box.height, transform=_PIXELS, facecolor=color,
                           alpha=alpha, linewidth=0), zorder)

    def fit(self, text: str, width: float, points: float = SMALL_PT, bold: bool = False) -> str:
        """``text``, cut short with an ellipsis to fit ``width`` pixels."""
        if _measure(text, points, bold)[0] <= width:
            return text
        low, high = 0, len(text)
        while low < high:  # the longest prefix that fits, by bisection
            middle = (low + high + 1) // 2
            if _measure(text[:middle] + "…", points, bold)[0] <= width:
                low = middle
            else:
                high = middle - 1
        return text[:low].rstrip() + "…" if low else ""

    def title(self) -> float:
        """Draw the title top-left; return the pixels taken from the top."""
        if self.tiny:
            return 0.0
        if not self.widget.title:
            return PAD
        self.text(PAD, self.height - PAD, self.fit(self.widget.title, self.width - 2 * PAD, TITLE_PT, bold=True),
                  points=TITLE_PT, va="top", bold=True)
        return PAD + _measure("Ag", TITLE_PT, True)[1] + 8

    def warning(self, x: float, y: float) -> None:
        """CloudWatch's orange triangle with an exclamation mark, ``MARK`` pixels wide, bottom left at (x, y)."""
        height = MARK * 0.9
        self.add(Polygon([(x, y), (x + MARK, y), (x + MARK / 2, y + height)], closed=True, facecolor=WARNING,
                         linewidth=0, transform=_PIXELS), 3)
        self.text(x + MARK / 2, y + 0.5, "!", points=SMALL_PT - 1, color="#ffffff", ha="center", bold=True)

    def no_data(self, box: _Box) -> None:
        self.text(box.left + box.width / 2, box.bottom + box.height / 2, "No data available.",
                  points=SMALL_PT + 1, color=self.theme.muted, ha="center", va="center")

    def png(self) -> bytes:
        self.canvas.draw()
        image = Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        # A chart has few colours: a 256-colour palette looks the same, and compresses to a third of the
        # size in less time than RGB. PIL writes no text or time chunks, so equal pixels give equal bytes.
        indexed = image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
        _snap_palette(indexed, self._exact_colours())
        out = io.BytesIO()
        indexed.save(out, format="PNG", compress_level=3)
        return out.getvalue()

    def _exact_colours(self) -> set[str]:
        widget = self.widget
        return {*(value for value in vars(self.theme).values()), *PALETTE, WARNING,
                *(row.color for row in widget.metrics if row.color),
                *(a.color for a in widget.horizontal if a.color), *(a.color for a in widget.vertical if a.color)}


class _Plane:
    """A plot area: data coordinates mapped onto a pixel box, drawing clipped to it."""

    def __init__(self, page: _Page, box: _Box, x: tuple[float, float], y: tuple[float, float]) -> None:
        self.page, self.box, self.x, self.y = page, box, x, y
        self.transform = (Affine2D().translate(-x[0], -y[0])
                          .scale(box.width / (x[1] - x[0]), box.height / (y[1] - y[0]))
                          .translate(box.left, box.bottom))
        # A pixel of slack above and below, so a line at either end of the y range shows its full width.
        self._clip = Bbox.from_bounds(box.left, box.bottom - 1, box.width, box.height + 2)

    def _add(self, artist: Artist, zorder: float) -> None:
        artist.set_transform(self.transform)
        artist.set_clip_box(self._clip)
        self.page.add(artist, zorder)

    def line(self, x: npt.ArrayLike, y: npt.ArrayLike, color: str, width: float = 1.3) -> None:
        """A line through the points; a NaN in ``y`` breaks it, and a point alone between breaks is a dot."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        defined = ~np.isnan(y)
        lone = defined & ~np.r_[False, defined[:-1]] & ~np.r_[defined[1:], False]  # invisible as a line
        if not lone.all():
            self._add(Line2D(x, y, color=color, linewidth=width, solid_joinstyle="round", solid_capstyle="round"),
                      2)
        if lone.any():
            self._add(Line2D(x[lone], y[lone], color=color, linestyle="None", marker="o", markersize=3), 2)

    def fill(self, x: npt.NDArray[np.float64], low: npt.NDArray[np.float64], high: npt.NDArray[np.float64],
             color: str, alpha: float) -> None:
        """Shade between ``low`` and ``high``; a NaN in either breaks the shading."""
        vertices, codes = [], []
        for run in _runs(~(np.isnan(low) | np.isnan(high))):
            # Each run a closed outline, along the top and back along the bottom, as a Polygon closes it.
            xs, top, bottom = x[run], high[run], low[run]
            vertices.append(np.column_stack([np.r_[xs, xs[::-1], xs[:1]], np.r_[top, bottom[::-1], top[:1]]]))
            codes.append(np.r_[Path.MOVETO, np.full(2 * len(xs) - 1, Path.LINETO), Path.CLOSEPOLY])
        if vertices:
            self._add(PathPatch(Path(np.concatenate(vertices), np.concatenate(codes).astype(Path.code_type)),
                                facecolor=color, alpha=alpha, linewidth=0), 1)

    def rectangle(self, x: tuple[float, float], y: tuple[float, float], color: str, alpha: float = 1.0,
                  zorder: float = 0.5) -> None:
        self._add(Rectangle((x[0], y[0]), x[1] - x[0], y[1] - y[0], facecolor=color, alpha=alpha, linewidth=0),
                  zorder)

    def pixel_x(self, x: float) -> float:
        return self.box.left + (x - self.x[0]) * self.box.width / (self.x[1] - self.x[0])

    def pixel_y(self, y: float) -> float:
        return self.box.bottom + (y - self.y[0]) * self.box.height / (self.y[1] - self.y[0])


def _runs(defined: npt.NDArray[np.bool_]) -> list[slice]:
    """The stretches of two or more consecutive ``defined`` entries."""
    if defined.all():
        return [slice(0, len(defined))] if len(defined) > 1 else []
    edges = np.flatnonzero(np.diff(np.r_[False, defined, False]))
    return [slice(int(first), int(end)) for first, end in zip(edges[::2], edges[1::2]) if end - first > 1]


def _snap_palette(image: Image.Image, colours: set[str]) -> None:
    """Set palette entries within a shade of a known colour to exactly that colour.

    The octree palette averages each cluster, which would turn a white background into 254-grey and
    shift series colours by a unit or two; the background and the palette must come out exact.
    """
    entries = np.array(image.getpalette() or [], dtype=np.int16).reshape(-1, 3)
    targets = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in sorted(colours)], dtype=np.int16)
    distance = np.abs(entries[:, None, :] - targets[None, :, :]).max(axis=2)
    nearest = distance.argmin(axis=1)
    close = distance[np.arange(len(entries)), nearest] <= 4
    entries[close] = targets[nearest[close]]
    image.putpalette(entries.astype(np.uint8).tobytes())
