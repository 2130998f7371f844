"""Shared test data and helpers."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from reportgen.local.widget import Widget, parse_widget

# The stand-in's "now" in tests: relative times count back from it.
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
CPU = ["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]

# Absolute times keep images independent of when the test runs.
BASE_WIDGET: dict[str, Any] = {
    "start": "2026-11-25T00:00:00Z",
    "end": "2026-11-26T00:00:00Z",
    "width": 320,
    "height": 200,
    "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-0a1b2c3d"]],
}


def widget_json(**overrides: Any) -> str:
    """MetricWidget JSON text: ``BASE_WIDGET`` with ``overrides``."""
    return json.dumps({**BASE_WIDGET, **overrides})


def parse(**doc: Any) -> Widget:
    """The MetricWidget ``doc`` parsed at ``NOW``, graphing ``CPU`` unless it has ``metrics``."""
    doc.setdefault("metrics", [CPU])
    return parse_widget(json.dumps(doc), now=NOW)


def rgb_image(png: bytes) -> Image.Image:
    """``png`` decoded to RGB; the test fails if it is not a PNG."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def rgb_array(png: bytes) -> npt.NDArray[np.uint8]:
    """``png``'s pixels as a (rows, columns, RGB) array."""
    return np.asarray(rgb_image(png), dtype=np.uint8)
