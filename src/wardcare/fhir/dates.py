"""FHIR date, dateTime and instant values as instant ranges (FHIR R4 2.24.0.8, "date" ranges).

A value covers the whole of its precision: "2026-11" is every instant of November 2026. Search
compares those ranges (FHIR R4 3.1.1.5.9). Instants are microseconds since the Unix epoch, UTC.
A date without a time zone is read as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

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


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def instant(moment: datetime) -> str:
    """A FHIR instant in UTC with microseconds: how WardCare writes meta.lastUpdated."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def date_range(value: str) -> tuple[int, int]:
    """The first and last microsecond a FHIR date/dateTime/instant value covers."""
    match = _PATTERN.match(value)
    if not match:
        raise InvalidDate(f"{value!r} is not a FHIR date or dateTime")
    g = match.groupdict()
    try:
        tz: tzinfo = UTC
        if g["tz"] and g["tz"] != "Z":
            sign = 1 if g["tz"][0] == "+" else -1
            hours, minutes = int(g["tz"][1:3]), int(g["tz"][4:6])
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        year = int(g["y"])
        if g["m"] is None:
            start = datetime(year, 1, 1, tzinfo=tz)
            end = datetime(year + 1, 1, 1, tzinfo=tz)
        elif g["d"] is None:
            month = int(g["m"])
            start = datetime(year, month, 1, tzinfo=tz)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
        elif g["H"] is None:
            start = datetime(year, int(g["m"]), int(g["d"]), tzinfo=tz)
            end = start + timedelta(days=1)
        else:
            fraction = g["f"] or ""
            micro = int((fraction + "000000")[:6]) if fraction else 0
            start = datetime(
                year,
                int(g["m"]),
                int(g["d"]),
                int(g["H"]),
                int(g["M"]),
                int(g["S"] or 0),
                micro,
                tzinfo=tz,
            )
            if g["S"] is None:
                width = timedelta(minutes=1)
            elif not fraction:
                width = timedelta(seconds=1)
            else:
                width = timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction), 6))))
            end = start + width
    except ValueError as exc:  # e.g. month 13, 30 February
        raise InvalidDate(f"{value!r} is not a real date: {exc}") from exc
    return to_micros(start), to_micros(end) - 1
