"""Widgets CloudWatch draws without complaint draw here too: nothing to show, odd labels, any script."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from matplotlib import font_manager

from reportgen.local import fonts
from reportgen.local.render import render_png
from reportgen.local.widget import VIEWS, parse_widget

from .helpers import CPU, NOW, rgb_image, widget_json

NOTHING = "SEARCH('{AWS/Nothing,Queue} MetricName=\"Absent\"', 'Average', 300)"
EDGE_CASES: dict[str, list[Any]] = {
    "search-finds-nothing": [[{"expression": NOTHING, "id": "e1"}]],
    "every-row-hidden": [[*CPU, {"visible": False}]],
    "no-data-at-all": [["Nobody/Publishes", "This"]],
    "empty-label": [[*CPU, {"label": ""}]],
    "emoji-label": [[*CPU, {"label": "\U0001f525 hot \U0001f680"}]],
    "a-hundred-series": [[*CPU[:3], f"i-{n:017x}"] for n in range(100)],
}


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("case", EDGE_CASES)
def test_every_view_draws_edge_cases_at_the_asked_size(view: str, case: str) -> None:
    widget = parse_widget(widget_json(view=view, metrics=EDGE_CASES[case], title="\U0001f525 edge", width=310,
                                      height=190, sparkline=True, trend=True), now=NOW)
    assert rgb_image(render_png(widget)).size == (310, 190)


@pytest.mark.parametrize("view", ["singleValue", "gauge"])
def test_a_search_that_finds_nothing_says_no_data_in_the_middle(view: str) -> None:
    image = rgb_image(render_png(parse_widget(widget_json(view=view, metrics=EDGE_CASES["search-finds-nothing"]),
                                              now=NOW)))
    middle = image.crop((100, 80, 220, 120))  # where "No data available." is centred in 320 x 200
    assert len(middle.getcolors() or ()) > 1  # text, not an empty background


def test_the_font_chain_starts_with_dejavu_then_installed_fallbacks_in_order() -> None:
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    chain = fonts.family_chain()
    assert chain[0] == "DejaVu Sans"
    assert chain[1:] == [name for name in fonts.FALLBACKS if name in installed]


def test_characters_no_font_has_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    planet = "\U0001fa90"  # an emoji no test draws elsewhere, so no earlier render has reported it
    if fonts.missing(planet) == "":
        pytest.skip("an installed font draws this emoji")
    assert fonts.missing(f"CPU {planet} {planet}") == planet
    with caplog.at_level(logging.WARNING, logger=fonts.__name__):
        for _ in range(2):
            render_png(parse_widget(widget_json(title=f"Orbit {planet}"), now=NOW))
    assert [record.getMessage() for record in caplog.records] == [
        f"no installed font can draw {planet} (drawn as boxes); install a font for them, e.g. fonts-noto-cjk "
        "for Chinese, Japanese and Korean"]


CJK = "日本語 中文 한국어"


@pytest.mark.skipif(fonts.missing(CJK) != "", reason="no installed font covers Chinese, Japanese and Korean "
                                                     "(fonts-noto-cjk or fonts-droid-fallback brings one)")
def test_a_cjk_title_is_drawn_with_glyphs_not_boxes() -> None:
    def title(text: str) -> bytes:
        return render_png(parse_widget(widget_json(title=text), now=NOW))

    boxes = "\ue000\ue001\ue002 \ue003\ue004 \ue005\ue006\ue007"  # private-use characters: no font has them
    assert title(CJK) != title(boxes)
