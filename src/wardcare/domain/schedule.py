"""When is an assessment next due, and is it overdue? (brief section 1: obs frequency is set by
the last NEWS2; risk assessments on admission, then on a schedule.)

Intervals in hours are real elapsed time: 4-hourly obs are 4 hours apart even across a clock
change. Intervals in whole days keep the ward's wall-clock time (Europe/London): a weekly MUST
done at 10:00 is due at 10:00 a week later, summer time or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
DUE_SOON = timedelta(minutes=30)


class DueState(StrEnum):
    CONTINUOUS = "continuous"  # NEWS2 HIGH: continuous monitoring, always due
    OVERDUE = "overdue"
    DUE = "due"  # due within the next half hour
    NOT_DUE = "not-due"
    UNSCHEDULED = "unscheduled"  # never done and not required on admission


@dataclass(frozen=True)
class DueRule:
    on_admission: timedelta | None  # due this long after admission when never done
    repeat: timedelta | None  # due this long after the last one, unless its result says otherwise


@dataclass(frozen=True)
class LastDone:
    at: datetime
    # The interval the last result sets (a band's recheck; NEWS2's monitoring frequency).
    recheck: timedelta | None = None
    continuous: bool = False
    # At continuous monitoring, a new result is expected within this long; past it, overdue
    # (None: continuous monitoring is never shown as overdue).
    continuous_within: timedelta | None = None


@dataclass(frozen=True)
class Due:
    state: DueState
    due_at: datetime | None
    overdue_by: timedelta | None


# The last instant a datetime can hold. A due time past it (a result dated 9999-12-31, which FHIR
# R4 allows, plus a week) is no date at all; it is given as this instead of an OverflowError, and
# `next_due` reads it as "not due, no next time".
NEVER = datetime.max.replace(tzinfo=UTC)


def add_interval(start: datetime, interval: timedelta, zone: ZoneInfo = LONDON) -> datetime:
    """start + interval; whole days are added on the local calendar, hours as elapsed time.

    A positive interval that would go past the end of the calendar gives `NEVER`.
    """
    if interval.seconds == 0 and interval.microseconds == 0 and interval.days > 0:
        try:
            local = start.astimezone(zone)
            wall = local.replace(tzinfo=None) + interval
            return wall.replace(tzinfo=zone).astimezone(UTC)
        except OverflowError:
            # At either end of the calendar: 0001-01-01T00:00Z has no London wall time (the
            # zone's first offset is -0:01:15), and 9999-12-31 plus days has none at all.
            # Elapsed time is the answer at the start; at the end it overflows too (below).
            pass
    try:
        return (start + interval).astimezone(UTC)
    except OverflowError:
        if interval > timedelta(0):
            return NEVER
        raise


def next_due(
    rule: DueRule, *, admitted_at: datetime | None, last: LastDone | None, now: datetime
) -> Due:
    if last is not None and last.continuous:
        if last.continuous_within is None:
            return Due(DueState.CONTINUOUS, last.at, None)
        expected = last.at + last.continuous_within
        if now > expected:
            return Due(DueState.OVERDUE, expected, now - expected)
        return Due(DueState.CONTINUOUS, expected, None)
    if last is None:
        if rule.on_admission is None or admitted_at is None:
            return Due(DueState.UNSCHEDULED, None, None)
        due_at = add_interval(admitted_at, rule.on_admission)
    else:
        interval = last.recheck or rule.repeat
        if interval is None:
            return Due(DueState.UNSCHEDULED, None, None)
        due_at = add_interval(last.at, interval)
    if due_at == NEVER:
        return Due(DueState.NOT_DUE, None, None)
    if now > due_at:
        return Due(DueState.OVERDUE, due_at, now - due_at)
    if now >= due_at - DUE_SOON:
        return Due(DueState.DUE, due_at, None)
    return Due(DueState.NOT_DUE, due_at, None)
