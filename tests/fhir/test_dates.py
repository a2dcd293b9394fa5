"""FHIR date values cover the whole of their precision (FHIR R4 2.24.0.8; search 3.1.1.5.9)."""

from datetime import UTC, datetime

import pytest

from wardcare.fhir.dates import InvalidDate, date_range, from_micros, instant, to_micros


def _utc(*parts: int) -> int:
    return to_micros(datetime(*parts, tzinfo=UTC))  # type: ignore[misc]


def test_a_year_covers_the_whole_year() -> None:
    assert date_range("2026") == (_utc(2026, 1, 1), _utc(2027, 1, 1) - 1)


def test_a_month_covers_the_whole_month_including_december() -> None:
    assert date_range("2026-02") == (_utc(2026, 2, 1), _utc(2026, 3, 1) - 1)
    assert date_range("2026-12") == (_utc(2026, 12, 1), _utc(2027, 1, 1) - 1)


def test_a_day_covers_the_whole_day() -> None:
    assert date_range("2026-11-22") == (_utc(2026, 11, 22), _utc(2026, 11, 23) - 1)


def test_a_datetime_to_the_second_covers_that_second() -> None:
    assert date_range("2026-11-22T10:10:00Z") == (
        _utc(2026, 11, 22, 10, 10, 0),
        _utc(2026, 11, 22, 10, 10, 1) - 1,
    )


def test_a_time_zone_offset_is_applied() -> None:
    # 11:10 in British Summer Time is 10:10 UTC.
    assert date_range("2026-07-01T11:10:00+01:00")[0] == _utc(2026, 7, 1, 10, 10, 0)


def test_fractional_seconds_narrow_the_range() -> None:
    low, high = date_range("2026-11-22T10:10:00.25Z")
    assert high - low == 10_000 - 1


@pytest.mark.parametrize(
    "value", ["2026-13", "2026-02-30", "22/11/2026", "2026-11-22T25:00:00Z", ""]
)
def test_impossible_dates_are_refused(value: str) -> None:
    with pytest.raises(InvalidDate):
        date_range(value)


def test_instants_round_trip_through_microseconds() -> None:
    moment = datetime(2026, 11, 23, 7, 30, 0, 123456, tzinfo=UTC)
    assert from_micros(to_micros(moment)) == moment
    assert instant(moment) == "2026-11-23T07:30:00.123456Z"
