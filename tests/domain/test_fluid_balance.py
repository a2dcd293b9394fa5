"""Running fluid balance: intake minus output, entry by entry."""

from datetime import UTC, datetime

import pytest

from wardcare.domain.fluid_balance import Direction, FluidEntry, fluid_balance


def at(hour: int) -> datetime:
    return datetime(2026, 11, 22, hour, tzinfo=UTC)


def test_running_balance_is_intake_minus_output_in_time_order() -> None:
    result = fluid_balance(
        [
            FluidEntry(at(10), Direction.OUTPUT, 300, "urine-output"),
            FluidEntry(at(8), Direction.INTAKE, 250, "oral-intake"),
            FluidEntry(at(9), Direction.INTAKE, 1000, "iv-intake"),
        ]
    )
    assert [r.balance_ml for r in result.entries] == [250, 1250, 950]
    assert (result.intake_ml, result.output_ml, result.balance_ml) == (1250, 300, 950)


def test_no_entries_is_a_zero_balance() -> None:
    assert fluid_balance([]).balance_ml == 0


def test_a_negative_volume_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        fluid_balance([FluidEntry(at(8), Direction.INTAKE, -5, "oral-intake")])
