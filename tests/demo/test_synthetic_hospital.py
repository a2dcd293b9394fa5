"""The synthetic hospital: shape, determinism, FHIR validity and clinically plausible obs."""

from __future__ import annotations

import itertools
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from faker import Faker
from fhir.resources.R4B import get_fhir_model_class

from wardcare.demo.synthetic_hospital import (
    MRN_SYSTEM,
    AdmittedPatient,
    FhirResource,
    HospitalSpec,
    SyntheticHospital,
    WardSpec,
    beds_in_bed_order,
    build_hospital,
    make_nhs_number,
    make_patient,
    references_in,
    vital_signs_set,
    ward_code_of,
)
from wardcare.domain import nhs_number

NOW = datetime(2025, 3, 30, 9, 17, 23, 456789, tzinfo=UTC)
SPEC = HospitalSpec()

RR, SPO2, BP, PULSE, TEMP = "9279-1", "59408-5", "85354-9", "8867-4", "8310-5"
ACVPU = "1104441000000107"
O2_FLOW, SYSTOLIC, DIASTOLIC = "3151-8", "8480-6", "8462-4"


@pytest.fixture(scope="module")
def hospital() -> SyntheticHospital:
    return build_hospital(SPEC, now=NOW)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _code(resource: FhirResource) -> str:
    return str(resource["code"]["coding"][0]["code"])


def _component(obs: FhirResource, code: str) -> Any:
    return next(
        c["valueQuantity"]["value"]
        for c in obs.get("component", [])
        if c["code"]["coding"][0]["code"] == code
    )


def _sets(admission: AdmittedPatient) -> list[dict[str, Any]]:
    """The patient's observation sets in time order, each as {parameter: value}."""
    by_time: dict[str, dict[str, Any]] = defaultdict(dict)
    for obs in admission.observations:
        values = by_time[obs["effectiveDateTime"]]
        code = _code(obs)
        if code == BP:
            values["sbp"] = _component(obs, SYSTOLIC)
            values["dbp"] = _component(obs, DIASTOLIC)
        elif code == SPO2:
            values["spo2"] = obs["valueQuantity"]["value"]
            values["o2_flow"] = _component(obs, O2_FLOW)
        elif code == ACVPU:
            values["acvpu"] = obs["valueCodeableConcept"]["coding"][0]["code"]
        else:
            key = {RR: "rr", PULSE: "pulse", TEMP: "temp"}[code]
            values[key] = obs["valueQuantity"]["value"]
    return [by_time[t] for t in sorted(by_time, key=_parse)]


COMPLETE = {"rr", "spo2", "o2_flow", "sbp", "dbp", "pulse", "acvpu", "temp"}


def _band(value: float, upper_bounds: tuple[float, ...], scores: tuple[int, ...]) -> int:
    """The score of the first band whose upper bound (inclusive) holds the value."""
    for bound, score in zip(upper_bounds, scores, strict=False):
        if value <= bound:
            return score
    return scores[-1]


def _news2(s: dict[str, Any]) -> int:
    """NEWS2 on SpO2 scale 1 (RCP 2017), to check the generator; not the product's scorer."""
    return (
        _band(s["rr"], (8, 11, 20, 24), (3, 1, 0, 2, 3))
        + _band(s["spo2"], (91, 93, 95), (3, 2, 1, 0))
        + (2 if s["o2_flow"] > 0 else 0)
        + _band(s["sbp"], (90, 100, 110, 219), (3, 2, 1, 0, 3))
        + _band(s["pulse"], (40, 50, 90, 110, 130), (3, 1, 0, 1, 2, 3))
        + (0 if s["acvpu"] == "A" else 3)
        + _band(s["temp"], (35.0, 36.0, 38.0, 39.0), (3, 1, 0, 1, 2))
    )


def _admission_start(admission: AdmittedPatient) -> datetime:
    return _parse(admission.encounter["period"]["start"])


# --- Shape -----------------------------------------------------------------------------------


def test_default_hospital_has_a_site_two_wards_of_28_beds(hospital: SyntheticHospital) -> None:
    assert hospital.site["identifier"][0]["value"] == "LGI"
    assert hospital.site["physicalType"]["coding"][0]["code"] == "si"
    codes = [w["identifier"][0]["value"] for w in hospital.wards]
    assert codes == ["WARD7", "WARD9"]
    assert hospital.wards[0]["name"] == "Ward 7 (Acute Medicine)"
    assert len(hospital.beds) == 56
    for code in codes:
        assert len(beds_in_bed_order(hospital, code)) == 28
    assert {b["physicalType"]["coding"][0]["code"] for b in hospital.beds} == {"bd"}
    assert {r["physicalType"]["coding"][0]["code"] for r in hospital.rooms} == {"ro"}
    assert len(hospital.practitioners) == 10
    assert all(p["qualification"][0]["code"]["text"] == "RN" for p in hospital.practitioners)


def test_locations_are_listed_parents_first(hospital: SyntheticHospital) -> None:
    seen: set[str] = set()
    locations = hospital.locations()
    assert locations[0] is hospital.site
    for location in locations:
        if "partOf" in location:
            assert location["partOf"]["reference"] in seen
        seen.add(f"Location/{location['id']}")
    assert len(seen) == 1 + 2 + 2 * 8 + 56


def test_beds_come_in_bed_order(hospital: SyntheticHospital) -> None:
    beds = beds_in_bed_order(hospital, "WARD9")
    codes = [b["identifier"][0]["value"] for b in beds]
    assert codes[:7] == [f"WARD9/BAY1/BED{n}" for n in range(1, 7)] + ["WARD9/BAY2/BED1"]
    assert codes[-5:] == ["WARD9/BAY4/BED6"] + [f"WARD9/SR{n}/BED1" for n in range(1, 5)]
    assert beds[0]["name"] == "Bay 1 Bed 1"
    with pytest.raises(KeyError):
        beds_in_bed_order(hospital, "WARD99")


def test_bed_order_is_numeric_not_alphabetic() -> None:
    big = build_hospital(
        HospitalSpec(wards=(WardSpec("AMU", "Acute Medical Unit", bays=11, beds_per_bay=2),)),
        now=NOW,
    )
    codes = [b["identifier"][0]["value"] for b in beds_in_bed_order(big, "AMU")]
    assert codes.index("AMU/BAY2/BED1") < codes.index("AMU/BAY10/BED1")


def test_occupancy_is_about_nine_in_ten_one_patient_per_bed(hospital: SyntheticHospital) -> None:
    occupied = [a.bed["id"] for a in hospital.admitted]
    assert len(set(occupied)) == len(occupied)
    assert 0.85 <= len(occupied) / len(hospital.beds) <= 0.95
    for admission in hospital.admitted:
        bed_ref = admission.encounter["location"][1]["location"]["reference"]
        assert bed_ref == f"Location/{admission.bed['id']}"
    assert Counter(ward_code_of(hospital, a) for a in hospital.admitted) == {
        "WARD7": 25,
        "WARD9": 25,
    }


def test_encounter_ward_is_the_bed_s_ward(hospital: SyntheticHospital) -> None:
    by_ref = {f"Location/{loc['id']}": loc for loc in hospital.locations()}
    for admission in hospital.admitted:
        ward_entry, bed_entry = admission.encounter["location"]
        room = by_ref[bed_entry["location"]["reference"]]["partOf"]["reference"]
        assert by_ref[room]["partOf"]["reference"] == ward_entry["location"]["reference"]
        assert ward_entry["status"] == bed_entry["status"] == "active"
        encounter = admission.encounter
        assert encounter["status"] == "in-progress"
        assert encounter["class"]["code"] == "IMP"
        start = _admission_start(admission)
        assert NOW - timedelta(days=10) <= start <= NOW - timedelta(days=1)


# --- Identity --------------------------------------------------------------------------------


def test_every_nhs_number_is_valid_and_every_identifier_unique(
    hospital: SyntheticHospital,
) -> None:
    seen: set[tuple[str, str]] = set()
    for admission in hospital.admitted:
        identifiers = {i["system"]: i["value"] for i in admission.patient["identifier"]}
        assert nhs_number.is_valid(identifiers[nhs_number.SYSTEM])
        assert not identifiers[nhs_number.SYSTEM].startswith("0")
        assert identifiers[MRN_SYSTEM].startswith("RR")
        assert len(identifiers[MRN_SYSTEM]) == 8
        for system, value in identifiers.items():
            assert (system, value) not in seen
            seen.add((system, value))


def test_make_nhs_number_is_always_valid() -> None:
    rng = random.Random(1)
    numbers = [make_nhs_number(rng) for _ in range(2000)]
    assert all(nhs_number.is_valid(n) and len(n) == 10 and n[0] != "0" for n in numbers)


def test_make_patient_gives_consistent_sex_title_and_adult_age() -> None:
    fake = Faker("en_GB")
    fake.seed_instance(3)
    rng = random.Random(3)
    today = date(2025, 3, 30)
    ages = []
    for _ in range(200):
        patient = make_patient(fake, rng, today=today)
        prefix = patient["name"][0]["prefix"][0]
        if patient["gender"] == "male":
            assert prefix == "Mr"
        else:
            assert patient["gender"] == "female"
            assert prefix in {"Mrs", "Ms", "Miss"}
        born = date.fromisoformat(patient["birthDate"])
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        assert 18 <= age <= 98
        ages.append(age)
        assert patient["address"][0]["country"] == "GB"
    assert sorted(ages)[len(ages) // 2] >= 60  # skewed elderly


def test_ids_are_unique_uuid4(hospital: SyntheticHospital) -> None:
    ids = [r["id"] for r in hospital.resources()]
    assert len(ids) == len(set(ids)) == hospital.resource_count()
    assert all(uuid.UUID(i).version == 4 for i in ids)


# --- Determinism -----------------------------------------------------------------------------


def test_same_seed_same_hospital_whatever_the_timezone_of_now(
    hospital: SyntheticHospital,
) -> None:
    bst = NOW.astimezone(timezone(timedelta(hours=1)))
    assert build_hospital(SPEC, now=bst).resources() == hospital.resources()


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_hospital(SPEC, now=datetime(2025, 3, 30, 9, 0))


# --- FHIR validity and references ------------------------------------------------------------


def test_every_resource_validates_as_fhir_r4b(hospital: SyntheticHospital) -> None:
    kinds = Counter(r["resourceType"] for r in hospital.resources())
    assert set(kinds) == {
        "Location",
        "Practitioner",
        "Patient",
        "Encounter",
        "Condition",
        "AllergyIntolerance",
        "Observation",
    }
    for resource in hospital.resources():
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_every_reference_resolves_within_the_hospital(hospital: SyntheticHospital) -> None:
    resources = hospital.resources()
    known = {f"{r['resourceType']}/{r['id']}" for r in resources}
    stored: set[str] = set()
    for resource in resources:  # in the storing order, every target is already there
        for reference in references_in(resource):
            assert reference in known
            assert reference in stored
        stored.add(f"{resource['resourceType']}/{resource['id']}")
    for admission in hospital.admitted:
        patient_ref = f"Patient/{admission.patient['id']}"
        encounter_ref = f"Encounter/{admission.encounter['id']}"
        for obs in admission.observations:
            assert obs["subject"]["reference"] == patient_ref
            assert obs["encounter"]["reference"] == encounter_ref
            assert obs["performer"][0]["reference"].startswith("Practitioner/")
        for condition in admission.conditions:
            assert condition["subject"]["reference"] == patient_ref
        for allergy in admission.allergies:
            assert allergy["patient"]["reference"] == patient_ref


def test_allergies_and_conditions_use_hl7_status_codes(hospital: SyntheticHospital) -> None:
    allergies = [a for adm in hospital.admitted for a in adm.allergies]
    conditions = [c for adm in hospital.admitted for c in adm.conditions]
    assert any(_code(a) == "409137002" for a in allergies)  # NKDA
    assert any(_code(a) == "764146007" for a in allergies)  # penicillin
    for allergy in allergies:
        system = allergy["clinicalStatus"]["coding"][0]["system"]
        assert system == "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
    for condition in conditions:
        system = condition["verificationStatus"]["coding"][0]["system"]
        assert system == "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    for admission in hospital.admitted:
        admitting = admission.conditions[0]
        assert admitting["code"] == admission.encounter["reasonCode"][0]


# --- Vital signs -----------------------------------------------------------------------------


def test_vital_sign_values_are_plausible_and_whole_where_the_chart_is(
    hospital: SyntheticHospital,
) -> None:
    for admission in hospital.admitted:
        assert admission.observations
        for s in _sets(admission):
            for key in ("rr", "spo2", "sbp", "dbp", "pulse"):
                if key in s:
                    assert type(s[key]) is int, (key, s[key])
            if "rr" in s:
                assert 8 <= s["rr"] <= 40
            if "spo2" in s:
                assert 80 <= s["spo2"] <= 100
                assert 0 <= s["o2_flow"] <= 15
            if "sbp" in s:
                assert 70 <= s["sbp"] <= 220
                assert 30 <= s["dbp"] <= s["sbp"] - 20
            if "pulse" in s:
                assert 40 <= s["pulse"] <= 160
            if "temp" in s:
                assert 34.0 <= s["temp"] <= 41.0
                assert round(s["temp"], 1) == s["temp"]
            if "acvpu" in s:
                assert s["acvpu"] in {"A", "C", "V", "P", "U"}


def test_obs_fall_within_the_window_after_admission_and_never_in_the_future(
    hospital: SyntheticHospital,
) -> None:
    window_start = NOW - timedelta(days=SPEC.days_of_obs)
    for admission in hospital.admitted:
        admitted = _admission_start(admission)
        for obs in admission.observations:
            assert obs["effectiveDateTime"].endswith("Z")
            when = _parse(obs["effectiveDateTime"])
            assert when <= NOW
            assert when >= window_start
            assert when > admitted
            assert obs["status"] == "final"
            category = obs["category"][0]["coding"][0]["code"]
            assert category == ("exam" if _code(obs) == ACVPU else "vital-signs")


def test_stable_patients_stay_low_and_are_observed_every_4_to_6_hours(
    hospital: SyntheticHospital,
) -> None:
    stable = [a for a in hospital.admitted if not a.deteriorating]
    assert stable
    for admission in stable:
        sets = _sets(admission)
        for s in sets:
            if set(s) == COMPLETE:
                assert _news2(s) <= 2, s
        times = sorted({_parse(o["effectiveDateTime"]) for o in admission.observations})
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(timedelta(hours=4) <= g <= timedelta(hours=6) for g in gaps)


def test_a_few_patients_per_ward_deteriorate_over_the_last_day(
    hospital: SyntheticHospital,
) -> None:
    per_ward = Counter(ward_code_of(hospital, a) for a in hospital.admitted if a.deteriorating)
    assert set(per_ward) == {"WARD7", "WARD9"}
    assert all(3 <= n <= 5 for n in per_ward.values())
    for admission in hospital.admitted:
        if not admission.deteriorating:
            continue
        sets = _sets(admission)
        assert set(sets[-1]) == COMPLETE
        assert _news2(sets[0]) <= 2
        assert _news2(sets[-1]) >= 5, sets[-1]
        last_day = [
            _parse(o["effectiveDateTime"])
            for o in admission.observations
            if _parse(o["effectiveDateTime"]) >= NOW - timedelta(hours=12)
        ]
        assert len(set(last_day)) >= 6  # observed about hourly once deteriorating


def test_one_or_two_patients_per_ward_have_an_incomplete_latest_set(
    hospital: SyntheticHospital,
) -> None:
    incomplete = [a for a in hospital.admitted if a.incomplete_latest_set]
    per_ward = Counter(ward_code_of(hospital, a) for a in incomplete)
    assert all(1 <= n <= 2 for n in per_ward.values())
    assert set(per_ward) == {"WARD7", "WARD9"}
    for admission in hospital.admitted:
        sets = _sets(admission)
        assert all(set(s) == COMPLETE for s in sets[:-1])
        assert (set(sets[-1]) != COMPLETE) == admission.incomplete_latest_set
        assert sets[-1]  # never empty


def test_fewer_days_of_obs_and_short_stays_are_honoured() -> None:
    small = build_hospital(HospitalSpec(days_of_obs=1, occupancy=0.5, seed=11), now=NOW)
    assert len(small.admitted) == 28
    for admission in small.admitted:
        for obs in admission.observations:
            assert _parse(obs["effectiveDateTime"]) >= NOW - timedelta(days=1)


# --- vital_signs_set -------------------------------------------------------------------------


def _one_set(**values: Any) -> list[FhirResource]:
    return vital_signs_set(
        patient_ref="Patient/p",
        encounter_ref="Encounter/e",
        performer_ref="Practitioner/n",
        when=datetime(2025, 3, 30, 10, 4, tzinfo=timezone(timedelta(hours=1))),
        rng=random.Random(0),
        **values,
    )


def test_vital_signs_set_writes_each_parameter_as_its_own_observation() -> None:
    full = _one_set(rr=18, spo2=95, o2_flow=0.0, sbp=120, dbp=80, pulse=72, acvpu="A", temp=37.04)
    assert [_code(o) for o in full] == [RR, SPO2, BP, PULSE, ACVPU, TEMP]
    assert {o["effectiveDateTime"] for o in full} == {"2025-03-30T09:04:00Z"}
    spo2 = full[1]
    assert [c["code"] for c in spo2["code"]["coding"]] == ["59408-5", "2708-6"]
    assert _component(spo2, O2_FLOW) == 0
    assert "valueQuantity" not in full[2]
    assert full[5]["valueQuantity"] == {
        "value": 37.0,
        "unit": "C",
        "system": "http://unitsofmeasure.org",
        "code": "Cel",
    }
    assert full[4]["valueCodeableConcept"]["coding"][0]["display"] == "Alert"
    for obs in full:
        get_fhir_model_class("Observation").model_validate(obs)


def test_vital_signs_set_leaves_out_what_was_not_measured() -> None:
    partial = _one_set(rr=22, spo2=None, o2_flow=2.0, sbp=100, pulse=None, acvpu="C")
    assert [_code(o) for o in partial] == [RR, BP, ACVPU]
    assert [c["code"]["coding"][0]["code"] for c in partial[1]["component"]] == [SYSTOLIC]
    assert _one_set() == []


def test_vital_signs_set_refuses_bad_acvpu_and_naive_times() -> None:
    with pytest.raises(ValueError, match="ACVPU"):
        _one_set(acvpu="X")
    with pytest.raises(ValueError, match="timezone"):
        vital_signs_set(
            patient_ref="Patient/p",
            encounter_ref="Encounter/e",
            performer_ref="Practitioner/n",
            when=datetime(2025, 3, 30, 10, 4),
            rr=18,
            rng=random.Random(0),
        )


@pytest.mark.parametrize("seed", [1, 2])
def test_other_seeds_give_other_hospitals_with_the_same_bands(
    hospital: SyntheticHospital, seed: int
) -> None:
    other = build_hospital(HospitalSpec(seed=seed), now=NOW)
    assert other.admitted[0].patient["id"] != hospital.admitted[0].patient["id"]
    assert any(a.deteriorating for a in other.admitted)
    for admission in other.admitted:
        complete = [s for s in _sets(admission) if set(s) == COMPLETE]
        if admission.deteriorating:
            assert _news2(complete[0]) <= 2
            assert _news2(complete[-1]) >= 5
        else:
            assert all(_news2(s) <= 2 for s in complete)
