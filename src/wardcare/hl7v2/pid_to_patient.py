"""PID -> FHIR Patient, and the identifiers WardCare matches patients on.

PID-3 repeats identifiers (CX): the NHS number has assigning authority NHS and/or type NH, the
local hospital number type MR (brief section 5). Patients are matched by NHS number, else by MRN
(issue 5); an NHS number that fails Modulus 11 is refused (AE), never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wardcare.domain import nhs_number
from wardcare.hl7v2.hl7_values import BadValue, fhir_date
from wardcare.hl7v2.message_parsing import Segment

MRN_SYSTEM = "http://wardcare.org/fhir/Id/mrn"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
_GENDER = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}


@dataclass(eq=False)
class MappingProblem(Exception):
    """Understood but not applicable: becomes AE with an ERR (table 0357 code, location)."""

    code: str
    text: str
    location: str


@dataclass(frozen=True)
class PatientKeys:
    nhs_number: str | None
    mrns: tuple[str, ...]

    @property
    def primary(self) -> str | None:
        """The key a patient's messages are ordered and logged by."""
        if self.nhs_number:
            return f"nhs:{self.nhs_number}"
        return f"mrn:{self.mrns[0]}" if self.mrns else None


def identifier_keys(segment: Segment, field: int, *, where: str, check: bool = True) -> PatientKeys:
    """NHS number and MRNs from a CX list (PID-3, MRG-1); Modulus 11 checked when `check`."""
    nhs, mrns = None, []
    for index in range(len(segment.repetitions(field))):
        value = segment.get(field, 1, repetition=index).strip()
        authority = segment.get(field, 4, repetition=index).upper()
        kind = segment.get(field, 5, repetition=index).upper()
        if not value:
            continue
        if kind == "NH" or authority in ("NHS", "NHSNBR"):
            digits = nhs_number.normalise(value)
            if check and not nhs_number.is_valid(digits):
                raise MappingProblem(
                    "102",
                    f"NHS number {value!r} fails the Modulus 11 check",
                    f"{where}^1^{field}",
                )
            nhs = digits
        elif kind in ("MR", "PI", "") and value:
            mrns.append(value)
    return PatientKeys(nhs, tuple(mrns))


def patient_keys(pid: Segment) -> PatientKeys:
    keys = identifier_keys(pid, 3, where="PID")
    if not keys.nhs_number and not keys.mrns:
        raise MappingProblem(
            "101", "PID-3 has no NHS number (NH) and no hospital number (MR)", "PID^1^3"
        )
    return keys


def patient_resource(
    pid: Segment, keys: PatientKeys, existing: dict[str, Any] | None
) -> dict[str, Any]:
    """The Patient as PID describes it; identifiers already on record are kept."""
    identifiers: list[dict[str, Any]] = []
    if keys.nhs_number:
        identifiers.append({"system": nhs_number.SYSTEM, "value": keys.nhs_number})
    for mrn in keys.mrns:
        identifiers.append(
            {
                "use": "usual",
                "type": {"coding": [{"system": V2_IDENTIFIER_TYPE, "code": "MR"}]},
                "system": MRN_SYSTEM,
                "value": mrn,
            }
        )
    seen = {(i["system"], i["value"]) for i in identifiers}
    for old in (existing or {}).get("identifier", ()):
        if (old.get("system"), old.get("value")) not in seen:
            identifiers.append(old)
    patient: dict[str, Any] = {"resourceType": "Patient", "identifier": identifiers}
    patient["active"] = (existing or {}).get("active", True)
    # HL7 v2.5.1 2.5.3: a field not present leaves what the receiver holds as it is (an A02's
    # PID often carries only identifiers and name); a field valued "" deletes it.
    given = _Given(pid, existing or {})
    given.element("name", 5, lambda: [n] if (n := _name(pid)) else None)
    given.element("birthDate", 7, lambda: _birth_date(pid))
    given.element("gender", 8, lambda: _GENDER.get(pid.get(8).upper()))
    given.element("address", 11, lambda: [a] if (a := _address(pid)) else None)
    given.element("deceasedBoolean", 30, lambda: {"Y": True, "N": False}.get(pid.get(30).upper()))
    telecom = [t for field, use in ((13, "home"), (14, "work")) for t in given.phones(field, use)]
    patient.update(given.values)
    if telecom:
        patient["telecom"] = telecom
    if patient.get("deceasedBoolean") is False:
        del patient["deceasedBoolean"]
    for kept in ("link",):
        if existing and kept in existing:
            patient[kept] = existing[kept]
    return patient


HL7_NULL = '""'


class _Given:
    """Demographic elements as PID gives them: mapped where a field is present, kept from the
    record where it is not (or gives nothing WardCare reads), left out where it is the HL7
    null."""

    def __init__(self, pid: Segment, existing: dict[str, Any]) -> None:
        self.pid, self.existing = pid, existing
        self.values: dict[str, Any] = {}

    def element(self, name: str, field: int, mapped: Callable[[], Any]) -> None:
        raw = self.pid.raw(field).strip()
        if raw == HL7_NULL:
            return
        # Sent but giving nothing WardCare maps (`^^^^`, an unknown code): kept as well.
        value = mapped() if raw else None
        if value is None:
            value = self.existing.get(name)
        if value is not None:
            self.values[name] = value

    def phones(self, field: int, use: str) -> list[dict[str, Any]]:
        raw = self.pid.raw(field).strip()
        if raw == HL7_NULL:
            return []
        value = self.pid.get(field).strip() if raw else ""
        if not value:
            return [t for t in self.existing.get("telecom", ()) if t.get("use") == use]
        return [{"system": "phone", "value": value, "use": use}]


def _birth_date(pid: Segment) -> str | None:
    try:
        return fhir_date(pid.get(7)) or None
    except BadValue as exc:
        raise MappingProblem("102", f"PID-7 birth date: {exc}", "PID^1^7") from exc


def _name(pid: Segment) -> dict[str, Any]:
    family = pid.get(5, 1)
    given = [g for g in (pid.get(5, 2), pid.get(5, 3)) if g]
    name: dict[str, Any] = {"use": "official"}
    if family:
        name["family"] = family
    if given:
        name["given"] = given
    if prefix := pid.get(5, 5):
        name["prefix"] = [prefix]
    return name if len(name) > 1 else {}


def _address(pid: Segment) -> dict[str, Any]:
    lines = [x for x in (pid.get(11, 1), pid.get(11, 2)) if x]
    address: dict[str, Any] = {"use": "home"}
    if lines:
        address["line"] = lines
    for component, element in ((3, "city"), (4, "district"), (5, "postalCode")):
        if value := pid.get(11, component):
            address[element] = value
    if country := pid.get(11, 6):
        address["country"] = "GB" if country.upper() in ("GBR", "UK") else country
    return address if len(address) > 1 else {}


class MappingProblems(Exception):
    """Every problem found in one message, so one AE lists them all."""

    def __init__(self, problems: list[MappingProblem]) -> None:
        super().__init__("; ".join(p.text for p in problems))
        self.problems = problems
