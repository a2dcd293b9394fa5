"""Fluid balance: intake minus output, running over a period (usually the last 24 hours)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Direction(StrEnum):
    INTAKE = "intake"
    OUTPUT = "output"


@dataclass(frozen=True)
class FluidEntry:
    at: datetime
    direction: Direction
    volume_ml: float
    kind: str  # e.g. "oral-intake", "urine-output"


@dataclass(frozen=True)
class RunningEntry:
    entry: FluidEntry
    balance_ml: float  # the running balance after this entry


@dataclass(frozen=True)
class FluidBalance:
    intake_ml: float
    output_ml: float
    entries: tuple[RunningEntry, ...]

    @property
    def balance_ml(self) -> float:
        return self.intake_ml - self.output_ml


def fluid_balance(entries: Iterable[FluidEntry]) -> FluidBalance:
    """Entries in time order with the running balance; a negative balance means net loss."""
    ordered = sorted(entries, key=lambda e: e.at)
    running, intake, output = 0.0, 0.0, 0.0
    rows = []
    for entry in ordered:
        if entry.volume_ml < 0:
            raise ValueError(f"a fluid volume cannot be negative ({entry.kind}: {entry.volume_ml})")
        if entry.direction is Direction.INTAKE:
            intake += entry.volume_ml
            running += entry.volume_ml
        else:
            output += entry.volume_ml
            running -= entry.volume_ml
        rows.append(RunningEntry(entry, running))
    return FluidBalance(intake, output, tuple(rows))
