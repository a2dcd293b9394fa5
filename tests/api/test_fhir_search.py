"""FHIR R4 search through HTTP (FHIR R4 3.1.1 "Search"): each search parameter the nursing record
needs, prefixes and modifiers, OR and AND, paging, sorting, _include/_revinclude, _summary=count,
and the errors a client must get instead of a silently wrong result."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests import factories

FHIR_JSON = "application/fhir+json"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LOCATION_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
SNOMED = "http://snomed.info/sct"
FALLS_QUESTIONNAIRE = "http://example.org/fhir/Questionnaire/falls-risk"
WATERLOW_QUESTIONNAIRE = "http://example.org/fhir/Questionnaire/waterlow"

Params = dict[str, str] | list[tuple[str, str]]


# -- helpers -------------------------------------------------------------------------------


def create(client: TestClient, resource: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        f"/fhir/{resource['resourceType']}",
        content=json.dumps(resource),
        headers={"Content-Type": FHIR_JSON},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def create_patient(client: TestClient, **overrides: Any) -> dict[str, Any]:
    return create(client, factories.patient(**overrides))


def named(family: str, *given: str) -> list[dict[str, Any]]:
    return [{"use": "official", "family": family, "given": list(given) or ["Alex"]}]


def search(client: TestClient, resource_type: str, params: Params) -> dict[str, Any]:
    response = client.get(f"/fhir/{resource_type}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    bundle: dict[str, Any] = response.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    return bundle


def matches(bundle: dict[str, Any]) -> list[str]:
    """The ids of the entries that matched (not the included ones), in Bundle order."""
    return [
        e["resource"]["id"]
        for e in bundle.get("entry", [])
        if e.get("search", {}).get("mode", "match") == "match"
    ]


def found(client: TestClient, resource_type: str, params: Params) -> set[str]:
    return set(matches(search(client, resource_type, params)))


def link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((lk["url"] for lk in bundle.get("link", []) if lk["relation"] == relation), None)


def assert_outcome(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    outcome: dict[str, Any] = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"]
    return outcome


def heart_rate(
    client: TestClient,
    patient_id: str,
    value: float = 80,
    when: str = "2026-11-22T10:00:00Z",
    **overrides: Any,
) -> dict[str, Any]:
    return create(client, factories.heart_rate(patient_id, value=value, when=when, **overrides))


def respiratory_rate(client: TestClient, patient_id: str, value: float = 18) -> dict[str, Any]:
    return heart_rate(
        client,
        patient_id,
        code={"coding": [{"system": LOINC, "code": "9279-1", "display": "Respiratory rate"}]},
        valueQuantity={"value": value, "unit": "breaths/minute", "system": UCUM, "code": "/min"},
    )


def encounter(
    client: TestClient,
    patient_id: str,
    *,
    status: str = "in-progress",
    location_id: str | None = None,
    start: str = "2026-11-20T09:00:00Z",
    end: str | None = None,
) -> dict[str, Any]:
    period = {"start": start, **({"end": end} if end else {})}
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": period,
    }
    if location_id:
        resource["location"] = [{"location": {"reference": f"Location/{location_id}"}}]
    return create(client, resource)


def location(
    client: TestClient,
    name: str,
    physical_type: str,
    *,
    part_of: str | None = None,
    identifier: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "status": "active",
        "name": name,
        "mode": "instance",
        "physicalType": {"coding": [{"system": LOCATION_TYPE, "code": physical_type}]},
    }
    if part_of:
        resource["partOf"] = {"reference": f"Location/{part_of}"}
    if identifier:
        resource["identifier"] = [
            {"system": "http://wardcare.org/fhir/Id/location", "value": identifier}
        ]
    return create(client, resource)


# -- _id, _lastUpdated ----------------------------------------------------------------------


def test_search_by_id_finds_only_that_resource(client: TestClient) -> None:
    wanted = create_patient(client)
    create_patient(client)
    bundle = search(client, "Patient", {"_id": wanted["id"]})
    assert bundle["total"] == 1
    assert matches(bundle) == [wanted["id"]]
    assert bundle["entry"][0]["fullUrl"].endswith(f"/Patient/{wanted['id']}")


def test_search_result_entries_carry_search_mode_match(client: TestClient) -> None:
    patient = create_patient(client)
    bundle = search(client, "Patient", {"_id": patient["id"]})
    assert bundle["entry"][0]["search"]["mode"] == "match"


def test_search_with_no_match_returns_an_empty_searchset(client: TestClient) -> None:
    create_patient(client)
    bundle = search(client, "Patient", {"_id": "nobody"})
    assert bundle["total"] == 0
    assert not bundle.get("entry")


def test_search_by_last_updated_ge_finds_resources_changed_since(client: TestClient) -> None:
    create_patient(client)
    newer = create_patient(client)
    since = newer["meta"]["lastUpdated"]
    assert found(client, "Patient", {"_lastUpdated": f"ge{since}"}) == {newer["id"]}


def test_search_by_last_updated_le_finds_resources_changed_until(client: TestClient) -> None:
    older = create_patient(client)
    create_patient(client)
    until = older["meta"]["lastUpdated"]
    assert found(client, "Patient", {"_lastUpdated": f"le{until}"}) == {older["id"]}


def test_search_by_last_updated_day_finds_everything_written_today(client: TestClient) -> None:
    patient = create_patient(client)
    day = patient["meta"]["lastUpdated"][:10]
    assert found(client, "Patient", {"_lastUpdated": day}) == {patient["id"]}
    assert found(client, "Patient", {"_lastUpdated": "lt2000-01-01"}) == set()


# -- paging and _summary --------------------------------------------------------------------


def test_count_limits_the_page_and_total_counts_every_match(client: TestClient) -> None:
    for _ in range(5):
        create_patient(client)
    bundle = search(client, "Patient", {"_count": "2"})
    assert bundle["total"] == 5
    assert len(matches(bundle)) == 2
    assert link(bundle, "next") is not None


def test_following_next_links_visits_every_match_once(client: TestClient) -> None:
    created = {create_patient(client)["id"] for _ in range(7)}
    bundle = search(client, "Patient", {"_count": "3"})
    seen: list[str] = matches(bundle)
    pages = 1
    while (next_url := link(bundle, "next")) is not None:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        bundle = response.json()
        assert bundle["total"] == 7
        seen.extend(matches(bundle))
        pages += 1
        assert pages <= 5, "paging does not end"
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


def test_last_page_has_no_next_link(client: TestClient) -> None:
    for _ in range(4):
        create_patient(client)
    bundle = search(client, "Patient", {"_count": "4"})
    assert len(matches(bundle)) == 4
    assert link(bundle, "next") is None


def test_paging_keeps_the_search_criteria(client: TestClient) -> None:
    smiths = {create_patient(client, name=named("Smith"))["id"] for _ in range(3)}
    for _ in range(3):
        create_patient(client, name=named("Jones"))
    bundle = search(client, "Patient", {"family": "smith", "_count": "2"})
    assert bundle["total"] == 3
    next_url = link(bundle, "next")
    assert next_url is not None
    second = client.get(next_url).json()
    assert set(matches(bundle)) | set(matches(second)) == smiths
    assert link(bundle, "self") is not None


def test_summary_count_returns_the_total_without_entries(client: TestClient) -> None:
    for _ in range(3):
        create_patient(client)
    bundle = search(client, "Patient", {"_summary": "count"})
    assert bundle["total"] == 3
    assert not bundle.get("entry")


# -- POST _search ---------------------------------------------------------------------------


def test_post_search_with_form_body_finds_what_get_finds(client: TestClient) -> None:
    wanted = create_patient(client, name=named("Okonkwo"))
    create_patient(client, name=named("Lewis"))
    response = client.post(
        "/fhir/Patient/_search",
        content="family=okonkwo",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 1
    assert matches(bundle) == [wanted["id"]]


def test_post_search_rejects_an_unknown_parameter_too(client: TestClient) -> None:
    response = client.post(
        "/fhir/Patient/_search",
        content="shoe-size=9",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_outcome(response, 400)


# -- Patient --------------------------------------------------------------------------------


def test_patient_identifier_with_system_and_value_finds_the_patient(client: TestClient) -> None:
    patient = create_patient(client)
    create_patient(client)
    nhs = patient["identifier"][0]["value"]
    assert found(client, "Patient", {"identifier": f"{NHS_NUMBER}|{nhs}"}) == {patient["id"]}


def test_patient_identifier_with_value_only_finds_the_patient(client: TestClient) -> None:
    patient = create_patient(client)
    create_patient(client)
    nhs = patient["identifier"][0]["value"]
    assert found(client, "Patient", {"identifier": nhs}) == {patient["id"]}


def test_patient_identifier_with_another_system_does_not_match(client: TestClient) -> None:
    patient = create_patient(client)
    nhs = patient["identifier"][0]["value"]
    assert found(client, "Patient", {"identifier": f"http://example.org/mrn|{nhs}"}) == set()


def test_patient_name_matches_a_partial_name_ignoring_case_and_accents(
    client: TestClient,
) -> None:
    muller = create_patient(client, name=named("Müller", "Jürgen"))
    create_patient(client, name=named("Miller", "Jane"))
    assert found(client, "Patient", {"name": "mull"}) == {muller["id"]}
    assert found(client, "Patient", {"name": "MÜLLER"}) == {muller["id"]}


def test_patient_name_matches_given_names_too(client: TestClient) -> None:
    patient = create_patient(client, name=named("Adeyemi", "Oluwaseun"))
    create_patient(client, name=named("Brown", "Olivia"))
    assert found(client, "Patient", {"name": "oluwa"}) == {patient["id"]}


def test_patient_name_string_search_matches_the_start_of_a_name_part(client: TestClient) -> None:
    create_patient(client, name=named("Hamilton", "Ann"))
    # "ilton" is inside Hamilton but not at its start: string search matches starts (3.1.1.5.13).
    assert found(client, "Patient", {"name": "ilton"}) == set()


def test_patient_family_matches_the_family_name_only(client: TestClient) -> None:
    family_smith = create_patient(client, name=named("Smith", "Joan"))
    create_patient(client, name=named("Jones", "Smith"))
    assert found(client, "Patient", {"family": "smith"}) == {family_smith["id"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1941-05-06", {"1941"}),
        ("eq1941-05-06", {"1941"}),
        ("1941", {"1941"}),
        ("1941-05", {"1941"}),
        ("ne1941-05-06", {"1958", "1990"}),
        ("lt1958-03-01", {"1941"}),
        ("le1958-03-01", {"1941", "1958"}),
        ("gt1958-03-01", {"1990"}),
        ("ge1958-03-01", {"1958", "1990"}),
        ("ge1941-05-07", {"1958", "1990"}),
    ],
)
def test_patient_birthdate_matches_with_prefixes(
    client: TestClient, value: str, expected: set[str]
) -> None:
    born = {
        year: create_patient(client, birthDate=birth_date)["id"]
        for year, birth_date in (
            ("1941", "1941-05-06"),
            ("1958", "1958-03-01"),
            ("1990", "1990-12-31"),
        )
    }
    assert found(client, "Patient", {"birthdate": value}) == {born[y] for y in expected}


# -- Encounter ------------------------------------------------------------------------------


def test_encounter_search_by_patient(client: TestClient) -> None:
    patient = create_patient(client)
    other = create_patient(client)
    mine = encounter(client, patient["id"])
    encounter(client, other["id"])
    assert found(client, "Encounter", {"patient": patient["id"]}) == {mine["id"]}
    assert found(client, "Encounter", {"patient": f"Patient/{patient['id']}"}) == {mine["id"]}


def test_encounter_search_by_status(client: TestClient) -> None:
    patient = create_patient(client)
    current = encounter(client, patient["id"], status="in-progress")
    encounter(client, patient["id"], status="finished", end="2026-11-21T12:00:00Z")
    assert found(client, "Encounter", {"status": "in-progress"}) == {current["id"]}


def test_encounter_search_by_location(client: TestClient) -> None:
    patient = create_patient(client)
    ward7 = location(client, "Ward 7", "wa")
    ward8 = location(client, "Ward 8", "wa")
    on_ward7 = encounter(client, patient["id"], location_id=ward7["id"])
    encounter(client, patient["id"], location_id=ward8["id"])
    assert found(client, "Encounter", {"location": f"Location/{ward7['id']}"}) == {on_ward7["id"]}
    assert found(client, "Encounter", {"location": ward7["id"]}) == {on_ward7["id"]}


def test_encounter_search_by_date_matches_overlapping_periods(client: TestClient) -> None:
    patient = create_patient(client)
    last_week = encounter(
        client,
        patient["id"],
        status="finished",
        start="2026-11-10T09:00:00Z",
        end="2026-11-12T17:00:00Z",
    )
    ongoing = encounter(client, patient["id"], start="2026-11-20T09:00:00Z")
    assert found(client, "Encounter", {"date": "ge2026-11-15"}) == {ongoing["id"]}
    assert found(client, "Encounter", {"date": "le2026-11-11"}) == {last_week["id"]}
    assert found(client, "Encounter", {"date": "2026-11-11"}) == set()  # period not within a day
    assert found(client, "Encounter", {"date": "2026-11"}) == {last_week["id"]}


# -- Observation ----------------------------------------------------------------------------


def test_observation_search_by_patient_id_and_by_patient_reference(client: TestClient) -> None:
    patient = create_patient(client)
    other = create_patient(client)
    mine = heart_rate(client, patient["id"])
    heart_rate(client, other["id"])
    assert found(client, "Observation", {"patient": patient["id"]}) == {mine["id"]}
    assert found(client, "Observation", {"patient": f"Patient/{patient['id']}"}) == {mine["id"]}


def test_observation_search_by_subject(client: TestClient) -> None:
    patient = create_patient(client)
    other = create_patient(client)
    mine = heart_rate(client, patient["id"])
    heart_rate(client, other["id"])
    assert found(client, "Observation", {"subject": f"Patient/{patient['id']}"}) == {mine["id"]}


def test_observation_search_by_code_with_system(client: TestClient) -> None:
    patient = create_patient(client)
    pulse = heart_rate(client, patient["id"])
    respiratory_rate(client, patient["id"])
    assert found(client, "Observation", {"code": f"{LOINC}|8867-4"}) == {pulse["id"]}


def test_observation_search_by_code_without_system(client: TestClient) -> None:
    patient = create_patient(client)
    pulse = heart_rate(client, patient["id"])
    respiratory_rate(client, patient["id"])
    assert found(client, "Observation", {"code": "8867-4"}) == {pulse["id"]}


def test_observation_code_with_another_system_does_not_match(client: TestClient) -> None:
    patient = create_patient(client)
    heart_rate(client, patient["id"])
    assert found(client, "Observation", {"code": f"{SNOMED}|8867-4"}) == set()


def test_observation_search_by_category(client: TestClient) -> None:
    patient = create_patient(client)
    vital = heart_rate(client, patient["id"])
    survey = factories.heart_rate(
        patient["id"],
        category=[{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        code={"text": "Mobility"},
        valueString="Walks with frame",
    )
    del survey["valueQuantity"]
    note = create(client, survey)
    assert found(client, "Observation", {"category": "vital-signs"}) == {vital["id"]}
    assert found(client, "Observation", {"category": f"{OBSERVATION_CATEGORY}|survey"}) == {
        note["id"]
    }


@pytest.fixture
def three_days(client: TestClient) -> dict[str, str]:
    """Heart rates just before, during and after 22 November 2026 (UTC)."""
    patient = create_patient(client)
    return {
        name: heart_rate(client, patient["id"], when=when)["id"]
        for name, when in (
            ("21st", "2026-11-21T23:30:00Z"),
            ("22nd", "2026-11-22T10:00:00Z"),
            ("23rd", "2026-11-23T00:15:00Z"),
        )
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-22", {"22nd"}),
        ("eq2026-11-22", {"22nd"}),
        ("ne2026-11-22", {"21st", "23rd"}),
        ("gt2026-11-22", {"23rd"}),
        ("ge2026-11-22", {"22nd", "23rd"}),
        ("lt2026-11-22", {"21st"}),
        ("le2026-11-22", {"21st", "22nd"}),
        ("2026-11", {"21st", "22nd", "23rd"}),
        ("2026-12", set()),
    ],
)
def test_observation_date_at_day_precision_with_prefixes(
    client: TestClient, three_days: dict[str, str], value: str, expected: set[str]
) -> None:
    assert found(client, "Observation", {"date": value}) == {three_days[d] for d in expected}


@pytest.fixture
def three_seconds(client: TestClient) -> dict[str, str]:
    """Heart rates one second apart: 10:00:00, 10:00:01 and 10:00:02 on 22 November 2026 (UTC)."""
    patient = create_patient(client)
    return {
        second: heart_rate(client, patient["id"], when=f"2026-11-22T10:00:0{second}Z")["id"]
        for second in ("0", "1", "2")
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-22T10:00:01Z", {"1"}),
        ("eq2026-11-22T10:00:01Z", {"1"}),
        ("gt2026-11-22T10:00:01Z", {"2"}),
        ("ge2026-11-22T10:00:01Z", {"1", "2"}),
        ("lt2026-11-22T10:00:01Z", {"0"}),
        ("le2026-11-22T10:00:01Z", {"0", "1"}),
        ("2026-11-22T11:00:01+01:00", {"1"}),
        ("2026-11-22T10:00", {"0", "1", "2"}),
    ],
)
def test_observation_date_at_second_precision_with_prefixes(
    client: TestClient, three_seconds: dict[str, str], value: str, expected: set[str]
) -> None:
    assert found(client, "Observation", {"date": value}) == {three_seconds[s] for s in expected}


def test_observation_search_by_encounter(client: TestClient) -> None:
    patient = create_patient(client)
    stay = encounter(client, patient["id"])
    during = heart_rate(client, patient["id"], encounter={"reference": f"Encounter/{stay['id']}"})
    heart_rate(client, patient["id"])
    assert found(client, "Observation", {"encounter": f"Encounter/{stay['id']}"}) == {during["id"]}


def test_observation_search_by_status(client: TestClient) -> None:
    patient = create_patient(client)
    final = heart_rate(client, patient["id"])
    heart_rate(client, patient["id"], status="entered-in-error")
    assert found(client, "Observation", {"status": "final"}) == {final["id"]}


def test_observation_search_by_value_quantity_greater_than(client: TestClient) -> None:
    patient = create_patient(client)
    heart_rate(client, patient["id"], value=80)
    fast = heart_rate(client, patient["id"], value=124)
    heart_rate(client, patient["id"], value=100)
    assert found(client, "Observation", {"value-quantity": "gt100"}) == {fast["id"]}


def test_observation_search_by_value_quantity_with_ucum_unit(client: TestClient) -> None:
    patient = create_patient(client)
    slow = heart_rate(client, patient["id"], value=48)
    heart_rate(client, patient["id"], value=80)
    params = {"value-quantity": f"lt50|{UCUM}|/min"}
    assert found(client, "Observation", params) == {slow["id"]}
    assert found(client, "Observation", {"value-quantity": f"lt50|{UCUM}|mm[Hg]"}) == set()


def test_observation_search_by_value_quantity_equal_uses_the_given_precision(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    exact = heart_rate(client, patient["id"], value=80)
    heart_rate(client, patient["id"], value=81)
    assert found(client, "Observation", {"value-quantity": "80"}) == {exact["id"]}


def test_observation_sort_by_date_descending_returns_newest_first(client: TestClient) -> None:
    patient = create_patient(client)
    middle = heart_rate(client, patient["id"], when="2026-11-22T10:00:00Z")
    oldest = heart_rate(client, patient["id"], when="2026-11-21T22:00:00Z")
    newest = heart_rate(client, patient["id"], when="2026-11-22T18:00:00Z")
    bundle = search(client, "Observation", {"patient": patient["id"], "_sort": "-date"})
    assert matches(bundle) == [newest["id"], middle["id"], oldest["id"]]


def test_observation_sort_by_date_ascending_returns_oldest_first(client: TestClient) -> None:
    patient = create_patient(client)
    middle = heart_rate(client, patient["id"], when="2026-11-22T10:00:00Z")
    oldest = heart_rate(client, patient["id"], when="2026-11-21T22:00:00Z")
    newest = heart_rate(client, patient["id"], when="2026-11-22T18:00:00Z")
    bundle = search(client, "Observation", {"patient": patient["id"], "_sort": "date"})
    assert matches(bundle) == [oldest["id"], middle["id"], newest["id"]]


def test_sorted_paging_follows_the_sort_across_pages(client: TestClient) -> None:
    patient = create_patient(client)
    hours = ["03", "09", "01", "07", "05"]
    by_hour = {
        hour: heart_rate(client, patient["id"], when=f"2026-11-22T{hour}:00:00Z")["id"]
        for hour in hours
    }
    bundle = search(client, "Observation", {"_sort": "-date", "_count": "2"})
    order = matches(bundle)
    while (next_url := link(bundle, "next")) is not None:
        bundle = client.get(next_url).json()
        order.extend(matches(bundle))
    assert order == [by_hour[h] for h in sorted(hours, reverse=True)]


# -- CarePlan -------------------------------------------------------------------------------


def care_plan(
    client: TestClient,
    patient_id: str,
    *,
    status: str = "active",
    category: str = "nursing",
    encounter_id: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": status,
        "intent": "plan",
        "subject": {"reference": f"Patient/{patient_id}"},
        "category": [
            {
                "coding": [
                    {
                        "system": "http://wardcare.org/fhir/CodeSystem/care-plan-kind",
                        "code": category,
                    }
                ]
            }
        ],
        "title": f"{category} plan",
    }
    if encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    return create(client, resource)


def test_care_plan_search_by_patient(client: TestClient) -> None:
    patient = create_patient(client)
    other = create_patient(client)
    mine = care_plan(client, patient["id"])
    care_plan(client, other["id"])
    assert found(client, "CarePlan", {"patient": patient["id"]}) == {mine["id"]}


def test_care_plan_search_by_status(client: TestClient) -> None:
    patient = create_patient(client)
    active = care_plan(client, patient["id"], status="active")
    care_plan(client, patient["id"], status="completed")
    assert found(client, "CarePlan", {"status": "active"}) == {active["id"]}


def test_care_plan_search_by_category(client: TestClient) -> None:
    patient = create_patient(client)
    skin = care_plan(client, patient["id"], category="pressure-ulcer")
    care_plan(client, patient["id"], category="falls")
    assert found(client, "CarePlan", {"category": "pressure-ulcer"}) == {skin["id"]}


def test_care_plan_search_by_encounter(client: TestClient) -> None:
    patient = create_patient(client)
    stay = encounter(client, patient["id"])
    this_stay = care_plan(client, patient["id"], encounter_id=stay["id"])
    care_plan(client, patient["id"])
    assert found(client, "CarePlan", {"encounter": f"Encounter/{stay['id']}"}) == {this_stay["id"]}


# -- QuestionnaireResponse ------------------------------------------------------------------


def questionnaire_response(
    client: TestClient, patient_id: str, questionnaire: str, authored: str
) -> dict[str, Any]:
    return create(
        client,
        {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": questionnaire,
            "status": "completed",
            "subject": {"reference": f"Patient/{patient_id}"},
            "authored": authored,
            "item": [{"linkId": "1", "answer": [{"valueBoolean": True}]}],
        },
    )


def test_questionnaire_response_search_by_patient(client: TestClient) -> None:
    patient = create_patient(client)
    other = create_patient(client)
    mine = questionnaire_response(client, patient["id"], FALLS_QUESTIONNAIRE, "2026-11-22")
    questionnaire_response(client, other["id"], FALLS_QUESTIONNAIRE, "2026-11-22")
    assert found(client, "QuestionnaireResponse", {"patient": patient["id"]}) == {mine["id"]}


def test_questionnaire_response_search_by_questionnaire(client: TestClient) -> None:
    patient = create_patient(client)
    falls = questionnaire_response(client, patient["id"], FALLS_QUESTIONNAIRE, "2026-11-22")
    questionnaire_response(client, patient["id"], WATERLOW_QUESTIONNAIRE, "2026-11-22")
    params = {"questionnaire": FALLS_QUESTIONNAIRE}
    assert found(client, "QuestionnaireResponse", params) == {falls["id"]}


def test_questionnaire_response_search_by_authored(client: TestClient) -> None:
    patient = create_patient(client)
    early = questionnaire_response(
        client, patient["id"], FALLS_QUESTIONNAIRE, "2026-11-20T08:00:00Z"
    )
    late = questionnaire_response(
        client, patient["id"], FALLS_QUESTIONNAIRE, "2026-11-22T20:00:00Z"
    )
    assert found(client, "QuestionnaireResponse", {"authored": "ge2026-11-21"}) == {late["id"]}
    assert found(client, "QuestionnaireResponse", {"authored": "2026-11-20"}) == {early["id"]}


# -- Task -----------------------------------------------------------------------------------


def task(
    client: TestClient,
    patient_id: str,
    *,
    status: str = "requested",
    focus: str | None = None,
    period: dict[str, str] | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "status": status,
        "intent": "order",
        "for": {"reference": f"Patient/{patient_id}"},
        "description": "Reposition every 2 hours",
    }
    if focus:
        resource["focus"] = {"reference": focus}
    if period:
        resource["executionPeriod"] = period
    return create(client, resource)


def test_task_search_by_patient(client: TestClient) -> None:
    patient = create_patient(client)
    other = create_patient(client)
    mine = task(client, patient["id"])
    task(client, other["id"])
    assert found(client, "Task", {"patient": patient["id"]}) == {mine["id"]}


def test_task_search_by_status(client: TestClient) -> None:
    patient = create_patient(client)
    done = task(client, patient["id"], status="completed")
    task(client, patient["id"], status="requested")
    assert found(client, "Task", {"status": "completed"}) == {done["id"]}


def test_task_search_by_focus(client: TestClient) -> None:
    patient = create_patient(client)
    plan = care_plan(client, patient["id"])
    for_plan = task(client, patient["id"], focus=f"CarePlan/{plan['id']}")
    task(client, patient["id"])
    assert found(client, "Task", {"focus": f"CarePlan/{plan['id']}"}) == {for_plan["id"]}


def test_task_search_by_period(client: TestClient) -> None:
    patient = create_patient(client)
    night = task(
        client,
        patient["id"],
        period={"start": "2026-11-22T22:00:00Z", "end": "2026-11-23T06:00:00Z"},
    )
    morning = task(
        client,
        patient["id"],
        period={"start": "2026-11-21T08:00:00Z", "end": "2026-11-21T10:00:00Z"},
    )
    assert found(client, "Task", {"period": "ge2026-11-22"}) == {night["id"]}
    assert found(client, "Task", {"period": "2026-11-22T23:00:00Z"}) == set()
    assert found(client, "Task", {"period": "2026-11"}) == {night["id"], morning["id"]}


# -- Location -------------------------------------------------------------------------------


def test_location_search_by_identifier(client: TestClient) -> None:
    ward = location(client, "Ward 7", "wa", identifier="RXX-W7")
    location(client, "Ward 8", "wa", identifier="RXX-W8")
    assert found(client, "Location", {"identifier": "RXX-W7"}) == {ward["id"]}


def test_location_search_by_name(client: TestClient) -> None:
    ward = location(client, "Nightingale Ward", "wa")
    location(client, "Florence Ward", "wa")
    assert found(client, "Location", {"name": "nightin"}) == {ward["id"]}


def test_location_search_by_physical_type(client: TestClient) -> None:
    ward = location(client, "Ward 7", "wa")
    bed = location(client, "Bed 3", "bd", part_of=ward["id"])
    assert found(client, "Location", {"physical-type": "bd"}) == {bed["id"]}
    assert found(client, "Location", {"physical-type": f"{LOCATION_TYPE}|wa"}) == {ward["id"]}


def test_location_search_by_partof(client: TestClient) -> None:
    ward7 = location(client, "Ward 7", "wa")
    ward8 = location(client, "Ward 8", "wa")
    bed = location(client, "Bed 3", "bd", part_of=ward7["id"])
    location(client, "Bed 4", "bd", part_of=ward8["id"])
    assert found(client, "Location", {"partof": f"Location/{ward7['id']}"}) == {bed["id"]}


# -- OR and AND -----------------------------------------------------------------------------


def test_comma_separated_values_are_ored(client: TestClient) -> None:
    patient = create_patient(client)
    pulse = heart_rate(client, patient["id"])
    breathing = respiratory_rate(client, patient["id"])
    heart_rate(
        client,
        patient["id"],
        code={"coding": [{"system": LOINC, "code": "8310-5", "display": "Body temperature"}]},
        valueQuantity={"value": 37.2, "unit": "Cel", "system": UCUM, "code": "Cel"},
    )
    params = {"code": f"{LOINC}|8867-4,{LOINC}|9279-1"}
    assert found(client, "Observation", params) == {pulse["id"], breathing["id"]}


def test_repeated_parameters_are_anded(client: TestClient) -> None:
    patient = create_patient(client)
    ids = {
        hour: heart_rate(client, patient["id"], when=f"2026-11-22T{hour}:00:00Z")["id"]
        for hour in ("06", "12", "18")
    }
    params = [("date", "ge2026-11-22T09:00:00Z"), ("date", "le2026-11-22T15:00:00Z")]
    assert found(client, "Observation", params) == {ids["12"]}


def test_different_parameters_are_anded(client: TestClient) -> None:
    patient = create_patient(client)
    other = create_patient(client)
    mine = heart_rate(client, patient["id"])
    respiratory_rate(client, patient["id"])
    heart_rate(client, other["id"])
    params = {"patient": patient["id"], "code": "8867-4"}
    assert found(client, "Observation", params) == {mine["id"]}


def test_repeated_id_parameters_intersect(client: TestClient) -> None:
    a, b, c = (create_patient(client)["id"] for _ in range(3))
    params = [("_id", f"{a},{b}"), ("_id", f"{b},{c}")]
    assert found(client, "Patient", params) == {b}


# -- _include and _revinclude ---------------------------------------------------------------


def test_include_observation_patient_adds_the_patient_with_mode_include(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    observation = heart_rate(client, patient["id"])
    bundle = search(
        client, "Observation", {"_id": observation["id"], "_include": "Observation:patient"}
    )
    assert bundle["total"] == 1
    modes = {
        (e["resource"]["resourceType"], e["resource"]["id"]): e["search"]["mode"]
        for e in bundle["entry"]
    }
    assert modes == {
        ("Observation", observation["id"]): "match",
        ("Patient", patient["id"]): "include",
    }


def test_include_lists_a_shared_patient_once(client: TestClient) -> None:
    patient = create_patient(client)
    for value in (70, 80, 90):
        heart_rate(client, patient["id"], value=value)
    bundle = search(
        client, "Observation", {"patient": patient["id"], "_include": "Observation:patient"}
    )
    included = [e for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [e["resource"]["id"] for e in included] == [patient["id"]]
    assert bundle["total"] == 3


def test_revinclude_provenance_target_adds_the_provenance_of_each_match(
    client: TestClient,
) -> None:
    patient = create_patient(client)
    create_patient(client)
    bundle = search(client, "Patient", {"_id": patient["id"], "_revinclude": "Provenance:target"})
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [r["resourceType"] for r in included] == ["Provenance"]
    targets = {t["reference"] for t in included[0]["target"]}
    assert f"Patient/{patient['id']}/_history/1" in targets
    assert bundle["total"] == 1


# -- errors and deleted resources -----------------------------------------------------------


def test_unknown_search_parameter_returns_400_rather_than_being_ignored(
    client: TestClient,
) -> None:
    create_patient(client)
    assert_outcome(client.get("/fhir/Patient", params={"shoe-size": "9"}), 400)


def test_search_parameter_of_another_type_returns_400(client: TestClient) -> None:
    assert_outcome(client.get("/fhir/Patient", params={"value-quantity": "gt100"}), 400)


@pytest.mark.parametrize(
    ("resource_type", "params"),
    [
        ("Patient", {"birthdate": "not-a-date"}),
        ("Patient", {"birthdate": "1941-13-45"}),
        ("Observation", {"date": "ge22/11/2026"}),
        ("Observation", {"date": "2026-11-22T25:00:00Z"}),
        ("Patient", {"_lastUpdated": "yesterday"}),
    ],
)
def test_bad_date_value_returns_400(
    client: TestClient, resource_type: str, params: dict[str, str]
) -> None:
    assert_outcome(client.get(f"/fhir/{resource_type}", params=params), 400)


def test_bad_count_returns_400(client: TestClient) -> None:
    assert_outcome(client.get("/fhir/Patient", params={"_count": "many"}), 400)


def test_deleted_resources_never_appear_in_search(client: TestClient) -> None:
    kept = create_patient(client, name=named("Fairweather"))
    gone = create_patient(client, name=named("Fairweather"))
    assert client.delete(f"/fhir/Patient/{gone['id']}").status_code == 204
    assert found(client, "Patient", {"family": "fairweather"}) == {kept["id"]}
    assert found(client, "Patient", {"_id": gone["id"]}) == set()
    assert search(client, "Patient", {})["total"] == 1
    assert search(client, "Patient", {"_summary": "count"})["total"] == 1


def test_deleted_resources_are_never_included(client: TestClient) -> None:
    patient = create_patient(client)
    observation = heart_rate(client, patient["id"])
    assert client.delete(f"/fhir/Patient/{patient['id']}").status_code == 204
    bundle = search(
        client, "Observation", {"_id": observation["id"], "_include": "Observation:patient"}
    )
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Observation"]


def test_search_finds_the_current_version_only(client: TestClient) -> None:
    patient = create_patient(client, name=named("Oldname"))
    renamed = {**patient, "name": named("Newname")}
    response = client.put(
        f"/fhir/Patient/{patient['id']}",
        content=json.dumps(renamed),
        headers={"Content-Type": FHIR_JSON},
    )
    assert response.status_code == 200, response.text
    assert found(client, "Patient", {"family": "oldname"}) == set()
    assert found(client, "Patient", {"family": "newname"}) == {patient["id"]}


# -- string modifiers and literal characters ------------------------------------------------


def test_name_exact_matches_the_whole_name_with_case_and_accents(client: TestClient) -> None:
    muller = create_patient(client, name=named("Müller", "Jürgen"))
    create_patient(client, name=named("Muller", "Hans"))
    create_patient(client, name=named("Müllerson", "Karl"))
    assert found(client, "Patient", {"family:exact": "Müller"}) == {muller["id"]}
    assert found(client, "Patient", {"family:exact": "müller"}) == set()


def test_name_contains_matches_anywhere_in_the_name(client: TestClient) -> None:
    hamilton = create_patient(client, name=named("Hamilton", "Ann"))
    create_patient(client, name=named("Brown", "Ann"))
    assert found(client, "Patient", {"name:contains": "ILTO"}) == {hamilton["id"]}


@pytest.mark.parametrize("wildcard", ["%", "_", "\\", "%ll%"])
def test_like_wildcards_in_a_string_search_are_literal_characters(
    client: TestClient, wildcard: str
) -> None:
    create_patient(client, name=named("Müller", "Jürgen"))
    assert found(client, "Patient", {"name": wildcard}) == set()


def test_count_zero_returns_the_total_without_entries_or_next_link(client: TestClient) -> None:
    for _ in range(3):
        create_patient(client)
    bundle = search(client, "Patient", {"_count": "0"})
    assert bundle["total"] == 3
    assert not bundle.get("entry")
    assert link(bundle, "next") is None
