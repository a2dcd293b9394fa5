from __future__ import annotations

import pytest

from wardcare.domain.news2 import RiskBand
from wardcare.domain.news2_colours import (
    BAND_SWATCHES,
    NOT_RECORDED,
    Swatch,
    band_swatch,
    band_words,
    point_swatch,
)


def test_every_band_has_colour_and_words() -> None:
    for band in RiskBand:
        assert band_swatch(band.value) is BAND_SWATCHES[band]
        assert band_words(band.value) == band.value.upper()


def test_high_is_red_with_white_text_and_points_follow_chart_1() -> None:
    assert band_swatch("high") == Swatch("#e8473c", "#ffffff")
    assert point_swatch(0).fill == "#ffffff"
    assert point_swatch(3).fill == band_swatch("high").fill


def test_no_band_is_white_and_wordless() -> None:
    assert band_swatch(None) is NOT_RECORDED
    assert band_swatch("unheard-of") is NOT_RECORDED
    assert band_words(None) == ""
    assert band_words("unheard-of") == "UNHEARD-OF"


def test_points_outside_0_to_3_are_refused() -> None:
    with pytest.raises(ValueError, match="0-3"):
        point_swatch(4)
    with pytest.raises(ValueError, match="rrggbb"):
        Swatch("red", "#000000")
