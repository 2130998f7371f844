"""Real MetricWidget JSON, collected from public CDK snapshots, Terraform and CloudFormation dashboards, SDK code
and AWS's examples (tests/corpus, where SOURCES.md names each one's origin), as a new user would paste it: each
document validates inside a spec as a ``file:`` widget, renders through the stand-in at the size it asks for
(600x400 when it asks for none), and all of them together make one report without a failed widget.

A document that fails one of these today is listed in ``KNOWN_FAILURES`` with the error it gets; its test is a
strict xfail, so the mark has to go as soon as the fix lands.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from reportgen.cli import EXIT_OK, main
from reportgen.local import BackgroundStandIn
from reportgen.spec import load_spec

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
DOCUMENTS = sorted(path.name for path in CORPUS.glob("*.json"))

VALIDATE, RENDER = "validate", "render"

# file name -> {stage: the error it gets today}. Remove an entry when its fix lands (strict xfail fails then).
KNOWN_FAILURES: dict[str, dict[str, str]] = {}
# The one report of every document fails while any document fails to render.
RUN_FAILURE = "widgets fail to render: " + ", ".join(
    sorted(name for name, stages in KNOWN_FAILURES.items() if RENDER in stages))

DEFAULT_SIZE = (600, 400)  # CloudWatch's, for a widget that asks for no size


def _cases(stage: str) -> list[Any]:
    return [pytest.param(name, id=name.removesuffix(".json"), marks=[
        pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name][stage])
    ] if stage in KNOWN_FAILURES.get(name, {}) else []) for name in DOCUMENTS]


def _document(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    return document


def _write_spec(folder: Path, names: Sequence[str], report: str = "corpus") -> Path:
    """A spec whose one section holds ``names`` as ``file:`` widgets, copied next to it (a ``file:`` must lie
    inside the spec's folder)."""
    (folder / "widgets").mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(CORPUS / name, folder / "widgets" / name)
    widgets = "".join(f"      - file: widgets/{name}\n" for name in names)
    spec = folder / f"{report}.yaml"
    spec.write_text(f"report: {report}\ntitle: Widget corpus\ntimezone: UTC\naws: {{profile: {report}}}\n"
                    f"sections:\n  - title: Copied widgets\n    widgets:\n{widgets}", encoding="utf-8")
    return spec


def test_the_corpus_is_large_and_covers_what_users_paste() -> None:
    documents = [_document(name) for name in DOCUMENTS]
    views = {document.get("view", "timeSeries") for document in documents}
    options = [row[-1] for document in documents for row in document["metrics"] if isinstance(row[-1], dict)]
    texts = "".join(str(document.get("title", "")) + json.dumps(document["metrics"], ensure_ascii=False)
                    for document in documents)
    assert len(documents) >= 40
    assert views == {"timeSeries", "bar", "pie", "singleValue", "gauge", "table"}
    assert any("SEARCH(" in option.get("expression", "") for option in options)
    assert any("expression" in option and "SEARCH(" not in option["expression"] for option in options)
    assert any(option.get("yAxis") == "right" for option in options)
    assert any("horizontal" in document.get("annotations", {}) for document in documents)
    assert any("vertical" in document.get("annotations", {}) for document in documents)
    assert all(any(low <= ord(char) <= high for char in texts) for low, high in [
        (0xAC00, 0xD7A3),  # Hangul syllables
        (0x3040, 0x30FF),  # Hiragana and Katakana
        (0x4E00, 0x9FFF),  # CJK ideographs
    ])


def test_every_document_has_its_source_named() -> None:
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    assert [name for name in DOCUMENTS if f"`{name}`" not in sources] == []


@pytest.mark.parametrize("name", _cases(VALIDATE))
def test_validates_as_a_file_widget_of_a_spec(name: str, tmp_path: Path) -> None:
    spec = load_spec(_write_spec(tmp_path, [name]))
    (widget,) = spec.sections[0].widgets
    assert widget.source["metrics"] == _document(name)["metrics"]


@pytest.mark.parametrize("name", _cases(RENDER))
def test_renders_through_the_standin_at_its_size(name: str, standin: BackgroundStandIn,
                                                 boto3_cloudwatch: Callable[..., Any]) -> None:
    document = _document(name)
    # An access key per document: the session stand-in's rate limit counts each apart.
    client = boto3_cloudwatch(standin.endpoint_url, access_key=f"corpus-{name}")
    png = client.get_metric_widget_image(MetricWidget=json.dumps(document))["MetricWidgetImage"]
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (document.get("width", DEFAULT_SIZE[0]), document.get("height", DEFAULT_SIZE[1]))


@pytest.mark.xfail(bool(KNOWN_FAILURES), strict=True, reason=RUN_FAILURE)
def test_all_documents_make_one_report_without_a_failed_widget(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """As a user runs it: `reportgen run --local` starts its own stand-in."""
    spec = _write_spec(tmp_path / "specs", DOCUMENTS)
    code = main(["run", str(spec), "--out", str(tmp_path / "out"), "--local", "--no-deliver", "--date", "2026-11-25"])
    summary = capsys.readouterr().out
    assert code == EXIT_OK, summary
    assert f"1 reports, {len(DOCUMENTS)} widgets, 0 failed" in summary
    assert (tmp_path / "out" / "corpus-2026-11-25.pdf").read_bytes().startswith(b"%PDF")
