from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from wardcare.domain.ward_stay import (
    age_from_birth_date,
    age_in_years,
    days_since_admission,
    describe_stay,
)


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(1940, 3, 15), date(2026, 3, 14), 85),
        (date(1940, 3, 15), date(2026, 3, 15), 86),
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(2026, 1, 1), date(2026, 1, 1), 0),
    ],
)
def test_age_is_completed_years(born: date, on: date, age: int) -> None:
    assert age_in_years(born, on) == age


def test_age_refuses_a_birth_after_the_date() -> None:
    with pytest.raises(ValueError, match="after"):
        age_in_years(date(2027, 1, 1), date(2026, 1, 1))


def test_days_since_admission_counts_london_calendar_days() -> None:
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: admitted on 1 July, London time.
    admitted = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert days_since_admission(admitted, datetime(2026, 7, 1, 22, 0, tzinfo=UTC)) == 0
    assert days_since_admission(admitted, datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == 1
    assert days_since_admission(admitted, datetime(2026, 7, 11, 12, 0, tzinfo=UTC)) == 10


def test_days_since_admission_at_the_ends_of_the_calendar() -> None:
    # FHIR R4 dates run from 0001-01-01 to 9999-12-31 (2.24.0.8); London's wall clock at
    # 0001-01-01T00:00Z (local mean time, -0:01:15) would be in the year 0.
    first = datetime(1, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert days_since_admission(first, datetime(1, 1, 2, 12, tzinfo=UTC)) == 1
    assert days_since_admission(first, last) == (last.date() - first.date()).days
    assert days_since_admission(last, datetime(2026, 11, 22, tzinfo=UTC)) < 0


def test_days_since_admission_needs_aware_times() -> None:
    with pytest.raises(ValueError, match="aware"):
        days_since_admission(datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC))


@pytest.mark.parametrize(
    ("days", "words"),
    [(0, "admitted today"), (1, "1 day since admission"), (12, "12 days since admission")],
)
def test_describe_stay(days: int, words: str) -> None:
    assert describe_stay(days) == words


@pytest.mark.parametrize(
    ("birth_date", "expected"),
    [
        ("1950-06-15", 76),  # birthday passed this year
        ("1950-12-02", 76),  # birthday today
        ("1950-12-03", 75),  # birthday tomorrow
        ("1950", None),  # a year alone gives no exact age
        ("1950-06", None),
        ("2027-01-01", None),  # after today: never a negative age
        ("1950-13-01", None),
        (None, None),
    ],
)
def test_age_from_a_fhir_birth_date(birth_date: object, expected: int | None) -> None:
    assert age_from_birth_date(birth_date, date(2026, 12, 2)) == expected
