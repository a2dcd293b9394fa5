"""Next due and overdue, across shifts and the Europe/London clock changes."""

from datetime import UTC, datetime, timedelta

from wardcare.domain.schedule import NEVER, DueRule, DueState, LastDone, add_interval, next_due

HOURLY_OBS = DueRule(on_admission=timedelta(hours=1), repeat=None)
WEEKLY = DueRule(on_admission=timedelta(hours=24), repeat=timedelta(days=7))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_never_done_is_due_after_admission_by_the_rule() -> None:
    due = next_due(WEEKLY, admitted_at=utc(2026, 11, 22, 8), last=None, now=utc(2026, 11, 23, 9))
    assert due.state == DueState.OVERDUE
    assert due.due_at == utc(2026, 11, 23, 8)
    assert due.overdue_by == timedelta(hours=1)


def test_the_last_result_sets_the_interval() -> None:
    last = LastDone(at=utc(2026, 11, 22, 10), recheck=timedelta(hours=4))
    assert (
        next_due(HOURLY_OBS, admitted_at=None, last=last, now=utc(2026, 11, 22, 13)).state
        == DueState.NOT_DUE
    )
    assert (
        next_due(HOURLY_OBS, admitted_at=None, last=last, now=utc(2026, 11, 22, 13, 45)).state
        == DueState.DUE
    )
    overdue = next_due(HOURLY_OBS, admitted_at=None, last=last, now=utc(2026, 11, 22, 14, 5))
    assert overdue.state == DueState.OVERDUE
    assert overdue.overdue_by == timedelta(minutes=5)


def test_continuous_monitoring_is_always_due() -> None:
    last = LastDone(at=utc(2026, 11, 22, 10), continuous=True)
    due = next_due(HOURLY_OBS, admitted_at=None, last=last, now=utc(2026, 11, 22, 10, 1))
    assert due.state == DueState.CONTINUOUS


def test_continuous_monitoring_is_overdue_when_no_new_result_within_its_limit() -> None:
    last = LastDone(
        at=utc(2026, 11, 22, 10), continuous=True, continuous_within=timedelta(minutes=30)
    )
    at_limit = next_due(HOURLY_OBS, admitted_at=None, last=last, now=utc(2026, 11, 22, 10, 30))
    assert (at_limit.state, at_limit.due_at) == (DueState.CONTINUOUS, utc(2026, 11, 22, 10, 30))
    late = next_due(HOURLY_OBS, admitted_at=None, last=last, now=utc(2026, 11, 22, 10, 42))
    assert (late.state, late.overdue_by) == (DueState.OVERDUE, timedelta(minutes=12))


def test_hourly_intervals_are_elapsed_time_across_the_october_clock_change() -> None:
    # 01:30 BST on 25 Oct 2026 is 00:30 UTC; 4 hours later is 04:30 UTC (04:30 GMT).
    start = utc(2026, 10, 25, 0, 30)
    assert add_interval(start, timedelta(hours=4)) == utc(2026, 10, 25, 4, 30)


def test_weekly_intervals_keep_the_wall_clock_time_across_the_march_clock_change() -> None:
    # 10:00 GMT on 22 Mar 2026 is 10:00 UTC; a week later 10:00 BST is 09:00 UTC.
    assert add_interval(utc(2026, 3, 22, 10), timedelta(days=7)) == utc(2026, 3, 29, 9)


def test_weekly_intervals_keep_the_wall_clock_time_across_the_october_clock_change() -> None:
    # 10:00 BST on 21 Oct 2026 is 09:00 UTC; a week later 10:00 GMT is 10:00 UTC.
    assert add_interval(utc(2026, 10, 21, 9), timedelta(days=7)) == utc(2026, 10, 28, 10)


def test_unscheduled_when_never_done_and_not_required_on_admission() -> None:
    rule = DueRule(on_admission=None, repeat=timedelta(days=7))
    assert (
        next_due(rule, admitted_at=utc(2026, 11, 1), last=None, now=utc(2026, 11, 23)).state
        == DueState.UNSCHEDULED
    )


def test_an_interval_past_the_end_of_the_calendar_is_never() -> None:
    # FHIR R4 allows a result dated 9999-12-31 (2.24.0.8); a week or an hour later is no date.
    end = utc(9999, 12, 31, 23)
    assert add_interval(end, timedelta(days=7)) == NEVER
    assert add_interval(end, timedelta(hours=4)) == NEVER
    assert add_interval(utc(9999, 12, 31), timedelta(hours=4)) == utc(9999, 12, 31, 4)


def test_whole_days_from_the_first_instant_of_the_calendar_are_elapsed_days() -> None:
    # 0001-01-01T00:00Z has no London wall time (local mean time, -0:01:15, is in the year 0).
    assert add_interval(utc(1, 1, 1), timedelta(days=7)) == utc(1, 1, 8)


def test_a_due_time_past_the_end_of_the_calendar_is_not_due_with_no_time() -> None:
    last = LastDone(at=utc(9999, 12, 31, 12), recheck=timedelta(hours=12))
    due = next_due(HOURLY_OBS, admitted_at=None, last=last, now=utc(2026, 11, 22, 12))
    assert due == next_due(WEEKLY, admitted_at=None, last=LastDone(last.at), now=last.at)
    assert due.state == DueState.NOT_DUE
    assert due.due_at is None
    assert due.overdue_by is None


def test_a_result_from_the_first_year_of_the_calendar_is_overdue() -> None:
    due = next_due(WEEKLY, admitted_at=None, last=LastDone(utc(1, 1, 1)), now=utc(2026, 11, 22))
    assert due.state == DueState.OVERDUE
    assert due.due_at == utc(1, 1, 8)
