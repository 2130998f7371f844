"""Several accounts, profiles and roles in one run, against the stand-in's STS on loopback: limits follow the
account STS names (not the profile), roles are assumed, and a role that cannot be assumed is one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from reportgen.cli import EXIT_PARTIAL, main
from reportgen.local import BackgroundStandIn

SHARED, OTHER = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{OTHER}:role/ReportReader"


def report(folder: Path, name: str, aws: str, widgets: int, *, extra: str = "") -> None:
    rows = "".join(f"      - title: {name} {n}\n        metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-{n}]]\n"
                   for n in range(widgets))
    (folder / f"{name}.yaml").write_text(
        f"report: {name}\ntitle: {name}\naws: {aws}\ndefaults: {{width: 120, height: 80}}\n"
        f"sections:\n  - title: Widgets\n    widgets:\n{rows}{extra}")


def run(folder: Path, standin: BackgroundStandIn) -> int:
    return main(["run", str(folder), "--out", str(folder / "out"), "-q", "--no-deliver", "--date", "2026-11-26",
                 "--endpoint-url", standin.endpoint_url])


def test_two_profiles_of_one_account_share_its_20_per_second(tmp_path: Path,
                                                              make_standin: Callable[..., BackgroundStandIn]) -> None:
    standin = make_standin(accounts={"local-first": SHARED, "local-second": SHARED})
    report(tmp_path, "first", "{profile: first}", 30)
    report(tmp_path, "second", "{profile: second}", 30)
    assert run(tmp_path, standin) == 0
    stats: dict[str, Any] = standin.stats()["accounts"][SHARED]
    # Both profiles' 60 requests paced as one account's: with a budget each they would send 40 a second and
    # about 40 would be refused. A request the event loop sends more than ~30 ms late can still meet a
    # refusal on a busy machine (and is retried), hence the small allowance.
    assert stats["served"] == 60 and stats["throttled"] <= 3
    assert stats["max_in_any_second_by_operation"]["GetMetricWidgetImage"] <= 20
    assert sorted(stats["keys"]) == ["local-first", "local-second"]


def test_a_role_is_assumed_and_its_account_is_limited_on_its_own(
        tmp_path: Path, make_standin: Callable[..., BackgroundStandIn]) -> None:
    standin = make_standin(accounts={"local-base": SHARED}, required_external_ids={ROLE: "ext-42"})
    report(tmp_path, "mixed", "{profile: base}", 3, extra=(
        "  - title: Other account\n"
        f"    aws: {{role_arn: '{ROLE}', external_id: ext-42, session_name: nightly}}\n"
        "    widgets:\n"
        "      - title: Elsewhere\n        metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-9]]\n"))
    assert run(tmp_path, standin) == 0
    accounts = standin.stats()["accounts"]
    assert accounts[SHARED]["served"] == 3
    assert accounts[OTHER]["served"] == 1 and all(key.startswith("ASIA") for key in accounts[OTHER]["keys"])
    assert standin.stats()["sts"]["AssumeRole"]["errors"] == 0


def test_a_role_that_cannot_be_assumed_is_one_line_for_all_its_widgets(
        tmp_path: Path, make_standin: Callable[..., BackgroundStandIn], capsys: pytest.CaptureFixture[str]) -> None:
    standin = make_standin(denied_roles=[ROLE])
    report(tmp_path, "denied", "{profile: base}", 2, extra=(
        "  - title: Other account\n"
        f"    aws: {{role_arn: '{ROLE}'}}\n"
        "    widgets:\n" + "".join(f"      - title: Elsewhere {n}\n"
                                   f"        metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-{n}]]\n"
                                   for n in range(5))))
    assert run(tmp_path, standin) == EXIT_PARTIAL
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if ROLE in line]
    assert len(lines) == 1, err
    assert f"profile base assuming {ROLE} in us-east-1: AccessDenied" in lines[0]
    assert "5 widgets of denied not drawn" in lines[0]
    assert "Elsewhere 3" not in err  # no line per widget
    assert len(PdfReader(tmp_path / "out" / "denied-2026-11-26.pdf").pages) >= 1


def test_assumed_credentials_are_renewed_before_they_expire(tmp_path: Path,
                                                            make_standin: Callable[..., BackgroundStandIn]) -> None:
    # Sessions of five minutes are inside botocore's renewal window from the start, so every request renews
    # them first: the run must go on with fresh credentials rather than fail with ExpiredToken.
    standin = make_standin(session_seconds=300)
    report(tmp_path, "renewed", f"{{profile: base, role_arn: '{ROLE}'}}", 4)
    assert run(tmp_path, standin) == 0
    stats = standin.stats()
    assert stats["accounts"][OTHER]["served"] == 4
    assert stats["sts"]["AssumeRole"]["requests"] > 1 and stats["sts"]["AssumeRole"]["errors"] == 0
