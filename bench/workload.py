"""The benchmark's fixed workload: report specs of typical widgets, spread over reports and accounts.

Every widget is what a report's graph usually is (600x400, three EC2 metrics at 5 minutes over yesterday), and
each has its own instance ids, so no two requests are alike. A report's ``aws.profile`` names its account: the
stand-in gives the local key of each profile (``local-<profile>``) an account of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from reportgen.model import ReportPlan
from reportgen.plan import make_plan
from reportgen.spec import load_specs

REPORT_DATE = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
WIDGETS_PER_REPORT = 100
_METRICS = ("CPUUtilization", "NetworkIn", "NetworkOut", "DiskReadOps", "StatusCheckFailed")


def write_specs(folder: Path, widgets: int, profiles: Sequence[str]) -> None:
    """Specs in ``folder`` holding ``widgets`` widgets, shared out evenly over the accounts of ``profiles``, in
    reports of up to ``WIDGETS_PER_REPORT``."""
    folder.mkdir(parents=True, exist_ok=True)
    reports = 0
    for p, profile in enumerate(profiles):
        share = widgets // len(profiles) + (p < widgets % len(profiles))
        for first in range(0, share, WIDGETS_PER_REPORT):
            rows = "\n".join(_widget(reports, i) for i in range(min(WIDGETS_PER_REPORT, share - first)))
            (folder / f"bench-{reports}.yaml").write_text(
                f"report: bench-{reports}\ntitle: Benchmark report {reports}\nperiod: yesterday\n"
                f"aws: {{region: us-east-1, profile: {profile}}}\n"
                f"defaults: {{width: 600, height: 400, period: 300}}\n"
                f"sections:\n  - title: Widgets\n    widgets:\n{rows}\n")
            reports += 1


def load_plans(folder: Path) -> list[ReportPlan]:
    """The plans of every spec in ``folder``, for the benchmark's fixed report date."""
    return [make_plan(spec, REPORT_DATE, NOW) for spec in load_specs([folder])]


def _widget(report: int, index: int) -> str:
    metrics = "\n".join(f"          - [AWS/EC2, {_METRICS[(index + m) % len(_METRICS)]}, InstanceId, "
                        f"i-{report:05d}{index:04d}{m}]" for m in range(3))
    return f"      - title: Widget {report}-{index}\n        metrics:\n{metrics}"
