"""Shared test data."""

from __future__ import annotations

import json
from typing import Any

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
