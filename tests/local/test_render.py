"""Rendering: exact sizes, byte-identical output, every view and option draws."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from reportgen.local.render import PALETTE, render_png
from reportgen.local.widget import parse_widget

from .helpers import NOW, rgb_image, widget_json

ALB = ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/web/1"]


def render(**overrides: Any) -> bytes:
    return render_png(parse_widget(widget_json(**overrides), now=NOW))


# 29 and 57 are among the widths where width/100*100 falls just short of a whole pixel.
@pytest.mark.parametrize(("width", "height"), [(600, 400), (1, 1), (29, 57), (900, 450), (2000, 113), (150, 2000)])
def test_image_is_exactly_the_requested_size(width: int, height: int) -> None:
    assert rgb_image(render(width=width, height=height, title="Size")).size == (width, height)


def test_same_widget_same_bytes() -> None:
    assert render(title="Twice") == render(title="Twice")


def test_png_carries_no_metadata() -> None:
    assert Image.open(io.BytesIO(render())).info == {}  # no text chunks, no tIME: nothing that could vary


def test_different_metrics_give_different_images() -> None:
    assert render(metrics=[ALB]) != render(metrics=[[*ALB[:3], "app/api/2"]])


def test_first_rows_use_cloudwatchs_palette() -> None:
    image = rgb_image(render(width=600, height=300, metrics=[ALB, ["...", "app/2"], ["...", "app/3"]]))
    counts = image.getcolors(maxcolors=1 << 16)
    assert counts is not None
    colours = {"#" + "".join(f"{channel:02x}" for channel in rgb) for _, rgb in counts}  # type: ignore[union-attr]
    assert set(PALETTE[:3]) <= colours


def test_row_colour_and_theme_change_pixels() -> None:
    plain = rgb_image(render())
    assert rgb_image(render(metrics=[[*ALB, {"color": "#000000"}]])).tobytes() != plain.tobytes()
    assert rgb_image(render(theme="dark")).getpixel((0, 0)) != plain.getpixel((0, 0)) == (255, 255, 255)


VARIANTS: dict[str, dict[str, Any]] = {
    "bar": {"view": "bar", "metrics": [ALB, ["...", "app/2"]], "setPeriodToTimeRange": True, "stat": "Sum"},
    "pie": {"view": "pie", "metrics": [ALB, ["...", "app/2"]], "legend": {"position": "right"}},
    "single value": {"view": "singleValue", "sparkline": True, "metrics": [ALB, ["AWS/EC2", "CPUUtilization"]]},
    "gauge": {"view": "gauge", "yAxis": {"left": {"min": 0, "max": 100}}},
    "stacked": {"stacked": True, "metrics": [ALB, ["...", "app/2"]]},
    "right axis": {"metrics": [ALB, ["AWS/ApplicationELB", "TargetResponseTime", {"yAxis": "right"}]],
                   "yAxis": {"left": {"min": 0, "label": "Requests"}, "right": {"max": 2, "showUnits": False}}},
    "legend right": {"legend": {"position": "right"}, "title": "A title long enough to be cut short " * 3},
    "legend hidden": {"legend": {"position": "hidden"}},
    "annotations": {"annotations": {
        "horizontal": [{"value": 50, "label": "high", "fill": "above"}, {"value": 5, "fill": "below"},
                       [{"value": 20, "label": "band"}, {"value": 30, "label": "top"}]],
        "vertical": [{"value": "2026-11-25T06:00:00Z", "label": "deploy", "fill": "after"},
                     [{"value": "2026-11-25T12:00:00Z", "label": "outage"}, {"value": "2026-11-25T13:00:00Z"}]],
    }},
    "no data": {"metrics": [["Custom/App", "NoDataYet"]]},
    "no data pie": {"view": "pie", "metrics": [["Custom/App", "NoDataYet"]]},
    "math row": {"metrics": [[{"expression": "100 * m1 / (m1 + m2)", "label": "share", "id": "e1"}],
                             [*ALB, {"id": "m1"}], ["...", "app/2", {"id": "m2", "visible": False}]]},
    "hidden row": {"metrics": [[*ALB, {"visible": False}], ["AWS/EC2", "CPUUtilization"]]},
    "dynamic label": {"metrics": [[*ALB, {"label": "${PROP('Dim.LoadBalancer')} peak ${MAX} ${UNKNOWN}"}]]},
    "timezone": {"timezone": "+0530", "start": "2026-11-19T00:00:00Z"},
    "short window": {"start": "2026-11-25T12:00:00Z", "end": "2026-11-25T12:02:00Z", "period": 1},
    "100 metrics": {"metrics": [ALB] + [["...", f"app/{n}"] for n in range(99)], "height": 600},
}


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
def test_every_view_and_option_draws(variant: dict[str, Any]) -> None:
    width, height = 480, variant.get("height", 260)
    assert rgb_image(render(width=width, **{"height": height, **variant})).size == (width, height)


@pytest.mark.parametrize("view", ["timeSeries", "bar", "pie", "singleValue", "gauge", "table"])
@pytest.mark.parametrize(("width", "height"), [(1, 1), (40, 2000), (2000, 30)])
def test_extreme_sizes_draw_every_view(view: str, width: int, height: int) -> None:
    assert rgb_image(render(view=view, width=width, height=height, title="t")).size == (width, height)
