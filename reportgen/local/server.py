"""The stand-in's aiohttp application, its control endpoints, and two ways to run it.

AWS API (what botocore sends to ``endpoint_url``):
    POST /                 AWS JSON 1.0 (``X-Amz-Target``) or query (form ``Action=…``)
    GET  /?Action=…        query
    POST /service/GraniteServiceVersion20100801/operation/<Operation>
                           Smithy RPC v2 CBOR (``smithy-protocol: rpc-v2-cbor``)
    POST /, GET /?Action=… STS (query, ``Version=2011-06-15``): a request signed for ``sts``, or naming that
                           version in its URL (see ``sts``)

Operations: GetMetricWidgetImage, and those ``operations`` answers from the metric store (PutMetricData,
GetMetricData, GetMetricStatistics, ListMetrics, Put/Get/List/DeleteDashboards). The store lives in this
process and is used from one thread of its own, so queries never hold up the event loop; a widget's stored
series, and the answers to its SEARCH expressions, are fetched there and handed to the render worker with
the widget.

Control endpoints, for tests and operators; not AWS, under a prefix AWS never uses:
    GET    /_reportgen/health  → 200 {"status": "ok"}
    GET    /_reportgen/stats   → {"requests", "served", "throttled", "errors", "faults_injected",
                                  "chaos": {"throttled", "errors", "resets", "slow", "trickling"}, "renders",
                                  "max_in_any_second", "rate_limit",
                                  "keys": {access key: {"requests", "served", "throttled", "errors",
                                                        "max_in_any_second"}},
                                  "accounts": {account: {"requests", "served", "throttled", "errors",
                                                         "max_in_any_second",
                                                         "max_in_any_second_by_operation": {operation: N},
                                                         "keys": [access key, …]}},
                                  "sts": {action: {"requests", "errors"}}}
                                 All CloudWatch requests, but under "sts". throttled: refused by the rate
                                 limit; errors: every other answer that is not a result, injected faults,
                                 chaos and expired credentials included; chaos: requests chaos throttled,
                                 failed, reset and trickled, and bodies trickling now; renders: widgets
                                 handed to the render workers; max_in_any_second: the most GetMetricWidgetImage
                                 requests accepted within any 1.0 s, for the key, the account, or (at the
                                 top) any one account; by operation: the same for each rate-limited operation
    GET    /_reportgen/arrivals[?operation=GetMetricData]
                               → {"operation", "first_second",
                                  "keys": {access key: {"per_second": [n, …], "max_in_any_second",
                                                        "admitted_max_in_any_second"}},
                                  "accounts": {account: {the same}}}
                                 Requests of the operation (default GetMetricWidgetImage) that arrived,
                                 throttled or not, in each whole second of the stand-in's clock since the
                                 first one (per_second[i] is second first_second + i; the last hour is kept),
                                 and the most within any 1.0 s: of all of them, and of those admitted
    GET    /_reportgen/faults  → {"faults": [{"error", "status", "message", "remaining", "match_title"}]}
    POST   /_reportgen/faults  {"error": "Throttling", "status": 400, "count": 2, "match_title": "CPU",
                                "message": "…"} → 201 {"faults": […]}; only `error` is required,
                                count -1 means every matching request until cleared
    DELETE /_reportgen/faults  → {"cleared": N}

Each GetMetricWidgetImage request passes, in order: the caller's credentials (an expired session is
refused), the per-account rate limit (a refusal takes no capacity), the injected faults, widget validation,
fetching stored data, and rendering in a process pool. GetMetricWidgetImage and GetMetricData each have a
per-account rate limit of their own, as CloudWatch's quotas are (20 and 50 requests per second): two access keys
of one account share it. The other operations, and STS, have none. Only GetMetricWidgetImage is subject to
injected faults; every API request is counted.

Chaos (``create_app``'s latency and fraction settings, see ``chaos``) comes right after the rate limit, for
the two rate-limited operations: a request admitted waits its latency, then is throttled, failed, answered
with a reset mid-response, trickled, or answered. In fast mode GetMetricWidgetImage answers a valid widget
with a PNG of its size drawn once, instead of fetching data and drawing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import signal
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import numpy as np
from aiohttp import web

from reportgen.errors import SetupError
from reportgen.local import protocols, render, search, sts
from reportgen.local.chaos import CALM, Arrivals, Chaos, Decision, FastImages
from reportgen.local.faults import Fault, FaultPlan, service_error
from reportgen.local.mathexpr import ExpressionError
from reportgen.local.operations import Operations
from reportgen.local.protocols import ServiceError
from reportgen.local.store import MetricStore
from reportgen.local.synthetic import Series
from reportgen.local.throttle import SlidingWindowLimiter
from reportgen.local.widget import Widget, WidgetError, parse_widget
from reportgen.model import DEFAULT_METRIC_DATA_RATE, DEFAULT_RATE_LIMIT

HOST = "127.0.0.1"  # never anything else: the stand-in is for this machine only
CONTROL = "/_reportgen"
OPERATION = "GetMetricWidgetImage"
METRIC_DATA = "GetMetricData"
WORKER_NICENESS = 10  # added to the render workers' niceness: the event loop comes first

log = logging.getLogger("reportgen.local")

# Draws a widget; when stored data is to be drawn it comes second, one entry per row, and SEARCH's answers
# come as `search=` (see render.render_png).
Renderer = Callable[..., bytes]
T = TypeVar("T")


@dataclass
class _Counts:
    requests: int = 0
    served: int = 0
    throttled: int = 0
    errors: int = 0


class StandIn:
    """What one running stand-in holds: its limiters, arrival counts, faults, chaos, counters, metric store and
    render workers."""

    def __init__(self, *, rate_limit: float, metric_data_rate_limit: float, workers: int,
                 clock: Callable[[], float] | None, executor_factory: Callable[[], Executor] | None,
                 renderer: Renderer, data: str, synthetic: bool, wall_clock: Callable[[], float],
                 tokens: sts.SecurityTokenService, chaos: Chaos, fast: bool) -> None:
        self.limiter = SlidingWindowLimiter(rate_limit, clock=clock)
        # Per operation with a quota of its own, keyed by account; the others are not limited.
        self.limiters = {OPERATION: self.limiter,
                         METRIC_DATA: SlidingWindowLimiter(metric_data_rate_limit, clock=clock)}
        self.arrivals = {operation: Arrivals(operation, clock=clock) for operation in self.limiters}
        self.tokens = tokens
        self.faults = FaultPlan()
        self.chaos = chaos
        self.fast_images = FastImages(self._fast_image) if fast else None
        self.counts: dict[str, _Counts] = {}  # per access key
        self.renders = 0  # widgets handed to the render workers
        self.workers = workers
        self.renderer = renderer
        self.wall_clock = wall_clock
        self._data = data
        self._synthetic = synthetic
        self._operations: Operations | None = None
        self._store_thread: ThreadPoolExecutor | None = None
        self._executor_factory = executor_factory or partial(_process_pool, workers)
        self._executor: Executor | None = None

    async def start(self) -> None:
        """Open the store; start the render workers and have each draw once, so the first real request is
        not slow."""
        # One thread owns the SQLite connection: requests queue for it in arrival order.
        self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="reportgen-store")
        try:
            store = await self._in_store(partial(MetricStore, self._data))
        except sqlite3.Error as exc:
            self._store_thread.shutdown()
            self._store_thread = None
            raise SetupError(f"cannot open the metric store {self._data}: {exc}") from None
        self._operations = Operations(store, clock=self.wall_clock, synthetic=self._synthetic)
        self._executor = self._executor_factory()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._executor, render.warm_up) for _ in range(self.workers)))
        log.info("render workers ready: %d; rate limit: %g requests/s per account; metric store: %s%s",
                 self.workers, self.limiter.rate, self._data, "" if self._synthetic else "; no synthetic data")
        if not self.chaos.calm or self.fast_images is not None:
            log.info("misbehaving on demand: %r%s", self.chaos, "; fast mode" if self.fast_images is not None else "")

    async def stop(self) -> None:
        if self._executor is not None:
            await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
            self._executor = None
        if self._store_thread is not None:
            if self._operations is not None:
                await self._in_store(self._operations.store.close)
                self._operations = None
            self._store_thread.shutdown(wait=True)
            self._store_thread = None

    async def answer(self, request: web.Request) -> web.StreamResponse:
        """Answer one AWS API request: CloudWatch's, or STS's."""
        request_id = str(uuid.uuid4())
        caller = protocols.caller(request.headers, request.query)
        key = caller.access_key
        if sts.is_request(request.headers, request.query):
            return _response(self.tokens.answer(key, request.headers, request.query, await request.read(),
                                                request_id))
        protocol = protocols.detect(request.headers, request.path)
        counts = self.counts.setdefault(key, _Counts())
        counts.requests += 1
        try:
            account = self.tokens.authenticate(key).account
        except ServiceError as error:
            counts.errors += 1
            return _response(protocol.encode_error(error, request_id))
        # The rate limit goes first, before anything that awaits: it stamps the request with the time it
        # runs, and any wait (reading the body) would make that later than when the client sent it. JSON
        # names the operation in a header and CBOR in the path; a query request may name it only in its
        # body, read first.
        named = protocol.operation(request.headers, request.query, request.path)
        decision = CALM if named is None else self._arrive(named, key, account)
        if decision is None:
            counts.throttled += 1
            return _response(protocol.encode_error(_THROTTLED, request_id))
        body = await request.read()
        try:
            call = protocol.decode(request.headers, request.query, body, request.path)
            if named is None:
                arrived = self._arrive(call.operation, key, account)
                if arrived is None:
                    counts.throttled += 1
                    return _response(protocol.encode_error(_THROTTLED, request_id))
                decision = arrived
            if decision.delay:  # the service's latency: this request waits, the others go on
                await asyncio.sleep(decision.delay)
            if decision.error is not None:
                raise decision.error
            if call.operation == OPERATION:
                result: Mapping[str, Any] = {"MetricWidgetImage": await self._metric_widget_image(call.params,
                                                                                                 caller.region)}
            else:
                result = await self._operation(call.operation, call.params, caller.region)
        except ServiceError as error:
            reply, served = protocol.encode_error(error, request_id), False
        except Exception:
            log.exception("request %s failed", request_id)
            failure = ServiceError("InternalServiceError", f"the stand-in failed; see its log for request {request_id}",
                                   status=500)
            reply, served = protocol.encode_error(failure, request_id), False
        else:
            served = True
            if call.operation == OPERATION and call.params.get("OutputFormat") == "image/png":
                reply = protocols.Reply(200, result["MetricWidgetImage"], "image/png", {"x-amzn-RequestId": request_id})
            else:
                reply = protocol.encode_result(call.operation, result, request_id)
        if decision.on_the_wire:
            counts.errors += 1
            return await self.chaos.deliver(request, reply, decision.outcome)
        if served:
            counts.served += 1
        else:
            counts.errors += 1
        return _response(reply)

    def _arrive(self, operation: str, key: str, account: str) -> Decision | None:
        """Count a request for ``operation`` arriving from ``key``, of ``account``, and decide its fate: None if
        the rate limit refuses it; else a plain answer, or for an operation with a rate limit of its own
        whatever the chaos settings draw."""
        limiter = self.limiters.get(operation)
        if limiter is None:
            return CALM
        admitted = limiter.try_acquire(account)
        self.arrivals[operation].record(key, account, admitted=admitted)
        return self.chaos.decide() if admitted else None

    async def _operation(self, name: str, params: Mapping[str, Any], region: str | None) -> Mapping[str, Any]:
        operations = self._store_operations()
        handler = operations.handlers.get(name)
        if handler is None:
            supported = ", ".join(sorted([OPERATION, *operations.handlers]))
            raise ServiceError("InvalidAction", f"{name!r} is not an operation this stand-in supports; it answers "
                                                f"{supported}")
        if name == "GetMetricData":  # its synthetic data, like a widget's, depends on the region asked
            return await self._in_store(partial(operations.get_metric_data, params, region=region))
        return await self._in_store(partial(handler, params))

    async def _metric_widget_image(self, params: Mapping[str, Any], region: str | None) -> bytes:
        text = params["MetricWidget"]  # a string: the protocol has checked it against the model
        injected = self.faults.take(text)
        if injected is not None:
            raise injected
        if params.get("OutputFormat", "png") not in ("png", "image/png"):
            raise ServiceError("InvalidParameterValue", f"OutputFormat {params['OutputFormat']!r} is not supported; "
                                                        "use png (or image/png for a raw PNG body)")
        try:
            widget = parse_widget(text, now=datetime.fromtimestamp(self.wall_clock(), UTC), region=region)
        except WidgetError as exc:
            raise ServiceError("InvalidParameterValue", f"MetricWidget: {exc}") from None
        if self.fast_images is not None:
            return await self.fast_images.png(widget.width, widget.height)
        try:
            if widget.alarms:  # their thresholds, and their metrics for a widget that has none of its own
                widget = await self._in_store(partial(self._store_operations().with_alarms, widget, widget.alarms))
            fetched, answers = await self._in_store(partial(self._stored, widget))
            return await self._render(widget, fetched, answers)
        except (WidgetError, ExpressionError) as exc:  # found only with the data: metric math that cannot run
            raise ServiceError("InvalidParameterValue", f"MetricWidget: {exc}") from None

    def _stored(self, widget: Widget) -> tuple[tuple[Series | None, ...] | None, search.Answers | None]:
        """What ``widget`` draws from the store (run on its thread): its rows' stored series, and the answers
        to its SEARCH expressions, or None for each that it does not need."""
        operations = self._store_operations()
        reader = operations.widget_reader(widget)
        fetched = operations.widget_series(widget, reader)
        if not any(row.expression is not None and "SEARCH" in row.expression for row in widget.metrics):
            return fetched, None
        # Running the widget's math on no data asks SEARCH just what drawing it will: its arguments are
        # literals and the query's period, never data.
        recorder = search.Recorder(reader.search)
        render.row_series(widget, [_NO_DATA] * len(widget.metrics), search=recorder)
        return fetched, recorder.answers

    async def _fast_image(self, width: int, height: int) -> bytes:
        """What fast mode answers for every widget of this size: one line of synthetic data, drawn for real."""
        widget = parse_widget(json.dumps({**_FAST_WIDGET, "width": width, "height": height}),
                              now=datetime.fromtimestamp(self.wall_clock(), UTC))
        return await self._render(widget, None, None)

    async def _render(self, widget: Widget, fetched: tuple[Series | None, ...] | None,
                      answers: search.Answers | None) -> bytes:
        executor = self._executor
        if executor is None:
            raise RuntimeError("the stand-in is not started")
        self.renders += 1
        # Without stored data or SEARCH the renderer gets the widget alone, as it always has.
        job = partial(self.renderer, widget) if fetched is None else partial(self.renderer, widget, fetched)
        if answers is not None:
            job = partial(job, search=answers)
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, job)
        except BrokenExecutor:
            # A worker died (killed, out of memory): the requests it had fail, later ones get fresh
            # workers. Several requests may fail together; only the first replaces the pool.
            if self._executor is executor:
                log.error("the render pool broke; starting a new one")
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._executor_factory()
            raise

    async def _in_store(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the store's thread."""
        if self._store_thread is None:
            raise RuntimeError("the stand-in is not started")
        return await asyncio.get_running_loop().run_in_executor(self._store_thread, work)

    def _store_operations(self) -> Operations:
        if self._operations is None:
            raise RuntimeError("the stand-in is not started")
        return self._operations

    def stats(self) -> dict[str, Any]:
        """The ``/_reportgen/stats`` document: totals, then the same counts per access key and per account."""
        keys = {key: {**asdict(counts), "max_in_any_second": self.arrivals[OPERATION].keys.admitted_peak(key)}
                for key, counts in self.counts.items()}
        members: dict[str, list[str]] = {}
        for key in keys:
            members.setdefault(self.tokens.identity(key).account, []).append(key)
        accounts = {account: {**_sums(keys[key] for key in names),
                              "max_in_any_second": self.limiter.peak(account),
                              "max_in_any_second_by_operation": {operation: limiter.peak(account)
                                                                 for operation, limiter in self.limiters.items()},
                              "keys": sorted(names)}
                    for account, names in members.items()}
        return {
            **_sums(keys.values()),
            "faults_injected": self.faults.injected,
            "chaos": self.chaos.stats(),
            "renders": self.renders,
            "max_in_any_second": self.limiter.peak(),
            "rate_limit": self.limiter.rate,
            "keys": keys,
            "accounts": accounts,
            "sts": self.tokens.stats(),
        }


def _sums(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """``_Counts``' fields summed over ``counts``."""
    rows = list(counts)
    return {name: sum(row[name] for row in rows) for name in asdict(_Counts())}


_STANDIN = web.AppKey("standin", StandIn)
_THROTTLED = service_error("Throttling")
# Fast mode's one picture per size: absolute times, so it does not depend on when it is drawn.
_FAST_WIDGET = {"metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-0fa57"]], "title": "CPUUtilization",
                "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T03:00:00Z"}
_NO_DATA = Series(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), None)


def create_app(*, rate_limit: float = DEFAULT_RATE_LIMIT, metric_data_rate_limit: float = DEFAULT_METRIC_DATA_RATE,
               workers: int | None = None, clock: Callable[[], float] | None = None,
               executor_factory: Callable[[], Executor] | None = None, renderer: Renderer = render.render_png,
               data: str = ":memory:", synthetic: bool = True,
               wall_clock: Callable[[], float] = time.time, accounts: Mapping[str, str] | None = None,
               denied_roles: Collection[str] = (), required_external_ids: Mapping[str, str] | None = None,
               session_seconds: float | None = None, latency_ms: float = 0.0, jitter_ms: float = 0.0,
               throttle_fraction: float = 0.0, error_fraction: float = 0.0, reset_fraction: float = 0.0,
               slow_body_fraction: float = 0.0, seed: int = 0, fast: bool = False) -> web.Application:
    """The stand-in as an aiohttp app; its metric store and render workers start with the app and stop with it.

    ``rate_limit`` and ``metric_data_rate_limit`` are GetMetricWidgetImage's and GetMetricData's requests per
    second per account. ``workers`` defaults to one per CPU. ``clock`` (seconds) drives the rate limits and
    defaults to the event loop's. ``executor_factory`` and ``renderer`` replace the process pool and the
    drawing, for tests that need a render to fail. ``data`` is the SQLite file of the metric store (``:memory:``: none,
    gone when the app stops); ``synthetic=False`` draws metrics without stored data as empty instead of
    with synthetic data. ``wall_clock`` (epoch seconds) is the time the API runs at: relative widget times,
    PutMetricData's accepted window, RecentlyActive, and when STS sessions expire.

    STS (see ``sts``): ``accounts`` maps access keys to 12-digit accounts (other keys get one derived from
    the key); AssumeRole refuses the role ARNs in ``denied_roles``, and those in ``required_external_ids``
    without the ExternalId given there; ``session_seconds`` makes every session last that long, whatever it
    asked for.

    Chaos (see ``chaos``), for GetMetricWidgetImage and GetMetricData, the operations a report run calls in
    bulk and the ones with a quota of their own; never for the others, STS or the control endpoints, so setting
    up a test is never disturbed. Each request the rate limit admits waits ``latency_ms`` ± ``jitter_ms``
    (uniform) before it is answered, and is answered, by one draw seeded with ``seed``: Throttling (400) with
    ``throttle_fraction``, InternalServiceError (500) or ServiceUnavailable (503), half each, with
    ``error_fraction``, a connection reset after half its answer with ``reset_fraction``, an answer trickled a
    byte a second with ``slow_body_fraction``, else as usual. ``fast`` answers GetMetricWidgetImage, once the
    widget is validated, with one PNG per width × height, drawn the first time that size is asked for.

    ``ValueError`` names a malformed account id or role ARN, or a chaos setting out of range.
    """
    app = web.Application()
    app[_STANDIN] = StandIn(rate_limit=rate_limit, metric_data_rate_limit=metric_data_rate_limit,
                            workers=workers or os.cpu_count() or 1, clock=clock,
                            executor_factory=executor_factory, renderer=renderer, data=data, synthetic=synthetic,
                            wall_clock=wall_clock,
                            tokens=sts.SecurityTokenService(accounts=accounts, denied_roles=denied_roles,
                                                            required_external_ids=required_external_ids,
                                                            session_seconds=session_seconds, wall_clock=wall_clock),
                            chaos=Chaos(latency_ms=latency_ms, jitter_ms=jitter_ms, throttle_fraction=throttle_fraction,
                                        error_fraction=error_fraction, reset_fraction=reset_fraction,
                                        slow_body_fraction=slow_body_fraction, seed=seed),
                            fast=fast)
    app.cleanup_ctx.append(_workers)
    app.on_shutdown.append(_stop_chaos)
    app.router.add_get(f"{CONTROL}/health", _health)
    app.router.add_get(f"{CONTROL}/stats", _stats)
    app.router.add_get(f"{CONTROL}/arrivals", _arrivals)
    app.router.add_get(f"{CONTROL}/faults", _list_faults)
    app.router.add_post(f"{CONTROL}/faults", _add_fault)
    app.router.add_delete(f"{CONTROL}/faults", _clear_faults)
    app.router.add_post("/", _api)
    app.router.add_get("/", _api)
    app.router.add_post("/service/{service}/operation/{operation}", _api)
    return app


@asynccontextmanager
async def running(app: web.Application, port: int = 0) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1:``port`` (0 picks a free port) for the block; yields the endpoint URL.

    The port is bound before the render workers start, so a taken port fails fast; the URL is yielded
    once the workers are up.
    """
    listener = socket.socket()
    try:
        # As asyncio's own servers do, so a restart can reuse a port still in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, port))
    except OSError as exc:
        listener.close()
        raise SetupError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    runner = web.AppRunner(app)
    try:
        await runner.setup()
        await web.SockSite(runner, listener).start()
        yield f"http://{HOST}:{listener.getsockname()[1]}"
    finally:
        await runner.cleanup()
        listener.close()


class BackgroundStandIn:
    """A stand-in on its own event loop in a daemon thread, for tests and tools that are not async.

        with BackgroundStandIn(rate_limit=20) as standin:
            client = boto3.client("cloudwatch", endpoint_url=standin.endpoint_url, ...)

    Keyword arguments go to ``create_app``. Entering returns once the server is listening, or raises
    ``SetupError`` if it could not start within ``startup_timeout`` seconds. The render workers are
    started by multiprocessing's forkserver, which imports the main module: a script that uses this
    needs the usual ``if __name__ == "__main__":`` guard.
    """

    def __init__(self, *, port: int = 0, startup_timeout: float = 60.0, **options: Any) -> None:
        self.endpoint_url = ""
        self._port = port
        self._startup_timeout = startup_timeout
        self._options = options
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="reportgen-local", daemon=True)

    def __enter__(self) -> BackgroundStandIn:
        self._thread.start()
        if not self._ready.wait(self._startup_timeout):
            if self._loop is not None and self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)
            # No join: a start that hangs must not hang the caller too, and the thread is a daemon.
            raise SetupError(f"the local stand-in did not start within {self._startup_timeout:g} s")
        if self._error is not None:
            self._thread.join()
            if isinstance(self._error, SetupError):
                raise self._error
            raise SetupError(f"the local stand-in did not start: {self._error}") from self._error
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()

    def stats(self) -> dict[str, Any]:
        """The ``/_reportgen/stats`` document."""
        return self._control("GET", "stats")

    def arrivals(self, operation: str = OPERATION) -> dict[str, Any]:
        """The ``/_reportgen/arrivals`` document of ``operation``."""
        return self._control("GET", f"arrivals?{urlencode({'operation': operation})}")

    def add_fault(self, error: str, **rule: Any) -> dict[str, Any]:
        """Inject a fault, e.g. ``add_fault("Throttling", count=2, match_title="CPU")``."""
        return self._control("POST", "faults", {"error": error, **rule})

    def clear_faults(self) -> dict[str, Any]:
        return self._control("DELETE", "faults")

    def _control(self, method: str, name: str, document: Any = None) -> dict[str, Any]:
        data = None if document is None else json.dumps(document).encode()
        request = Request(f"{self.endpoint_url}{CONTROL}/{name}", data=data, method=method,
                          headers={"Content-Type": "application/json"})
        with urlopen(request) as response:
            result: dict[str, Any] = json.load(response)
            return result

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except asyncio.CancelledError:  # the start timed out and __enter__ has given up on it
            pass

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._task = asyncio.current_task()
        try:
            async with running(create_app(**self._options), self._port) as url:
                self.endpoint_url = url
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # reported by __enter__; a thread has nowhere else to raise to
            self._error = exc
        finally:
            self._ready.set()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    standin = app[_STANDIN]
    await standin.start()
    yield
    await standin.stop()


async def _stop_chaos(app: web.Application) -> None:
    # Before the server waits for open requests: a body trickling a byte a second would hold it for minutes.
    app[_STANDIN].chaos.close()


async def _api(request: web.Request) -> web.StreamResponse:
    return await request.app[_STANDIN].answer(request)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[_STANDIN].stats())


async def _arrivals(request: web.Request) -> web.Response:
    arrivals = request.app[_STANDIN].arrivals
    operation = request.query.get("operation", OPERATION)
    if operation not in arrivals:
        return web.json_response({"error": f"arrivals are counted for {', '.join(arrivals)}, not {operation!r}"},
                                 status=400)
    return web.json_response(arrivals[operation].to_json())


async def _list_faults(request: web.Request) -> web.Response:
    return web.json_response({"faults": request.app[_STANDIN].faults.to_json()})


async def _add_fault(request: web.Request) -> web.Response:
    faults = request.app[_STANDIN].faults
    try:
        faults.add(Fault.from_json(json.loads(await request.read())))
    except ValueError as exc:  # json.JSONDecodeError is one too
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"faults": faults.to_json()}, status=201)


async def _clear_faults(request: web.Request) -> web.Response:
    return web.json_response({"cleared": request.app[_STANDIN].faults.clear()})


def _response(reply: protocols.Reply) -> web.Response:
    return web.Response(status=reply.status, body=reply.body, headers={"Content-Type": reply.content_type,
                                                                         **reply.headers})


def _process_pool(workers: int) -> ProcessPoolExecutor:
    # forkserver, not fork: the server may run in a thread (BackgroundStandIn), and forking a threaded
    # process can deadlock. Preloading the renderer lets each worker start without importing matplotlib.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["reportgen.local.render"])
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)


def _start_worker() -> None:
    # Ctrl-C reaches the whole process group; the server shuts the workers down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Drawing is CPU-bound and there is a worker per core: at normal priority busy workers delay the
    # event loop, which then stamps arrivals late and bunched and throttles requests sent on time.
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
