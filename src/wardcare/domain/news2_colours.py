"""NEWS2 colours and words for print, after the Royal College of Physicians' NEWS2 charts.

RCP NEWS2 (2017) chart 1 shades each parameter's ranges by the points they score (0 white,
1 yellow, 2 amber, 3 red) and chart 3 colours the clinical-risk bands. The sheet also prints the
band in words (RiskBand.label, e.g. "MEDIUM"), so a black-and-white copy loses nothing: colour
is never the only carrier of meaning (NHS digital accessibility; WCAG 2.1 success criterion
1.4.1, "use of color").

NEWS2 © Royal College of Physicians 2017; the colour values are WardCare's renditions of the
chart's scheme, chosen so black text stays readable on each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from wardcare.domain.news2 import RiskBand


@dataclass(frozen=True)
class Swatch:
    fill: str  # background, #rrggbb
    ink: str  # text drawn on it

    def __post_init__(self) -> None:
        for colour in (self.fill, self.ink):
            if len(colour) != 7 or colour[0] != "#":
                raise ValueError(f"colours are #rrggbb, not {colour!r}")


# Points of one parameter (RCP chart 1).
POINT_SWATCHES: Final = {
    0: Swatch("#ffffff", "#000000"),
    1: Swatch("#fff3a0", "#000000"),
    2: Swatch("#f9b96e", "#000000"),
    3: Swatch("#e8473c", "#ffffff"),
}

# Clinical risk (RCP chart 3): low 0-4, low-medium a single red score, medium 5-6, high 7+.
BAND_SWATCHES: Final = {
    RiskBand.LOW: Swatch("#dff0d8", "#000000"),
    RiskBand.LOW_MEDIUM: Swatch("#fff3a0", "#000000"),
    RiskBand.MEDIUM: Swatch("#f9b96e", "#000000"),
    RiskBand.HIGH: Swatch("#e8473c", "#ffffff"),
}

NOT_RECORDED: Final = Swatch("#ffffff", "#000000")


def band_swatch(band: str | None) -> Swatch:
    """The colours for a stored band code (`low`, `low-medium`...); white for none or unknown."""
    try:
        return BAND_SWATCHES[RiskBand(band)] if band else NOT_RECORDED
    except ValueError:
        return NOT_RECORDED


def band_words(band: str | None) -> str:
    """The band in capitals as printed beside the colour; unknown codes print as they are."""
    if not band:
        return ""
    try:
        return RiskBand(band).label
    except ValueError:
        return band.upper()


def point_swatch(points: int) -> Swatch:
    if points not in POINT_SWATCHES:
        raise ValueError(f"a NEWS2 parameter scores 0-3, not {points!r}")
    return POINT_SWATCHES[points]
