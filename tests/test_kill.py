"""A run killed outright (SIGKILL) while it renders: the PDF at its path is always whole, and no temp file stays.

Where test_nightly_kill stops the nightly job between its steps (written, archived, mailed), this kills
``run --no-deliver`` over an existing good PDF, with its PDF worker (the run's whole process group, as a
scheduler's time limit or a container's end does): at seeded random moments of a run's length, which land while
widgets are fetched and while the PDF is built, and at the two moments a random one seldom hits, the few
milliseconds of writing the file: when the temporary file has just been created, and when the complete one is
about to be renamed over the target. After each kill the file at the report's path is the good one from before
or a new complete one, never a part; the next run completes and leaves no temporary file behind.

The exact moments come from an audit hook (``sys.addaudithook``) that a ``sitecustomize`` module installs in
every Python process of the run, the PDF worker included. The runs go to the session's stand-in
(``--endpoint-url``) rather than starting their own (``--local``): a ``--local`` run spends about two thirds of
its time starting the stand-in, where a kill says nothing about the render path, and this module's runs would
not fit its time. That a killed ``--local`` run's stand-in stops is tested in tests/local/test_cli.py.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from pypdf import PdfReader

from reportgen.cli import EXIT_OK
from reportgen.files import TEMP_SUFFIX
from reportgen.local import BackgroundStandIn

WIDGETS = 12
SEEDS = range(4)  # a kill at a random moment each
DAY = "2026-11-25"
SPEC = """\
report: kill-render
title: Killed while rendering
period: yesterday
table: true
defaults: {{width: 600, height: 300, period: 300}}
sections:
  - title: Compute
    widgets:
{widgets}
"""

# With KILL_AT=EVENT:WHOM in the environment, a process that raises the audit event EVENT for one of
# atomic_output's temporary files kills WHOM: "group", its whole process group, or "parent", the process that
# started it. "fcntl.flock" is raised as the writer locks the file it has just created, "os.rename" as
# os.replace is about to move the complete file over the target.
SITECUSTOMIZE = f"""
import os, signal, sys

if os.environ.get("KILL_AT"):
    event, whom = os.environ["KILL_AT"].split(":")

    def kill_at(name, args):
        if name != event:
            return
        path = os.readlink(f"/proc/self/fd/{{args[0]}}") if isinstance(args[0], int) else str(args[0])
        if path.endswith({TEMP_SUFFIX!r}):
            if whom == "group":
                os.killpg(0, signal.SIGKILL)
            else:
                os.kill(os.getppid(), signal.SIGKILL)

    sys.addaudithook(kill_at)
"""


def write_spec(folder: Path) -> Path:
    widgets = "\n".join(f"      - {{title: CPU {n}, metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-{n}], "
                        f"[., ., ., i-{n}b]]}}" for n in range(WIDGETS))
    path = folder / "kill-render.yaml"
    path.write_text(SPEC.format(widgets=widgets))
    return path


def assert_whole_pdf(path: Path, why: str) -> None:
    assert path.read_bytes().rstrip().endswith(b"%%EOF"), why
    assert len(PdfReader(path).pages) > 0, why


def session_processes(session: int) -> list[int]:
    """The live processes of a session (a run started with ``start_new_session``), however far re-parented."""
    found = []
    for entry in os.listdir("/proc"):
        with suppress(ValueError, ProcessLookupError, PermissionError):
            if os.getsid(int(entry)) == session and not _is_zombie(int(entry)):
                found.append(int(entry))
    return found


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


class Runs:
    """``reportgen run`` over one spec and output folder, each in a session of its own, and what is left."""

    def __init__(self, standin: BackgroundStandIn, folder: Path) -> None:
        self.out = folder / "out"
        self.pdf = self.out / f"kill-render-{DAY}.pdf"
        self.command = [sys.executable, "-m", "reportgen", "run", str(write_spec(folder)), "--out", str(self.out),
                        "--date", DAY, "--no-deliver", "--quiet", "--endpoint-url", standin.endpoint_url]
        hooks = folder / "hooks"
        hooks.mkdir()
        (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (
            str(hooks), os.environ.get("PYTHONPATH"))))}
        self.sessions: list[int] = []

    def start(self, kill_at: str = "") -> subprocess.Popen[bytes]:
        started = subprocess.Popen(self.command, env={**self.environment, "KILL_AT": kill_at},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.sessions.append(started.pid)
        return started

    def complete(self, why: str) -> None:
        """A run that is not killed: it exits 0, and the folder holds the whole PDF and nothing else."""
        finished = subprocess.run(self.command, env=self.environment, capture_output=True, text=True, timeout=60)
        assert finished.returncode == EXIT_OK, (why, finished.stderr)
        assert os.listdir(self.out) == [self.pdf.name], why
        assert_whole_pdf(self.pdf, why)

    def leftovers(self) -> list[str]:
        return [name for name in os.listdir(self.out) if name != self.pdf.name]

    def kill_everything(self) -> None:
        """Whatever is left of every session started (so that no test leaves processes behind)."""
        for session in self.sessions:
            with suppress(ProcessLookupError):
                os.killpg(session, signal.SIGKILL)


@pytest.fixture
def runs(standin: BackgroundStandIn, tmp_path: Path) -> Iterator[Runs]:
    made = Runs(standin, tmp_path)
    yield made
    made.kill_everything()


@pytest.mark.timeout(60)
def test_killed_while_rendering_never_leaves_part_of_a_pdf_or_a_temp_file(runs: Runs) -> None:
    started = time.monotonic()
    runs.complete("the first run")  # the good report to kill runs over, and how long a run takes
    length = time.monotonic() - started

    for seed in SEEDS:
        delay = random.Random(seed).uniform(0.2, length)
        why = f"seed {seed}: killed after {delay:.2f} s of a {length:.2f} s run"
        with runs.start() as killed:
            try:
                killed.wait(delay)  # a run that ends first has replaced the report with a new whole one
            except subprocess.TimeoutExpired:
                os.killpg(killed.pid, signal.SIGKILL)
        assert_whole_pdf(runs.pdf, why)
        runs.complete(f"after {why}")

    for event in ("fcntl.flock", "os.rename"):
        good = runs.pdf.read_bytes()
        why = f"killed at {event} of the temporary file"
        with runs.start(f"{event}:group") as killed:
            assert killed.wait(60) == -signal.SIGKILL, why
        (left,) = runs.leftovers()
        assert left.startswith(f".{runs.pdf.name}.") and left.endswith(TEMP_SUFFIX), why
        assert runs.pdf.read_bytes() == good, why
        runs.complete(f"after being {why}")


@pytest.mark.timeout(60)
def test_a_killed_runs_pdf_worker_does_not_outlive_it(runs: Runs) -> None:
    with runs.start("fcntl.flock:parent") as killed:  # the worker kills the run as it starts writing the PDF
        assert killed.wait(60) == -signal.SIGKILL
    left = session_processes(killed.pid)  # often none already: a worker ends as soon as its parent has
    waiting = [os.pidfd_open(pid) for pid in left]
    try:
        deadline = time.monotonic() + 3
        while waiting and time.monotonic() < deadline:  # each pidfd becomes readable when its process ends
            ended, _, _ = select.select(waiting, [], [], deadline - time.monotonic())
            for pidfd in ended:
                waiting.remove(pidfd)
                os.close(pidfd)
        assert not waiting, f"{len(waiting)} of the killed run's processes still run"
    finally:
        for pidfd in waiting:
            os.close(pidfd)
