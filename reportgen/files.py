"""Writing output files so that each one appears whole or not at all, and clearing what a killed writer left.

A write goes to a temporary file beside its target, named ``.<target>.<random>.reportgen.tmp``, that is renamed
over the target when complete. A process killed outright (SIGKILL, the OOM killer, a power cut) cannot remove
its temporary file, so every writer holds an exclusive ``flock`` on its own for as long as the file is open: the
kernel drops the lock when the process dies, however it dies. A temporary file nobody holds is abandoned and is
removed by the next write of the same target, or by ``sweep_stale_temp_files``; a live writer's is never touched,
however long it takes. (flock works across NFS clients on Linux.)
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".reportgen.tmp"
# ".<target>.<random>.reportgen.tmp": tempfile's random part has no dots, so the target is what comes before it.
_TEMP_NAME = re.compile(rf"\.(?P<target>.+)\.[a-z0-9_]+{re.escape(TEMP_SUFFIX)}")

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
    file is removed and a previous ``path`` is left untouched. Parent directories are created, and
    temporary files of ``path`` that killed writers left behind are removed first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep(path.parent, target=path.name)
    fd, tmp = _locked_temp_file(path)
    try:
        with os.fdopen(fd, "wb") as file:  # closing it releases the lock, after the rename
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


def sweep_stale_temp_files(folder: Path) -> list[Path]:
    """Remove the temporary files that killed writers left anywhere under ``folder``; return their paths.

    Only files named as ``atomic_output`` names them and held by no live writer are removed, so this is
    safe while other runs write into the same folder. A folder that does not exist holds none.
    """
    removed = []
    for parent, _, _ in os.walk(folder):
        removed += _sweep(Path(parent))
    return removed


def _locked_temp_file(path: Path) -> tuple[int, str]:
    while True:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits while a sweep holds it, deciding
        if os.fstat(fd).st_nlink:
            return fd, tmp
        os.close(fd)  # a sweep took it for abandoned in the moment before it was locked: make another


def _sweep(folder: Path, *, target: str | None = None) -> list[Path]:
    """Remove the abandoned temporary files directly in ``folder`` (only ``target``'s, if given)."""
    removed = []
    with suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            match = _TEMP_NAME.fullmatch(entry.name)
            if match and target in (None, match["target"]) and entry.is_file(follow_symlinks=False) \
                    and _remove_if_abandoned(entry.path):
                removed.append(Path(entry.path))
    return removed


def _remove_if_abandoned(path: str) -> bool:
    # Best effort: a file that cannot be opened or removed (another user's, a read-only folder) stays.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(path)  # under the lock, so a writer that has just created it sees it gone and makes another
    except OSError:  # BlockingIOError: a live writer holds it
        return False
    finally:
        os.close(fd)
    return True


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
