"""Times as a ward prints them: Europe/London wall clock, day and month in words, 24-hour.

A handover sheet is read on the ward, so every time on it is local (GMT or BST as the date
requires); "01 Dec 19:42" cannot be misread as a US date. The shift is named from the local
time of printing: the common NHS pattern of long day 07:30-19:30 and night 19:30-07:30, each
printed in the half hour or so before it starts or while it runs.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from wardcare.domain.schedule import LONDON

DAY_STARTS, NIGHT_STARTS = time(7, 30), time(19, 30)
# A sheet printed up to an hour before a shift starts is for that shift's handover.
_PRINTED_AHEAD = timedelta(hours=1)


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("printed times must be timezone-aware")
    return moment.astimezone(LONDON)


def printed_time(moment: datetime) -> str:
    """``01 Dec 19:42``."""
    return _local(moment).strftime("%d %b %H:%M")


def printed_moment(moment: datetime) -> str:
    """``Tue 01 Dec 2026 19:42 GMT``: the data time, with the zone so GMT/BST is explicit."""
    return _local(moment).strftime("%a %d %b %Y %H:%M %Z")


def printed_date(moment: datetime) -> str:
    """``01 Dec 2026``."""
    return _local(moment).strftime("%d %b %Y")


def shift_for(moment: datetime) -> str:
    """The shift a sheet printed at `moment` hands over to, e.g. ``Night 01 Dec (19:30-07:30)``."""
    local = _local(moment) + _PRINTED_AHEAD
    clock = local.time()
    if DAY_STARTS <= clock < NIGHT_STARTS:
        return f"Day {local.strftime('%d %b')} (07:30-19:30)"
    night_of = local if clock >= NIGHT_STARTS else local - timedelta(days=1)
    return f"Night {night_of.strftime('%d %b')} (19:30-07:30)"


def duration_words(delta: timedelta) -> str:
    """``2 h 05 min``, ``45 min``, ``3 d 4 h``: how long something is overdue."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"
