"""The stand-in's drawing speed: widgets rendered per second through a running stand-in, and CPU per render.

    make bench                 (or: .venv/bin/python bench/render_bench.py [--requests N] [--rounds N])

Two kinds of widget, drawn from deterministic synthetic data over one UTC day, so runs are comparable:

    small   600x400, three EC2 CPU rows at 5 minutes (288 points each), as a report's typical graph
    large   2000x1000, ten EC2 CPU rows at 1 minute (1,440 points each), AVG(METRICS()), an anomaly band,
            horizontal annotations (a line shaded above, a band) and a vertical one shaded after

Every request is numbered into its widget's title and instance ids, so each draws other data under other
labels, as the widgets of a report do: nothing a renderer might keep between requests can flatter it.

The rate is measured end to end: a stand-in started as ``run --local`` starts it (its own process, one
render worker per CPU), reached over HTTP by an aiobotocore client made by ``reportgen.aws``, with
``--concurrency`` requests in flight. Its rate limit is raised out of the way, since drawing, not pacing,
is measured here. After a warm-up, each round times ``--requests`` requests from the first sent to the
last PNG received; the median round is printed with the slowest and fastest. The client runs on the same
machine and its CPU counts against the rate, as in a real ``run --local``. Then each kind is drawn in this
process alone, and the median CPU time of one ``render_png`` call is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from reportgen.aws import ClientKey, WidgetImageClient, open_clients
from reportgen.local.render import render_png
from reportgen.local.widget import parse_widget
from reportgen.standin import local_standin

NOW = datetime(2026, 11, 26, 6, tzinfo=UTC)
_DAY = {"start": "2026-11-25T00:00:00Z", "end": "2026-11-26T00:00:00Z"}
_CPU = ["AWS/EC2", "CPUUtilization", "InstanceId"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RATE_LIMIT = 10_000  # requests/s per access key: far above anything the stand-in can draw


@dataclass(frozen=True)
class Case:
    """A kind of widget: ``name`` and ``summary`` label its lines, ``widget(n)`` is the ``n``th request's
    MetricWidget, ``requests`` the length of a round."""

    name: str
    summary: str
    widget: Callable[[int], dict[str, Any]]
    requests: int

    def json(self, n: int) -> str:
        return json.dumps(self.widget(n))


def _small(n: int) -> dict[str, Any]:
    return {"title": f"EC2 CPU utilisation, web tier {n}", "width": 600, "height": 400, "period": 300, **_DAY,
            "metrics": [[*_CPU, f"i-{n:08x}{k:09x}"] for k in range(3)]}


def _large(n: int) -> dict[str, Any]:
    return {"title": f"Fleet CPU utilisation, cell {n}", "width": 2000, "height": 1000, "period": 60, **_DAY,
            "metrics": [[*_CPU, f"i-{n:08x}{k:09x}", {"id": f"m{k}"}] for k in range(10)] + [
                [{"expression": "AVG(METRICS())", "id": "fleet", "label": "Fleet average"}],
                [{"expression": "ANOMALY_DETECTION_BAND(m0, 2)", "id": "band", "label": "Expected for m0"}]],
            "annotations": {
                "horizontal": [{"value": 80, "label": "Busy", "fill": "above"},
                               [{"value": 30, "label": "Normal", "color": "#2ca02c"}, {"value": 60, "label": "to"}]],
                "vertical": [{"value": "2026-11-25T14:00:00Z", "label": "Deploy", "fill": "after"}]}}


CASES = (Case("small", "600x400, 3 metrics", _small, requests=150),
         Case("large", "2000x1000, 10 metrics, math, annotations", _large, requests=40))


async def _draw(client: WidgetImageClient, case: Case, numbers: Iterator[int], concurrency: int) -> None:
    """Fetch the image of ``case`` for each of ``numbers``, ``concurrency`` at a time; each must be a PNG."""

    async def worker() -> None:
        for n in numbers:  # one iterator shared by all workers: each request is sent exactly once
            png = await client.get_widget_image(case.json(n))
            if not png.startswith(PNG_SIGNATURE):
                raise RuntimeError(f"the stand-in answered {png[:16]!r}…, not a PNG")

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())


async def _rounds(client: WidgetImageClient, cases: Sequence[Case], *, rounds: int, warm_up: int,
                  concurrency: int) -> dict[str, list[float]]:
    """Widgets per second in each round of each case, slowest first."""
    numbers = itertools.count()
    rates: dict[str, list[float]] = {}
    for case in cases:
        await _draw(client, case, itertools.islice(numbers, warm_up), concurrency)
        for _ in range(rounds):
            started = time.perf_counter()
            await _draw(client, case, itertools.islice(numbers, case.requests), concurrency)
            rates.setdefault(case.name, []).append(case.requests / (time.perf_counter() - started))
    return {name: sorted(found) for name, found in rates.items()}


async def through_standin(cases: Sequence[Case], *, workers: int, rounds: int, warm_up: int,
                          concurrency: int) -> dict[str, list[float]]:
    """Start a stand-in with ``workers`` render processes and time ``rounds`` rounds of each case through it."""
    key = ClientKey(None, "us-east-1")
    async with local_standin("--workers", str(workers), "--rate-limit", str(RATE_LIMIT)) as standin:
        async with open_clients([key], endpoint_url=standin.endpoint_url, local=True,
                                pool_sizes={key: concurrency}) as clients:
            client = clients[key]
            if not isinstance(client, WidgetImageClient):
                raise client
            return await standin.supervise(_rounds(client, cases, rounds=rounds, warm_up=warm_up,
                                                   concurrency=concurrency))


def cpu_per_render(case: Case, renders: int) -> float:
    """Median CPU seconds of one ``render_png`` of ``case`` in this process, after one unmeasured render."""
    widgets = [parse_widget(case.json(n), now=NOW) for n in range(renders + 1)]
    render_png(widgets[0])
    timings = []
    for widget in widgets[1:]:
        started = time.process_time()
        render_png(widget)
        timings.append(time.process_time() - started)
    return statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per timed round (default: 150 small, 40 large)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per widget (default 5)")
    parser.add_argument("--warm-up", type=int, default=10, help="untimed requests before the rounds (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="the stand-in's render processes (default: one per CPU, as it starts by default)")
    parser.add_argument("--renders", type=int, default=30, help="renders timed in this process (default 30)")
    options = parser.parse_args()

    cases = [replace(case, requests=options.requests) if options.requests else case for case in CASES]
    rates = asyncio.run(through_standin(cases, workers=options.workers, rounds=options.rounds,
                                        warm_up=options.warm_up, concurrency=options.concurrency))
    for case in cases:
        found = rates[case.name]
        print(f"render {case.name:<7}{case.summary}: {statistics.median(found):.1f} widgets/s through the stand-in "
              f"(median of {len(found)} rounds of {case.requests}: {found[0]:.1f}-{found[-1]:.1f}; "
              f"{options.workers} workers, {options.concurrency} in flight)")
        seconds = cpu_per_render(case, options.renders)
        print(f"{'':14}{seconds * 1000:.1f} ms CPU per render in one process = {1 / seconds:.1f}/s per core "
              f"(median of {options.renders})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
