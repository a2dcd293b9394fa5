"""FHIR date, dateTime and instant values as instant ranges (FHIR R4 2.24.0.8, "date" ranges).

A value covers the whole of its precision: "2026-11" is every instant of November 2026. Search
compares those ranges (FHIR R4 3.1.1.5.9). Instants are microseconds since the Unix epoch, UTC.
A date without a time zone is read as UTC.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

_PATTERN = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)

MIN_INSTANT = -(2**62)
MAX_INSTANT = 2**62
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidDate(ValueError):
    pass


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# The instants `from_micros` can give: Python's datetime ends at 0001-01-01 and 9999-12-31, and
# FHIR R4 (2.24.0.8, dateTime) allows both of those years with any offset up to 14 hours, so
# "9999-12-31T23:59:59-12:00" is an instant in the year 10000 UTC. A day inside each end keeps
# the result convertible to any time zone (the ward clock: astimezone(Europe/London)).
_FIRST_SHOWN = datetime(1, 1, 2, tzinfo=UTC)
_LAST_SHOWN = datetime(9999, 12, 30, 23, 59, 59, 999_999, tzinfo=UTC)
_FIRST_MICROS = to_micros(_FIRST_SHOWN)
_LAST_MICROS = to_micros(_LAST_SHOWN)


def from_micros(micros: int) -> datetime:
    """The UTC datetime of an instant; one beyond the years 0001-9999 (less a day at each end)
    is given as the nearest it can be, so a date at the edge of FHIR's range never fails a page
    that shows it. WardCare's own instants (meta.lastUpdated, the clock) are never that far."""
    if micros < _FIRST_MICROS:
        return _FIRST_SHOWN
    if micros > _LAST_MICROS:
        return _LAST_SHOWN
    return _EPOCH + timedelta(microseconds=micros)


def start_micros(value: Any) -> int | None:
    """The first microsecond a FHIR date/dateTime covers, or None for anything that is not one
    (a missing or malformed date in a stored resource is shown as unknown, never a failure)."""
    if not isinstance(value, str):
        return None
    try:
        return date_range(value)[0]
    except InvalidDate:
        return None


def instant(moment: datetime) -> str:
    """A FHIR instant in UTC with microseconds: how WardCare writes meta.lastUpdated."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_EPOCH_DAY = date(1970, 1, 1).toordinal()
_DAY = 86_400 * 1_000_000


def _day_micros(year: int, month: int, day: int) -> int:
    """Microseconds from the epoch to midnight UTC starting that day (ValueError if none)."""
    return (date(year, month, day).toordinal() - _EPOCH_DAY) * _DAY


def date_range(value: str) -> tuple[int, int]:
    """The first and last microsecond a FHIR date/dateTime/instant value covers.

    Computed on integer microseconds, not datetimes, so the last day FHIR allows (9999-12-31,
    whose end is 10000-01-01) and offsets at either end of the calendar (0001-01-01T00:00+14:00
    starts in the year 0 UTC) are ranges like any other rather than an OverflowError.
    """
    match = _PATTERN.match(value)
    if not match:
        raise InvalidDate(f"{value!r} is not a FHIR date or dateTime")
    g = match.groupdict()
    try:
        offset = 0
        if g["tz"] and g["tz"] != "Z":
            sign = 1 if g["tz"][0] == "+" else -1
            hours, minutes = int(g["tz"][1:3]), int(g["tz"][4:6])
            # timezone() refuses an offset of 24 hours or more (+25:00), as FHIR's does
            # not allow past +14:00: checked here the same way, then applied as micros.
            timezone(sign * timedelta(hours=hours, minutes=minutes))
            offset = sign * (hours * 3600 + minutes * 60) * 1_000_000
        year = int(g["y"])  # 0000 is a ValueError from date(), as FHIR's regex refuses it
        if g["m"] is None:
            start = _day_micros(year, 1, 1)
            end = start + (366 if calendar.isleap(year) else 365) * _DAY
        elif g["d"] is None:
            month = int(g["m"])
            start = _day_micros(year, month, 1)
            end = start + calendar.monthrange(year, month)[1] * _DAY
        else:
            start = _day_micros(year, int(g["m"]), int(g["d"]))
            if g["H"] is None:
                end = start + _DAY
            else:
                hour, minute, second = int(g["H"]), int(g["M"]), int(g["S"] or 0)
                fraction = g["f"] or ""
                micro = int((fraction + "000000")[:6]) if fraction else 0
                time(hour, minute, second, micro)  # ValueError for 25:00, 10:61...
                start += ((hour * 60 + minute) * 60 + second) * 1_000_000 + micro
                if g["S"] is None:
                    width = 60 * 1_000_000
                elif not fraction:
                    width = 1_000_000
                else:
                    width = max(1, 10 ** (6 - min(len(fraction), 6)))
                end = start + width
    except ValueError as exc:  # e.g. month 13, 30 February
        raise InvalidDate(f"{value!r} is not a real date: {exc}") from exc
    # A date without a time zone is read as UTC; an offset moves the instants (10:00+01:00 is
    # 09:00Z).
    return start - offset, end - offset - 1
