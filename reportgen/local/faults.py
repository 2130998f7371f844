"""Injected errors for retry tests: "answer the next N matching requests with this error"; and CloudWatch's
usual status and message for the error codes such tests want."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import cache, partial
from typing import Any

from reportgen.local.protocols import ServiceError

FOREVER = -1
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9.]*$")
# Statuses and messages CloudWatch gives for the codes a retry test is likely to want.
_DEFAULTS = {
    "Throttling": (400, "Rate exceeded"),
    "InternalServiceError": (500, "Internal service error"),
    "ServiceUnavailable": (503, "Service unavailable"),
}


def service_error(code: str) -> ServiceError:
    """The error ``code`` as CloudWatch answers it: Throttling 400 "Rate exceeded", InternalServiceError 500,
    ServiceUnavailable 503; any other code 400, with the code for its message."""
    status, message = _DEFAULTS.get(code, (400, code))
    return ServiceError(code, message, status=status)


@dataclass
class Fault:
    """One rule: answer ``remaining`` more requests (``FOREVER`` = -1) whose title contains ``match_title``."""

    error: str
    status: int
    message: str
    remaining: int
    match_title: str | None = None

    def matches(self, title: str | None) -> bool:
        return self.match_title is None or (title is not None and self.match_title in title)

    @classmethod
    def from_json(cls, doc: Any) -> Fault:
        """Validate a ``POST /_reportgen/faults`` body; raise ``ValueError`` naming the bad field."""
        if not isinstance(doc, dict):
            raise ValueError("the body must be a JSON object like {\"error\": \"Throttling\", \"count\": 2}")
        unknown = set(doc) - {"error", "status", "count", "match_title", "message"}
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}; expected error, status, count, match_title, message")
        error = doc.get("error")
        if not isinstance(error, str) or not _CODE.match(error):
            raise ValueError(f"`error` must be an error code such as Throttling, got {error!r}")
        default = service_error(error)
        status = doc.get("status", default.status)
        if not _is_int(status) or not 400 <= status <= 599:
            raise ValueError(f"`status` must be an HTTP error status from 400 to 599, got {status!r}")
        count = doc.get("count", 1)
        if not _is_int(count) or (count < 1 and count != FOREVER):
            raise ValueError(f"`count` must be a positive number of requests, or -1 for all of them, got {count!r}")
        match_title = doc.get("match_title")
        if match_title is not None and not isinstance(match_title, str):
            raise ValueError(f"`match_title` must be a string, got {match_title!r}")
        message = doc.get("message", default.message)
        if not isinstance(message, str):
            raise ValueError(f"`message` must be a string, got {message!r}")
        return cls(error, status, message, count, match_title)


class FaultPlan:
    """The rules in force, first added first applied."""

    __slots__ = ("_faults", "injected")

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.injected = 0  # requests answered with an injected error so far

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear(self) -> int:
        """Drop every rule; return how many there were."""
        count = len(self._faults)
        self._faults.clear()
        return count

    def take(self, widget: str) -> ServiceError | None:
        """The error for a GetMetricWidgetImage request of ``widget`` (its MetricWidget JSON, not yet validated),
        using up one count of the first rule that matches it."""
        title = cache(partial(_title_of, widget))  # read only if a rule asks for it
        for fault in self._faults:
            if fault.match_title is None or fault.matches(title()):
                if fault.remaining != FOREVER:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                self.injected += 1
                return ServiceError(fault.error, fault.message, status=fault.status)
        return None

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(fault) for fault in self._faults]

    def __repr__(self) -> str:
        return f"<FaultPlan rules={len(self._faults)} injected={self.injected}>"


def _title_of(widget: str) -> str | None:
    """The widget's title if its JSON says."""
    try:
        doc = json.loads(widget)
    except ValueError:
        return None
    title = doc.get("title") if isinstance(doc, dict) else None
    return title if isinstance(title, str) else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
