"""The stand-in's drawing speed: widgets rendered per second through a running stand-in, and CPU per render.

    .venv/bin/python bench/render_bench.py [--requests N] [--rounds N]

(``make bench`` reports the ``small`` case's rate through the stand-in as ``standin_renders_per_s``.)

Two kinds of widget drawn from deterministic synthetic data over one UTC day, and two drawn from a metric
store seeded first with the demo estate's week (``reportgen.local.seed``), so runs are comparable:

    small   600x400, three EC2 CPU rows at 5 minutes (288 points each), as a report's typical graph
    large   2000x1000, ten EC2 CPU rows at 1 minute (1,440 points each), AVG(METRICS()), an anomaly band,
            horizontal annotations (a line shaded above, a band) and a vertical one shaded after
    week    600x400, p50, p90 and p99 of three seeded latency metrics over 7 days at 5 minutes (2,016
            points each, from 80,640 stored samples a metric)
    day     600x400, the Average of three seeded metrics over a day at 5 minutes

Every request is numbered into its widget's title and instance ids, so each draws other data under other
labels, as the widgets of a report do: nothing a renderer might keep between requests can flatter it. A
stored widget takes the next metrics of the estate in turn and ends its window 0 to 59 minutes early, so
each request aggregates its own periods from the rows the store holds.

The rate is measured end to end: a stand-in started as ``run --local`` starts it (its own process, one
render worker per CPU), reached over HTTP by an aiobotocore client made by ``reportgen.aws``, with
``--concurrency`` requests in flight. Its rate limit is raised out of the way, since drawing, not pacing,
is measured here. After a warm-up, each round times ``--requests`` requests from the first sent to the
last PNG received; the median round is printed with the slowest and fastest. The client runs on the same
machine and its CPU counts against the rate, as in a real ``run --local``. Then each kind is drawn in this
process alone, and the median CPU time of one ``render_png`` call is printed; for a stored kind, so is the
median time the store takes to read and aggregate a widget's rows, once they are in memory and when they
are read from the file first.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from reportgen.aws import WidgetImageClient, open_clients
from reportgen.fetch import PNG_SIGNATURE
from reportgen.local.operations import Operations
from reportgen.local.render import render_png
from reportgen.local.seed import ESTATE, seed
from reportgen.local.store import MetricKey, MetricStore
from reportgen.local.widget import parse_widget
from reportgen.model import ClientKey
from reportgen.standin import local_standin

NOW = datetime(2026, 11, 26, 6, tzinfo=UTC)
_DAY = {"start": "2026-11-25T00:00:00Z", "end": "2026-11-26T00:00:00Z"}
_CPU = ["AWS/EC2", "CPUUtilization", "InstanceId"]
SEEDED = (datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC))
# The estate's latency metrics, stored as 8 values a minute, and the rest, stored as one.
LATENCIES = tuple(metric for metric in ESTATE if metric.name.endswith(("Latency", "Duration", "ResponseTime")))
LEVELS = tuple(metric for metric in ESTATE if metric not in LATENCIES)
RATE_LIMIT = 10_000  # requests/s per access key: far above anything the stand-in can draw


@dataclass(frozen=True)
class Case:
    """A kind of widget: ``name`` and ``summary`` label its lines, ``widget(n)`` is the ``n``th request's
    MetricWidget, ``requests`` the length of a round; ``stored`` if it draws data from the store."""

    name: str
    summary: str
    widget: Callable[[int], dict[str, Any]]
    requests: int
    stored: bool = False

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


def _stored(n: int, metrics: Sequence[MetricKey], stats: Sequence[str], days: int) -> dict[str, Any]:
    """Three of ``metrics``, the next in turn for each ``n``, each at each of ``stats``, over ``days`` that
    end 0-59 minutes before the seeded week does."""
    end = SEEDED[1] - timedelta(minutes=n % 60)
    chosen = [metrics[(3 * n + k) % len(metrics)] for k in range(3)]
    rows = [[metric.namespace, metric.name, *itertools.chain.from_iterable(metric.dimensions), {"stat": stat}]
            for metric in chosen for stat in stats]
    return {"title": f"Stored {n}", "width": 600, "height": 400, "period": 300, "metrics": rows,
            "start": f"{end - timedelta(days=days):%Y-%m-%dT%H:%M:%SZ}", "end": f"{end:%Y-%m-%dT%H:%M:%SZ}"}


CASES = (Case("small", "600x400, 3 metrics", _small, requests=150),
         Case("large", "2000x1000, 10 metrics, math, annotations", _large, requests=40),
         Case("week", "600x400, stored p50/p90/p99 of 3 metrics, 7 days",
              partial(_stored, metrics=LATENCIES, stats=("p50", "p90", "p99"), days=7), requests=100, stored=True),
         Case("day", "600x400, stored Average of 3 metrics, 1 day",
              partial(_stored, metrics=LEVELS, stats=("Average",), days=1), requests=150, stored=True))


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


async def through_standin(cases: Sequence[Case], *, data: Path, workers: int, rounds: int, warm_up: int,
                          concurrency: int) -> dict[str, list[float]]:
    """Start a stand-in on the store ``data`` with ``workers`` render processes and time ``rounds`` rounds
    of each case through it."""
    key = ClientKey(None, "us-east-1")
    async with local_standin("--workers", str(workers), "--rate-limit", str(RATE_LIMIT),
                             "--data", str(data)) as standin:
        async with open_clients([key], endpoint_url=standin.endpoint_url, local=True,
                                pool_sizes={key: concurrency}) as clients:
            client = clients[key]
            if not isinstance(client, WidgetImageClient):
                raise client
            return await standin.supervise(_rounds(client, cases, rounds=rounds, warm_up=warm_up,
                                                   concurrency=concurrency))


def cpu_per_render(case: Case, renders: int, data: Path) -> float:
    """Median CPU seconds of one ``render_png`` of ``case`` in this process, after one unmeasured render;
    a widget's stored data is read beforehand, untimed."""
    with closing(MetricStore(str(data))) as store:
        drawn = [(widget, Operations(store).widget_series(widget))
                 for widget in (parse_widget(case.json(n), now=NOW) for n in range(renders + 1))]
    render_png(*drawn[0])
    timings = []
    for widget, fetched in drawn[1:]:
        started = time.process_time()
        render_png(widget, fetched)
        timings.append(time.process_time() - started)
    return statistics.median(timings)


def store_seconds(case: Case, widgets: int, data: Path) -> tuple[float, float]:
    """Median seconds the store takes to read and aggregate a widget of ``case``: with its rows in memory
    (after reading every widget's once), and with the rows read from ``data`` first (a fresh store each)."""
    texts = [case.json(n) for n in range(widgets)]

    def timed(store: MetricStore, text: str) -> float:
        widget = parse_widget(text, now=NOW)
        started = time.perf_counter()
        Operations(store).widget_series(widget)
        return time.perf_counter() - started

    cold = []
    for text in texts:
        with closing(MetricStore(str(data))) as store:
            cold.append(timed(store, text))
    with closing(MetricStore(str(data))) as store:
        for text in texts:
            timed(store, text)
        warm = [timed(store, text) for text in texts]
    return statistics.median(warm), statistics.median(cold)


def seeded_store(directory: str) -> Path:
    """A metric store in ``directory`` holding the demo estate's data over ``SEEDED``."""
    path = Path(directory) / "metrics.db"
    with closing(MetricStore(str(path))) as store:
        seed(store, *SEEDED, published=time.time())
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per timed round (default: "
                             f"{', '.join(f'{case.requests} {case.name}' for case in CASES)})")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per widget (default 5)")
    parser.add_argument("--warm-up", type=int, default=10, help="untimed requests before the rounds (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="the stand-in's render processes (default: one per CPU, as it starts by default)")
    parser.add_argument("--renders", type=int, default=30, help="renders timed in this process (default 30)")
    parser.add_argument("--cases", nargs="+", choices=[case.name for case in CASES], default=None,
                        help="the kinds of widget to time (default: all)")
    options = parser.parse_args()

    cases = [replace(case, requests=options.requests) if options.requests else case for case in CASES
             if options.cases is None or case.name in options.cases]
    with tempfile.TemporaryDirectory() as directory:
        data = seeded_store(directory)
        rates = asyncio.run(through_standin(cases, data=data, workers=options.workers, rounds=options.rounds,
                                            warm_up=options.warm_up, concurrency=options.concurrency))
        for case in cases:
            found = rates[case.name]
            print(f"render {case.name:<7}{case.summary}: {statistics.median(found):.1f} widgets/s through the "
                  f"stand-in (median of {len(found)} rounds of {case.requests}: {found[0]:.1f}-{found[-1]:.1f}; "
                  f"{options.workers} workers, {options.concurrency} in flight)")
            seconds = cpu_per_render(case, options.renders, data)
            print(f"{'':14}{seconds * 1000:.1f} ms CPU per render in one process = {1 / seconds:.1f}/s per core "
                  f"(median of {options.renders})")
            if case.stored:
                warm, cold = store_seconds(case, options.renders, data)
                print(f"{'':14}{warm * 1000:.1f} ms in the store per widget, {cold * 1000:.1f} ms when its rows "
                      f"are first read from the file (medians of {options.renders})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
