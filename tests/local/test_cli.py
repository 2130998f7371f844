"""``python -m reportgen.local serve`` as a launcher sees it: one ready line, clean exits, one-line errors."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from urllib.request import urlopen

import pytest

from reportgen.local.cli import main
from reportgen.standin import READY_PREFIX

READY = re.compile(rf"^{re.escape(READY_PREFIX)}(http://127\.0\.0\.1:\d+)\n$")


@pytest.fixture
def serve() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, "-m", "reportgen.local", "serve", "--port", "0", "--workers", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_prints_one_ready_line_and_stops_cleanly(serve: subprocess.Popen[str], signum: int) -> None:
    assert serve.stdout is not None
    ready = READY.match(serve.stdout.readline())  # blocks until the server is up: no sleeping
    assert ready, "the first line must be the ready line"
    with urlopen(f"{ready.group(1)}/_reportgen/health") as response:
        assert json.load(response) == {"status": "ok"}
    serve.send_signal(signum)
    stdout, stderr = serve.communicate(timeout=30)
    assert serve.returncode == 0
    assert stdout == ""  # nothing after the ready line
    assert "Traceback" not in stderr and "render workers ready" in stderr


def test_with_stop_on_eof_it_stops_when_its_launcher_goes_away() -> None:
    with subprocess.Popen([sys.executable, "-m", "reportgen.local", "serve", "--workers", "1", "--stop-on-eof"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdin is not None and process.stdout is not None
        assert READY.match(process.stdout.readline())
        process.stdin.close()  # what the kernel does when a launcher dies, however it dies
        assert process.wait(timeout=30) == 0


def test_a_missing_extra_is_one_line_naming_the_install_command() -> None:
    # None in sys.modules makes `import matplotlib` fail as if it were not installed.
    code = ("import sys; sys.modules['matplotlib'] = None; "
            "from reportgen.local.cli import main; sys.exit(main(['serve']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "ERROR the local CloudWatch stand-in needs matplotlib, which is not installed: pip install 'reportgen[local]'"]


def test_a_taken_port_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "reportgen.local", "serve", "--port", str(port),
                                 "--workers", "1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert f"ERROR cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [
    ["serve", "--port", "70000"], ["serve", "--rate-limit", "0"], ["serve", "--workers", "0"],
    ["serve", "--host", "0.0.0.0"], [],
])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["seed", "--data", "never-written.db", "--days", "inf"],  # unchecked, an OverflowError traceback
    ["seed", "--data", "never-written.db", "--days", "nan"],  # unchecked, a ValueError traceback
    ["serve", "--rate-limit", "nan"],                         # unchecked, a limiter that never limits
], ids=["days-inf", "days-nan", "rate-limit-nan"])
def test_numbers_that_are_not_finite_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "not a positive number" in err and "Traceback" not in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    assert "--rate-limit" in capsys.readouterr().out
