"""The OBX code map (fhir_profiles/hl7v2-observation-codes.json): which OBX-3 codes are vital
signs, how a sender's local codes map to LOINC, and which units mean which UCUM code.

Loaded and checked once when the listener starts; a mistake in the file stops start-up naming
the entry, rather than turning every message into an AE.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LoincCode:
    code: str
    display: str
    unit: str  # the UCUM code the reading must be in
    also: tuple[str, ...] = ()  # further LOINC codings (59408-5 is also a 2708-6)
    panel: str | None = None  # a component of this panel (85354-9 blood pressure)


@dataclass(frozen=True)
class LocalCode:
    loinc: str | None
    acvpu: bool
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservationCodes:
    loinc: dict[str, LoincCode]
    local: dict[str, LocalCode]
    units: dict[str, str]

    def ucum(self, unit: str) -> str:
        return self.units.get(unit, self.units.get(unit.upper(), unit))


class CodeMapError(ValueError):
    pass


def load_observation_codes(path: Path) -> ObservationCodes:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    loinc = {
        code: LoincCode(
            code,
            str(entry["display"]),
            str(entry["unit"]),
            tuple(entry.get("also", ())),
            entry.get("panel"),
        )
        for code, entry in data["loinc"].items()
    }
    local: dict[str, LocalCode] = {}
    for code, entry in data["local"].items():
        target = entry.get("loinc")
        if target is not None and target not in loinc:
            raise CodeMapError(f"{path.name}: local code {code!r} maps to unknown LOINC {target!r}")
        if target is None and not entry.get("acvpu"):
            raise CodeMapError(f"{path.name}: local code {code!r} maps to nothing")
        values = {str(k).upper(): float(v) for k, v in entry.get("values", {}).items()}
        local[code.upper()] = LocalCode(target, bool(entry.get("acvpu")), values)
    units = {str(k): str(v) for k, v in data.get("units", {}).items()}
    return ObservationCodes(loinc, local, units)
