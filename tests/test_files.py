import os
import stat
from pathlib import Path

import pytest

from reportgen import files
from reportgen.files import atomic_output, write_atomic

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


def test_temporary_file_is_hidden_beside_the_target(target: Path) -> None:
    with atomic_output(target):
        (tmp,) = [name for name in os.listdir(target.parent) if name != target.name]
        assert tmp.startswith(f".{target.name}.") and tmp.endswith(".tmp")
        assert target.read_bytes() == OLD
    assert os.listdir(target.parent) == [target.name]
