"""The gallery: one PNG per exhibit and a contact sheet, and a failing exhibit reported rather than fatal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from reportgen.local import gallery
from reportgen.local.gallery import EXHIBITS, SHEET, Exhibit, contact_sheet, main


def test_exhibit_names_are_unique_file_names() -> None:
    names = [exhibit.name for exhibit in EXHIBITS]
    assert len(set(names)) == len(names)
    assert all(name.replace("-", "").isalnum() and name.islower() for name in names)


def test_gallery_writes_every_picture_and_the_contact_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "gallery")]) == 0
    folder = tmp_path / "gallery"
    pictures = {exhibit.name: (folder / f"{exhibit.name}.png").read_bytes() for exhibit in EXHIBITS}
    assert len(set(pictures.values())) == len(EXHIBITS)  # every exhibit shows something different
    for exhibit in EXHIBITS:
        size = Image.open(io.BytesIO(pictures[exhibit.name])).size
        assert size == (exhibit.widget.get("width", 600), exhibit.widget.get("height", 400)), exhibit.name
    sheet = PdfReader(folder / SHEET)
    text = "".join(page.extract_text() for page in sheet.pages)
    assert all(f"{exhibit.name}.png" in text for exhibit in EXHIBITS)
    assert f"{len(EXHIBITS)} pictures and {SHEET}" in capsys.readouterr().out
    # The same pictures give the same sheet, byte for byte.
    again = contact_sheet([(exhibit, pictures[exhibit.name]) for exhibit in EXHIBITS])
    assert again == (folder / SHEET).read_bytes()


def test_an_exhibit_that_cannot_be_drawn_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    broken = Exhibit("broken", "A statistic CloudWatch refuses.", {"metrics": [["A", "B", {"stat": "Avg"}]]})
    monkeypatch.setattr(gallery, "EXHIBITS", (EXHIBITS[0], broken))
    assert main([str(tmp_path)]) == 1
    assert "ERROR broken: `metrics[0].stat`: 'Avg' is not a statistic" in capsys.readouterr().err
    assert (tmp_path / f"{EXHIBITS[0].name}.png").exists() and not (tmp_path / "broken.png").exists()
    assert "WidgetError" in "".join(page.extract_text() for page in PdfReader(tmp_path / SHEET).pages)


def test_every_exhibit_is_valid_json_for_the_real_api() -> None:
    for exhibit in EXHIBITS:
        assert len(json.dumps(exhibit.widget).encode()) < 100 * 1024
        assert "properties" not in exhibit.widget


@pytest.mark.parametrize("exhibit", [exhibit for exhibit in EXHIBITS if exhibit.stored], ids=lambda e: e.name)
def test_stored_exhibits_are_drawn_from_the_seeded_store(exhibit: Exhibit) -> None:
    widget = gallery.parse_widget(json.dumps(exhibit.widget), now=gallery.NOW)
    # Without the store, SEARCH finds nothing and the seeded metric is synthetic: another picture.
    assert gallery.render_exhibit(exhibit) != gallery.render_png(widget)
