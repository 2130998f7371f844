"""The real AWS CLI against the stand-in: what an operator would type to check it by hand."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from reportgen.local import BackgroundStandIn

AWS = Path(sys.executable).with_name("aws")


def aws_cli(standin: BackgroundStandIn, widget: dict[str, object]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "awscli-test", "AWS_SECRET_ACCESS_KEY": "secret",
           "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run(
        [str(AWS), "cloudwatch", "get-metric-widget-image", "--endpoint-url", standin.endpoint_url,
         "--metric-widget", json.dumps(widget), "--output", "text", "--query", "MetricWidgetImage"],
        capture_output=True, text=True, env=env, timeout=60, check=False)


def test_get_metric_widget_image_returns_a_png_of_the_requested_size(standin: BackgroundStandIn) -> None:
    done = aws_cli(standin, {"metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]],
                             "width": 700, "height": 320})
    assert done.returncode == 0, done.stderr
    image = Image.open(io.BytesIO(base64.b64decode(done.stdout)))
    assert (image.format, image.size) == ("PNG", (700, 320))


def test_an_invalid_widget_is_reported_by_the_cli(standin: BackgroundStandIn) -> None:
    done = aws_cli(standin, {"metrics": [["AWS/EC2", "CPUUtilization"]], "width": 5000})
    assert done.returncode == 255
    assert "InvalidParameterValue" in done.stderr and "width" in done.stderr
