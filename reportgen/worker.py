"""How a PDF worker process starts: deaf to Ctrl-C, and gone as soon as the run that spawned it is.

Kept apart from ``pipeline`` so that a spawned worker imports this and nothing more: not the AWS stack.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading


def start() -> None:
    """The worker's initializer. Ctrl-C reaches the whole process group; the parent cancels the run and shuts
    the pool down, so a worker need not die mid-report on its own. A parent killed outright (SIGKILL, the OOM
    killer) cannot shut it down: a thread waits for the parent to end and ends the worker then, so no worker
    outlives its run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Building PDFs is batch work: on a busy machine it yields the CPU to the process pacing the requests,
    # whose lateness would bunch requests up on the wire.
    with contextlib.suppress(OSError):
        os.nice(10)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), name="parent-watch", daemon=True).start()


def warm_up() -> None:
    """A first job for a new worker: import what building a PDF needs (reportlab, fonts), so the first report
    to finish does not wait for it."""
    import reportgen.assemble  # noqa: F401


def _end_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)  # at once: the pool that would be told to stop is gone with the parent
