"""Ward views: beds in bed order with their current patients; unknown wards are a clear 404."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from wardcare.demo.loader import load_hospital
from wardcare.demo.synthetic_hospital import (
    HospitalSpec,
    SyntheticHospital,
    WardSpec,
    beds_in_bed_order,
    build_hospital,
)
from wardcare.domain.bed_order import bed_order_key
from wardcare.services.context import AppContext

SMALL = HospitalSpec(
    wards=(
        WardSpec("WARD7", "Ward 7 (Acute Medicine)", bays=2, beds_per_bay=6, side_rooms=2),
        WardSpec("WARD9", "Ward 9 (Elderly Care)", bays=1, beds_per_bay=4, side_rooms=1),
    ),
    days_of_obs=1,
)


@pytest.fixture
def hospital(context: AppContext) -> SyntheticHospital:
    return load_hospital(context, build_hospital(SMALL, now=datetime.now(UTC)))


def test_wards_lists_every_ward_by_code(client: TestClient, hospital: SyntheticHospital) -> None:
    codes = {w["code"] for w in client.get("/wards").json()["wards"]}
    assert codes == {"WARD7", "WARD9"}


def test_a_ward_lists_its_beds_in_bed_order_with_their_patients(
    client: TestClient, hospital: SyntheticHospital
) -> None:
    body = client.get("/wards/WARD7").json()
    codes = [b["code"] for b in body["beds"]]
    assert len(codes) == 14
    assert codes == sorted(codes, key=bed_order_key)
    assert codes == [b["identifier"][0]["value"] for b in beds_in_bed_order(hospital, "WARD7")]
    occupants = {b["location"]: b["patient"]["reference"] for b in body["beds"] if b["patient"]}
    expected = {
        f"Location/{a.bed['id']}": f"Patient/{a.patient['id']}"
        for a in hospital.admitted
        if a.bed["identifier"][0]["value"].startswith("WARD7/")
    }
    assert occupants == expected
    assert body["occupied"] == len(expected)
    first = next(b["patient"] for b in body["beds"] if b["patient"])
    assert len(first["nhsNumber"].replace(" ", "")) == 10
    assert first["age"] >= 18


def test_a_finished_encounter_frees_the_bed(
    client: TestClient, hospital: SyntheticHospital
) -> None:
    admission = next(
        a for a in hospital.admitted if a.bed["identifier"][0]["value"].startswith("WARD9/")
    )
    encounter = client.get(f"/fhir/Encounter/{admission.encounter['id']}").json()
    encounter["status"] = "finished"
    assert client.put(f"/fhir/Encounter/{encounter['id']}", json=encounter).status_code == 200
    beds = client.get("/wards/WARD9").json()["beds"]
    bed = next(b for b in beds if b["location"] == f"Location/{admission.bed['id']}")
    assert bed["patient"] is None


def test_an_unknown_ward_is_404_with_a_clear_message(client: TestClient) -> None:
    response = client.get("/wards/NOWARD")
    assert response.status_code == 404
    assert "no ward with code 'NOWARD'" in response.json()["issue"][0]["diagnostics"]
