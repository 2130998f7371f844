"""Report periods and CloudWatch time expressions, resolved to concrete instants."""

from __future__ import annotations

import re
from datetime import timedelta

# ISO 8601 durations as CloudWatch takes them for a widget's start/end: an optional sign, then weeks,
# days, hours, minutes and seconds, each possibly fractional ("-PT3H", "P7D", "-PT0.5H", "P0D").
# Years and months are refused: they have no fixed length.
_DURATION = re.compile(
    r"^(?P<sign>[+-])?P(?!$)(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """Parse a signed ISO 8601 duration such as ``-PT3H`` or ``P7D``; raise ``ValueError`` otherwise."""
    match = _DURATION.match(text.strip().upper())
    if match is None:
        raise ValueError(f"not an ISO 8601 duration: {text!r} (expected e.g. -PT3H or -P7D)")
    parts = {name: float(value) for name, value in match.groupdict().items() if name != "sign" and value}
    delta = timedelta(**parts)
    return -delta if match.group("sign") == "-" else delta
