"""Writing output files so that each one appears whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

# os.umask can only be read by setting it, which would briefly change the mode of files other threads
# create; read it once, at import, before the pipeline starts any.
_UMASK = os.umask(0)
os.umask(_UMASK)
_MODE = 0o644 & ~_UMASK


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only when the ``with`` block ends without an exception.

    The data goes to a temporary file beside ``path`` (so the final ``os.replace`` is atomic), is
    fsynced, and is renamed over the target. On any exception, KeyboardInterrupt included, the temporary
    file is removed and a previous ``path`` is left untouched. Parent directories are created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, _MODE)  # mkstemp creates 0o600; reports are meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: readers see the old file or the new one, never a part."""
    with atomic_output(path) as file:
        file.write(data)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened for this on Windows.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
