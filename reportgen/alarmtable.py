"""The alarms that went off in a report's period, as a table in its section: newest first, each alarm once,
with when it last went off, how long it stayed, how often it went off, and CloudWatch's reason.

Its height depends only on its row count, so the layout can place it like a heading before the rows after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from reportlab.lib.colors import HexColor
from reportlab.platypus import Flowable

from reportgen.alarmreport import AlarmsResult, AlarmSummary
from reportgen.fonts import FontChain

ROW = 12.0          # pt per row
SIZE = 7.5          # pt
MAX_ALARMS = 15     # rows shown; the rest are counted under them
TITLE = 16.0        # pt for the table's own heading line

_INK = HexColor("#1E293B")
_MUTED = HexColor("#64748B")
_RULE = HexColor("#CBD5E1")
_STRIPE = HexColor("#F1F5F9")
_ALARM = HexColor("#B42318")


def duration(start: datetime, end: datetime) -> str:
    """``3 h 05 min``, ``12 min``, ``2 d 4 h``: what a reader takes in at a glance."""
    minutes = max(0, round((end - start) / timedelta(minutes=1)))
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes:02} min" if hours else f"{minutes} min"


class AlarmsTable(Flowable):
    """The alarms table of one `alarms:` item; its error, or "no alarm went off", in its place."""

    _SHARES = (2.4, 1.2, 0.9, 0.6, 4.9)  # alarm, went off, lasted, times, reason

    def __init__(self, result: AlarmsResult, fonts: FontChain, *, zone: tzinfo, end: datetime,
                 long_window: bool) -> None:
        super().__init__()
        self.result, self.fonts, self.zone, self.end = result, fonts, zone, end
        self.stamp = "%a %d %b %H:%M" if long_window else "%H:%M"
        shown = min(len(result.alarms), MAX_ALARMS)
        lines = 1 if result.error is not None or not result.alarms else 1 + shown + (len(result.alarms) > shown)
        self.height = TITLE + lines * ROW + 8

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, self.height

    def draw(self) -> None:
        canv, fonts, result = self.canv, self.fonts, self.result
        canv.saveState()
        top = self.height
        canv.setFillColor(_INK)
        count = len(result.alarms)
        heading = "Alarms that went off" if result.error is None else "Alarms"
        if result.error is None and count:
            heading += f" ({count})"
        fonts.draw(canv, 0, top - 11, heading, 9.5, bold=True)
        y = top - TITLE
        if result.error is not None or not result.alarms:
            canv.setFillColor(_MUTED)
            text = f"Alarms unavailable: {result.error}" if result.error else "No alarm went off in this period."
            fonts.draw(canv, 0, y - ROW + 3.5, fonts.shorten(text, SIZE, self.width), SIZE)
            canv.restoreState()
            return
        unit = self.width / sum(self._SHARES)
        edges = [0.0]
        for share in self._SHARES:
            edges.append(edges[-1] + share * unit)
        rows = [("Alarm", "Last went off", "Lasted", "Times", "Reason")]
        rows += [self._row(alarm) for alarm in result.alarms[:MAX_ALARMS]]
        canv.setStrokeColor(_RULE)
        canv.setLineWidth(0.5)
        for number, cells in enumerate(rows):
            row_top = y - number * ROW
            baseline = row_top - ROW + 3.5
            header = number == 0
            if number and number % 2 == 0:
                canv.setFillColor(_STRIPE)
                canv.rect(0, row_top - ROW, self.width, ROW, stroke=0, fill=1)
            for column, text in enumerate(cells):
                canv.setFillColor(_MUTED if header else _ALARM if column == 0 else _INK)
                bold = header or column == 0
                shown = fonts.shorten(text, SIZE, edges[column + 1] - edges[column] - 6, bold=bold)
                fonts.draw(canv, edges[column] + 2, baseline, shown, SIZE, bold=bold)
            if header:
                canv.line(0, row_top - ROW, self.width, row_top - ROW)
        hidden = count - min(count, MAX_ALARMS)
        if hidden:
            canv.setFillColor(_MUTED)
            fonts.draw(canv, 2, y - len(rows) * ROW - ROW + 3.5, f"… and {hidden} more alarms", SIZE)
        canv.restoreState()

    def _row(self, alarm: AlarmSummary) -> tuple[str, str, str, str, str]:
        last = alarm.episodes[0]  # newest first
        lasted = duration(last.started, last.ended or self.end) + ("" if last.ended else ", still in ALARM")
        times = str(len(alarm.episodes))
        return alarm.alarm, f"{last.started.astimezone(self.zone):{self.stamp}}", lasted, times, last.reason
