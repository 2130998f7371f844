"""``view: pie``."""

from __future__ import annotations

import math

from matplotlib.patches import Wedge

from reportgen.local.render.legend import legend
from reportgen.local.render.page import _Box, _Page
from reportgen.local.render.plots import _Plot, _summary
from reportgen.local.render.text import _compact
from reportgen.local.render.theme import _PIXELS, PAD


def _draw_pie(page: _Page, plots: list[_Plot]) -> None:
    summaries = [_summary(plot, page.widget) for plot in plots]
    top = page.title()
    labels = [f"{plot.label}  {_compact(value)}" if value is not None else plot.label
              for plot, value in zip(plots, summaries)]
    legend_bottom, legend_right = legend(page, plots, labels, page.height - top)
    area = _Box(PAD, legend_bottom + PAD, page.width - legend_right - 2 * PAD, page.height - top - legend_bottom - PAD)
    # Labels on the chart (``labels.visible``) sit outside the rim and need room on both sides.
    labelled = page.widget.pie_labels and area.width >= 160 and area.height >= 80
    radius = min(area.width * (0.25 if labelled else 0.5), area.height / 2 - (14 if labelled else 0))
    if radius < 2:
        return
    shown = [(plot, value) for plot, value in zip(plots, summaries) if value is not None and value > 0]
    if not shown:
        page.no_data(area)
        return
    centre = (area.left + area.width / 2, area.bottom + area.height / 2)
    total = sum(value for _, value in shown)
    angle = 90.0  # clockwise from twelve o'clock, like the console
    for plot, value in shown:
        sweep = 360 * value / total
        page.add(Wedge(centre, radius, angle - sweep, angle, facecolor=plot.color, edgecolor=page.theme.background,
                       linewidth=1, transform=_PIXELS), 1)
        middle = math.radians(angle - sweep / 2)
        cos, sin = math.cos(middle), math.sin(middle)
        if labelled and sweep >= 20 and radius >= 40:
            page.text(centre[0] + 0.65 * radius * cos, centre[1] + 0.65 * radius * sin,
                      f"{100 * value / total:.0f}%", color="#ffffff", ha="center", va="center")
        if labelled and sweep >= 6:
            room = area.width / 2 - 1.1 * radius - 4
            page.text(centre[0] + 1.08 * radius * cos, centre[1] + 1.08 * radius * sin, page.fit(plot.label, room),
                      color=page.theme.muted, ha="left" if cos >= 0 else "right", va="center")
        angle -= sweep
