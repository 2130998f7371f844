"""A local CloudWatch stand-in: a real HTTP server on 127.0.0.1 that answers GetMetricWidgetImage and keeps
a metric store behind PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics and the dashboards.

botocore and aiobotocore reach it through ``endpoint_url``; it draws charts of stored data, or of
deterministic synthetic data for metrics nobody stored, enforces CloudWatch's per-account rate limits,
answers STS (GetCallerIdentity, AssumeRole) so accounts and roles work on loopback, and can inject faults
for retry tests.

    widget      MetricWidget JSON → typed ``Widget`` (validation, the "." shorthand, times)
    mathexpr    metric math over the rows named (parsed by reportgen.expression): CloudWatch's functions, by table
    synthetic   deterministic, plausible data for a metric row over a time window
    render      ``Widget`` → PNG bytes (matplotlib, in worker processes): a module per view, and the page,
                legend, axes, text and theme they share
    aggregate   CloudWatch's statistics (pNN, TM/WM/TC/TS/PR, IQM, …) over each period's samples
    store       the metric store: datapoints and dashboards in SQLite
    operations  the store-backed API operations, and the stored series a widget draws
    search      SEARCH's search expressions: the syntax, what matches, how results are labelled
    seed        a demo estate (EC2, ALB, Lambda, RDS, DynamoDB, SQS, API Gateway) for a store
    protocols   AWS JSON 1.0, Smithy RPC v2 CBOR and query, driven by botocore's service model: requests in,
                results and errors out
    throttle    the sliding-window limiter, per account and operation
    sts         GetCallerIdentity and AssumeRole: access keys and roles mapped to accounts
    faults      injected errors for retry tests
    chaos       misbehaviour on demand (latency, throttles, errors, resets, slow bodies), fast mode, and
                arrivals counted per key and account in every second
    server      the aiohttp app, its control endpoints, and ways to run it
    gallery     one PNG per feature and a contact sheet (``make gallery``)
    mailsink    an SMTP server (aiosmtpd) that keeps every message as an .eml file (``reportgen local mail``)
    cli         ``python -m reportgen.local serve|seed|mail``

The stand-in needs the ``local`` extra. Reach it through this package's attributes
(``from reportgen.local import BackgroundStandIn``): that is where a missing extra becomes a
``SetupError`` with the install command instead of an ``ImportError`` deep inside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reportgen.errors import SetupError

if TYPE_CHECKING:
    from reportgen.local.server import BackgroundStandIn, create_app, running

__all__ = ["BackgroundStandIn", "create_app", "running"]

# Third-party packages of the `local` extra; an ImportError for anything else is a bug and propagates.
_EXTRA_PACKAGES = frozenset({"aiohttp", "cbor2", "matplotlib", "numpy", "PIL"})


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from reportgen.local import server
    except ImportError as exc:
        if exc.name is None or exc.name.partition(".")[0] not in _EXTRA_PACKAGES:
            raise
        raise SetupError(
            f"the local CloudWatch stand-in needs {exc.name}, which is not installed: "
            "pip install 'reportgen[local]'"
        ) from None
    return getattr(server, name)
