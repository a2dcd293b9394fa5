"""Synthetic vital signs: one observation set as FHIR R4 Observations, and a patient's series.

Pure builders (no database, no HTTP): everything is a plain FHIR R4 JSON dict, and every random
choice comes from the ``random.Random`` passed in, so a seed gives the same output every time.

Each parameter of a set is a SEPARATE Observation (the FHIR R4 vital-signs profiles), in NEWS2
chart order: respiration rate, SpO2 (with the inhaled-oxygen flow as a component), blood
pressure panel, pulse, consciousness (ACVPU), temperature.

A stable patient's series is built so that every set scores NEWS2 0-2 on SpO2 scale 1; a
deteriorating patient's last hours climb to a medium or high score (rising respiration rate and
pulse, falling SpO2 and blood pressure, usually fever, sometimes new confusion and oxygen).
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

FhirResource = dict[str, Any]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACVPU_SYSTEM = "http://wardcare.org/fhir/CodeSystem/acvpu"
ACVPU_SNOMED_CODE = "1104441000000107"
ACVPU_SNOMED_DISPLAY = "ACVPU (alert, new confusion, voice, pain, unresponsive) scale score"
ACVPU_DISPLAY: dict[str, str] = {
    "A": "Alert",
    "C": "New confusion",
    "V": "Voice",
    "P": "Pain",
    "U": "Unresponsive",
}

RESPIRATORY_RATE = ("9279-1", "Respiratory rate")
OXYGEN_SATURATION = ("2708-6", "Oxygen saturation in Arterial blood")
PULSE_OXIMETRY = ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry")
INHALED_OXYGEN_FLOW = ("3151-8", "Inhaled oxygen flow rate")
BLOOD_PRESSURE_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
HEART_RATE = ("8867-4", "Heart rate")
BODY_TEMPERATURE = ("8310-5", "Body temperature")

# The parameters a set can lack; the names are the fields of VitalsReading.
OMITTABLE_PARAMETERS: tuple[str, ...] = ("rr", "spo2", "bp", "pulse", "acvpu", "temp")


def new_id(rng: random.Random) -> str:
    """A client-assigned resource id: a version-4 UUID drawn from the seeded generator."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def fhir_datetime(when: datetime) -> str:
    """An aware datetime as a FHIR dateTime/instant in UTC to the second (``...T10:04:00Z``)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("FHIR times need a timezone: pass an aware datetime")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _loinc(code: tuple[str, str]) -> dict[str, str]:
    return {"system": LOINC, "code": code[0], "display": code[1]}


def _category(code: str, display: str) -> list[FhirResource]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}]


def _quantity(value: float, unit: str, code: str) -> FhirResource:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def vital_signs_set(
    *,
    patient_ref: str,
    encounter_ref: str,
    performer_ref: str,
    when: datetime,
    rr: int | None = None,
    spo2: int | None = None,
    o2_flow: float | None = None,
    sbp: int | None = None,
    dbp: int | None = None,
    pulse: int | None = None,
    acvpu: str | None = None,
    temp: float | None = None,
    rng: random.Random,
) -> list[FhirResource]:
    """One observation set as separate FHIR R4 Observations, leaving out each ``None`` parameter.

    References are ``"Patient/<id>"``-style strings. ``o2_flow`` (L/min, 0 on room air) rides on
    the SpO2 Observation as a 3151-8 component, so it is dropped when ``spo2`` is ``None``. The
    blood-pressure panel carries whichever of systolic/diastolic is given. Values are written
    as given (no plausibility check: tests use this to build implausible readings too);
    temperature is rounded to one decimal place.
    """
    if acvpu is not None and acvpu not in ACVPU_DISPLAY:
        raise ValueError(f"ACVPU must be one of {', '.join(ACVPU_DISPLAY)}, not {acvpu!r}")
    effective = fhir_datetime(when)
    vital_signs = _category("vital-signs", "Vital Signs")

    def observation(
        code: FhirResource, category: list[FhirResource], value: FhirResource
    ) -> FhirResource:
        return {
            "resourceType": "Observation",
            "id": new_id(rng),
            "status": "final",
            "category": category,
            "code": code,
            "subject": {"reference": patient_ref},
            "encounter": {"reference": encounter_ref},
            "effectiveDateTime": effective,
            "performer": [{"reference": performer_ref}],
            **value,
        }

    result: list[FhirResource] = []
    if rr is not None:
        result.append(
            observation(
                {"coding": [_loinc(RESPIRATORY_RATE)], "text": "Respiration rate"},
                vital_signs,
                {"valueQuantity": _quantity(rr, "breaths/minute", "/min")},
            )
        )
    if spo2 is not None:
        spo2_value: FhirResource = {"valueQuantity": _quantity(spo2, "%", "%")}
        if o2_flow is not None:
            spo2_value["component"] = [
                {
                    "code": {"coding": [_loinc(INHALED_OXYGEN_FLOW)]},
                    "valueQuantity": _quantity(round(float(o2_flow), 1), "L/min", "L/min"),
                }
            ]
        result.append(
            observation(
                {
                    "coding": [_loinc(PULSE_OXIMETRY), _loinc(OXYGEN_SATURATION)],
                    "text": "SpO2",
                },
                vital_signs,
                spo2_value,
            )
        )
    if sbp is not None or dbp is not None:
        components: list[FhirResource] = []
        if sbp is not None:
            components.append(
                {
                    "code": {"coding": [_loinc(SYSTOLIC)]},
                    "valueQuantity": _quantity(sbp, "mmHg", "mm[Hg]"),
                }
            )
        if dbp is not None:
            components.append(
                {
                    "code": {"coding": [_loinc(DIASTOLIC)]},
                    "valueQuantity": _quantity(dbp, "mmHg", "mm[Hg]"),
                }
            )
        result.append(
            observation(
                {"coding": [_loinc(BLOOD_PRESSURE_PANEL)], "text": "Blood pressure"},
                vital_signs,
                {"component": components},
            )
        )
    if pulse is not None:
        result.append(
            observation(
                {"coding": [_loinc(HEART_RATE)], "text": "Pulse"},
                vital_signs,
                {"valueQuantity": _quantity(pulse, "beats/minute", "/min")},
            )
        )
    if acvpu is not None:
        result.append(
            observation(
                {
                    "coding": [
                        {
                            "system": SNOMED,
                            "code": ACVPU_SNOMED_CODE,
                            "display": ACVPU_SNOMED_DISPLAY,
                        }
                    ],
                    "text": "Consciousness (ACVPU)",
                },
                _category("exam", "Exam"),
                {
                    "valueCodeableConcept": {
                        "coding": [
                            {
                                "system": ACVPU_SYSTEM,
                                "code": acvpu,
                                "display": ACVPU_DISPLAY[acvpu],
                            }
                        ],
                        "text": ACVPU_DISPLAY[acvpu],
                    }
                },
            )
        )
    if temp is not None:
        result.append(
            observation(
                {"coding": [_loinc(BODY_TEMPERATURE)], "text": "Temperature"},
                vital_signs,
                {"valueQuantity": _quantity(round(float(temp), 1), "C", "Cel")},
            )
        )
    return result


@dataclass(frozen=True)
class VitalsReading:
    """The values of one observation set; ``None`` means not measured."""

    when: datetime
    rr: int | None
    spo2: int | None
    o2_flow: float | None
    sbp: int | None
    dbp: int | None
    pulse: int | None
    acvpu: str | None
    temp: float | None

    def without(self, *parameters: str) -> VitalsReading:
        """The same set with some parameters (names from OMITTABLE_PARAMETERS) not measured."""
        changes: dict[str, Any] = {}
        for name in parameters:
            if name not in OMITTABLE_PARAMETERS:
                raise ValueError(f"unknown vital-sign parameter {name!r}")
            if name == "bp":
                changes.update(sbp=None, dbp=None)
            elif name == "spo2":
                changes.update(spo2=None, o2_flow=None)
            else:
                changes[name] = None
        return replace(self, **changes)


@dataclass(frozen=True)
class Baseline:
    """A stable patient's usual values; every noisy reading around them scores NEWS2 0-2."""

    rr: int
    spo2: int
    sbp: int
    dbp: int
    pulse: int
    temp: float


@dataclass(frozen=True)
class Deterioration:
    """How a patient worsens from ``onset`` to ``peak_at``: the values reached at the peak."""

    onset: datetime
    peak_at: datetime
    rr: int
    pulse: int
    spo2_on_air: int
    sbp: int
    dbp: int
    temp: float
    oxygen_from: float | None  # severity (0-1) at which oxygen is started, or None
    o2_flow: float
    confusion_from: float | None  # severity (0-1) at which new confusion appears, or None


def _floor_minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def stable_baseline(rng: random.Random) -> Baseline:
    """Usual values for a stable adult inpatient (an older population: BP runs higher)."""
    sbp = rng.randint(115, 160)
    return Baseline(
        rr=rng.randint(13, 18),
        spo2=rng.randint(96, 99),
        sbp=sbp,
        dbp=rng.randint(60, min(90, sbp - 35)),
        pulse=rng.randint(60, 86),
        temp=round(rng.uniform(36.3, 37.3), 1),
    )


def plan_deterioration(
    base: Baseline, rng: random.Random, *, onset: datetime, peak_at: datetime
) -> Deterioration:
    """A deterioration (e.g. sepsis, pneumonia) whose peak scores NEWS2 5 or more on scale 1.

    About a third are moderate: even with noise their peak scores 2 (respiration rate) + 1
    (pulse) + 1-2 (SpO2) + 1 (fever), mostly the medium band (5-6), on air and alert. The rest
    are severe: at least 2 (respiration rate) + 1 (pulse) + 2 (SpO2, or oxygen), mostly high
    (7+) with low blood pressure, fever, oxygen or new confusion on top.
    """
    if rng.random() < 0.35:
        sbp = min(base.sbp - 10, rng.randint(104, 112))
        return Deterioration(
            onset=onset,
            peak_at=peak_at,
            rr=rng.randint(22, 23),
            pulse=rng.randint(96, 105),
            spo2_on_air=93,
            sbp=sbp,
            dbp=min(base.dbp - 5, sbp - 30, rng.randint(55, 70)),
            temp=round(rng.uniform(38.3, 38.8), 1),
            oxygen_from=None,
            o2_flow=0.0,
            confusion_from=None,
        )
    sbp = min(base.sbp - 15, rng.randint(86, 108))
    return Deterioration(
        onset=onset,
        peak_at=peak_at,
        rr=rng.randint(23, 30),
        pulse=rng.randint(100, 130),
        spo2_on_air=rng.randint(87, 92),
        sbp=sbp,
        dbp=min(base.dbp - 8, sbp - 30, rng.randint(45, 62)),
        temp=round(rng.uniform(38.3, 39.5), 1) if rng.random() < 0.7 else base.temp,
        oxygen_from=rng.uniform(0.5, 0.8) if rng.random() < 0.6 else None,
        o2_flow=float(rng.choice((1, 2, 2, 3, 4))),
        confusion_from=rng.uniform(0.7, 0.95) if rng.random() < 0.4 else None,
    )


def stable_reading(base: Baseline, when: datetime, rng: random.Random) -> VitalsReading:
    """One set of a stable patient: small noise, clamped so the set scores NEWS2 0-2."""
    sbp = round(_clamp(base.sbp + rng.randint(-8, 8), 111, 185))
    return VitalsReading(
        when=when,
        rr=round(_clamp(base.rr + rng.randint(-2, 2), 12, 20)),
        spo2=round(_clamp(base.spo2 + rng.randint(-1, 1), 95, 100)),
        o2_flow=0.0,
        sbp=sbp,
        dbp=round(_clamp(base.dbp + rng.randint(-5, 5), 50, sbp - 25)),
        pulse=round(_clamp(base.pulse + rng.randint(-5, 5), 52, 95)),
        acvpu="A",
        temp=round(_clamp(base.temp + rng.uniform(-0.3, 0.3), 36.1, 37.9), 1),
    )


def deteriorating_reading(
    base: Baseline, plan: Deterioration, when: datetime, rng: random.Random
) -> VitalsReading:
    """One set on the way from the baseline to the peak of ``plan`` (stable before onset)."""
    if when <= plan.onset:
        return stable_reading(base, when, rng)
    span = (plan.peak_at - plan.onset).total_seconds()
    severity = math.pow(_clamp((when - plan.onset).total_seconds() / span, 0.0, 1.0), 1.2)

    def towards(start: float, peak: float, noise: float) -> float:
        return start + (peak - start) * severity + rng.uniform(-noise, noise)

    on_oxygen = plan.oxygen_from is not None and severity >= plan.oxygen_from
    o2_flow = plan.o2_flow if on_oxygen else 0.0
    # Oxygen lifts the saturation a couple of points per litre, never above 98 %.
    spo2 = towards(base.spo2, plan.spo2_on_air, 1.0) + (2.0 * o2_flow if on_oxygen else 0.0)
    sbp = round(_clamp(towards(base.sbp, plan.sbp, 4.0), 75, 200))
    confused = plan.confusion_from is not None and severity >= plan.confusion_from
    return VitalsReading(
        when=when,
        rr=round(_clamp(towards(base.rr, plan.rr, 1.0), 10, 40)),
        spo2=round(_clamp(spo2, 80, 98)),
        o2_flow=o2_flow,
        sbp=sbp,
        dbp=round(_clamp(towards(base.dbp, plan.dbp, 3.0), 35, sbp - 20)),
        pulse=round(_clamp(towards(base.pulse, plan.pulse, 3.0), 45, 160)),
        acvpu="C" if confused else "A",
        temp=round(_clamp(towards(base.temp, plan.temp, 0.1), 35.0, 40.5), 1),
    )


def observation_times(
    *,
    start: datetime,
    now: datetime,
    rng: random.Random,
    hourly_from: datetime | None = None,
) -> list[datetime]:
    """When sets were taken between ``start`` and ``now``: every 4-6 hours, or every 45-90
    minutes from ``hourly_from`` on (a deteriorating patient, first seen within 30-90 minutes of
    the change); whole minutes, none after now."""
    when = _floor_minute(start + timedelta(minutes=rng.randint(0, 45)))
    if when < start:
        when += timedelta(minutes=1)
    times: list[datetime] = []
    while when <= now:
        times.append(when)
        if hourly_from is not None and when >= hourly_from:
            when += timedelta(minutes=rng.randint(45, 90))
            continue
        later = when + timedelta(minutes=rng.randint(240, 360))
        if hourly_from is not None and later > hourly_from:
            noticed = _floor_minute(hourly_from + timedelta(minutes=rng.randint(30, 90)))
            later = min(later, max(noticed, when + timedelta(minutes=30)))
        when = later
    return times
