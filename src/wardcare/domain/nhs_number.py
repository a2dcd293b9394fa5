"""NHS number: the Modulus 11 check digit (NHS Data Dictionary, "NHS Number").

An NHS number is ten digits; the tenth is a check digit computed from the first nine with
weights 10..2. A remainder giving 11 means check digit 0; one giving 10 means the nine digits
can never form a valid number, so no NHS number is issued with them.
"""

from __future__ import annotations

SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when no valid NHS number can start with them."""
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError("an NHS number check digit needs exactly nine digits")
    total = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS, strict=True))
    digit = 11 - (total % 11)
    if digit == 11:
        return 0
    if digit == 10:
        return None
    return digit


def normalise(value: str) -> str:
    """Drop the spaces and hyphens people type (``943 476 5919``, ``943-476-5919``)."""
    return value.replace(" ", "").replace("-", "")


def is_valid(value: str) -> bool:
    """True for a ten-digit NHS number whose check digit is right (spaces allowed)."""
    digits = normalise(value)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    return check_digit(digits[:9]) == int(digits[9])


def why_invalid(value: str) -> str | None:
    """A plain-words reason the value is not an NHS number, or None when it is one."""
    digits = normalise(value)
    if not digits.isascii() or not digits.isdigit():
        return f"NHS number {value!r} must contain only digits"
    if len(digits) != 10:
        return f"NHS number {value!r} must have 10 digits, not {len(digits)}"
    expected = check_digit(digits[:9])
    if expected is None:
        return f"NHS number {value!r} cannot be valid: its first nine digits have no check digit"
    if expected != int(digits[9]):
        return f"NHS number {value!r} fails the Modulus 11 check (check digit should be {expected})"
    return None


def formatted(value: str) -> str:
    """The 3-3-4 form printed on NHS documents: ``943 476 5919``."""
    d = normalise(value)
    return f"{d[:3]} {d[3:6]} {d[6:]}" if len(d) == 10 else value
