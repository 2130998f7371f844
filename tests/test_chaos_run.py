"""`reportgen run` against a stand-in that throttles, fails, drops connections, trickles and answers late,
seeded so every run sees the same weather: with enough attempts every widget is saved and the account is
never sent more than 20 requests in any second; with one attempt, exactly the widgets that met a fault are
marked as failed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from reportgen.cli import EXIT_OK, EXIT_PARTIAL, main
from reportgen.local import BackgroundStandIn

WIDGETS = 40
WEATHER: dict[str, Any] = dict(latency_ms=120, jitter_ms=100, throttle_fraction=0.3, error_fraction=0.1,
                               reset_fraction=0.05, slow_body_fraction=0.02, fast=True)


def spec(folder: Path) -> Path:
    rows = "".join(f"      - title: Chart {n:02}\n        metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-{n}]]\n"
                   for n in range(WIDGETS))
    path = folder / "chaos.yaml"
    path.write_text("report: chaos\ntitle: Chaos\naws: {region: us-east-1, profile: chaos}\n"
                    "defaults: {width: 300, height: 200}\nsections:\n  - title: Charts\n    widgets:\n" + rows)
    return path


def run(folder: Path, standin: BackgroundStandIn, attempts: int) -> int:
    # A two-second timeout: a trickled body is given up on soon, and retried.
    return main(["run", str(spec(folder)), "--out", str(folder), "-q", "--no-deliver", "--date", "2026-11-26",
                 "--attempts", str(attempts), "--timeout", "2", "--endpoint-url", standin.endpoint_url])


@pytest.mark.timeout(90)
def test_enough_attempts_save_every_widget_within_the_limit(tmp_path: Path,
                                                            make_standin: Callable[..., BackgroundStandIn]) -> None:
    standin = make_standin(seed=11, **WEATHER)
    assert run(tmp_path, standin, attempts=10) == EXIT_OK
    pdf = PdfReader(tmp_path / "chaos-2026-11-26.pdf")
    widgets = [entry for entry in pdf.outline[1] if not isinstance(entry, list)]  # under the section's entry
    assert len(widgets) == WIDGETS
    assert not any("could not be rendered" in page.extract_text() for page in pdf.pages)
    chaos = standin.stats()["chaos"]
    assert chaos["throttled"] > 5 and chaos["errors"] > 0 and chaos["resets"] > 0  # the weather was bad
    (account,) = standin.arrivals()["accounts"].values()
    # Every arrival counts, retries and refusals included. The client lets at most 20 onto the wire in any
    # 1.01 s (``depart``); between the wire and the stand-in's count lies the margin's 10 ms. This
    # stand-in runs in a thread of the test's own process, so the client's work (and a loaded machine) can hold
    # its count up by more, now and then, and one request meets one more in its second. (Against a stand-in in
    # a process of its own, as ``make bench`` runs it, the most in any second is 20.)
    assert account["max_in_any_second"] <= 21


@pytest.mark.timeout(90)
def test_one_attempt_marks_exactly_the_widgets_that_met_a_fault(tmp_path: Path,
                                                                make_standin: Callable[..., BackgroundStandIn],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    standin = make_standin(seed=5, **WEATHER)
    assert run(tmp_path, standin, attempts=1) == EXIT_PARTIAL
    logged = set(re.findall(r'widget "(Chart \d\d)" failed', capsys.readouterr().err))
    text = " ".join(page.extract_text() for page in PdfReader(tmp_path / "chaos-2026-11-26.pdf").pages)
    boxed = set(re.findall(r"Widget could not be rendered\s+(Chart \d\d)", text))
    stats = standin.stats()
    chaos = stats["chaos"]
    # One request each: every fault, and every refusal by the rate limit itself, is one failed widget.
    faults = chaos["throttled"] + chaos["errors"] + chaos["resets"] + chaos["slow"] + stats["throttled"]
    assert logged == boxed and len(boxed) == faults > 0
