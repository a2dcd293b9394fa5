"""Modulus 11 rules for NHS numbers (NHS Data Dictionary)."""

import pytest

from wardcare.domain import nhs_number


@pytest.mark.parametrize("value", ["9434765919", "943 476 5919", "943-476-5919", "4010232137"])
def test_valid_nhs_numbers_pass_modulus_11(value: str) -> None:
    assert nhs_number.is_valid(value)
    assert nhs_number.why_invalid(value) is None


def test_wrong_check_digit_fails_and_names_the_right_one() -> None:
    # 9434765910 is the sample ORU's invalid number: the check digit should be 9.
    assert not nhs_number.is_valid("9434765910")
    reason = nhs_number.why_invalid("9434765910")
    assert reason is not None
    assert "should be 9" in reason


@pytest.mark.parametrize("value", ["943476591", "94347659190", "94347659x9", "", "٩٤٣٤٧٦٥٩١٩"])
def test_malformed_nhs_numbers_fail(value: str) -> None:
    assert not nhs_number.is_valid(value)
    assert nhs_number.why_invalid(value)


def test_remainder_giving_eleven_means_check_digit_zero() -> None:
    first_nine = next(
        f"{n:09d}" for n in range(100000000, 100100000) if nhs_number.check_digit(f"{n:09d}") == 0
    )
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    assert total % 11 == 0
    assert nhs_number.is_valid(first_nine + "0")


def test_nine_digits_with_check_digit_ten_never_form_a_valid_number() -> None:
    first_nine = next(
        f"{n:09d}"
        for n in range(100000000, 100100000)
        if nhs_number.check_digit(f"{n:09d}") is None
    )
    assert not any(nhs_number.is_valid(first_nine + str(d)) for d in range(10))


def test_formatted_is_3_3_4() -> None:
    assert nhs_number.formatted("9434765919") == "943 476 5919"
