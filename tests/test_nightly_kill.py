"""A nightly run killed outright (SIGKILL) at every step, then run again: every report mailed exactly once.

The kill points are the run's own progress lines: after the N-th line for every N, so each boundary between
rendering, archiving and mailing is hit, with whatever the process does in the moment between printing and
dying. SMTP itself cannot promise exactly once: a server may accept a message and the client die before it
records that. A manifest left saying ``sending`` marks exactly that window; only then may the rerun send the
message again, and it does so under the same Message-ID. Everywhere else a second copy is a failure.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from nightly_helpers import ThreadedSink, manifest_of, write_reports
from pypdf import PdfReader

from reportgen.cli import EXIT_OK, main
from reportgen.local import BackgroundStandIn
from reportgen.manifest import SENDING

REPORTS = {"kill-a": "daily", "kill-b": "daily"}
LINES_PER_RUN = 3 * len(REPORTS)  # written, archived and mailed, per report


def test_killed_at_every_step_and_rerun_mails_each_report_exactly_once(standin: BackgroundStandIn,
                                                                       tmp_path: Path) -> None:
    with ThreadedSink() as sink:
        specs = write_reports(tmp_path / "specs", port=sink.port, reports=REPORTS, profile="kill")
        out = tmp_path / "out"
        archive = specs / "archive"
        command = [sys.executable, "-m", "reportgen", "run", str(specs), "--out", str(out), "--due",
                   "--catch-up", "0", "--endpoint-url", standin.endpoint_url]
        for stop_after in range(LINES_PER_RUN + 1):
            day = (date(2026, 11, 1) + timedelta(days=stop_after)).isoformat()  # a fresh night each round
            killed = subprocess.Popen([*command, "--date", day], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            assert killed.stderr is not None
            for _ in range(stop_after):
                assert killed.stderr.readline(), f"the run ended before line {stop_after}"
            killed.kill()
            killed.wait()
            killed.stderr.close()

            in_doubt = set()  # reports whose mail was under way when the process died
            for report in REPORTS:
                manifest_path = archive / report / day[:4] / day[5:7] / f"{report}-{day}.manifest.json"
                if manifest_path.exists():
                    records = manifest_of(archive, report, day).emails
                    if records and records[-1].status == SENDING:
                        in_doubt.add(report)
            for pdf in out.glob("*.pdf"):  # whatever is there is whole
                assert len(PdfReader(pdf).pages) >= 1, pdf

            rerun = subprocess.run([*command, "--date", day], capture_output=True, text=True, timeout=120)
            assert rerun.returncode == EXIT_OK, (stop_after, rerun.stderr)
            for report in REPORTS:
                manifest = manifest_of(archive, report, day)
                assert manifest.mailed, (stop_after, report)
                arrived = [m for m in sink.received if m.message["X-Reportgen-Report"] == f"{report} {day}"]
                ids = {str(m.message["Message-ID"]) for m in arrived}
                assert ids == {manifest.emails[-1].message_id}, (stop_after, report)  # never a second message
                assert len(arrived) == 1 or (report in in_doubt and len(arrived) == 2), (stop_after, report,
                                                                                         len(arrived))
        assert main(["archive", "verify", str(specs)]) == EXIT_OK
