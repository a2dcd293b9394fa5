"""Rules for FHIR R4 primitive values (2.24.0.1) as fhir.resources' R4B models constrain them.

Used by fhir/structure_check.py: for a primitive element's declared type, `primitive_rule`
gives a check of one JSON value that answers "certainly valid" or "not sure" (never looser than
the model), and whether the model keeps that value as a str (what the required-binding walk
looks at). A type without an exact rule here gets None, and structure_check says "not sure".
"""

from __future__ import annotations

import calendar
import datetime
import decimal
import re
import typing
from collections.abc import Callable
from typing import Any

from annotated_types import Ge, Le, MaxLen, MinLen
from fhir_core import types as fhir_types
from pydantic import AnyUrl

Check = Callable[[Any], bool]


def never(_value: Any) -> bool:
    return False


# -- primitive types (FHIR R4 2.24.0.1) ----------------------------------------------------------
#
# fhir_core checks some primitives with pydantic `pattern`s, run by pydantic-core's Rust regex
# with search semantics and Unicode classes, and others with Python regexes of its own. A rule
# below is written for one exact fhir_core constraint and is compiled only if the model still
# declares that constraint. Python's \s is a superset of Rust's Unicode \s (it also counts
# U+001C..U+001F), so "not Python whitespace" implies "not Rust whitespace": the rules below
# use that direction only.

_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> bool:
    """A non-empty str pydantic-core can read: a lone surrogate is not valid UTF-8 (pydantic
    refuses it), and FHIR R4 JSON does not allow empty strings."""
    return (
        type(value) is str and value != "" and (value.isascii() or _SURROGATE.search(value) is None)
    )


def _string(value: Any) -> bool:
    # FHIR R4 2.24.0.1 string: fhir_core's pattern [ \r\n\t\S]+ needs one such character (a
    # search). Asking it of the first character also satisfies an anchored match.
    if not _text(value):
        return False
    first: str = value[0]
    return first in " \t\r\n" or not first.isspace()


_CODE = re.compile(r"\S+(?: \S+)*")


def _code(value: Any) -> bool:
    # FHIR R4 2.24.0.1 code: no leading or trailing whitespace and only single spaces inside
    # (fhir_core: ^[^\s]+(\s[^\s]+)*$). Tokens of non-whitespace joined by single spaces.
    return _text(value) and _CODE.fullmatch(value) is not None


_ID = re.compile(r"[A-Za-z0-9\-.]+")


def _id_rule(max_length: int) -> Check:
    # FHIR R4 2.24.0.1 id: [A-Za-z0-9\-\.]{1,64}; fhir_core's length limit is read from its
    # constraint (255 by default; WardCare refuses more than 64 before this check).
    def check(value: Any) -> bool:
        return type(value) is str and len(value) <= max_length and _ID.fullmatch(value) is not None

    return check


_OID = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")


def _oid(value: Any) -> bool:
    # FHIR R4 2.24.0.1 oid: urn:oid: and the dotted numbers.
    return type(value) is str and _OID.fullmatch(value) is not None


def _boolean(value: Any) -> bool:
    # FHIR R4 2.24.0.1 boolean: a JSON true or false (the model also takes "true" and 1).
    return type(value) is bool


def _integer_rule(low: int, high: int) -> Check:
    # FHIR R4 2.24.0.1 integer / unsignedInt / positiveInt: a JSON number without a fraction,
    # in the range fhir_core declares (Ge/Le). Not bool, which Python counts as an int.
    def check(value: Any) -> bool:
        return type(value) is int and low <= value <= high

    return check


def _decimal(value: Any) -> bool:
    # FHIR R4 2.24.0.1 decimal: a JSON number. fhir_core matches str(value) against its own
    # pattern (no NaN or Infinity) before it makes a Decimal of it. An int of thousands of
    # digits cannot even be made a str (Python's int_max_str_digits): kept to 64 bits here, as
    # JSON parsers keep it.
    if type(value) is int:
        return -(2**63) <= value < 2**64
    return type(value) is float and fhir_types.Decimal.pattern.fullmatch(str(value)) is not None


def _valid_day(value: str) -> bool:
    """The pattern allows 31 days in every month; pydantic then refuses 2026-02-30."""
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    return day <= calendar.monthrange(year, month)[1]


def _no_leap_second(value: str) -> bool:
    # A seconds field of 60 is valid FHIR but kept as a string by fhir_core after another
    # check: not modelled here.
    return fhir_types.FHIR_LEAP_SECOND.fullmatch(value) is None


def _date(value: Any) -> bool:
    # FHIR R4 2.24.0.1 date: YYYY, YYYY-MM or YYYY-MM-DD, a real day.
    return (
        type(value) is str
        and fhir_types.Date.pattern.fullmatch(value) is not None
        and (len(value) < 10 or _valid_day(value))
    )


def _date_time(value: Any) -> bool:
    # FHIR R4 2.24.0.1 dateTime: a date, or a date and time with seconds and a time zone; the
    # pattern also keeps hours below 24 and the offset within +/-14:00.
    return (
        type(value) is str
        and fhir_types.DateTime.pattern.fullmatch(value) is not None
        and (len(value) < 10 or _valid_day(value))
        and _no_leap_second(value)
    )


def _instant(value: Any) -> bool:
    # FHIR R4 2.24.0.1 instant: a dateTime to the second at least, always with a time zone.
    return (
        type(value) is str
        and fhir_types.Instant.pattern.fullmatch(value) is not None
        and _valid_day(value)
        and _no_leap_second(value)
    )


def _time(value: Any) -> bool:
    # FHIR R4 2.24.0.1 time: hh:mm:ss, no time zone.
    return (
        type(value) is str
        and fhir_types.Time.pattern.fullmatch(value) is not None
        and _no_leap_second(value)
    )


def _always(_value: Any) -> bool:
    return True


def _partial_date(value: Any) -> bool:
    # fhir_core keeps YYYY and YYYY-MM as strings; a full date becomes a date or datetime.
    return len(value) < 10


_PATTERN_RULES: dict[type[Any], tuple[str, Check]] = {
    # fhir_core type: (the pydantic pattern it declares, the rule written for that pattern)
    fhir_types.String: ("[ \r\n\t\\S]+", _string),
    fhir_types.Code: (r"^[^\s]+(\s[^\s]+)*$", _code),
    # uri and canonical: \S* (a search) matches any string; markdown: \s*(\S|\s)* likewise.
    fhir_types.Uri: (r"\S*", _text),
    fhir_types.Canonical: (r"\S*", _text),
    fhir_types.Markdown: (r"\s*(\S|\s)*", _text),
    fhir_types.Oid: (r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$", _oid),
}


# The types fhir_core checks with Python code and regexes of its own (used here as they are), with
# the Python type its model holds: (that type, the rule, whether the model keeps the JSON str).
_OWN_RULES: dict[type[Any], tuple[Any, Check, Check]] = {
    fhir_types.Decimal: (decimal.Decimal, _decimal, never),
    fhir_types.Date: (datetime.date, _date, _partial_date),
    fhir_types.DateTime: (datetime.datetime, _date_time, _partial_date),
    fhir_types.Instant: (datetime.datetime, _instant, never),
    fhir_types.Time: (datetime.time, _time, never),
    # url: fhir_core validates it as a plain str (a relative path is allowed too).
    fhir_types.Url: (typing.Union[AnyUrl, str], _text, _always),  # noqa: UP007 (as declared)
    # xhtml (Narrative.div): the model checks nothing beyond its being a str.
    fhir_types.Xhtml: (str, _text, _always),
}


def primitive_rule(annotation: Any) -> tuple[Check, Check] | None:
    """(the rule, whether the model keeps the value as a str) for a primitive type, or None if
    there is no rule for it (base64Binary, uuid, anything unexpected)."""
    if annotation is bool:
        return _boolean, never
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    base, *metadata = typing.get_args(annotation)
    if len(metadata) != 1:
        return None
    (kind,) = metadata
    constraint = type(kind)
    if constraint in _PATTERN_RULES and base is str:
        pattern, rule = _PATTERN_RULES[constraint]
        if _patterns(kind) == [pattern]:
            return rule, _always
        return None
    if constraint is fhir_types.Id and base is str:
        return _id(kind)
    if constraint in (fhir_types.Integer, fhir_types.UnsignedInt, fhir_types.PositiveInt):
        low = [m.ge for m in kind if isinstance(m, Ge)]
        high = [m.le for m in kind if isinstance(m, Le)]
        if base is int and len(low) == 1 and len(high) == 1:
            return _integer_rule(int(low[0]), int(high[0])), never  # type: ignore[call-overload]
        return None
    if constraint in _OWN_RULES:
        expected_base, rule, kept_as_string = _OWN_RULES[constraint]
        return (rule, kept_as_string) if base == expected_base else None
    return None


def _patterns(kind: Any) -> list[str | None]:
    return [getattr(m, "pattern", None) for m in kind]


def _id(kind: Any) -> tuple[Check, Check] | None:
    parts = list(kind)
    minimum = [m.min_length for m in parts if isinstance(m, MinLen)]
    maximum = [m.max_length for m in parts if isinstance(m, MaxLen)]
    patterns = [p for p in _patterns(parts) if p is not None]
    if minimum == [1] and len(maximum) == 1 and patterns == [r"^[A-Za-z0-9\-.]+$"]:
        return _id_rule(int(maximum[0])), _always
    return None
