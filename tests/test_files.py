import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from reportgen import files
from reportgen.files import TEMP_SUFFIX, atomic_output, sweep_stale_temp_files, write_atomic

OLD = b"%PDF-1.4 the report from last night\n"


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "out" / "daily-2026-11-25.pdf"
    path.parent.mkdir()
    path.write_bytes(OLD)
    return path


def test_writes_content_and_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "report.pdf"
    write_atomic(path, b"new bytes")
    assert path.read_bytes() == b"new bytes"
    assert os.listdir(path.parent) == ["report.pdf"]


def test_replaces_an_existing_file(target: Path) -> None:
    write_atomic(target, b"tonight")
    assert target.read_bytes() == b"tonight"
    assert os.listdir(target.parent) == [target.name]


def test_mode_is_0644_less_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    write_atomic(path, b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 & ~files._UMASK


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failure_while_writing_keeps_the_old_file(target: Path, error: BaseException) -> None:
    with pytest.raises(type(error)):
        with atomic_output(target) as file:
            file.write(b"half a rep")
            raise error
    assert target.read_bytes() == OLD
    assert os.listdir(target.parent) == [target.name]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_failure_while_committing_keeps_the_old_file(target: Path, monkeypatch: pytest.MonkeyPatch,
                                                     step: str) -> None:
    def fail(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(OSError, match="Input/output error"):
        write_atomic(target, b"tonight's report")
    monkeypatch.undo()
    assert target.read_bytes() == OLD
    assert os.listdir(target.parent) == [target.name]


def test_temporary_file_is_hidden_beside_the_target_and_named_for_it(target: Path) -> None:
    with atomic_output(target):
        (tmp,) = [name for name in os.listdir(target.parent) if name != target.name]
        assert tmp.startswith(f".{target.name}.") and tmp.endswith(TEMP_SUFFIX)
        assert target.read_bytes() == OLD
    assert os.listdir(target.parent) == [target.name]


# --- what a killed writer leaves behind -----------------------------------------------------------------------

_KILLED_WRITER = """
import sys
from pathlib import Path
from reportgen.files import atomic_output

with atomic_output(Path(sys.argv[1])) as file:
    file.write(b"%PDF-half a rep")
    file.flush()
    print("writing", flush=True)
    sys.stdin.read()  # until killed
"""


def leave_temp_file(target: Path) -> Path:
    """Kill (SIGKILL) a process in the middle of writing ``target``; the temporary file it leaves."""
    target.parent.mkdir(parents=True, exist_ok=True)
    before = set(target.parent.iterdir())
    with subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as writer:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        writer.kill()
    (left,) = set(target.parent.iterdir()) - before
    assert left.read_bytes() == b"%PDF-half a rep"
    return left


def test_next_write_of_the_target_removes_what_a_killed_writer_left(target: Path) -> None:
    left = leave_temp_file(target)
    other = leave_temp_file(target.with_name("weekly-2026-11-23.pdf"))
    assert target.read_bytes() == OLD
    write_atomic(target, b"tonight")
    assert target.read_bytes() == b"tonight"
    assert not left.exists()
    assert other.exists()  # another target's leftovers wait for its own next write, or a sweep


def test_a_live_writers_temporary_file_is_never_removed(target: Path) -> None:
    with atomic_output(target) as slow:
        slow.write(b"the slow run's report")
        (live,) = [path for path in target.parent.iterdir() if path != target]
        write_atomic(target, b"the fast run's report")  # a concurrent run of the same report
        assert sweep_stale_temp_files(target.parent) == []
        assert live.exists()
    assert target.read_bytes() == b"the slow run's report"  # the last to finish wins, whole
    assert os.listdir(target.parent) == [target.name]


def test_sweep_removes_abandoned_temporary_files_in_the_whole_tree(tmp_path: Path) -> None:
    out = tmp_path / "out"
    left = [leave_temp_file(out / "daily-2026-11-25.pdf"),
            leave_temp_file(out / "archive" / "daily" / "2026" / "11" / "daily-2026-11-25.manifest.json")]
    kept = [out / "daily-2026-11-24.pdf", out / ".daily-2026-11-25.pdf.1234.tmp", out / "notes.reportgen.tmp"]
    for path in kept:
        path.write_bytes(b"not ours to remove")
    (out / ".x.pdf.abcd1234.reportgen.tmp").symlink_to(kept[0])  # named like one, but not a file we write
    kept.append(out / ".x.pdf.abcd1234.reportgen.tmp")
    with atomic_output(out / "archive" / "weekly.pdf"):
        (live,) = (out / "archive").glob(f"*{TEMP_SUFFIX}")
        assert sorted(sweep_stale_temp_files(out)) == sorted(left)
        assert live.exists()
    assert all(path.exists() for path in kept)
    assert sweep_stale_temp_files(out) == []
    assert sweep_stale_temp_files(tmp_path / "never-made") == []


def test_a_temporary_file_swept_before_its_writer_locked_it_is_replaced(target: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    mkstemp = tempfile.mkstemp

    def mkstemp_then_sweep(**options: Any) -> tuple[int, str]:
        fd, name = mkstemp(**options)
        made.append(name)
        if len(made) == 1:  # another run's sweep gets in between creating the file and locking it
            assert sweep_stale_temp_files(target.parent) == [Path(name)]
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_then_sweep)
    write_atomic(target, b"tonight")
    assert len(made) == 2
    assert target.read_bytes() == b"tonight"
    assert os.listdir(target.parent) == [target.name]
