"""A synthetic hospital as FHIR R4 JSON dicts: site, wards, bays, beds, nurses and inpatients.

Pure builders (no database, no HTTP, no FHIR model classes): a loader stores what these return.
The same ``HospitalSpec.seed`` and ``now`` give the same hospital, ids included (with the same
Faker version: its name and address lists are part of the output).

Each admitted patient has a Patient (UK name, NHS number with a valid Modulus 11 check digit,
local MRN, address, phone), an in-progress inpatient Encounter in a ward and bed, Conditions
(the admitting problem and some long-term ones), AllergyIntolerances (or none recorded yet) and
vital-sign Observations for the last ``days_of_obs`` days. Most patients are stable (every set
NEWS2 0-2); 3-5 per ward deteriorate over the last day to NEWS2 5 or more; 1-2 per ward have an
incomplete latest set.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from faker import Faker

from wardcare.demo.vital_signs_series import (
    OMITTABLE_PARAMETERS,
    SNOMED,
    FhirResource,
    VitalsReading,
    deteriorating_reading,
    fhir_datetime,
    new_id,
    observation_times,
    plan_deterioration,
    stable_baseline,
    stable_reading,
    vital_signs_set,
)
from wardcare.domain import nhs_number
from wardcare.domain.bed_order import bed_order_key as location_bed_order

__all__ = [
    "DEFAULT_SPEC",
    "DEFAULT_WARDS",
    "AdmittedPatient",
    "FhirResource",
    "HospitalSpec",
    "SyntheticHospital",
    "WardSpec",
    "bed_order_key",
    "beds_in_bed_order",
    "build_hospital",
    "make_nhs_number",
    "make_patient",
    "references_in",
    "vital_signs_set",
    "ward_code_of",
]

LOCATION_CODE_SYSTEM = "http://wardcare.org/fhir/Id/location-code"
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
STAFF_NUMBER_SYSTEM = "http://wardcare.org/fhir/Id/staff-number"
MRN_SYSTEM = "http://wardcare.org/fhir/Id/mrn"
VISIT_NUMBER_SYSTEM = "http://wardcare.org/fhir/Id/visit-number"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"

_PHYSICAL_TYPE_DISPLAY = {"si": "Site", "wa": "Ward", "ro": "Room", "bd": "Bed"}

# SNOMED CT (code, display, plain text). Admitting problems, weighted towards what fills
# medical and elderly-care wards.
_ADMITTING_PROBLEMS: tuple[tuple[str, str, str, int], ...] = (
    ("233604007", "Pneumonia", "Pneumonia", 6),
    ("68566005", "Urinary tract infectious disease", "Urinary tract infection", 5),
    ("195951007", "Acute exacerbation of chronic obstructive airways disease",
     "Infective exacerbation of COPD", 4),
    ("84114007", "Heart failure", "Heart failure", 4),
    ("128045006", "Cellulitis", "Cellulitis", 3),
    ("14669001", "Acute renal failure syndrome", "Acute kidney injury", 3),
    ("1912002", "Fall", "Fall", 4),
    ("5913000", "Fracture of neck of femur", "Fractured neck of femur", 2),
    ("91302008", "Sepsis", "Sepsis", 2),
    ("2776000", "Delirium", "Delirium", 2),
    ("230690007", "Cerebrovascular accident", "Stroke", 2),
    ("271594007", "Syncope", "Syncope", 2),
)  # fmt: skip

_LONG_TERM_CONDITIONS: tuple[tuple[str, str, str], ...] = (
    ("38341003", "Hypertensive disorder, systemic arterial", "Hypertension"),
    ("44054006", "Diabetes mellitus type 2", "Type 2 diabetes"),
    ("49436004", "Atrial fibrillation", "Atrial fibrillation"),
    ("13645005", "Chronic obstructive lung disease", "COPD"),
    ("52448006", "Dementia", "Dementia"),
    ("709044004", "Chronic kidney disease", "Chronic kidney disease"),
    ("396275006", "Osteoarthritis", "Osteoarthritis"),
    ("64859006", "Osteoporosis", "Osteoporosis"),
    ("195967001", "Asthma", "Asthma"),
)

# (substance code, display, category, criticality, reaction code, reaction display, text)
_ALLERGIES: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("764146007", "Penicillin", "medication", "high", "271807003", "Eruption of skin", "Rash"),
    ("764146007", "Penicillin", "medication", "high", "39579001", "Anaphylaxis", "Anaphylaxis"),
    ("111088007", "Latex", "environment", "low", "126485001", "Urticaria", "Urticaria"),
    ("387494007", "Codeine", "medication", "low", "422587007", "Nausea", "Nausea"),
    ("387458008", "Aspirin", "medication", "low", "126485001", "Urticaria", "Urticaria"),
)
NO_KNOWN_DRUG_ALLERGY = ("409137002", "No known drug allergy")


@dataclass(frozen=True)
class WardSpec:
    """One ward: ``code`` is its location code (``WARD7``), beds are numbered bay by bay."""

    code: str
    name: str
    bays: int = 4
    beds_per_bay: int = 6
    side_rooms: int = 4

    @property
    def bed_count(self) -> int:
        return self.bays * self.beds_per_bay + self.side_rooms


DEFAULT_WARDS: tuple[WardSpec, ...] = (
    WardSpec(code="WARD7", name="Ward 7 (Acute Medicine)"),
    WardSpec(code="WARD9", name="Ward 9 (Care of the Elderly)"),
)


@dataclass(frozen=True)
class HospitalSpec:
    """What to build: wards, the share of beds occupied, days of obs history and the seed."""

    wards: tuple[WardSpec, ...] = DEFAULT_WARDS
    occupancy: float = 0.9
    days_of_obs: int = 3
    seed: int = 7
    site_code: str = "LGI"
    site_name: str = "Leeds General Infirmary"
    nurses_per_ward: int = 5


DEFAULT_SPEC = HospitalSpec()


@dataclass
class AdmittedPatient:
    """An inpatient and everything recorded about them; ``bed`` is the bed Location dict."""

    patient: FhirResource
    encounter: FhirResource
    bed: FhirResource
    observations: list[FhirResource]
    allergies: list[FhirResource]
    conditions: list[FhirResource]
    deteriorating: bool
    incomplete_latest_set: bool = False

    def resources(self) -> list[FhirResource]:
        """This patient's resources, each after the ones it refers to (patient first)."""
        return [
            self.patient,
            self.encounter,
            *self.conditions,
            *self.allergies,
            *self.observations,
        ]


@dataclass
class SyntheticHospital:
    site: FhirResource
    wards: list[FhirResource]
    rooms: list[FhirResource]
    beds: list[FhirResource]
    practitioners: list[FhirResource]
    admitted: list[AdmittedPatient] = field(default_factory=list)

    def locations(self) -> list[FhirResource]:
        """Every Location, parents before children (site, wards, rooms, beds)."""
        return [self.site, *self.wards, *self.rooms, *self.beds]

    def resources(self) -> list[FhirResource]:
        """Every resource, each after those it refers to: safe to store in this order."""
        result = [*self.locations(), *self.practitioners]
        for admission in self.admitted:
            result.extend(admission.resources())
        return result

    def resource_count(self) -> int:
        return (
            len(self.locations())
            + len(self.practitioners)
            + sum(len(admission.resources()) for admission in self.admitted)
        )


# --- Locations -------------------------------------------------------------------------------


def _location_code(location: FhirResource) -> str:
    return str(location["identifier"][0]["value"])


def _ref(resource: FhirResource) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def _location(
    rng: random.Random,
    *,
    code: str,
    name: str,
    physical_type: str,
    part_of: FhirResource | None,
) -> FhirResource:
    location: FhirResource = {
        "resourceType": "Location",
        "id": new_id(rng),
        "identifier": [{"system": LOCATION_CODE_SYSTEM, "value": code}],
        "status": "active",
        "name": name,
        "mode": "instance",
        "physicalType": {
            "coding": [
                {
                    "system": LOCATION_PHYSICAL_TYPE,
                    "code": physical_type,
                    "display": _PHYSICAL_TYPE_DISPLAY[physical_type],
                }
            ]
        },
    }
    if part_of is not None:
        location["partOf"] = {"reference": _ref(part_of), "display": part_of["name"]}
    return location


def bed_order_key(bed: FhirResource) -> tuple[tuple[str | int, ...], ...]:
    """Sort key giving the natural bed order (bays 1..n bed by bed, then side rooms)."""
    return location_bed_order(_location_code(bed))


def beds_in_bed_order(hospital: SyntheticHospital, ward_code: str) -> list[FhirResource]:
    """The beds of one ward (by its location code, e.g. ``WARD7``) in handover order."""
    ward = next((w for w in hospital.wards if _location_code(w) == ward_code), None)
    if ward is None:
        raise KeyError(f"no ward with location code {ward_code!r}")
    ward_ref = _ref(ward)
    room_refs = {_ref(r) for r in hospital.rooms if r["partOf"]["reference"] == ward_ref}
    beds = [b for b in hospital.beds if b["partOf"]["reference"] in room_refs]
    return sorted(beds, key=bed_order_key)


def _build_ward(
    rng: random.Random, site: FhirResource, spec: WardSpec
) -> tuple[FhirResource, list[FhirResource], list[FhirResource]]:
    ward = _location(rng, code=spec.code, name=spec.name, physical_type="wa", part_of=site)
    rooms: list[FhirResource] = []
    beds: list[FhirResource] = []
    for bay in range(1, spec.bays + 1):
        room = _location(
            rng, code=f"{spec.code}/BAY{bay}", name=f"Bay {bay}", physical_type="ro", part_of=ward
        )
        rooms.append(room)
        for number in range(1, spec.beds_per_bay + 1):
            beds.append(
                _location(
                    rng,
                    code=f"{spec.code}/BAY{bay}/BED{number}",
                    name=f"Bay {bay} Bed {number}",
                    physical_type="bd",
                    part_of=room,
                )
            )
    for side_room in range(1, spec.side_rooms + 1):
        room = _location(
            rng,
            code=f"{spec.code}/SR{side_room}",
            name=f"Side room {side_room}",
            physical_type="ro",
            part_of=ward,
        )
        rooms.append(room)
        beds.append(
            _location(
                rng,
                code=f"{spec.code}/SR{side_room}/BED1",
                name=f"Side room {side_room}",
                physical_type="bd",
                part_of=room,
            )
        )
    return ward, rooms, beds


# --- People ----------------------------------------------------------------------------------


def make_nhs_number(rng: random.Random) -> str:
    """A random ten-digit NHS number with a valid Modulus 11 check digit (no leading 0)."""
    while True:
        first_nine = f"{rng.randint(100_000_000, 999_999_999)}"
        digit = nhs_number.check_digit(first_nine)
        if digit is not None:
            return f"{first_nine}{digit}"


def _birth_date(rng: random.Random, today: date, age: int) -> date:
    """A birth date giving exactly ``age`` completed years on ``today``."""
    year = today.year - age
    last_possible = (
        today.replace(year=year, day=28)
        if (today.month, today.day) == (2, 29)
        else today.replace(year=year)
    )
    return last_possible - timedelta(days=rng.randint(0, 364))


def _age(rng: random.Random) -> int:
    """Adult inpatient ages, 18-98, skewed towards the elderly (median about 70)."""
    return max(18, min(98, round(rng.triangular(18, 98, 85))))


def make_patient(fake: Faker, rng: random.Random, *, today: date | None = None) -> FhirResource:
    """A synthetic adult Patient: UK name, sex-consistent name and title, birth date, NHS number
    and MRN, UK address and phone. ``today`` anchors the age (default: the real date, so pass it
    for output that stays the same from day to day)."""
    today = today if today is not None else datetime.now(UTC).date()
    female = rng.random() < 0.55
    age = _age(rng)
    if female:
        given = [fake.first_name_female()]
        if rng.random() < 0.4:
            given.append(fake.first_name_female())
        prefix = rng.choices(["Mrs", "Ms", "Miss"], weights=[6, 2, 1] if age > 30 else [1, 3, 2])
    else:
        given = [fake.first_name_male()]
        if rng.random() < 0.4:
            given.append(fake.first_name_male())
        prefix = ["Mr"]
    telecom: list[FhirResource] = [
        {"system": "phone", "value": fake.phone_number(), "use": "home"},
    ]
    if rng.random() < 0.6:
        telecom.append({"system": "phone", "value": fake.cellphone_number(), "use": "mobile"})
    return {
        "resourceType": "Patient",
        "id": new_id(rng),
        "identifier": [
            {"system": nhs_number.SYSTEM, "value": make_nhs_number(rng)},
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": V2_IDENTIFIER_TYPE,
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ]
                },
                "system": MRN_SYSTEM,
                "value": f"RR{rng.randint(0, 999_999):06d}",
            },
        ],
        "active": True,
        "name": [{"use": "official", "family": fake.last_name(), "given": given, "prefix": prefix}],
        "telecom": telecom,
        "gender": "female" if female else "male",
        "birthDate": _birth_date(rng, today, age).isoformat(),
        "address": [
            {
                "use": "home",
                "line": fake.street_address().split("\n"),
                "city": fake.city(),
                "postalCode": fake.postcode(),
                "country": "GB",
            }
        ],
    }


def _make_nurse(fake: Faker, rng: random.Random, staff_number: str) -> FhirResource:
    female = rng.random() < 0.8
    first = fake.first_name_female() if female else fake.first_name_male()
    return {
        "resourceType": "Practitioner",
        "id": new_id(rng),
        "identifier": [{"system": STAFF_NUMBER_SYSTEM, "value": staff_number}],
        "active": True,
        "name": [{"use": "official", "family": fake.last_name(), "given": [first]}],
        "gender": "female" if female else "male",
        "qualification": [{"code": {"text": "RN"}}],
    }


def _identifier_value(resource: FhirResource, system: str) -> str:
    return next(str(i["value"]) for i in resource["identifier"] if i["system"] == system)


# --- Clinical record -------------------------------------------------------------------------


def _snomed(code: str, display: str, text: str) -> FhirResource:
    return {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": text}


def _status(system: str, code: str) -> FhirResource:
    return {"coding": [{"system": system, "code": code}]}


def _condition(
    rng: random.Random,
    *,
    patient_ref: str,
    encounter_ref: str | None,
    code: FhirResource,
    category: str,
    recorded: datetime,
) -> FhirResource:
    condition: FhirResource = {
        "resourceType": "Condition",
        "id": new_id(rng),
        "clinicalStatus": _status(CONDITION_CLINICAL, "active"),
        "verificationStatus": _status(CONDITION_VERIFICATION, "confirmed"),
        "category": [_status(CONDITION_CATEGORY, category)],
        "code": code,
        "subject": {"reference": patient_ref},
        "recordedDate": fhir_datetime(recorded),
    }
    if encounter_ref is not None:
        condition["encounter"] = {"reference": encounter_ref}
        condition["onsetDateTime"] = fhir_datetime(recorded)
    return condition


def _allergies(
    rng: random.Random, *, patient_ref: str, recorder_ref: str, recorded: datetime
) -> list[FhirResource]:
    """NKDA for most, one or two allergies for some, nothing recorded yet for a few."""
    roll = rng.random()
    if roll < 0.08:
        return []

    def base(code: tuple[str, str]) -> FhirResource:
        return {
            "resourceType": "AllergyIntolerance",
            "id": new_id(rng),
            "clinicalStatus": _status(ALLERGY_CLINICAL, "active"),
            "verificationStatus": _status(ALLERGY_VERIFICATION, "confirmed"),
            "code": _snomed(code[0], code[1], code[1]),
            "patient": {"reference": patient_ref},
            "recordedDate": fhir_datetime(recorded),
            "recorder": {"reference": recorder_ref},
        }

    if roll < 0.7:
        return [base(NO_KNOWN_DRUG_ALLERGY)]
    chosen = rng.sample(_ALLERGIES, k=1 if rng.random() < 0.8 else 2)
    if len({c[0] for c in chosen}) < len(chosen):
        chosen = chosen[:1]
    result = []
    for substance, display, category, criticality, reaction, reaction_display, text in chosen:
        allergy = base((substance, display))
        allergy.update(
            type="allergy",
            category=[category],
            criticality=criticality,
            reaction=[{"manifestation": [_snomed(reaction, reaction_display, text)]}],
        )
        result.append(allergy)
    return result


def _floor_minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


class _ShiftRota:
    """Which ward nurse took a patient's obs: one nurse per patient per 12-hour shift."""

    def __init__(self, nurses: list[FhirResource], rng: random.Random) -> None:
        self._nurses = nurses
        self._rng = rng
        self._by_shift: dict[int, FhirResource] = {}

    def nurse_at(self, when: datetime) -> FhirResource:
        # Shifts change at 07:30 and 19:30 (taken as UTC: good enough for synthetic data).
        shift = int((when - datetime(2000, 1, 1, 7, 30, tzinfo=UTC)) // timedelta(hours=12))
        if shift not in self._by_shift:
            self._by_shift[shift] = self._rng.choice(self._nurses)
        return self._by_shift[shift]


def _readings(
    rng: random.Random,
    *,
    admitted_at: datetime,
    now: datetime,
    days_of_obs: int,
    deteriorating: bool,
) -> list[VitalsReading]:
    start = max(now - timedelta(days=days_of_obs), admitted_at + timedelta(minutes=15))
    base = stable_baseline(rng)
    if not deteriorating:
        times = observation_times(start=start, now=now, rng=rng)
        return [stable_reading(base, when, rng) for when in times]
    onset = max(now - timedelta(hours=rng.uniform(12, 24)), admitted_at + timedelta(hours=2))
    plan = plan_deterioration(base, rng, onset=onset, peak_at=now - timedelta(minutes=90))
    times = observation_times(start=start, now=now, rng=rng, hourly_from=onset)
    return [deteriorating_reading(base, plan, when, rng) for when in times]


def _admit(
    rng: random.Random,
    fake: Faker,
    *,
    now: datetime,
    spec: HospitalSpec,
    ward: FhirResource,
    bed: FhirResource,
    nurses: list[FhirResource],
    visit_number: str,
    deteriorating: bool,
    incomplete_latest: bool,
    taken_identifiers: set[str],
) -> AdmittedPatient:
    while True:
        patient = make_patient(fake, rng, today=now.date())
        ids = {f"{i['system']}|{i['value']}" for i in patient["identifier"]}
        if not ids & taken_identifiers:
            taken_identifiers.update(ids)
            break
    patient_ref = _ref(patient)
    admitted_at = _floor_minute(now - timedelta(minutes=rng.randint(24 * 60, 10 * 24 * 60)))
    code, display, text, _weight = rng.choices(
        _ADMITTING_PROBLEMS, weights=[p[3] for p in _ADMITTING_PROBLEMS]
    )[0]
    reason = _snomed(code, display, text)
    since = {"start": fhir_datetime(admitted_at)}
    encounter: FhirResource = {
        "resourceType": "Encounter",
        "id": new_id(rng),
        "identifier": [{"system": VISIT_NUMBER_SYSTEM, "value": visit_number}],
        "status": "in-progress",
        "class": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "subject": {"reference": patient_ref},
        "period": dict(since),
        "reasonCode": [reason],
        "location": [
            {"location": {"reference": _ref(ward)}, "status": "active", "period": dict(since)},
            {"location": {"reference": _ref(bed)}, "status": "active", "period": dict(since)},
        ],
    }
    encounter_ref = _ref(encounter)
    rota = _ShiftRota(nurses, rng)
    admitting_nurse_ref = _ref(rota.nurse_at(admitted_at))

    conditions = [
        _condition(
            rng,
            patient_ref=patient_ref,
            encounter_ref=encounter_ref,
            code=reason,
            category="encounter-diagnosis",
            recorded=admitted_at,
        )
    ]
    for code, display, text in rng.sample(_LONG_TERM_CONDITIONS, k=rng.choice((0, 1, 1, 2, 2, 3))):
        conditions.append(
            _condition(
                rng,
                patient_ref=patient_ref,
                encounter_ref=None,
                code=_snomed(code, display, text),
                category="problem-list-item",
                recorded=admitted_at,
            )
        )
    allergies = _allergies(
        rng, patient_ref=patient_ref, recorder_ref=admitting_nurse_ref, recorded=admitted_at
    )

    readings = _readings(
        rng,
        admitted_at=admitted_at,
        now=now,
        days_of_obs=spec.days_of_obs,
        deteriorating=deteriorating,
    )
    if incomplete_latest and readings:
        missing = rng.sample([p for p in OMITTABLE_PARAMETERS if p != "rr"], k=rng.randint(1, 2))
        readings[-1] = readings[-1].without(*missing)
    observations: list[FhirResource] = []
    for reading in readings:
        observations.extend(
            vital_signs_set(
                patient_ref=patient_ref,
                encounter_ref=encounter_ref,
                performer_ref=_ref(rota.nurse_at(reading.when)),
                when=reading.when,
                rr=reading.rr,
                spo2=reading.spo2,
                o2_flow=reading.o2_flow,
                sbp=reading.sbp,
                dbp=reading.dbp,
                pulse=reading.pulse,
                acvpu=reading.acvpu,
                temp=reading.temp,
                rng=rng,
            )
        )
    return AdmittedPatient(
        patient=patient,
        encounter=encounter,
        bed=bed,
        observations=observations,
        allergies=allergies,
        conditions=conditions,
        deteriorating=deteriorating,
        incomplete_latest_set=incomplete_latest and bool(readings),
    )


def _chunks(items: list[FhirResource], size: int) -> Iterator[list[FhirResource]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def build_hospital(spec: HospitalSpec = DEFAULT_SPEC, *, now: datetime) -> SyntheticHospital:
    """Build the whole hospital as of ``now`` (an aware datetime; nothing is dated after it)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not 0.0 <= spec.occupancy <= 1.0:
        raise ValueError("occupancy is a share of beds, between 0 and 1")
    if spec.days_of_obs < 0 or spec.nurses_per_ward < 1:
        raise ValueError("days_of_obs must be >= 0 and nurses_per_ward >= 1")
    if len({w.code for w in spec.wards}) != len(spec.wards):
        raise ValueError("ward codes must be unique")
    now = now.astimezone(UTC)
    master = random.Random(spec.seed)
    fake = Faker("en_GB")
    fake.seed_instance(spec.seed)

    site = _location(
        master, code=spec.site_code, name=spec.site_name, physical_type="si", part_of=None
    )
    hospital = SyntheticHospital(site=site, wards=[], rooms=[], beds=[], practitioners=[])
    ward_beds: list[tuple[FhirResource, list[FhirResource]]] = []
    for ward_spec in spec.wards:
        ward, rooms, beds = _build_ward(master, site, ward_spec)
        hospital.wards.append(ward)
        hospital.rooms.extend(rooms)
        hospital.beds.extend(beds)
        ward_beds.append((ward, beds))

    staff_numbers = master.sample(
        range(100_000, 1_000_000), k=spec.nurses_per_ward * len(spec.wards)
    )
    hospital.practitioners = [_make_nurse(fake, master, f"{n:06d}") for n in staff_numbers]
    ward_nurses = list(_chunks(hospital.practitioners, spec.nurses_per_ward))

    taken_identifiers: set[str] = set()
    next_visit = master.randint(10_000_000, 80_000_000)
    for (ward, beds), nurses in zip(ward_beds, ward_nurses, strict=True):
        occupied = sorted(master.sample(range(len(beds)), k=round(len(beds) * spec.occupancy)))
        deteriorating = set(master.sample(occupied, k=min(len(occupied), master.randint(3, 5))))
        stable = [i for i in occupied if i not in deteriorating]
        incomplete = set(master.sample(stable, k=min(len(stable), master.randint(1, 2))))
        for index in occupied:
            patient_rng = random.Random(master.getrandbits(64))
            hospital.admitted.append(
                _admit(
                    patient_rng,
                    fake,
                    now=now,
                    spec=spec,
                    ward=ward,
                    bed=beds[index],
                    nurses=nurses,
                    visit_number=f"IP{next_visit:08d}",
                    deteriorating=index in deteriorating,
                    incomplete_latest=index in incomplete,
                    taken_identifiers=taken_identifiers,
                )
            )
            next_visit += master.randint(1, 40)
    return hospital


def ward_code_of(hospital: SyntheticHospital, admission: AdmittedPatient) -> str:
    """The location code of the ward an admitted patient is in (``WARD7``)."""
    ward_ref = admission.encounter["location"][0]["location"]["reference"]
    ward = next(w for w in hospital.wards if _ref(w) == ward_ref)
    return _identifier_value(ward, LOCATION_CODE_SYSTEM)


def _walk_references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from _walk_references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_references(item)


def references_in(resource: FhirResource) -> list[str]:
    """Every ``reference`` string inside a resource (e.g. ``Patient/<id>``)."""
    return list(_walk_references(resource))
