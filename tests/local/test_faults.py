"""Injected faults: validation of rules and how they are used up."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reportgen.local.faults import FOREVER, Fault, FaultPlan


def test_defaults_follow_the_error_code() -> None:
    assert Fault.from_json({"error": "Throttling"}) == Fault("Throttling", 400, "Rate exceeded", 1)
    assert Fault.from_json({"error": "ServiceUnavailable"}).status == 503
    assert Fault.from_json({"error": "InternalServiceError"}).status == 500
    assert Fault.from_json({"error": "AccessDenied", "status": 403, "count": -1, "match_title": "CPU",
                            "message": "no"}) == Fault("AccessDenied", 403, "no", FOREVER, "CPU")


@pytest.mark.parametrize(("doc", "message"), [
    ([], "must be a JSON object"),
    ({}, "`error` must be an error code"),
    ({"error": "Bad Code"}, "`error` must be an error code"),
    ({"error": "Throttling", "status": 200}, "`status` must be an HTTP error status"),
    ({"error": "Throttling", "count": 0}, "`count` must be a positive number"),
    ({"error": "Throttling", "count": True}, "`count` must be a positive number"),
    ({"error": "Throttling", "match_title": 3}, "`match_title` must be a string"),
    ({"error": "Throttling", "times": 3}, "unknown fields ['times']"),
])
def test_invalid_rules_are_refused(doc: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Fault.from_json(doc)
    assert message in str(caught.value)


def test_rules_apply_in_order_to_matching_titles_until_used_up() -> None:
    plan = FaultPlan()
    plan.add(Fault("Throttling", 400, "Rate exceeded", 2, match_title="CPU"))
    plan.add(Fault("InternalServiceError", 500, "boom", FOREVER))
    widgets = [json.dumps({"title": title}) for title in ("CPU usage", "Memory", "CPU", "CPU")] + ["not JSON"]
    codes = [getattr(plan.take(widget), "code", None) for widget in widgets]
    assert codes == ["Throttling", "InternalServiceError", "Throttling", "InternalServiceError", "InternalServiceError"]
    assert plan.injected == 5 and [rule["error"] for rule in plan.to_json()] == ["InternalServiceError"]
    assert plan.clear() == 1 and plan.take(json.dumps({"title": "CPU"})) is None
    assert repr(plan) == "<FaultPlan rules=0 injected=5>"
