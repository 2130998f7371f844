"""Argument types shared by the ``reportgen`` and ``reportgen local`` command lines.

Kept free of heavy imports: both parsers are built before any command runs.
"""

from __future__ import annotations

import argparse
import math


def positive_number(text: str) -> float:
    """A finite number above 0; ``nan`` and ``inf`` parse as floats but are no use as a time, rate or length."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return value
