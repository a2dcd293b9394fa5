"""Care-plan interventions due and overdue: every timing, across shift boundaries and both
Europe/London clock changes, with the clock given by the test."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from wardcare.domain.intervention_schedule import (
    Documented,
    InterventionTiming,
    Outcome,
    TimingKind,
    due_occurrences,
    shift_at,
)
from wardcare.domain.schedule import DueState

EVERY_2H = InterventionTiming(TimingKind.EVERY, interval=timedelta(hours=2))
WEEKLY = InterventionTiming(TimingKind.EVERY, interval=timedelta(days=7))
PER_SHIFT = InterventionTiming(TimingKind.PER_SHIFT)
MEALS = InterventionTiming(TimingKind.AT_TIMES, times=(time(8), time(12, 30), time(17, 30)))
NIGHTLY_0130 = InterventionTiming(TimingKind.AT_TIMES, times=(time(1, 30),))
ONCE_24H = InterventionTiming(TimingKind.ONCE, interval=timedelta(hours=24))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def done(at: datetime, slot: datetime | None = None) -> Documented:
    return Documented(at, Outcome.DONE, slot)


# -- every ---------------------------------------------------------------------------------


def test_never_documented_is_due_from_the_plans_start() -> None:
    (first,) = due_occurrences(
        EVERY_2H, started_at=utc(2026, 11, 24, 10), documented=[], now=utc(2026, 11, 24, 10)
    )
    assert (first.state, first.due_at) == (DueState.DUE, utc(2026, 11, 24, 10))


def test_every_2_hours_counts_from_the_last_documented_whatever_its_outcome() -> None:
    start = utc(2026, 11, 24, 6)
    history = [done(utc(2026, 11, 24, 8)), Documented(utc(2026, 11, 24, 9), Outcome.DECLINED)]
    (next_turn,) = due_occurrences(
        EVERY_2H, started_at=start, documented=history, now=utc(2026, 11, 24, 10)
    )
    assert next_turn.due_at == utc(2026, 11, 24, 11)
    assert next_turn.state == DueState.NOT_DUE
    (late,) = due_occurrences(
        EVERY_2H, started_at=start, documented=history, now=utc(2026, 11, 24, 11, 20)
    )
    assert (late.state, late.overdue_by) == (DueState.OVERDUE, timedelta(minutes=20))


def test_due_within_half_an_hour_is_due() -> None:
    (soon,) = due_occurrences(
        EVERY_2H,
        started_at=utc(2026, 11, 24, 6),
        documented=[done(utc(2026, 11, 24, 8))],
        now=utc(2026, 11, 24, 9, 30),
    )
    assert soon.state == DueState.DUE


def test_2_hourly_turns_are_elapsed_time_across_the_october_clock_change() -> None:
    # Turned at 00:30 BST on 25 Oct 2026 (23:30 UTC on the 24th): next turn 2 hours of real
    # time later, 01:30 UTC, which the ward clock shows as 01:30 GMT (only 1 hour "later").
    (turn,) = due_occurrences(
        EVERY_2H,
        started_at=utc(2026, 10, 24, 20),
        documented=[done(utc(2026, 10, 24, 23, 30))],
        now=utc(2026, 10, 25, 0, 0),
    )
    assert turn.due_at == utc(2026, 10, 25, 1, 30)


def test_2_hourly_turns_are_elapsed_time_across_the_march_clock_change() -> None:
    # Turned at 00:30 GMT on 29 Mar 2026: next at 02:30 UTC = 03:30 BST on the ward clock.
    (turn,) = due_occurrences(
        EVERY_2H,
        started_at=utc(2026, 3, 28, 20),
        documented=[done(utc(2026, 3, 29, 0, 30))],
        now=utc(2026, 3, 29, 1, 0),
    )
    assert turn.due_at == utc(2026, 3, 29, 2, 30)


def test_weekly_weighing_keeps_the_ward_clock_time_across_the_march_change() -> None:
    # Weighed 09:00 GMT Tue 24 Mar; due 09:00 BST Tue 31 Mar = 08:00 UTC.
    (weigh,) = due_occurrences(
        WEEKLY,
        started_at=utc(2026, 3, 20, 9),
        documented=[done(utc(2026, 3, 24, 9))],
        now=utc(2026, 3, 31, 8, 10),
    )
    assert weigh.due_at == utc(2026, 3, 31, 8)
    assert weigh.state == DueState.OVERDUE
    assert weigh.overdue_by == timedelta(minutes=10)


# -- per shift -----------------------------------------------------------------------------


def test_shifts_change_at_07_30_and_19_30_on_the_ward_clock() -> None:
    winter = shift_at(utc(2026, 11, 24, 7, 29))
    assert (winter.name, winter.end) == ("night", utc(2026, 11, 24, 7, 30))
    assert shift_at(utc(2026, 11, 24, 7, 30)).name == "day"
    summer = shift_at(utc(2026, 7, 1, 18, 29))  # 19:29 BST
    assert (summer.name, summer.end) == ("day", utc(2026, 7, 1, 18, 30))
    assert shift_at(utc(2026, 7, 1, 18, 30)).name == "night"


def test_the_night_shift_is_11_hours_in_march_and_13_in_october() -> None:
    spring = shift_at(utc(2026, 3, 29, 3))
    assert spring.end - spring.start == timedelta(hours=11)
    autumn = shift_at(utc(2026, 10, 25, 3))
    assert autumn.end - autumn.start == timedelta(hours=13)


def test_once_a_shift_is_due_by_the_shifts_end() -> None:
    (check,) = due_occurrences(
        PER_SHIFT, started_at=utc(2026, 11, 24, 9), documented=[], now=utc(2026, 11, 24, 10)
    )
    assert (check.state, check.due_at) == (DueState.DUE, utc(2026, 11, 24, 19, 30))


def test_a_shift_ended_undocumented_stays_overdue_into_the_next() -> None:
    found = due_occurrences(
        PER_SHIFT, started_at=utc(2026, 11, 24, 9), documented=[], now=utc(2026, 11, 24, 20)
    )
    assert [(o.state, o.due_at) for o in found] == [
        (DueState.OVERDUE, utc(2026, 11, 24, 19, 30)),
        (DueState.DUE, utc(2026, 11, 25, 7, 30)),
    ]
    assert found[0].overdue_by == timedelta(minutes=30)


def test_documenting_in_the_shift_answers_that_shift_only() -> None:
    found = due_occurrences(
        PER_SHIFT,
        started_at=utc(2026, 11, 24, 9),
        documented=[done(utc(2026, 11, 24, 19, 29))],  # one minute before handover
        now=utc(2026, 11, 24, 19, 31),
    )
    assert [o.due_at for o in found] == [utc(2026, 11, 25, 7, 30)]


def test_a_late_entry_answers_the_shift_it_names() -> None:
    found = due_occurrences(
        PER_SHIFT,
        started_at=utc(2026, 11, 24, 9),
        documented=[done(utc(2026, 11, 24, 20), slot=utc(2026, 11, 24, 7, 30))],
        now=utc(2026, 11, 24, 20, 5),
    )
    assert [o.state for o in found] == [DueState.DUE]  # the day shift is answered


# -- at times of day -----------------------------------------------------------------------


def test_missed_mealtimes_stay_overdue_and_the_next_is_listed() -> None:
    found = due_occurrences(
        MEALS,
        started_at=utc(2026, 11, 24, 7),
        documented=[done(utc(2026, 11, 24, 8, 5), slot=utc(2026, 11, 24, 8))],
        now=utc(2026, 11, 24, 13),
    )
    assert [(o.due_at, o.state) for o in found] == [
        (utc(2026, 11, 24, 12, 30), DueState.OVERDUE),
        (utc(2026, 11, 24, 17, 30), DueState.NOT_DUE),
    ]


def test_mealtimes_are_ward_clock_times_in_summer() -> None:
    found = due_occurrences(
        MEALS, started_at=utc(2026, 7, 1, 6), documented=[], now=utc(2026, 7, 1, 6, 45)
    )
    assert found[0].due_at == utc(2026, 7, 1, 7)  # 08:00 BST
    assert found[0].state == DueState.DUE


def test_a_time_skipped_by_the_march_change_falls_an_hour_later() -> None:
    # 01:30 does not exist on 29 Mar 2026 (01:00 GMT -> 02:00 BST): due at 02:30 BST.
    found = due_occurrences(
        NIGHTLY_0130, started_at=utc(2026, 3, 28, 12), documented=[], now=utc(2026, 3, 29, 0)
    )
    assert found[0].due_at == utc(2026, 3, 29, 1, 30)


def test_a_time_repeated_by_the_october_change_is_due_once_at_its_first() -> None:
    found = due_occurrences(
        NIGHTLY_0130, started_at=utc(2026, 10, 24, 12), documented=[], now=utc(2026, 10, 25, 1)
    )
    # 01:30 BST (00:30 UTC) is due, then 01:30 GMT the next night; never 01:30 GMT tonight.
    assert [o.due_at for o in found] == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


# -- once and as needed --------------------------------------------------------------------


def test_a_one_off_is_due_until_done_and_overdue_after_its_deadline() -> None:
    start = utc(2026, 11, 24, 10)
    (pending,) = due_occurrences(ONCE_24H, started_at=start, documented=[], now=start)
    assert (pending.state, pending.due_at) == (DueState.DUE, utc(2026, 11, 25, 10))
    not_done = [Documented(utc(2026, 11, 24, 12), Outcome.NOT_DONE)]
    (late,) = due_occurrences(
        ONCE_24H, started_at=start, documented=not_done, now=utc(2026, 11, 25, 11)
    )
    assert late.state == DueState.OVERDUE
    assert not due_occurrences(
        ONCE_24H, started_at=start, documented=[done(utc(2026, 11, 24, 12))], now=start
    )


def test_as_needed_is_never_due() -> None:
    timing = InterventionTiming(TimingKind.AS_NEEDED)
    assert not due_occurrences(
        timing, started_at=utc(2026, 11, 24), documented=[], now=utc(2026, 11, 30)
    )


def test_timings_read_as_a_nurse_would_say_them() -> None:
    assert EVERY_2H.describe() == "every 2 hours"
    assert WEEKLY.describe() == "every week"
    assert MEALS.describe() == "daily at 08:00, 12:30, 17:30"
    assert PER_SHIFT.describe() == "once each shift"
    assert ONCE_24H.describe() == "once, within 24 hours"
