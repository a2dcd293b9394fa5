from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wardcare.domain.local_time import (
    duration_words,
    printed_date,
    printed_moment,
    printed_time,
    shift_for,
)


def test_times_print_in_london_time_with_the_zone() -> None:
    summer = datetime(2026, 7, 1, 18, 42, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 18, 42, tzinfo=UTC)
    assert printed_time(summer) == "01 Jul 19:42"
    assert printed_time(winter) == "01 Dec 18:42"
    assert printed_moment(summer) == "Wed 01 Jul 2026 19:42 BST"
    assert printed_moment(winter) == "Tue 01 Dec 2026 18:42 GMT"
    assert printed_date(winter) == "01 Dec 2026"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        printed_time(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("utc", "shift"),
    [
        (datetime(2026, 12, 1, 6, 40, tzinfo=UTC), "Day 01 Dec (07:30-19:30)"),  # printed ahead
        (datetime(2026, 12, 1, 12, 0, tzinfo=UTC), "Day 01 Dec (07:30-19:30)"),
        (datetime(2026, 12, 1, 18, 45, tzinfo=UTC), "Night 01 Dec (19:30-07:30)"),
        (datetime(2026, 12, 2, 3, 0, tzinfo=UTC), "Night 01 Dec (19:30-07:30)"),
        (datetime(2026, 12, 2, 6, 29, tzinfo=UTC), "Night 01 Dec (19:30-07:30)"),
    ],
)
def test_shift_for_the_time_printed(utc: datetime, shift: str) -> None:
    assert shift_for(utc) == shift


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(minutes=45), "45 min"),
        (timedelta(hours=2, minutes=5), "2 h 05 min"),
        (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
        (timedelta(seconds=-5), "0 min"),
    ],
)
def test_duration_words(delta: timedelta, words: str) -> None:
    assert duration_words(delta) == words
