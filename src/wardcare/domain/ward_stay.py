"""A patient's age and length of stay as the handover sheet prints them.

Both are counted on the Europe/London calendar: a patient admitted at 23:30 on Monday is in
their first day until midnight, and a birthday falls on the local date (NHS Data Dictionary,
"Person Age": completed years on the date of the activity).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from wardcare.domain.schedule import LONDON


def age_in_years(birth: date, on: date) -> int:
    """Completed years on `on`; a 29 February birthday is reached on 1 March in other years."""
    if on < birth:
        raise ValueError(f"born {birth.isoformat()}, after {on.isoformat()}")
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_from_birth_date(birth_date: object, on: date) -> int | None:
    """Completed years from a full ISO birth date (`YYYY-MM-DD`, as FHIR Patient.birthDate
    carries it), or None when there is none, it is partial (a year alone gives no exact age) or
    it is after `on`: an age is never guessed."""
    if not isinstance(birth_date, str) or len(birth_date) != 10:
        return None
    try:
        birth = date.fromisoformat(birth_date)
    except ValueError:
        return None
    return age_in_years(birth, on) if birth <= on else None


def days_since_admission(admitted: datetime, now: datetime) -> int:
    """Whole calendar days since admission on the London calendar: 0 on the day of admission."""
    if admitted.tzinfo is None or now.tzinfo is None:
        raise ValueError("admission and now must be timezone-aware")
    return (_london_date(now) - _london_date(admitted)).days


def _london_date(moment: datetime) -> date:
    """The London calendar date of an instant. At the very start of the calendar (0001-01-01
    before 00:01:15 UTC, which FHIR R4 2.24.0.8 allows) London's wall clock (its first offset
    is -0:01:15, local mean time) is in the year 0, which datetime cannot hold: that instant's
    UTC date is given instead, a day's difference on a stay of two thousand years."""
    try:
        return moment.astimezone(LONDON).date()
    except OverflowError:
        return moment.astimezone(UTC).date()


def describe_stay(days: int) -> str:
    """The words on the sheet: "admitted today", "day 1", "day 12" (day 0 = admission day)."""
    if days <= 0:
        return "admitted today"
    return f"{days} day" + ("" if days == 1 else "s") + " since admission"
