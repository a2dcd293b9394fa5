"""FHIR date values cover the whole of their precision (FHIR R4 2.24.0.8; search 3.1.1.5.9)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

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


def test_the_last_day_of_the_calendar_is_a_range_like_any_other() -> None:
    # FHIR R4 2.24.0.8 allows 9999-12-31; its end, 10000-01-01, is past Python's datetime.
    day = 86_400 * 1_000_000
    assert date_range("9999-12-31") == (_utc(9999, 12, 31), _utc(9999, 12, 31) + day - 1)
    assert date_range("9999") == (_utc(9999, 1, 1), _utc(9999, 12, 31) + day - 1)
    assert date_range("9999-12") == (_utc(9999, 12, 1), _utc(9999, 12, 31) + day - 1)


def test_offsets_at_the_ends_of_the_calendar_move_the_instant_past_them() -> None:
    hour = 3_600 * 1_000_000
    # 23:59:59 at -12:00 is 11:59:59 UTC the next day, the year 10000.
    low, high = date_range("9999-12-31T23:59:59-12:00")
    assert low == _utc(9999, 12, 31, 23, 59, 59) + 12 * hour
    assert high == low + 1_000_000 - 1
    # 00:00 at +14:00 is 10:00 UTC the day before 0001-01-01.
    assert date_range("0001-01-01T00:00:00+14:00")[0] == _utc(1, 1, 1) - 14 * hour


def test_year_0000_and_offsets_of_a_day_are_refused() -> None:
    for value in ("0000", "0000-01-01", "2026-11-22T10:00:00+24:00"):
        with pytest.raises(InvalidDate):
            date_range(value)


def test_instants_beyond_the_calendar_are_shown_as_its_nearest_day() -> None:
    # Kept a day inside each end, so the result converts to any time zone (the ward clock).
    after = from_micros(date_range("9999-12-31T23:59:59-12:00")[0])
    before = from_micros(date_range("0001-01-01T00:00:00+14:00")[0])
    assert after == datetime(9999, 12, 30, 23, 59, 59, 999_999, tzinfo=UTC)
    assert before == datetime(1, 1, 2, tzinfo=UTC)
    assert after.astimezone(ZoneInfo("Pacific/Kiritimati")).year == 9999
    assert before.astimezone(ZoneInfo("Europe/London")).year == 1
