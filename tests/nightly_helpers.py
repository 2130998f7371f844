"""What the nightly-job tests share: a mail sink on a thread of its own, and a folder of specs and settings.

``reportgen.cli.main`` runs its own event loop, so the SMTP server it talks to in these tests cannot live on
the test's loop: ``ThreadedSink`` runs ``MailSink`` (the same server as ``reportgen local mail``) on a loop in
a background thread, and can be stopped and started again on the same port to play a mail server that is down.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any

from reportgen.local.mailsink import MailSink, Received
from reportgen.manifest import Manifest

SPEC = """\
report: {report}
title: {title}
timezone: {timezone}
period: yesterday
schedule: {schedule}
aws: {{profile: {profile}}}
defaults: {{width: 300, height: 200, period: 3600}}
deliver:
  email:
    to: ["Ops <ops@example.com>"]
    cc: [lead@example.com]
    bcc: [audit@example.com]
sections:
  - title: Compute
    widgets:
      - title: CPU
        metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-1]]
"""

SITE = """\
email:
  from: "Reports <reports@example.com>"
  transport: smtp
  smtp: {{host: 127.0.0.1, port: {port}, tls: none}}
  attempts: {attempts}
archive:
  url: archive
  keep_daily_days: {keep}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThreadedSink:
    """``MailSink`` served from a thread; ``received`` is every message, duplicates included."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mail-sink", daemon=True)
        self._thread.start()
        self._sink: MailSink | None = None

    def _call(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)

    def start(self) -> ThreadedSink:
        self._sink = MailSink(port=self.port)
        self._sink.received = self.received  # one list across restarts
        self._call(self._sink.start())
        return self

    def stop(self) -> None:
        if self._sink is not None:
            self._call(self._sink.stop())
            self._sink = None

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def __enter__(self) -> ThreadedSink:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def by_report(self) -> Counter[str]:
        """How many messages arrived for each ``report date``."""
        return Counter(str(mail.message["X-Reportgen-Report"]) for mail in self.received)

    def message_ids(self) -> Counter[str]:
        return Counter(str(mail.message["Message-ID"]) for mail in self.received)


def write_reports(folder: Path, *, port: int, reports: dict[str, str] | None = None, profile: str = "nightly",
                  timezone: str = "UTC", attempts: int = 1, keep: int = 35) -> Path:
    """Specs (report id → schedule) and a reportgen.yaml mailing through 127.0.0.1:``port``; the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for report, schedule in (reports or {"nightly-ops": "daily"}).items():
        (folder / f"{report}.yaml").write_text(SPEC.format(report=report, title=f"Report {report}", timezone=timezone,
                                                          schedule=schedule, profile=profile))
    (folder / "reportgen.yaml").write_text(SITE.format(port=port, attempts=attempts, keep=keep))
    return folder


def manifest_of(archive: Path, report: str, day: str) -> Manifest:
    path = archive / report / day[:4] / day[5:7] / f"{report}-{day}.manifest.json"
    return Manifest.from_json(path.read_bytes())


def manifests(archive: Path) -> dict[str, dict[str, Any]]:
    """Every daily manifest under ``archive`` as JSON, by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(archive.rglob("*.manifest.json"))}
