"""What a run tells the person (or the log) watching it.

On a terminal one status line is redrawn with each report's widgets done/total; elsewhere, and with
``--quiet``, nothing is redrawn and only finished reports (or nothing but failures) are printed, one line
each, so cron mail and log files stay readable. A widget that fails always gets a line saying why and where
the spec declares it (``FILE:LINE``): the PDF is not where someone reading the log at 3 a.m. should have to
look. ``NO_COLOR`` turns colour off.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TextIO

from reportgen.model import ReportPlan, WidgetResult

_GREEN, _RED, _YELLOW, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[0m"
_CLEAR_LINE = "\r\x1b[2K"
# CloudWatch's answers to a widget it refuses as written: only an edit of the spec helps (and none is retried).
SPEC_FAULT_CODES = frozenset({"InvalidParameterValue", "MissingParameter", "InvalidParameterCombination"})


class Progress:
    """Receives the pipeline's events and prints them; this base class prints finished reports only."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False, color: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        if color is None:
            color = self.stream.isatty() and not os.environ.get("NO_COLOR")
        self.color = color
        self._done: dict[str, int] = {}
        self._failed: dict[str, int] = {}
        self._total: dict[str, int] = {}

    @classmethod
    def for_stream(cls, stream: TextIO, *, quiet: bool) -> Progress:
        """A live status line on a terminal, plain lines elsewhere."""
        if not quiet and stream.isatty():
            return LiveProgress(stream)
        return cls(stream, quiet=quiet)

    def report_started(self, plan: ReportPlan) -> None:
        self._total[plan.spec.id] = len(plan.widgets)
        self._done[plan.spec.id] = self._failed[plan.spec.id] = 0

    def widget_done(self, plan: ReportPlan, result: WidgetResult) -> None:
        self._done[plan.spec.id] += 1
        if not result.ok:
            self._failed[plan.spec.id] += 1
            if result.attempts == 0:  # its account could not be reached: the run says so once, for all of them
                return
            failed = self._paint("failed", _RED)
            request = result.request
            widget = plan.spec.sections[request.section].widgets[request.index]
            where = f"{plan.spec.path}:{widget.line}"
            if result.error_code in SPEC_FAULT_CODES:
                where += "; not retried: CloudWatch refuses the widget as written"
            self.emit(f'{plan.spec.id}: widget "{request.title}" {failed}: {result.error} ({where})')

    def report_written(self, plan: ReportPlan, path: str) -> None:
        report = plan.spec.id
        failed = self._failed[report]
        if self.quiet and not failed:
            return
        status = self._paint(f"{failed} failed", _RED) if failed else self._paint("ok", _GREEN)
        self.emit(f"{report}: {self._total[report]} widgets, {status} -> {path}")

    def note(self, message: str) -> None:
        """A line about what went well (archived, mailed); ``--quiet`` leaves it out."""
        if not self.quiet:
            self.emit(message)

    def warn(self, message: str) -> None:
        self.emit(self._paint("warning: ", _YELLOW) + message)

    def emit(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        return None

    def _paint(self, text: str, colour: str) -> str:
        return f"{colour}{text}{_RESET}" if self.color else text


class LiveProgress(Progress):
    """Redraws one line, ``daily-ops 7/12 · weekly-review 0/9``, at each event."""

    def widget_done(self, plan: ReportPlan, result: WidgetResult) -> None:
        super().widget_done(plan, result)
        self._redraw()

    def emit(self, line: str) -> None:
        self.stream.write(_CLEAR_LINE)
        super().emit(line)
        self._redraw()

    def close(self) -> None:
        self.stream.write(_CLEAR_LINE)
        self.stream.flush()

    def _redraw(self) -> None:
        busy = [f"{r} {self._done[r]}/{self._total[r]}" for r in self._total if self._done[r] < self._total[r]]
        if busy:
            # A wrapped line could not be cleared with one carriage return.
            width = shutil.get_terminal_size().columns - 1
            self.stream.write(_CLEAR_LINE + " · ".join(busy)[:width])
            self.stream.flush()
