"""reportgen's benchmark: its figures side by side with what users would otherwise run, in one run.

    make bench            (or: .venv/bin/python bench/bench.py [--widgets N] [--sequential N] …)

Writes ``out/bench.json`` and prints a table, each figure beside its target. Everything but the last figure is
measured against one stand-in started as ``run --local`` starts it, with ``--latency 300:100`` (each answer
300 ± 100 ms late, as CloudWatch's are) and ``--fast`` (a cached PNG of the asked size, no drawing), so that
the client is what is measured. The workload is fixed (see ``workload``): 600x400 widgets of three metrics,
100 to a report.

    rate        2,000 widgets in one account through ``run_reports``, as ``reportgen run`` does it: widgets per
                second over the whole run (clients, PDFs and all), the stand-in's count of the most requests
                it got in any one second and of the requests it throttled; and, while it runs, the event
                loop's lag (a task sleeping 10 ms in a loop records each overshoot) and the time each PDF
                takes in its worker
    sequential  60 of those widgets fetched by a plain boto3 loop, one after another, as users write by hand
    accounts4   400 widgets in each of four accounts, in one run
    memory      whole runs of 500 and of 8,000 widgets (over eight accounts, to keep the run short), each in
                a fresh process: its peak memory and its PDF workers'
    renders     a second stand-in, drawing for real, without latency: 600x400 widgets of three metrics drawn
                per second (``render_bench``'s ``small`` case)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import operator
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import boto3
from probes import LagMonitor, TimedExecutor
from workload import NOW, load_plans, write_specs

from reportgen.aws import LOCAL_SECRET
from reportgen.fetch import PNG_SIGNATURE
from reportgen.files import write_atomic
from reportgen.model import DEFAULT_RATE_LIMIT
from reportgen.pipeline import RunSummary, pdf_executor, run_reports
from reportgen.standin import LocalStandIn, local_standin

LATENCY = (300, 100)  # ms and ± ms of every answer
ACCOUNTS = {"a": "111111111111", "b": "222222222222", "c": "333333333333", "d": "444444444444"}
MEMORY_PROFILES = [f"memory-{n}" for n in range(8)]
HERE = Path(__file__).resolve().parent

Figures = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """``figure`` must be ``compare``-ed to ``bound`` (``text`` says how, for the table)."""

    figure: str
    compare: Callable[[float, float], bool]
    bound: float
    text: str

    def met(self, figures: Figures) -> bool:
        return bool(self.compare(figures[self.figure], self.bound))


def targets(limit: float, memory: Sequence[int]) -> list[Target]:
    """The issue's targets, on a 2-core machine. The speed-up's bound is what the latency allows: a loop waits
    ``LATENCY`` for each answer, where the limit lets ``limit`` requests a second go. ``memory`` are the widgets
    of the small and the large memory run."""
    bound = limit * LATENCY[0] / 1000
    return [Target("ratio_to_limit", operator.ge, 0.98, "≥ 0.98"),
            Target("throttled", operator.eq, 0, "= 0"),
            Target("max_in_any_1s_window", operator.le, limit, f"≤ {limit:g}"),
            Target("speedup_vs_sequential", operator.ge, 0.98 * bound, f"≥ 0.98 × {bound:g}"),
            Target("accounts4_ratio_to_limit", operator.ge, 0.95, f"≥ 0.95 (of 4 × {limit:g}/s)"),
            Target("event_loop_lag_p99_ms", operator.lt, 50, "< 50 ms"),
            Target("pdf_ms_per_widget", operator.le, 5, "≤ 5 ms"),
            Target(_memory_ratio(*memory), operator.le, 1.5, "≤ 1.5"),
            ]


async def rate_run(standin: LocalStandIn, folder: Path, widgets: int) -> Figures:
    """``widgets`` widgets in one account through the pipeline, with the event loop's lag and every PDF's time
    in its worker measured as it goes."""
    write_specs(folder / "specs", widgets, ["rate"])
    plans = load_plans(folder / "specs")
    pool = TimedExecutor(pdf_executor(len(plans)))
    try:
        async with LagMonitor() as lag:
            summary = await standin.supervise(run_reports(plans, folder / "out", generated_at=NOW, local=True,
                                                          endpoint_url=standin.endpoint_url, executor=pool))
    finally:
        pool.shutdown()
    _check(summary, "the rate run")
    seen = await _seen(standin, ["local-rate"])
    achieved = summary.widgets / summary.seconds
    return {"achieved_per_s": achieved, "ratio_to_limit": achieved / summary.rate_limit, **seen,
            "paced_per_s": summary.paced_rate, "run_seconds": summary.seconds,
            "pdf_ms_per_widget": sum(wall for wall, _ in pool.timings) * 1000 / summary.widgets,
            "pdf_cpu_ms_per_widget": sum(cpu for _, cpu in pool.timings) * 1000 / summary.widgets,
            "event_loop_lag_p99_ms": lag.percentile_ms(99), "event_loop_lag_max_ms": max(lag.lags) * 1000}


def sequential_loop(endpoint_url: str, folder: Path, widgets: int) -> float:
    """Widgets per second of a plain boto3 loop over ``widgets`` of the workload's widgets, one after another."""
    write_specs(folder, widgets, ["sequential"])
    bodies = [request.metric_widget for plan in load_plans(folder) for request in plan.widgets]
    client = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=endpoint_url,
                          aws_access_key_id="local-sequential", aws_secret_access_key=LOCAL_SECRET)

    def fetch(body: str) -> None:
        png = client.get_metric_widget_image(MetricWidget=body)["MetricWidgetImage"]
        if not png.startswith(PNG_SIGNATURE):
            raise RuntimeError(f"the stand-in answered {png[:16]!r}…, not a PNG")

    fetch(bodies[0])  # untimed: the fast stand-in draws its one PNG of a size when first asked for it
    started = time.perf_counter()
    for body in bodies:
        fetch(body)
    return len(bodies) / (time.perf_counter() - started)


async def accounts_run(standin: LocalStandIn, folder: Path, per_account: int) -> Figures:
    """``per_account`` widgets in each of the four ``ACCOUNTS``, in one run."""
    write_specs(folder / "specs", per_account * len(ACCOUNTS), list(ACCOUNTS))
    summary = await standin.supervise(run_reports(load_plans(folder / "specs"), folder / "out", generated_at=NOW,
                                                  local=True, endpoint_url=standin.endpoint_url))
    _check(summary, "the four-account run")
    achieved = summary.widgets / summary.seconds
    seen = await _seen(standin, [f"local-{profile}" for profile in ACCOUNTS])
    return {"accounts4_per_s": achieved, "accounts4_ratio_to_limit": achieved / (len(ACCOUNTS) * summary.rate_limit),
            **{f"accounts4_{name}": value for name, value in seen.items()}}


async def peak_memory(standin: LocalStandIn, folder: Path, widgets: int) -> float:
    """Peak memory in MB of a whole run of ``widgets`` widgets over ``MEMORY_PROFILES``, in a fresh process."""
    write_specs(folder, widgets, MEMORY_PROFILES)
    child = await asyncio.create_subprocess_exec(sys.executable, str(HERE / "peak_memory.py"), standin.endpoint_url,
                                                 str(folder), stdout=asyncio.subprocess.PIPE)
    output, _ = await standin.supervise(child.communicate())
    if child.returncode != 0:
        raise RuntimeError(f"the {widgets}-widget memory run exited with status {child.returncode}")
    run = json.loads(output.splitlines()[-1])
    if run["failed"] or run["widgets"] != widgets:
        raise RuntimeError(f"the {widgets}-widget memory run drew {run['widgets'] - run['failed']} widgets")
    return float(run["peak_rss_mb"])


def renders_per_s(requests: int) -> float:
    """The median of three rounds of ``requests`` 600x400, three-metric widgets drawn for real by a stand-in
    with a worker per CPU, eight in flight."""
    # Imported here: PDF workers re-import this script, and need not load matplotlib.
    from render_bench import CASES, through_standin

    small = replace(next(case for case in CASES if case.name == "small"), requests=requests)
    rates = asyncio.run(through_standin([small], data=Path(":memory:"),
                                        workers=os.cpu_count() or 1, rounds=3, warm_up=10, concurrency=8))
    return statistics.median(rates[small.name])


async def measure(options: argparse.Namespace, folder: Path) -> Figures:
    """Every figure but the stand-in's drawing rate, against one stand-in."""
    accounts = [arg for profile, account in ACCOUNTS.items() for arg in ("--account", f"local-{profile}={account}")]
    small, large = options.memory
    async with local_standin("--latency", f"{LATENCY[0]}:{LATENCY[1]}", "--fast", *accounts) as standin:
        with _phase(f"sequential: {options.sequential} widgets in a boto3 loop"):
            sequential = await asyncio.to_thread(sequential_loop, standin.endpoint_url, folder / "sequential",
                                                 options.sequential)
        with _phase(f"rate: {options.widgets} widgets in one account"):
            rate = await rate_run(standin, folder / "rate", options.widgets)
        with _phase(f"accounts4: {options.per_account} widgets in each of {len(ACCOUNTS)} accounts"):
            four = await accounts_run(standin, folder / "accounts4", options.per_account)
        with _phase(f"memory: a whole run of {small} widgets, then one of {large}"):
            rss_small = await peak_memory(standin, folder / f"memory-{small}", small)
            rss_large = await peak_memory(standin, folder / f"memory-{large}", large)
    return {
        **rate,
        "sequential_per_s": sequential,
        "speedup_vs_sequential": rate["achieved_per_s"] / sequential,
        **four,
        f"peak_rss_mb_{small}": rss_small,
        f"peak_rss_mb_{large}": rss_large,
        _memory_ratio(small, large): rss_large / rss_small,
    }


def table(figures: Figures, checks: Sequence[Target]) -> str:
    """One line per figure: its value, and its target with PASS or MISS where it has one."""
    by_figure = {target.figure: target for target in checks}
    lines = []
    for name, value in figures.items():
        shown = str(value) if isinstance(value, int) else f"{value:.3g}" if value < 10 else f"{value:.1f}"
        target = by_figure.get(name)
        verdict = "" if target is None else f"{target.text:<26}{'PASS' if target.met(figures) else 'MISS'}"
        lines.append(f"{name:<32}{shown:>10}   {verdict}".rstrip())
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widgets", type=int, default=2000, help="widgets of the rate run (default 2000)")
    parser.add_argument("--sequential", type=int, default=60, help="widgets of the boto3 loop (default 60)")
    parser.add_argument("--per-account", type=int, default=400,
                        help="widgets per account of the four-account run (default 400)")
    parser.add_argument("--memory", type=int, nargs=2, default=[500, 8000], metavar=("SMALL", "LARGE"),
                        help="widgets of the two memory runs (default 500 8000)")
    parser.add_argument("--renders", type=int, default=100, help="widgets per round of the drawing rate (default 100)")
    parser.add_argument("--out", type=Path, default=Path("out/bench.json"), help="where to write the figures")
    options = parser.parse_args()

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as tmp:
        figures = asyncio.run(measure(options, Path(tmp)))
    with _phase(f"renders: rounds of {options.renders} widgets drawn for real"):
        figures["standin_renders_per_s"] = renders_per_s(options.renders)
    checks = targets(DEFAULT_RATE_LIMIT, options.memory)
    document = {
        **figures,
        "targets": {target.figure: {"target": target.text, "met": target.met(figures)} for target in checks},
        "setup": {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
                  "latency_ms": list(LATENCY), "rate_limit": DEFAULT_RATE_LIMIT, "rate_widgets": options.widgets,
                  "sequential_widgets": options.sequential, "accounts4_widgets_per_account": options.per_account,
                  "memory_accounts": len(MEMORY_PROFILES), "bench_seconds": round(time.monotonic() - started)},
    }
    write_atomic(options.out, (json.dumps(document, indent=2) + "\n").encode())
    print(table(figures, checks))
    print(f"written to {options.out} in {document['setup']['bench_seconds']} s")
    return 0


@contextlib.contextmanager
def _phase(what: str) -> Iterator[None]:
    """Say what is being measured, and how long it took."""
    print(f"{what} …", end="", flush=True)
    started = time.monotonic()
    try:
        yield
    finally:
        print(f" {time.monotonic() - started:.0f} s", flush=True)


def _memory_ratio(small: int, large: int) -> str:
    return f"peak_rss_{large}_over_{small}"


def _check(summary: RunSummary, what: str) -> None:
    """A benchmark of a run that lost widgets would flatter it: refuse to report one."""
    if summary.failed or summary.unwritten:
        raise RuntimeError(f"{what} lost widgets: {summary.describe()}")


async def _seen(standin: LocalStandIn, keys: Sequence[str]) -> Figures:
    """What the stand-in counted of the GetMetricWidgetImage requests of ``keys``, each its own account: the
    most that arrived in any one second (throttled or not) in the busiest account, and how many it throttled."""
    arrivals, stats = await asyncio.gather(_control(standin, "arrivals"), _control(standin, "stats"))
    return {"max_in_any_1s_window": max(arrivals["keys"][key]["max_in_any_second"] for key in keys),
            "throttled": sum(stats["keys"][key]["throttled"] for key in keys)}


async def _control(standin: LocalStandIn, name: str) -> dict[str, Any]:
    """The stand-in's ``/_reportgen/NAME`` document."""
    def read() -> dict[str, Any]:
        with urlopen(f"{standin.endpoint_url}/_reportgen/{name}") as response:
            document: dict[str, Any] = json.load(response)
            return document

    return await asyncio.to_thread(read)


if __name__ == "__main__":
    sys.exit(main())
