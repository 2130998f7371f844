"""What a run prints: a live line on a terminal, one line per report elsewhere, colour only when wanted."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from reportgen.model import AwsTarget, Layout, Period, ReportSpec, Section, WidgetRequest, WidgetResult, WidgetSpec
from reportgen.progress import LiveProgress, Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakePlan:
    """Just what Progress reads of a plan: the spec (whose first widget is declared on line 12) and a count."""

    def __init__(self, report: str, widgets: int) -> None:
        cpu = WidgetSpec(title="CPU", source={}, line=12)
        self.spec = ReportSpec(report, "T", Path("specs", f"{report}.yaml"), "UTC", Period(), AwsTarget(), Layout(),
                               (Section("S", (cpu,)),))
        self.widgets = tuple(range(widgets))


def result(ok: bool, error: str = "boom", code: str | None = None) -> WidgetResult:
    request = WidgetRequest("r", 0, 0, "CPU", "{}", 600, 400)
    return WidgetResult(request, png=b"png" if ok else None, error=None if ok else error, error_code=code)


def feed(progress: Progress) -> None:
    plan = FakePlan("daily-ops", 3)
    progress.report_started(plan)  # type: ignore[arg-type]
    for ok in (True, False, True):
        progress.widget_done(plan, result(ok))  # type: ignore[arg-type]
    progress.report_written(plan, "out/daily-ops.pdf")  # type: ignore[arg-type]
    progress.close()


def test_a_terminal_gets_a_live_line_that_counts_widgets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = Terminal()
    progress = Progress.for_stream(stream, quiet=False)
    assert isinstance(progress, LiveProgress)
    feed(progress)
    text = stream.getvalue()
    assert "daily-ops 1/3" in text and "daily-ops 2/3" in text
    assert "\x1b[31m1 failed\x1b[0m" in text


@pytest.mark.parametrize("value, colour", [("1", False), ("", True)])
def test_a_non_empty_no_color_turns_colour_off(monkeypatch: pytest.MonkeyPatch, value: str, colour: bool) -> None:
    monkeypatch.setenv("NO_COLOR", value)
    stream = Terminal()
    feed(Progress.for_stream(stream, quiet=False))
    assert ("\x1b[3" in stream.getvalue()) is colour


def test_a_log_gets_plain_lines_a_failed_widget_and_a_report() -> None:
    stream = io.StringIO()
    feed(Progress.for_stream(stream, quiet=False))
    assert stream.getvalue() == ('daily-ops: widget "CPU" failed: boom (specs/daily-ops.yaml:12)\n'
                                 "daily-ops: 3 widgets, 1 failed -> out/daily-ops.pdf\n")


def test_quiet_prints_only_reports_with_failures() -> None:
    stream = io.StringIO()
    progress = Progress.for_stream(Terminal(), quiet=True)
    assert not isinstance(progress, LiveProgress)
    quiet = Progress(stream, quiet=True)
    plan = FakePlan("weekly", 1)
    quiet.report_started(plan)  # type: ignore[arg-type]
    quiet.widget_done(plan, result(True))  # type: ignore[arg-type]
    quiet.report_written(plan, "out/weekly.pdf")  # type: ignore[arg-type]
    assert stream.getvalue() == ""
    feed(quiet)
    assert "1 failed" in stream.getvalue()


@pytest.mark.parametrize("code", ["InvalidParameterValue", "MissingParameter", "InvalidParameterCombination"])
def test_a_widget_cloudwatch_refuses_as_written_is_named_by_title_and_line(code: str) -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    plan = FakePlan("daily-ops", 1)
    progress.report_started(plan)  # type: ignore[arg-type]
    message = f"{code}: The parameter MetricWidget.metrics[0] is not valid"
    progress.widget_done(plan, result(False, message, code))  # type: ignore[arg-type]
    assert stream.getvalue() == (f'daily-ops: widget "CPU" failed: {message} (specs/daily-ops.yaml:12; '
                                 "not retried: CloudWatch refuses the widget as written)\n")
