"""Writing WardCare's values into HL7 v2.5.1 fields: escaping, timestamps, coded elements, and the
segments every outbound message shares (MSH, PID, PV1).

Outbound messages are built as text, not through hl7apy's element tree: building them is on the
write path of a clinical change (the outbox row is written in the same transaction), and
hl7apy's per-element look-ups cost milliseconds. Tests parse every built message with hl7apy
and compare it with golden files, so correctness is proven without paying for it per message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from wardcare.config import Hl7Destination, Settings
from wardcare.domain import nhs_number
from wardcare.fhir import codes
from wardcare.fhir.dates import date_range, from_micros

MRN_SYSTEM = "http://wardcare.org/fhir/Id/mrn"
LOCATION_CODE = "http://wardcare.org/fhir/Id/location-code"
VERSION = "2.5.1"

# HL7 v2.5.1 chapter 2, 2.7 "Use of escape sequences in text fields": the delimiters (MSH-1 and
# MSH-2 `|^~\&`) inside data are written as escape sequences. The escape character itself goes
# first, so the backslashes of the other sequences are not escaped again.
_ESCAPES = (
    ("\\", "\\E\\"),
    ("|", "\\F\\"),
    ("^", "\\S\\"),
    ("&", "\\T\\"),
    ("~", "\\R\\"),
)
# HL7 table 0396 names of the code systems WardCare writes; anything else is a local code ("L").
_CODING_SYSTEMS = {codes.LOINC: "LN", codes.SNOMED: "SCT", codes.UCUM: "UCUM"}
_GENDER = {"female": "F", "male": "M", "other": "O", "unknown": "U"}  # HL7 table 0001


@dataclass(frozen=True)
class Header:
    """What MSH says about a message: who sends it to whom, when, and its control id."""

    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    control_id: str  # MSH-10: unique per message; MSA-2 of the ACK must echo it
    created: datetime  # MSH-7, timezone-aware
    timezone: str  # times are written as ward-local time with their UTC offset
    processing_id: str = "P"  # MSH-11: P production, T training, D debugging (table 0103)


def header_for(
    settings: Settings, destination: Hl7Destination, control_id: str, created: datetime
) -> Header:
    return Header(
        sending_application=settings.hl7_sending_application,
        sending_facility=settings.hl7_sending_facility,
        receiving_application=destination.receiving_application,
        receiving_facility=destination.receiving_facility,
        control_id=control_id,
        created=created,
        timezone=settings.local_timezone,
        processing_id=settings.hl7_processing_id,
    )


def escape(value: object) -> str:
    """Text as an HL7 field value: delimiters escaped; line breaks (not allowed inside a
    segment) become the `\\.br\\` formatting command (HL7 v2.5.1 chapter 2, 2.7)."""
    text = str(value)
    for raw, escaped in _ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    if "\r" in text or "\n" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\.br\\")
    return text


def timestamp(value: datetime | str | None, tz: str) -> str:
    """An HL7 DTM (YYYYMMDDHHMMSS+ZZZZ) in ward-local time with its offset (the DTM data type);
    a FHIR date without a time stays a date (YYYYMMDD)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        if len(value) <= 10:  # a date or partial date: HL7 keeps the precision
            return value.replace("-", "")
        moment = from_micros(date_range(value)[0])
    else:
        moment = value
    local = moment.astimezone(ZoneInfo(tz))
    return local.strftime("%Y%m%d%H%M%S%z")


def coding_system(system: str | None) -> str:
    return _CODING_SYSTEMS.get(system or "", "L")


def coded(coding: Mapping[str, Any] | None, text: str | None = None) -> str:
    """A CWE: identifier ^ text ^ name of coding system (HL7 table 0396)."""
    if not coding:
        return escape(text or "")
    display = coding.get("display") or text or ""
    return join_components(
        escape(coding.get("code", "")), escape(display), coding_system(coding.get("system"))
    )


def first_coding(concept: Mapping[str, Any] | None) -> dict[str, Any] | None:
    for coding in (concept or {}).get("coding", ()):
        if coding.get("code"):
            return dict(coding)
    return None


def join_components(*components: str) -> str:
    return "^".join(components).rstrip("^")


def segment(name: str, *fields: str) -> str:
    return "|".join((name, *fields)).rstrip("|")


def msh(header: Header, message_type: str) -> str:
    """MSH, original acknowledgement mode (MSH-15/16 empty), UTF-8 (MSH-18)."""
    event = message_type.replace("^", "_")
    return "|".join(
        (
            "MSH",
            "^~\\&",
            escape(header.sending_application),
            escape(header.sending_facility),
            escape(header.receiving_application),
            escape(header.receiving_facility),
            timestamp(header.created, header.timezone),
            "",
            f"{message_type}^{event}",
            escape(header.control_id),
            header.processing_id,
            VERSION,
            "",
            "",
            "",
            "",
            "",
            "UNICODE UTF-8",
        )
    )


def pid(patient: Mapping[str, Any]) -> str:
    """PID-3 repeats the NHS number (authority NHS, type NH) and the local MRN (type MR), as
    the patient administration system sends them (brief section 5)."""
    identifiers: list[str] = []
    for identifier in patient.get("identifier", ()):
        system, value = identifier.get("system"), identifier.get("value")
        if not value:
            continue
        if system == nhs_number.SYSTEM:
            identifiers.insert(0, f"{escape(value)}^^^NHS^NH")
        elif system == MRN_SYSTEM:
            identifiers.append(f"{escape(value)}^^^WARDCARE^MR")
    name: Mapping[str, Any] = next(iter(patient.get("name") or ()), {})
    given = list(name.get("given") or ())
    xpn = join_components(
        escape(name.get("family", "")),
        escape(given[0]) if given else "",
        escape(" ".join(given[1:])),
        "",
        escape(" ".join(name.get("prefix") or ())),
    )
    return segment(
        "PID",
        "1",
        "",
        "~".join(identifiers),
        "",
        xpn,
        "",
        timestamp(patient.get("birthDate"), "UTC"),
        _GENDER.get(patient.get("gender", ""), ""),
    )


def pv1(encounter: Mapping[str, Any] | None, bed_code: str | None, facility: str) -> str:
    """PV1-3 is ward^room/bay^bed^facility, from the bed's location code `WARD7/BAY2/BED5`;
    PV1-19 the visit number (the Encounter's first identifier)."""
    location = ""
    if bed_code:
        parts = [escape(p) for p in bed_code.split("/")[:3]]
        location = join_components(*parts, *([""] * (3 - len(parts))), escape(facility))
    patient_class = "I"  # inpatient: WardCare documents ward care
    visit = ""
    if encounter:
        visit = next(
            (escape(i["value"]) for i in encounter.get("identifier", ()) if i.get("value")), ""
        )
        klass = (encounter.get("class") or {}).get("code")
        patient_class = {"EMER": "E", "AMB": "O"}.get(klass or "", "I")
    fields = ["1", patient_class, location, *([""] * 15), visit]
    return segment("PV1", *fields)


def message(segments: Iterable[str]) -> str:
    """Segments end with a carriage return, as HL7 v2 encoding rules require."""
    return "\r".join(segments) + "\r"
