"""``reportgen local mail`` as a launcher sees it, and the in-process ``MailSink`` the mail tests use."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from reportgen.errors import SetupError
from reportgen.local.cli import main
from reportgen.local.mailsink import MAIL_READY_PREFIX, MailSink

READY = re.compile(rf"^{re.escape(MAIL_READY_PREFIX)}smtp://127\.0\.0\.1:(\d+)\n$")
STAMP = r"\d{8}-\d{6}"


def message(**headers: str) -> EmailMessage:
    built = EmailMessage()
    built["From"] = "Reportgen <reportgen@example.com>"
    built["To"] = "ops@example.com"
    built["Subject"] = "Daily operations – 2026-12-02"
    for name, value in headers.items():
        built[name.replace("_", "-")] = value
    built.set_content("The report.\n")
    return built


def send(port: int, sent: EmailMessage, recipients: list[str] | None = None) -> str:
    async def go() -> str:
        _, reply = await aiosmtplib.send(sent, hostname="127.0.0.1", port=port, recipients=recipients, timeout=10)
        return reply
    return asyncio.run(go())


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    """``reportgen local mail`` on a free port, ready; its stdin is a pipe the test holds."""
    folder = tmp_path / "mail"
    process = subprocess.Popen([sys.executable, "-m", "reportgen.local", "mail", "--port", "0", "--dir", str(folder),
                                "--stop-on-eof"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready = READY.match(process.stdout.readline())  # blocks until the server listens: no sleeping
    assert ready, "the first line must be the ready line"
    yield process, int(ready.group(1)), folder
    if process.poll() is None:
        process.kill()
    process.wait()
    for pipe in (process.stdin, process.stdout, process.stderr):
        assert pipe is not None
        pipe.close()


def test_messages_land_as_eml_files_and_a_duplicate_is_a_second_file(
        sink: tuple[subprocess.Popen[str], int, Path]) -> None:
    process, port, folder = sink
    report = message(Message_ID="<daily-ops.2026-12-02.1@example.com>", X_Reportgen_Report="daily-ops 2026-12-02")
    reply = send(port, report, ["ops@example.com", "audit@example.com"])
    send(port, report)
    send(port, message(Message_ID="<Ab+c/d=e.1@mail.example.com>"))
    names = sorted(path.name for path in folder.iterdir())
    assert len(names) == 3
    assert re.fullmatch(rf"{STAMP}-1-daily-ops-2026-12-02\.eml", names[0])
    assert re.fullmatch(rf"{STAMP}-2-daily-ops-2026-12-02\.eml", names[1])
    assert re.fullmatch(rf"{STAMP}-3-Ab-c-d-e\.1-mail\.example\.com\.eml", names[2])
    assert reply == f"2.0.0 Ok: kept as {names[0]}"
    kept = email.message_from_bytes((folder / names[0]).read_bytes(), policy=email.policy.default)
    assert kept["Subject"] == "Daily operations – 2026-12-02" and kept.get_content().rstrip() == "The report."

    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    process.stdin.close()  # what the kernel does when a launcher dies, however it dies
    assert process.wait(timeout=30) == 0
    stderr = process.stderr.read()
    assert process.stdout.read() == "" and "Traceback" not in stderr
    logged = [line for line in stderr.splitlines() if "reportgen.local.mail" in line]
    assert ("from reportgen@example.com to ops@example.com, audit@example.com: 'Daily operations – 2026-12-02' "
            f"-> {names[0]}") in logged[0]
    assert len(logged) == 4 and "stopping; 3 messages kept in" in logged[3]


def test_sigterm_stops_it_cleanly(sink: tuple[subprocess.Popen[str], int, Path]) -> None:
    process, _, _ = sink
    assert process.stderr is not None
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert "Traceback" not in process.stderr.read()


def test_a_folder_that_is_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    assert main(["mail", "--dir", str(taken)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[-1] == f"ERROR cannot keep mail in {taken}: File exists"


@pytest.mark.parametrize("argv", [["mail"], ["mail", "--dir", "x", "--port", "70000"],
                                  ["mail", "--dir", "x", "--host", "0.0.0.0"]])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


async def test_in_process_sink_keeps_envelopes_and_names_files_without_overwriting(tmp_path: Path) -> None:
    async with MailSink(tmp_path) as sink:
        assert sink.port > 0 and sink.url == f"smtp://127.0.0.1:{sink.port}"
        for _ in range(2):
            await aiosmtplib.send(message(), hostname="127.0.0.1", port=sink.port, recipients=["a@example.com"])
    assert [r.recipients for r in sink.received] == [("a@example.com",)] * 2
    assert [r.sender for r in sink.received] == ["reportgen@example.com"] * 2
    paths = [r.path for r in sink.received]
    assert all(path is not None and re.fullmatch(rf"{STAMP}-\d-message\.eml", path.name) for path in paths)
    assert len(set(paths)) == 2 and sorted(tmp_path.iterdir()) == sorted(paths)

    async with MailSink(tmp_path) as again:  # a new run in the same second numbers past the files there
        await aiosmtplib.send(message(), hostname="127.0.0.1", port=again.port)
    assert len(list(tmp_path.iterdir())) == 3


@pytest.mark.parametrize("sinks", [2, 1], ids=["two-sinks-one-folder", "one-sink-two-connections"])
async def test_messages_written_in_the_same_second_never_overwrite_each_other(tmp_path: Path, sinks: int) -> None:
    rounds, arrived = 5, datetime(2026, 12, 3, 6, 0, 5, tzinfo=UTC)
    together = threading.Barrier(2, timeout=10)

    def same_second() -> datetime:
        together.wait()  # both writer threads name their file at the same moment, in the same second
        return arrived

    started = [MailSink(tmp_path, clock=same_second) for _ in range(sinks)]
    for sink in started:
        await sink.start()
    try:
        for n in range(rounds):
            await asyncio.gather(*(aiosmtplib.send(message(X_Copy=f"round {n} copy {copy}"), hostname="127.0.0.1",
                                                   port=started[copy % sinks].port, timeout=10) for copy in range(2)))
    finally:
        for sink in started:
            await sink.stop()
    files = sorted(tmp_path.iterdir())
    assert [path.name for path in files] == sorted(f"20261203-060005-{n}-message.eml" for n in range(1, 2 * rounds + 1))
    copies = {email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["X-Copy"] for path in files}
    assert copies == {f"round {n} copy {copy}" for n in range(rounds) for copy in range(2)}


async def test_file_names_carry_the_utc_time_of_arrival(tmp_path: Path) -> None:
    berlin = timezone(timedelta(hours=1))
    async with MailSink(tmp_path, clock=lambda: datetime(2026, 12, 3, 7, 0, 5, tzinfo=berlin)) as sink:
        await aiosmtplib.send(message(), hostname="127.0.0.1", port=sink.port)
    assert [path.name for path in tmp_path.iterdir()] == ["20261203-060005-1-message.eml"]


async def test_a_taken_port_is_a_setup_error() -> None:
    async with MailSink() as first:
        with pytest.raises(SetupError, match=rf"^cannot listen on 127\.0\.0\.1:{first.port}: "):
            await MailSink(port=first.port).start()
