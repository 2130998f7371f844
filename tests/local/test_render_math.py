"""Math rows whose result is more than one series: an array draws a line per element, a band is shaded."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt

from reportgen.local.render import PALETTE, render_png, row_series
from reportgen.local.widget import parse_widget

from .helpers import NOW, rgb_array

CPU1 = ["AWS/EC2", "CPUUtilization", "InstanceId", "i-1", {"id": "m1", "visible": False}]
CPU2 = ["AWS/EC2", "CPUUtilization", "InstanceId", "i-2", {"id": "m2", "visible": False}]


def rows(*expressions: str) -> list[Any]:
    return [CPU1, CPU2, *([{"expression": e, "id": f"e{n}"}] for n, e in enumerate(expressions, 1))]


def draw(metrics: list[Any]) -> npt.NDArray[np.uint8]:
    return rgb_array(render_png(parse_widget(json.dumps({"metrics": metrics}), now=NOW)))


def pale_tint(image: npt.NDArray[np.uint8]) -> int:
    """Pixels of a light but clearly coloured shade: a band's translucent fill, not lines, text or grid."""
    channels = image.astype(np.int16)
    spread = channels.max(axis=-1) - channels.min(axis=-1)
    return int(((spread > 20) & (channels.min(axis=-1) > 150)).sum())


def colour_count(image: npt.NDArray[np.uint8], hex_colour: str) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    return int(np.all(image == rgb, axis=-1).sum())


def test_an_array_result_gives_one_labelled_series_per_metric() -> None:
    widget = parse_widget(json.dumps({"metrics": rows("METRICS() * 2")}), now=NOW)
    *metrics, doubled = row_series(widget)
    assert [element.label for element in doubled] == ["m1", "m2"]
    for (metric,), element in zip(metrics, doubled):
        assert np.allclose(element.series.values, 2 * metric.series.values)


def test_an_array_result_is_drawn_in_palette_colours() -> None:
    image = draw(rows("METRICS()"))
    assert colour_count(image, PALETTE[0]) > 50 and colour_count(image, PALETTE[1]) > 50


def test_an_anomaly_band_is_shaded_between_its_edges() -> None:
    widget = parse_widget(json.dumps({"metrics": rows("ANOMALY_DETECTION_BAND(m1, 2)")}), now=NOW)
    (band,) = row_series(widget)[-1]
    assert band.lower is not None
    common = np.intersect1d(band.series.timestamps, band.lower.timestamps)
    upper = band.series.values[np.isin(band.series.timestamps, common)]
    lower = band.lower.values[np.isin(band.lower.timestamps, common)]
    assert len(common) > 10 and np.all(upper >= lower)
    shaded = draw(rows("ANOMALY_DETECTION_BAND(m1, 2)"))
    edges_only = draw(rows("m1"))
    assert pale_tint(shaded) > 10 * max(1, pale_tint(edges_only))


def test_a_sorted_slice_draws_the_top_series() -> None:
    widget = parse_widget(json.dumps({"metrics": rows("SLICE(SORT(METRICS(), MAX, DESC), 0, 1)")}), now=NOW)
    (m1,), (m2,), top = row_series(widget)
    highest = max((m1, m2), key=lambda row: float(row.series.values.max()))
    assert [element.label for element in top] == ["m1" if highest is m1 else "m2"]
    assert np.array_equal(top[0].series.values, highest.series.values)
