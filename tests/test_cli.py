"""The command line as a user meets it: exit codes, messages, files, and no tracebacks for expected errors."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from reportgen.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_PARTIAL, EXIT_UNEXPECTED, main
from reportgen.local import BackgroundStandIn
from reportgen.local.store import MetricKey, MetricStore

SPEC = """\
report: {report}
title: CLI test report
timezone: UTC
aws: {{profile: {profile}}}
defaults: {{width: 300, height: 200, period: 3600}}
sections:
  - title: Compute
    widgets:
      - title: CPU
        metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-1]]
      - title: Broken widget
        metrics: [[AWS/EC2, NetworkIn, InstanceId, i-1]]
"""


def write_spec(folder: Path, report: str = "cli-report", profile: str = "cli") -> Path:
    path = folder / f"{report}.yaml"
    path.write_text(SPEC.format(report=report, profile=profile))
    return path


def test_validate_accepts_the_shipped_examples(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(examples_dir)]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.count(".yaml: ok (") == 5  # four reports and the site settings
    assert "reportgen.yaml: ok (archive " in out and "daily-ops.yaml: ok (daily-ops, " in out


def test_validate_names_file_line_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path)
    spec.write_text(spec.read_text().replace("timezone: UTC", "timezone: UTC\nlayout: {colums: 2}"))
    assert main(["validate", str(spec)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"error: {spec}:4: ")
    assert "`colums`" in err and "did you mean `columns`?" in err
    assert "Traceback" not in err


def test_a_missing_spec_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path)]) == EXIT_BAD_INPUT
    assert "nope.yaml" in capsys.readouterr().err


def test_run_writes_the_report_and_a_summary(standin: BackgroundStandIn, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, profile="cli-ok")
    code = main(["run", str(spec), "--out", str(tmp_path / "out"), "--date", "2026-11-25",
                 "--endpoint-url", standin.endpoint_url])
    assert code == EXIT_OK
    assert (tmp_path / "out" / "cli-report-2026-11-25.pdf").read_bytes().startswith(b"%PDF")
    captured = capsys.readouterr()
    assert "1 reports, 2 widgets, 0 failed, 0 throttled" in captured.out
    assert "cli-report: 2 widgets, ok ->" in captured.err


def test_failed_widgets_exit_3_and_quiet_still_reports_them(make_standin: Callable[..., BackgroundStandIn],
                                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    standin = make_standin()
    standin.add_fault("InvalidParameterValue", status=400, count=-1, match_title="Broken")
    spec = write_spec(tmp_path, profile="cli-fail")
    code = main(["run", str(spec), "--out", str(tmp_path), "--quiet", "--endpoint-url", standin.endpoint_url])
    assert code == EXIT_PARTIAL
    captured = capsys.readouterr()
    assert "1 failed" in captured.out and "1 failed" in captured.err
    assert 'cli-report: widget "Broken widget" failed: InvalidParameterValue: ' in captured.err


def test_quiet_success_prints_nothing(standin: BackgroundStandIn, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, profile="cli-quiet")
    assert main(["run", str(spec), "--out", str(tmp_path), "-q", "--endpoint-url", standin.endpoint_url]) == EXIT_OK
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("args, message", [
    (["run", "--date", "26/11/2026"], "not a date in YYYY-MM-DD form"),
    (["run", "--timeout", "0"], "not a positive number"),
    (["run", "--timeout", "nan"], "not a positive number"),
    (["run", "--timeout", "inf"], "not a positive number"),
    (["run", "--endpoint-url", "notaurl"], "not an http(s) URL"),
    (["run", "--local", "--endpoint-url", "http://127.0.0.1:1"], "not allowed with argument"),
    (["run", "--local-data", "no-such-store.db"], "no metric store at 'no-such-store.db'; make one with"),
])
def test_bad_arguments_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


def test_run_local_starts_and_stops_its_own_standin(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, profile="cli-local")
    done = subprocess.run([sys.executable, "-m", "reportgen", "run", "--local", str(spec), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_OK, done.stderr
    assert "0 failed, 0 throttled" in done.stdout
    assert len(list(tmp_path.glob("cli-report-*.pdf"))) == 1


def test_run_local_data_draws_the_stored_metrics(tmp_path: Path) -> None:
    store_path = tmp_path / "metrics.db"
    store = MetricStore(str(store_path))
    minutes = range(int(datetime(2026, 11, 24, tzinfo=UTC).timestamp()),
                    int(datetime(2026, 11, 27, tzinfo=UTC).timestamp()), 60)
    store.add_values(MetricKey.of("AWS/EC2", "CPUUtilization", [("InstanceId", "i-1")]), "Percent",
                     list(minutes), [42.0] * len(minutes), published=0)
    store.close()
    spec = write_spec(tmp_path, profile="cli-local-data")

    def graphs(*where: str) -> set[bytes]:
        out = tmp_path / where[0].lstrip("-")
        assert main(["run", str(spec), "--out", str(out), "--date", "2026-11-25", "-q", *where]) == EXIT_OK
        return {image.data for image in PdfReader(out / "cli-report-2026-11-25.pdf").pages[0].images}

    stored, synthetic = graphs("--local-data", str(store_path)), graphs("--local")
    # Only the CPU graph has stored data; the other one is the same synthetic picture in both runs.
    (cpu,) = stored - synthetic
    assert len(stored & synthetic) == 1
    # A constant 42 is one flat line: every column of the plot has its line on the same row.
    flat = Image.open(io.BytesIO(cpu)).convert("L")
    assert len({_darkest_row(flat, x) for x in range(flat.width // 3, flat.width * 2 // 3, 10)}) == 1


def _darkest_row(image: Image.Image, x: int) -> int:
    column = image.crop((x, image.height // 5, x + 1, image.height * 4 // 5)).tobytes()  # mode "L": a byte a pixel
    return column.index(min(column))


def test_local_without_its_extra_says_what_to_install() -> None:
    blocked = ("import sys; sys.modules['matplotlib'] = None; "
               "from reportgen.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", blocked, "local", "serve"], capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_UNEXPECTED
    assert "pip install 'reportgen[local]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_importing_the_cli_leaves_the_aws_stack_unloaded() -> None:
    # `validate`, `--help` and argument errors should answer at once; aiobotocore alone takes ~250 ms.
    code = "import sys, reportgen.cli; print(sorted({'aiobotocore', 'botocore'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "[]\n"


def test_an_output_folder_that_is_a_file_is_refused_before_any_request(
        standin: BackgroundStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, profile="cli-out-file")
    (tmp_path / "out").write_text("not a folder")
    code = main(["run", str(spec), "--out", str(tmp_path / "out"), "--endpoint-url", standin.endpoint_url])
    assert code == EXIT_BAD_INPUT
    assert f"cannot use {tmp_path / 'out'} as the output folder" in capsys.readouterr().err
    assert "local-cli-out-file" not in standin.stats()["keys"]


@pytest.mark.parametrize("signum, code, word", [(signal.SIGINT, 130, "interrupted"),
                                                (signal.SIGTERM, 143, "terminated")])
def test_a_signal_mid_run_stops_cleanly_and_keeps_the_old_report(
        make_standin: Callable[..., BackgroundStandIn], tmp_path: Path, signum: int, code: int, word: str) -> None:
    standin = make_standin()
    standin.add_fault("InvalidParameterValue", status=400, count=-1, match_title="Broken")
    spec = write_spec(tmp_path, profile="cli-signal")
    widgets = "".join(f"      - title: W{n}\n        metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-{n}]]\n"
                      for n in range(60))
    cpu = "      - title: CPU\n        metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-1]]\n"
    spec.write_text(spec.read_text().replace(cpu, "") + widgets)
    old = tmp_path / "out" / "cli-report-2026-11-25.pdf"
    old.parent.mkdir()
    old.write_bytes(b"%PDF-1.4 the report as it was")
    with subprocess.Popen([sys.executable, "-m", "reportgen", "run", str(spec), "--out", str(old.parent),
                           "--date", "2026-11-25", "--endpoint-url", standin.endpoint_url],
                          stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        for line in process.stderr:  # the broken widget fails at once; the other 60 take 3 s
            if 'widget "Broken widget" failed' in line:
                break
        else:
            pytest.fail(f"the run ended before the broken widget was reported: exit {process.wait()}")
        process.send_signal(signum)
        rest = process.stderr.read()
        assert process.wait(timeout=60) == code
    assert f"error: {word}; no partial report was left behind" in rest
    assert "Traceback" not in rest
    assert old.read_bytes() == b"%PDF-1.4 the report as it was"
    assert [p.name for p in old.parent.iterdir()] == [old.name]


def test_source_date_epoch_makes_the_pdf_byte_identical(standin: BackgroundStandIn, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write_spec(tmp_path, profile="cli-reproducible")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")
    builds = []
    for attempt in range(2):
        out = tmp_path / f"out{attempt}"
        assert main(["run", str(spec), "--out", str(out), "--date", "2026-11-25", "--no-deliver",
                     "--endpoint-url", standin.endpoint_url]) == EXIT_OK
        builds.append((out / "cli-report-2026-11-25.pdf").read_bytes())
    assert builds[0] == builds[1]
    assert b"20261118" in builds[0]  # the epoch's date, 2026-11-18, as the PDF's creation date


def test_a_source_date_epoch_that_is_not_a_number_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    assert main(["run", str(write_spec(tmp_path)), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    assert "SOURCE_DATE_EPOCH must be whole seconds" in capsys.readouterr().err
