"""reportgen's benchmark: request pacing against the local stand-in, PDF assembly speed, peak memory.

    make bench                 (or: .venv/bin/python bench/bench.py [--widgets N] [--rounds N])

The workload is fixed, so runs are comparable: N small widgets spread over several reports, fetched in one
run through the same code as ``reportgen run --local`` (small, so that drawing them never holds the client
back and the pacing is what is measured); then a report of 24 full-size widgets (900x450 px, three metrics,
as in the example specs) fetched once and assembled repeatedly. The request rate is measured from the
moments the limiter let each request go; the stand-in's own count of arrivals per one-second window is
reported beside the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.request import urlopen

from pypdf import PdfReader

from reportgen.assemble import build_pdf
from reportgen.model import ReportPlan
from reportgen.pipeline import RunSummary, run_reports
from reportgen.plan import make_plan
from reportgen.spec import load_specs
from reportgen.standin import local_standin

REPORT_DATE = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
METRICS = ["CPUUtilization", "NetworkIn", "NetworkOut", "DiskReadOps", "StatusCheckFailed"]


def _write_specs(folder: Path, widgets: int, reports: int, *, size: tuple[int, int], metrics: int) -> None:
    """``reports`` specs sharing ``widgets`` widgets of ``size`` pixels with ``metrics`` lines each."""
    per_report = -(-widgets // reports)
    for r in range(reports):
        count = min(per_report, widgets - r * per_report)
        rows = "\n".join(
            f"      - title: Widget {r}-{i}\n        metrics:\n" + "\n".join(
                f"          - [AWS/EC2, {METRICS[(i + m) % len(METRICS)]}, InstanceId, i-{r:04d}{i:04d}]"
                for m in range(metrics))
            for i in range(count)
        )
        (folder / f"bench-{r}.yaml").write_text(
            f"report: bench-{r}\ntitle: Benchmark report {r}\nperiod: yesterday\n"
            f"defaults: {{width: {size[0]}, height: {size[1]}, period: 300}}\n"
            f"sections:\n  - title: Widgets\n    widgets:\n{rows}\n")


async def _fetch_run(plans: list[ReportPlan], out: Path) -> tuple[RunSummary, dict[str, Any]]:
    async with local_standin() as standin:
        summary = await standin.supervise(run_reports(plans, out, generated_at=NOW, local=True,
                                                      endpoint_url=standin.endpoint_url))
        with urlopen(f"{standin.endpoint_url}/_reportgen/stats") as response:
            server = json.load(response)
    return summary, server


def fetch(widgets: int, reports: int, *, size: tuple[int, int], metrics: int) -> tuple[RunSummary, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_specs(folder, widgets, reports, size=size, metrics=metrics)
        plans = [make_plan(spec, REPORT_DATE, NOW) for spec in load_specs([folder])]
        summary, server = asyncio.run(_fetch_run(plans, folder / "out"))
    return summary, server


def bench_assembly(rounds: int) -> tuple[float, int, int]:
    """Median seconds to assemble a report of 24 full-size stand-in PNGs, its pages and its size."""
    summary, _ = fetch(24, 1, size=(900, 450), metrics=3)
    (outcome,) = summary.reports
    plan, results = outcome.plan, list(outcome.results)
    assert all(r.ok for r in results), "the assembly benchmark needs every widget drawn"
    timings = []
    pdf = b""
    for _ in range(rounds):
        started = time.perf_counter()
        pdf = build_pdf(plan, results, generated_at=NOW)
        timings.append(time.perf_counter() - started)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    return statistics.median(timings), pages, len(pdf)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widgets", type=int, default=200, help="widgets fetched in the rate run (default 200)")
    parser.add_argument("--reports", type=int, default=5, help="reports they are spread over (default 5)")
    parser.add_argument("--rounds", type=int, default=5, help="PDF assembly repetitions (default 5)")
    options = parser.parse_args()

    summary, server = fetch(options.widgets, options.reports, size=(320, 200), metrics=1)
    limit = summary.rate_limit
    print(f"requests      {summary.requests} for {summary.widgets} widgets in {summary.seconds:.2f} s "
          f"({summary.failed} failed, {summary.throttled} throttled)")
    print(f"request rate  {summary.paced_rate:.2f}/s = {summary.paced_rate / limit:.1%} of the {limit:g}/s limit "
          f"(first to last request)")
    print(f"worst second  {summary.max_in_any_second} requests (client), "
          f"{server['max_in_any_second']} (stand-in); limit {limit:g}")

    seconds, pages, size = bench_assembly(options.rounds)
    print(f"PDF assembly  24 widgets of 900x450, {pages} pages, {size / 1e6:.2f} MB in {seconds * 1000:.0f} ms "
          f"= {seconds * 1000 / 24:.1f} ms per widget, {pages / seconds:.1f} pages/s (median of {options.rounds})")

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory   {own:.0f} MB (this process), {children:.0f} MB (largest child: stand-in or PDF worker)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
