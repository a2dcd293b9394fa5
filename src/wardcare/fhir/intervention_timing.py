"""An intervention's timing as a FHIR R4 Timing, and back.

Templates publish it as `ActivityDefinition.timingTiming`; a plan's intervention Task carries it
in the extension `TIMING_EXTENSION` (R4 Task has no timing element), where the nurse changes
the frequency with a PUT. Only the shapes WardCare schedules are accepted, so a Timing that would
silently never fall due is refused, naming the element:

| timing | FHIR Timing |
|---|---|
| every 2 hours | `repeat: {frequency: 1, period: 2, periodUnit: h}` |
| daily at 08:00 and 17:30 | `repeat: {timeOfDay: ["08:00:00", "17:30:00"]}` |
| once each shift | `code` care-planning `per-shift` |
| once, within 24 hours | `repeat: {count: 1, boundsDuration: {value: 24, unit: h}}` |
| as needed | `code` care-planning `as-needed` |
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from wardcare import errors
from wardcare.domain.intervention_schedule import InterventionTiming, TimingKind

TIMING_EXTENSION = "http://wardcare.org/fhir/StructureDefinition/intervention-timing"
CARE_PLANNING = "http://wardcare.org/fhir/CodeSystem/care-planning"
UCUM = "http://unitsofmeasure.org"
_UNITS: dict[str, timedelta] = {
    "min": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "wk": timedelta(weeks=1),
}


def _amount(interval: timedelta) -> tuple[int, str]:
    for unit in ("wk", "d", "h", "min"):
        size = _UNITS[unit]
        if interval % size == timedelta(0):
            return interval // size, unit
    raise ValueError(f"{interval} is not a whole number of minutes")


def timing_to_fhir(timing: InterventionTiming) -> dict[str, Any]:
    text = timing.describe()
    if timing.kind == TimingKind.EVERY:
        assert timing.interval is not None
        period, unit = _amount(timing.interval)
        return {
            "repeat": {"frequency": 1, "period": period, "periodUnit": unit},
            "code": _text(text),
        }
    if timing.kind == TimingKind.AT_TIMES:
        return {
            "repeat": {"timeOfDay": [t.strftime("%H:%M:%S") for t in timing.times]},
            "code": _text(text),
        }
    if timing.kind == TimingKind.ONCE:
        assert timing.interval is not None
        value, unit = _amount(timing.interval)
        return {
            "repeat": {
                "count": 1,
                "boundsDuration": {"value": value, "unit": unit, "system": UCUM, "code": unit},
            },
            "code": _text(text),
        }
    return {
        "code": {
            "coding": [{"system": CARE_PLANNING, "code": timing.kind.value}],
            "text": text,
        }
    }


def _text(text: str) -> dict[str, Any]:
    return {"text": text}


def timing_from_fhir(timing: Any, path: str) -> InterventionTiming:
    """The schedule a FHIR Timing describes; 422 naming `path` for one WardCare cannot keep."""
    if not isinstance(timing, dict):
        raise errors.unprocessable("An intervention needs its timing", path)
    codes = [
        c.get("code")
        for c in (timing.get("code") or {}).get("coding", [])
        if c.get("system") == CARE_PLANNING
    ]
    for kind in (TimingKind.PER_SHIFT, TimingKind.AS_NEEDED):
        if kind.value in codes:
            return InterventionTiming(kind)
    repeat = timing.get("repeat")
    if not isinstance(repeat, dict):
        raise errors.unprocessable(
            "Timing needs a repeat (every, times of day or once) or the code per-shift or "
            "as-needed",
            f"{path}.repeat",
        )
    if repeat.get("timeOfDay"):
        try:
            times = tuple(sorted(time.fromisoformat(t) for t in repeat["timeOfDay"]))
        except (TypeError, ValueError) as exc:
            raise errors.unprocessable(
                f"timeOfDay must be times such as 08:00:00: {exc}", f"{path}.repeat.timeOfDay"
            ) from exc
        return InterventionTiming(TimingKind.AT_TIMES, times=times)
    if repeat.get("count") == 1 and isinstance(repeat.get("boundsDuration"), dict):
        bounds = repeat["boundsDuration"]
        interval = _interval(
            bounds.get("value"), bounds.get("code"), f"{path}.repeat.boundsDuration"
        )
        return InterventionTiming(TimingKind.ONCE, interval=interval)
    frequency = repeat.get("frequency", 1)
    if not isinstance(frequency, int) or frequency < 1:
        raise errors.unprocessable("frequency must be 1 or more", f"{path}.repeat.frequency")
    interval = _interval(repeat.get("period"), repeat.get("periodUnit"), f"{path}.repeat.period")
    minutes = interval // timedelta(minutes=1)
    if minutes % frequency:
        raise errors.unprocessable(
            "frequency must divide the period into whole minutes", f"{path}.repeat.frequency"
        )
    return InterventionTiming(TimingKind.EVERY, interval=timedelta(minutes=minutes // frequency))


def _interval(value: Any, unit: Any, path: str) -> timedelta:
    if unit not in _UNITS:
        raise errors.unprocessable(
            f"The unit must be one of {', '.join(_UNITS)} (UCUM), not {unit!r}", path
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise errors.unprocessable(f"The interval must be a number above 0, not {value!r}", path)
    interval = _UNITS[unit] * value
    if interval < timedelta(minutes=15) or interval > timedelta(days=90):
        raise errors.unprocessable(
            "An intervention interval must be between 15 minutes and 90 days", path
        )
    return timedelta(minutes=round(interval.total_seconds() / 60))


def task_timing(task: dict[str, Any]) -> tuple[Any, str]:
    """The Timing in an intervention Task's extension and its FHIRPath."""
    for index, extension in enumerate(task.get("extension") or []):
        if extension.get("url") == TIMING_EXTENSION:
            return extension.get("valueTiming"), f"Task.extension[{index}].valueTiming"
    return None, "Task.extension"
