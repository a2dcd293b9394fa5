"""Whether a result needs a new escalation Task: by priority, then band (RCP NEWS2 chart 4)."""

from __future__ import annotations

import pytest

from wardcare import paths
from wardcare.catalog.catalog import load_template
from wardcare.domain.escalation import UNKNOWN_BAND, EscalationLevel, needs_new_task

NEWS2 = load_template(paths.CARE_TEMPLATES / "assessments" / "news2.yaml")


def _level(priority: str, band: str | None) -> EscalationLevel:
    return EscalationLevel.of(priority, NEWS2.band_rank(band))


LOW_MEDIUM = _level("urgent", "low-medium")
MEDIUM = _level("urgent", "medium")
HIGH = _level("stat", "high")


def test_news2_bands_rank_in_chart_2_order() -> None:
    ranks = [NEWS2.band_rank(b) for b in ("low", "low-medium", "medium", "high")]
    assert ranks == [0, 1, 2, 3]
    assert NEWS2.band_rank("no-such-band") is None


@pytest.mark.parametrize(
    ("new", "open_levels", "raise_new"),
    [
        (LOW_MEDIUM, [], True),
        (MEDIUM, [LOW_MEDIUM], True),  # same priority, higher band: the medium response
        (HIGH, [LOW_MEDIUM, MEDIUM], True),
        (MEDIUM, [MEDIUM], False),  # the same band already open
        (LOW_MEDIUM, [MEDIUM], False),  # lower: never a new Task, never a closed one (H06)
        (MEDIUM, [HIGH], False),
        (LOW_MEDIUM, [HIGH], False),
        # An open Task whose band was never recorded ranks below every band of its priority.
        (LOW_MEDIUM, [EscalationLevel.of("urgent", None)], True),
        (MEDIUM, [EscalationLevel.of("stat", None)], False),
    ],
)
def test_a_new_task_unless_one_at_least_as_high_is_open(
    new: EscalationLevel, open_levels: list[EscalationLevel], raise_new: bool
) -> None:
    assert needs_new_task(new, open_levels) is raise_new


def test_an_unknown_band_is_below_every_band() -> None:
    assert EscalationLevel.of("urgent", None).band_rank == UNKNOWN_BAND
    assert EscalationLevel.of("urgent", None) < LOW_MEDIUM
