"""HL7 v2 data types WardCare turns into FHIR values: TS/DTM times, dates, numbers, and the
stable ids of resources that an HL7 message identifies.

HL7 TS (2.5.1 2.A.77) is YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]. A time with no offset
is local time at the sender (2.5.1 2.A.77: "the time zone of the sender"); WardCare reads it in
the configured ward time zone (Europe/London), because FHIR requires an offset on any dateTime
that has a time (FHIR R4 2.24.0.1 dateTime).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

_TS = re.compile(
    r"^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?"
    r"([+-]\d{4})?$"
)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# Namespace for the UUIDs of resources an HL7 message identifies (a visit, an OBX result):
# the same message, resent or corrected, names the same resource.
WARDCARE_HL7 = uuid.UUID("5d0c4a57-2b4f-4f7e-9a55-7e0d6f6c8a11")


class BadValue(ValueError):
    pass


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(WARDCARE_HL7, "|".join(parts)))


def fhir_datetime(value: str, local: tzinfo | str = "Europe/London") -> str | None:
    """An HL7 TS as a FHIR dateTime (None for an empty value); BadValue if it is not a TS."""
    value = value.strip()
    if not value:
        return None
    match = _TS.match(value)
    if not match:
        raise BadValue(f"{value!r} is not an HL7 date/time (YYYYMMDDHHMMSS[+ZZZZ])")
    y, mo, d, h, mi, s, frac, offset = match.groups()
    if mo is None:
        return y
    if d is None:
        return f"{y}-{mo}"
    if h is None:
        try:
            return datetime(int(y), int(mo), int(d)).date().isoformat()
        except ValueError as exc:
            raise BadValue(f"{value!r} is not a real date") from exc
    zone: tzinfo
    if offset:
        sign = 1 if offset[0] == "+" else -1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    else:
        zone = ZoneInfo(local) if isinstance(local, str) else local
    try:
        moment = datetime(
            int(y),
            int(mo),
            int(d),
            int(h),
            int(mi or 0),
            int(s or 0),
            int((frac or "0").ljust(6, "0")[:6]),
            tzinfo=zone,
        )
    except ValueError as exc:
        raise BadValue(f"{value!r} is not a real date and time") from exc
    spec = "microseconds" if frac else "seconds"
    return moment.isoformat(timespec=spec)


def fhir_date(value: str) -> str | None:
    """An HL7 DT/TS as a FHIR date (its date part)."""
    converted = fhir_datetime(value[:8]) if value.strip() else None
    return converted


# HL7 v2.5.1 2.A.47 NM: at most 16 characters, sign and decimal point included. Longer is a
# data type error (and an integer past 4300 digits would not even convert).
NM_MAX_LENGTH = 16


def decimal(value: str) -> int | float:
    """An HL7 NM as a JSON number (integers stay integers); BadValue if it is not a number."""
    text = value.strip()
    if len(text) > NM_MAX_LENGTH:
        shown = text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"
        raise BadValue(f"{shown!r} is longer than the {NM_MAX_LENGTH} characters of an HL7 NM")
    if not _NUMBER.match(text):
        raise BadValue(f"{value!r} is not a number")
    if "." in text:
        return float(text)
    return int(text)
