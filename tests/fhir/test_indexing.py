"""Index rows per search parameter type (FHIR R4 3.1.1.4)."""

from wardcare import paths
from wardcare.fhir.dates import date_range
from wardcare.fhir.indexing import index_resource, normalise_string, split_reference
from wardcare.fhir.search_parameters import load_search_parameters

REGISTRY = load_search_parameters(paths.FHIR_PROFILES / "search-parameters.json")


def test_patient_identifiers_names_and_birth_date_are_indexed() -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
        "name": [{"family": "Müller", "given": ["Zoë", "Ann"], "prefix": ["Mrs"]}],
        "birthDate": "1941-03-12",
        "gender": "female",
    }
    rows = index_resource(patient, REGISTRY.indexed("Patient"))
    assert ("identifier", "https://fhir.nhs.uk/Id/nhs-number", "9434765919") in rows.tokens
    assert ("gender", None, "female") in rows.tokens
    assert ("family", "muller", "Müller") in rows.strings
    assert ("name", "zoe", "Zoë") in rows.strings
    assert ("birthdate", *date_range("1941-03-12")) in rows.dates


def test_observation_codes_subject_patient_and_value_are_indexed() -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": "59408-5"},
                {"system": "http://loinc.org", "code": "2708-6"},
            ]
        },
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-22T10:10:00Z",
        "valueQuantity": {"value": 94, "system": "http://unitsofmeasure.org", "code": "%"},
    }
    rows = index_resource(observation, REGISTRY.indexed("Observation"))
    assert {("code", "http://loinc.org", "59408-5"), ("code", "http://loinc.org", "2708-6")} <= set(
        rows.tokens
    )
    # The patient reference is indexed once, as `patient`; `subject` is answered from those rows
    # too (search_parameters.py `patient_twin`).
    assert [r for r in rows.references if r[1] == "Patient"] == [("patient", "Patient", "p1")]
    assert ("value-quantity", 94.0, "http://unitsofmeasure.org", "%") in rows.quantities


def test_a_subject_that_is_not_a_patient_is_not_indexed_as_patient() -> None:
    observation = {"resourceType": "Observation", "subject": {"reference": "Location/bed1"}}
    rows = index_resource(observation, REGISTRY.indexed("Observation"))
    assert ("subject", "Location", "bed1") in rows.references
    assert not [r for r in rows.references if r[0] == "patient"]


def test_a_patient_twin_is_paired_only_with_its_own_broader_parameter() -> None:
    subject = REGISTRY.get("Observation", "subject")
    target = REGISTRY.get("Provenance", "target")
    assert subject is not None
    assert subject.row_params == ("subject", "patient")
    assert target is not None
    assert target.row_params == ("target", "patient")
    # `performer` can name a Patient too, but has no twin: its Patient rows stay its own.
    performer = REGISTRY.get("Observation", "performer")
    assert performer is not None
    assert performer.row_params == ("performer",)
    observation = {"resourceType": "Observation", "performer": [{"reference": "Patient/p1"}]}
    rows = index_resource(observation, REGISTRY.indexed("Observation"))
    assert rows.references == [("performer", "Patient", "p1")]


def test_an_open_period_reaches_to_the_end_of_time() -> None:
    encounter = {"resourceType": "Encounter", "period": {"start": "2026-11-22T08:25:00Z"}}
    ((_param, low, high),) = index_resource(encounter, REGISTRY.indexed("Encounter")).dates
    assert low == date_range("2026-11-22T08:25:00Z")[0]
    assert high > date_range("2100")[1]


def test_a_canonical_reference_is_indexed_by_its_url() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://wardcare.org/fhir/Questionnaire/news2|1.0.0",
    }
    rows = index_resource(response, REGISTRY.indexed("QuestionnaireResponse"))
    assert ("questionnaire", "", "http://wardcare.org/fhir/Questionnaire/news2|1.0.0") in (
        rows.references
    )


def test_string_search_form_ignores_case_and_accents() -> None:
    assert normalise_string("ÉLODIE O'Brien") == "elodie o'brien"


def test_references_split_into_type_and_id() -> None:
    assert split_reference("Patient/123") == ("Patient", "123")
    assert split_reference("http://x.org/fhir/Patient/123/_history/2") == ("Patient", "123")
    assert split_reference("urn:uuid:abc") is None
