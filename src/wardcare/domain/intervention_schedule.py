"""When is a care-plan intervention due, and which occurrences are overdue?

Pure rules over an intervention's timing, when its plan started and what has been documented:

- `every`: a rolling interval after the last documented occurrence (done, not done or declined:
  each is the nurse's record of that round), due at the plan's start when nothing is documented.
  Hour intervals are elapsed time; whole days keep the ward clock (`schedule.add_interval`).
- `per-shift`: once in each shift (day 07:30-19:30, night 19:30-07:30 Europe/London); due by the
  shift's end, overdue once it has ended undocumented. Shifts are ward-clock times, so the night
  of a clock change is 11 or 13 hours long.
- `at-times`: each day at ward-clock times; a time that does not exist on the spring-forward day
  (01:30) falls an hour later, one that happens twice in October is its first (summer) occurrence.
- `once`: a one-off, due by the plan's start plus the interval, until documented as done.
- `as-needed`: documented when done, never due.

Missed slots (per shift, at times) stay overdue until documented, looking back `LOOKBACK` hours:
a missed intervention never disappears from the list by itself (hazard log H15).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

from wardcare.domain.schedule import DUE_SOON, LONDON, DueState, add_interval

DAY_SHIFT_START = time(7, 30)
NIGHT_SHIFT_START = time(19, 30)
LOOKBACK = timedelta(hours=24)


class TimingKind(StrEnum):
    EVERY = "every"
    PER_SHIFT = "per-shift"
    AT_TIMES = "at-times"
    ONCE = "once"
    AS_NEEDED = "as-needed"


class Outcome(StrEnum):
    DONE = "done"
    NOT_DONE = "not-done"
    DECLINED = "declined"


@dataclass(frozen=True)
class InterventionTiming:
    kind: TimingKind
    interval: timedelta | None = None  # every, once
    times: tuple[time, ...] = ()  # at-times, on the ward clock

    def describe(self) -> str:
        if self.kind == TimingKind.EVERY and self.interval is not None:
            return f"every {_duration_words(self.interval)}"
        if self.kind == TimingKind.ONCE and self.interval is not None:
            if self.interval <= timedelta(hours=48):  # "within 24 hours", as nurses say it
                return f"once, within {int(self.interval.total_seconds() // 3600)} hours"
            return f"once, within {_duration_words(self.interval)}"
        if self.kind == TimingKind.AT_TIMES:
            return "daily at " + ", ".join(t.strftime("%H:%M") for t in self.times)
        if self.kind == TimingKind.PER_SHIFT:
            return "once each shift"
        return "as needed"


@dataclass(frozen=True)
class Documented:
    at: datetime  # when it was done (or found not possible, or declined)
    outcome: Outcome
    slot: datetime | None = None  # the due time it answers (per-shift: the shift's start)


@dataclass(frozen=True)
class Occurrence:
    due_at: datetime
    state: DueState  # OVERDUE, DUE or NOT_DUE
    overdue_by: timedelta | None
    slot: datetime  # what documenting this occurrence answers


@dataclass(frozen=True)
class Shift:
    name: str  # "day" or "night"
    start: datetime
    end: datetime


def shift_at(moment: datetime) -> Shift:
    """The shift a moment falls in (shift boundaries are ward-clock times)."""
    day = moment.astimezone(LONDON).date()
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    for shift in (
        Shift("night", _at(before, NIGHT_SHIFT_START), _at(day, DAY_SHIFT_START)),
        Shift("day", _at(day, DAY_SHIFT_START), _at(day, NIGHT_SHIFT_START)),
        Shift("night", _at(day, NIGHT_SHIFT_START), _at(after, DAY_SHIFT_START)),
    ):
        if shift.start <= moment < shift.end:
            return shift
    raise AssertionError("every moment falls in a shift")  # pragma: no cover


def due_occurrences(
    timing: InterventionTiming,
    *,
    started_at: datetime,
    documented: Sequence[Documented],
    now: datetime,
) -> list[Occurrence]:
    """The intervention's outstanding occurrences: every overdue one, then the next one due."""
    if timing.kind == TimingKind.AS_NEEDED:
        return []
    if timing.kind == TimingKind.EVERY:
        assert timing.interval is not None
        last = max((d.at for d in documented), default=None)
        due_at = started_at if last is None else add_interval(last, timing.interval)
        return [_occurrence(due_at, now, slot=due_at)]
    if timing.kind == TimingKind.ONCE:
        assert timing.interval is not None
        if any(d.outcome == Outcome.DONE for d in documented):
            return []
        due_at = add_interval(started_at, timing.interval)
        overdue = now > due_at
        return [
            Occurrence(
                due_at,
                DueState.OVERDUE if overdue else DueState.DUE,
                now - due_at if overdue else None,
                started_at,
            )
        ]
    answered = {d.slot for d in documented if d.slot is not None}
    if timing.kind == TimingKind.PER_SHIFT:
        return _per_shift(started_at, documented, answered, now)
    return _at_times(timing.times, started_at, answered, now)


def _per_shift(
    started_at: datetime, documented: Sequence[Documented], answered: set[datetime], now: datetime
) -> list[Occurrence]:
    found = []
    shift = shift_at(now)
    earliest = max(started_at, now - LOOKBACK)
    while shift.end > earliest:
        # An entry that names the occurrence it answers answers that one only (a late entry).
        done_in_shift = any(d.slot is None and shift.start <= d.at < shift.end for d in documented)
        if shift.start not in answered and not done_in_shift:
            overdue = now >= shift.end
            found.append(
                Occurrence(
                    shift.end,
                    DueState.OVERDUE if overdue else DueState.DUE,
                    now - shift.end if overdue else None,
                    shift.start,
                )
            )
        shift = shift_at(shift.start - timedelta(microseconds=1))
    return sorted(found, key=lambda o: o.due_at)


def _at_times(
    times: Sequence[time], started_at: datetime, answered: set[datetime], now: datetime
) -> list[Occurrence]:
    earliest = max(started_at, now - LOOKBACK)
    today = now.astimezone(LONDON).date()
    slots = sorted(
        _at(today + timedelta(days=offset), t) for offset in (-1, 0, 1, 2) for t in times
    )
    overdue = [s for s in slots if earliest <= s < now and s not in answered]
    upcoming = next((s for s in slots if s >= now and s not in answered), None)
    found = [_occurrence(s, now, slot=s) for s in overdue]
    if upcoming is not None:
        found.append(_occurrence(upcoming, now, slot=upcoming))
    return found


def _occurrence(due_at: datetime, now: datetime, *, slot: datetime) -> Occurrence:
    if now > due_at:
        return Occurrence(due_at, DueState.OVERDUE, now - due_at, slot)
    if now >= due_at - DUE_SOON:
        return Occurrence(due_at, DueState.DUE, None, slot)
    return Occurrence(due_at, DueState.NOT_DUE, None, slot)


@lru_cache(maxsize=4096)  # a ward's due list asks for the same shift boundaries hundreds of times
def _at(day: date, clock: time) -> datetime:
    """A ward-clock time on a day, as UTC. `fold=0` puts a time skipped in spring an hour later
    (PEP 495) and a repeated October time at its first (summer-time) occurrence."""
    return datetime.combine(day, clock, tzinfo=LONDON).astimezone(UTC)


def _duration_words(interval: timedelta) -> str:
    if interval.seconds == 0 and interval.days:
        days = interval.days
        if days % 7 == 0:
            weeks = days // 7
            return "week" if weeks == 1 else f"{weeks} weeks"
        return "day" if days == 1 else f"{days} days"
    minutes = int(interval.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"
