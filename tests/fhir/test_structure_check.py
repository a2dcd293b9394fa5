"""structure_check's "certainly valid" is never wrong, and validation answers the same with it.

fhir/structure_check.py may say "not sure" as often as it likes, but never "certainly valid" of
a resource fhir.resources' R4B model refuses; and ResourceValidator must give the same verdict
and the same issues (messages, paths, order) with it as without it. The differential test starts
from resources WardCare builds and receives (the benchmark's NEWS2 QuestionnaireResponse, the
Observations an assessment stores, a synthetic hospital's Patients, Encounters, Conditions...),
mutates them at random and asks both paths.
"""

from __future__ import annotations

import copy
import os
import random
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from bench.assessments import response_body
from fhir.resources.R4B import get_fhir_model_class
from fhir_core import types as fhir_types
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wardcare import paths
from wardcare.catalog.catalog import load_catalog
from wardcare.demo import synthetic_hospital
from wardcare.demo.vital_signs_series import vital_signs_set
from wardcare.domain.actor import Actor, ActorKind
from wardcare.errors import Category, WardCareError
from wardcare.fhir import validation
from wardcare.fhir.profiles import load_profiles
from wardcare.fhir.required_bindings import load_required_bindings
from wardcare.fhir.structure_check import certainly_valid
from wardcare.fhir.validation import ResourceValidator
from wardcare.fhir.versions import StoredVersion
from wardcare.services import assessment_results
from wardcare.services.provenance import provenance_for

# More, locally: WARDCARE_DIFFERENTIAL_EXAMPLES=50000 pytest tests/fhir/test_structure_check.py
EXAMPLES = int(os.environ.get("WARDCARE_DIFFERENTIAL_EXAMPLES", "3000"))

BINDINGS = load_required_bindings(paths.FHIR_PROFILES / "required-bindings.json")
PROFILES = load_profiles(paths.FHIR_PROFILES)
FAST = ResourceValidator(PROFILES, BINDINGS)
MODEL_ONLY = ResourceValidator(PROFILES, BINDINGS, fast_structure=False)


# -- realistic resources ------------------------------------------------------------------------


def _news2_response() -> dict[str, Any]:
    """The QuestionnaireResponse bench/assessments.py posts: 8 items (oxygen, so a flow too)."""
    body = response_body("8d1f4b2e-0c57-4a55-9f0e-3b1f1c7f9a10", random.Random(0), 0)
    resource: dict[str, Any] = validation.parse_json(body)
    assert len(resource["item"]) == 8
    return resource


def _assessment_observations() -> list[dict[str, Any]]:
    """The Observations recording a NEWS2 assessment stores: each extracted reading and the
    score (services/assessment_results.py)."""
    loaded = load_catalog(paths.CARE_TEMPLATES).get("news2")
    assert loaded is not None
    answers: dict[str, Any] = {
        "respiration-rate": 22,
        "spo2": 93,
        "on-oxygen": True,
        "oxygen-flow": 2.0,
        "systolic-bp": 101,
        "pulse": 112,
        "consciousness": "A",
        "temperature": 38.4,
    }
    context = assessment_results.Context(
        patient="Patient/p1",
        encounter="Encounter/e1",
        effective="2026-11-22T10:00:00+00:00",
        performer={"reference": "Practitioner/n1", "display": "Alex Morgan"},
        derived_from=["QuestionnaireResponse/q1"],
    )
    extracted = [
        assessment_results.extracted_observation(loaded, item, answers[item.link_id], context)
        for item in loaded.template.items
        if item.extract and item.link_id in answers
    ]
    score = assessment_results.score_observation(loaded, loaded.score(answers), context)
    return [*extracted, score]


def _hospital() -> list[dict[str, Any]]:
    """One of each resource type of a small synthetic ward, and one Observation per code."""
    ward = synthetic_hospital.WardSpec(code="WARD1", name="Ward 1", bays=1, beds_per_bay=2)
    spec = synthetic_hospital.HospitalSpec(wards=(ward,), days_of_obs=1, nurses_per_ward=1)
    hospital = synthetic_hospital.build_hospital(spec, now=datetime(2026, 11, 23, tzinfo=UTC))
    chosen: dict[str, dict[str, Any]] = {}
    for resource in hospital.resources():
        key = resource["resourceType"]
        if key == "Observation":
            key += resource["code"]["coding"][0]["code"]
        chosen.setdefault(key, resource)
    return list(chosen.values())


def _provenance() -> dict[str, Any]:
    nurse = Actor(ActorKind.USER, "Alex Morgan (Staff nurse)", reference="Practitioner/n1")
    versions = [
        StoredVersion(
            1, "QuestionnaireResponse", "q1", 1, 1_795_000_000_000_000, False, "POST", b""
        ),
        StoredVersion(2, "Observation", "o1", 1, 1_795_000_000_000_000, False, "POST", b""),
    ]
    return provenance_for(versions, nurse, patient="Patient/p1", reason="Recorded NEWS2")


# As WardCare's care planning writes them (captured from tests/api/test_care_plan_journey.py).
CARE_PLAN: dict[str, Any] = {
    "resourceType": "CarePlan",
    "id": "4c00f94b-b1db-4103-80a8-db7df9d63834",
    "extension": [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/request-statusReason",
            "valueCodeableConcept": {"text": "Transferred to another plan"},
        }
    ],
    "status": "active",
    "intent": "plan",
    "instantiatesCanonical": [
        "http://wardcare.org/fhir/PlanDefinition/pressure-ulcer-prevention|1.0.0"
    ],
    "category": [
        {
            "coding": [
                {
                    "system": "http://wardcare.org/fhir/CodeSystem/care-planning",
                    "code": "nursing-care-plan",
                    "display": "Nursing care plan",
                }
            ]
        }
    ],
    "title": "Pressure ulcer prevention (aSSKINg)",
    "created": "2026-11-24T10:00:00.000000Z",
    "author": {"display": "Alex Morgan (Staff nurse)", "reference": "Practitioner/dev-nurse"},
    "addresses": [{"reference": "Condition/597360d5-069b-4831-8a1f-75ea978f920b"}],
    "goal": [{"reference": "Goal/13039674-7359-48c6-8e14-04b18830ca5d"}],
    "activity": [{"reference": {"reference": "Task/d44c88d4-93a6-4573-a005-ce5d4d95e058"}}],
    "subject": {"reference": "Patient/508a89de-685d-4198-b120-bcdda3d76d8e"},
    "encounter": {"reference": "Encounter/0f06c617-dd9e-4a95-8b6c-1ddbda4be3d1"},
    "supportingInfo": [{"reference": "QuestionnaireResponse/557a29a1"}],
    "note": [{"text": "High risk of pressure ulcers", "time": "2026-11-24T10:00:00.000000Z"}],
}
# An activity planned in the CarePlan itself (detail, a backbone element under a backbone
# element, with its own required bindings) and a Timing (whose repeat is a datatype of its own).
CARE_PLAN_WITH_DETAIL: dict[str, Any] = {
    "resourceType": "CarePlan",
    "status": "active",
    "intent": "plan",
    "subject": {"reference": "Patient/p1"},
    "period": {"start": "2026-11-24"},
    "activity": [
        {
            "detail": {
                "kind": "Task",
                "code": {"text": "Reposition"},
                "status": "in-progress",
                "doNotPerform": False,
                "scheduledTiming": {
                    "repeat": {
                        "frequency": 1,
                        "period": 4,
                        "periodUnit": "h",
                        "timeOfDay": ["08:00:00", "12:00:00"],
                    }
                },
                "performer": [{"reference": "Practitioner/n1"}],
                "description": "Turn every 4 hours",
            }
        },
        {"outcomeReference": [{"reference": "Observation/o1"}], "progress": [{"text": "ok"}]},
    ],
}
AUDIT_EVENT: dict[str, Any] = {
    "resourceType": "AuditEvent",
    "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
    "action": "R",
    "recorded": "2026-11-22T09:30:00Z",
    "outcome": "0",
    "agent": [{"who": {"display": "Charge nurse"}, "requestor": True}],
    "source": {"observer": {"display": "WardCare"}},
    "entity": [{"what": {"reference": "Patient/p1"}}],
}
GOAL: dict[str, Any] = {
    "resourceType": "Goal",
    "id": "13039674-7359-48c6-8e14-04b18830ca5d",
    "extension": [
        {
            "url": "http://wardcare.org/fhir/StructureDefinition/goal-review-interval",
            "valueDuration": {
                "value": 1,
                "unit": "d",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            },
        }
    ],
    "lifecycleStatus": "proposed",
    "description": {"text": "Heels and sacrum stay intact"},
    "subject": {"reference": "Patient/508a89de-685d-4198-b120-bcdda3d76d8e"},
    "startDate": "2026-11-24",
    "addresses": [{"reference": "Condition/597360d5-069b-4831-8a1f-75ea978f920b"}],
    "target": [
        {
            "measure": {
                "coding": [
                    {
                        "system": "http://wardcare.org/fhir/CodeSystem/care-planning",
                        "code": "new-pressure-damage",
                    }
                ]
            },
            "detailQuantity": {
                "value": 0.0,
                "unit": "{count}",
                "system": "http://unitsofmeasure.org",
                "code": "{count}",
                "comparator": "<=",
            },
        }
    ],
    "note": [{"text": "Met: no new redness that does not blanch, no broken skin."}],
}
TASK: dict[str, Any] = {
    "resourceType": "Task",
    "status": "completed",
    "businessStatus": {
        "coding": [
            {
                "system": "http://wardcare.org/fhir/CodeSystem/care-planning",
                "code": "done",
                "display": "Done",
            }
        ],
        "text": "Done",
    },
    "intent": "order",
    "priority": "urgent",
    "code": {
        "coding": [
            {
                "system": "http://wardcare.org/fhir/CodeSystem/care-planning",
                "code": "pressure-ulcer-prevention.reposition",
                "display": "Reposition",
            }
        ],
        "text": "Reposition",
    },
    "description": "Help or encourage the patient to change position; record the skin seen.",
    "partOf": [{"reference": "Task/478b2e4f-dd89-4cd1-b6c1-33278ca7dae3"}],
    "basedOn": [{"reference": "CarePlan/4c00f94b-b1db-4103-80a8-db7df9d63834"}],
    "for": {"reference": "Patient/508a89de-685d-4198-b120-bcdda3d76d8e"},
    "authoredOn": "2026-11-24T12:30:00.000000Z",
    "lastModified": "2026-11-24T12:30:00.000000Z",
    "executionPeriod": {"start": "2026-11-24T12:30:00Z", "end": "2026-11-24T12:30:00Z"},
    "owner": {"display": "Alex Morgan (Staff nurse)", "reference": "Practitioner/dev-nurse"},
    "restriction": {"period": {"end": "2026-11-24T10:00:00.000000Z"}},
    "note": [{"text": "Turned to left side; sacrum intact", "time": "2026-11-24T12:30:00Z"}],
}
# A Patient with the less common elements: meta, narrative, extension, contact, deceased[x].
PATIENT_IN_FULL: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p-full.1",
    "meta": {
        "versionId": "3",
        "lastUpdated": "2026-11-22T10:00:00.123+00:00",
        "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"],
        "tag": [{"system": "http://wardcare.org/fhir/tag", "code": "demo"}],
    },
    "language": "en-GB",
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Ann</div>'},
    "extension": [
        {
            "url": "http://example.org/fhir/StructureDefinition/interpreter",
            "valueBoolean": False,
        },
        {
            "url": "http://example.org/fhir/StructureDefinition/preferred-name",
            "valueHumanName": {"use": "usual", "given": ["Annie"]},
        },
    ],
    "identifier": [
        {"use": "official", "system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}
    ],
    "active": True,
    "name": [{"use": "official", "family": "O'Brien", "given": ["Ann", "Marie"]}],
    "telecom": [{"system": "phone", "value": "0113 496 0000", "use": "home", "rank": 1}],
    "gender": "female",
    "birthDate": "1941-02",
    "deceasedBoolean": False,
    "address": [{"use": "home", "line": ["1 Park Row"], "city": "Leeds", "postalCode": "LS1 5AB"}],
    "maritalStatus": {"text": "Widowed"},
    "multipleBirthInteger": 1,
    "contact": [
        {
            "relationship": [{"text": "Daughter"}],
            "name": {"family": "O'Brien", "given": ["Siobhan"]},
            "telecom": [{"system": "phone", "value": "07700 900123"}],
            "gender": "female",
            "period": {"start": "2020-01-01"},
        }
    ],
    "communication": [{"language": {"text": "English"}, "preferred": True}],
}
# Answers nested under answers and items under items (QuestionnaireResponse.item is recursive).
NESTED_RESPONSE: dict[str, Any] = {
    "resourceType": "QuestionnaireResponse",
    "questionnaire": "http://wardcare.org/fhir/Questionnaire/must|1.0.0",
    "status": "in-progress",
    "subject": {"reference": "Patient/p1"},
    "authored": "2026-11-22T10:00:00Z",
    "author": {"reference": "Practitioner/n1"},
    "item": [
        {
            "linkId": "weights",
            "text": "Weights",
            "item": [
                {"linkId": "weight", "answer": [{"valueDecimal": 61.5}]},
                {
                    "linkId": "weight-loss",
                    "answer": [
                        {
                            "valueString": "yes",
                            "item": [{"linkId": "amount", "answer": [{"valueInteger": 3}]}],
                        }
                    ],
                },
            ],
        },
        {"linkId": "assessed", "answer": [{"valueDate": "2026-11-22"}]},
        {"linkId": "time", "answer": [{"valueTime": "10:30:00"}]},
        {"linkId": "note", "answer": [{"valueQuantity": {"value": 2, "unit": "kg"}}]},
    ],
}


def _e_obs_set() -> list[dict[str, Any]]:
    """Vital-sign Observations as an e-obs device sends them (a BP panel, SpO2 with O2 flow)."""
    return vital_signs_set(
        patient_ref="Patient/p1",
        encounter_ref="Encounter/e1",
        performer_ref="Practitioner/n1",
        when=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        rr=18,
        spo2=95,
        o2_flow=2.0,
        sbp=128,
        dbp=80,
        pulse=88,
        acvpu="A",
        temp=37.2,
        rng=random.Random(1),
    )


def _questionnaires() -> list[dict[str, Any]]:
    """The Questionnaires WardCare publishes for its assessments (nested items, enableWhen)."""
    catalog = load_catalog(paths.CARE_TEMPLATES)
    chosen = [catalog.get(name) for name in ("news2", "must")]
    return [copy.deepcopy(loaded.questionnaire) for loaded in chosen if loaded is not None]


SEEDS: list[dict[str, Any]] = [
    _news2_response(),
    NESTED_RESPONSE,
    *_assessment_observations(),
    *_e_obs_set(),
    *_hospital(),
    PATIENT_IN_FULL,
    _provenance(),
    CARE_PLAN,
    CARE_PLAN_WITH_DETAIL,
    GOAL,
    TASK,
    AUDIT_EVENT,
    *_questionnaires(),
]


def _name(resource: dict[str, Any]) -> str:
    if resource["resourceType"] == "Observation":
        return f"Observation {resource['code']['coding'][0]['code']}"
    return str(resource["resourceType"])


def outcome(validator: ResourceValidator, resource: Any) -> tuple[Any, ...]:
    """What validation answers: the resource type, or the error's category and issues, or
    (for the few inputs fhir.resources itself fails on, e.g. a number as a valueUrl) what it
    raised: the fast path must not change that either."""
    try:
        return ("accepted", validator.validate(copy.deepcopy(resource)))
    except WardCareError as error:
        return (error.category, error.issues)
    except Exception as error:
        return ("raised", type(error), str(error))


# -- the fast path is taken for the common resources --------------------------------------------


def _refuse(resource_type: str) -> Any:
    raise AssertionError(f"an R4B model of {resource_type} was built")


@pytest.fixture
def no_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation may not build an R4B model: the fast path must answer on its own."""
    monkeypatch.setattr(validation, "get_fhir_model_class", _refuse)


@pytest.mark.parametrize("resource", SEEDS, ids=_name)
def test_common_resources_are_certainly_valid(resource: dict[str, Any]) -> None:
    assert certainly_valid(resource)
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


@pytest.mark.parametrize("resource", SEEDS, ids=_name)
@pytest.mark.usefixtures("no_models")
def test_validating_a_common_resource_builds_no_model(resource: dict[str, Any]) -> None:
    assert FAST.validate(copy.deepcopy(resource)) == resource["resourceType"]


def _with(resource: dict[str, Any], *changes: tuple[str, Any]) -> dict[str, Any]:
    """A copy of `resource` with values set at dotted paths ("contact.0.gender")."""
    changed = copy.deepcopy(resource)
    for path, value in changes:
        *parents, last = path.split(".")
        node: Any = changed
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    return changed


BINDING_CASES = {
    "a Patient, in datatypes and a backbone element": (
        _with(
            PATIENT_IN_FULL,
            ("gender", "woman"),
            ("contact.0.gender", "f"),
            ("extension.1.valueHumanName.use", "nick"),
            ("telecom.0.system", "telephone"),
        ),
        # In the order of the R4B model's fields (inherited ones first), not of the JSON.
        [
            "Patient.extension[1].valueHumanName.use",
            "Patient.contact[0].gender",
            "Patient.gender",
            "Patient.telecom[0].system",
        ],
    ),
    "a CarePlan's activity detail, two backbone elements down": (
        _with(
            CARE_PLAN_WITH_DETAIL,
            ("activity.0.detail.kind", "Chore"),
            ("activity.0.detail.status", "busy"),
            ("intent", "wish"),
        ),
        [
            "CarePlan.activity[0].detail.kind",
            "CarePlan.activity[0].detail.status",
            "CarePlan.intent",
        ],
    ),
    # Timing.repeat is the datatype TimingRepeat to the walk, so the bindings file's
    # Timing.repeat.periodUnit is not applied by either path: the fast one changes nothing.
    "a Timing's repeat": (
        _with(CARE_PLAN_WITH_DETAIL, ("activity.0.detail.scheduledTiming.repeat.periodUnit", "x")),
        [],
    ),
    "a Quantity's comparator inside a Goal's target": (
        _with(GOAL, ("target.0.detailQuantity.comparator", "about")),
        ["Goal.target[0].detailQuantity.comparator"],
    ),
}


@pytest.mark.parametrize("case", BINDING_CASES)
def test_required_bindings_are_checked_on_the_fast_path_as_on_the_model(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resource, expected = BINDING_CASES[case]
    with monkeypatch.context() as patch:
        patch.setattr(validation, "get_fhir_model_class", _refuse)
        fast = outcome(FAST, resource)
    if expected:
        assert fast[0] == Category.UNPROCESSABLE
        assert [issue.expression for issue in fast[1]] == [(path,) for path in expected]
    else:
        assert fast[0] == "accepted"
    assert outcome(MODEL_ONLY, resource) == fast


# -- "not sure" falls back to the model ---------------------------------------------------------


def _reading(*, without: str = "", **changes: Any) -> dict[str, Any]:
    """The respiratory-rate Observation an assessment stores, changed."""
    resource = {k: v for k, v in copy.deepcopy(SEEDS[2]).items() if k != without}
    return resource | changes


VALID_BUT_NOT_MODELLED = {
    "a contained resource": _reading(contained=[{"resourceType": "Patient", "id": "p"}]),
    "a primitive extension": _reading(_status={"extension": [{"url": "x", "valueString": "y"}]}),
    "a primitive extension alone": _reading(
        without="status", _status={"extension": [{"url": "x", "valueCode": "unknown"}]}
    ),
    "fhir_comments": _reading(fhir_comments=["a comment"]),
    "a leap second": _reading(effectiveDateTime="2016-12-31T23:59:60Z"),
    "a boolean as a string": _reading(without="valueQuantity", valueBoolean="true"),
    "an integer as 5.0": _reading(without="valueQuantity", valueInteger=5.0),
    "a decimal as a string": _reading(valueQuantity={"value": "1.5"}),
    "an empty list": _reading(performer=[]),
    "an empty object": _reading(subject={}),
    "a Python field name": _reading(status__ext={"id": "x"}),
    "base64Binary": _reading(extension=[{"url": "http://x", "valueBase64Binary": "aGk="}]),
    "a string of one U+001C": _reading(subject={"display": "\x1c"}),
}


@pytest.mark.parametrize("change", VALID_BUT_NOT_MODELLED)
def test_what_is_not_modelled_is_left_to_the_model(change: str) -> None:
    resource = VALID_BUT_NOT_MODELLED[change]
    get_fhir_model_class("Observation").model_validate(resource)  # valid FHIR to the model
    assert not certainly_valid(resource)
    assert outcome(FAST, resource) == outcome(MODEL_ONLY, resource)


BROKEN = {
    "a day February does not have": _reading(effectiveDateTime="2026-02-30T10:00:00Z"),
    "a time without a zone": _reading(effectiveDateTime="2026-11-22T10:00:00"),
    "hour 24": _reading(effectiveDateTime="2026-11-22T24:00:00Z"),
    "a zone past +14:00": _reading(effectiveDateTime="2026-11-22T10:00:00+14:30"),
    "an instant without a time": _reading(issued="2026-11-22"),
    "a code with a trailing space": _reading(status="final "),
    "a code with two spaces": _reading(status="fi  nal"),
    "an empty code": _reading(status=""),
    "an id with a space": _reading(id="has space"),
    "an id longer than fhir_core allows": _reading(id="x" * 256),
    "two value[x]": _reading(valueString="two choices"),
    "no code": _reading(without="code"),
    "a lone surrogate": _reading(subject={"reference": "\ud800"}),
    "a string of one vertical tab": _reading(subject={"reference": "\x0b"}),
    "an array for a single element": _reading(subject=[{"reference": "Patient/p1"}]),
    "an object for an array": _reading(category={"text": "not a list"}),
    "NaN": _reading(valueQuantity={"value": float("nan")}),
    "a boolean for a decimal": _reading(valueQuantity={"value": True}),
    "an integer past 32 bits": _reading(
        component=[{"code": {"text": "x"}, "valueInteger": 2147483648}]
    ),
    "an unknown element": _reading(colour="blue"),
    "a component without its code": _reading(component=[{"valueInteger": 2}]),
}


@pytest.mark.parametrize("change", BROKEN)
def test_broken_structure_is_left_to_the_model(change: str) -> None:
    resource = BROKEN[change]
    assert not certainly_valid(resource)
    fast = outcome(FAST, resource)
    assert fast[0] != "accepted"
    assert fast == outcome(MODEL_ONLY, resource)


# -- the differential test ----------------------------------------------------------------------

INTERESTING_STRINGS = [
    "",
    " ",
    "\t",
    "\n",
    "a b",
    "a  b",
    " a",
    "a ",
    "a\n",
    "\x0ba",
    "a\x1cb",
    "\x1c",
    "\u00a0",
    "Zoë",
    "\u4e2d\u6587",
    "\ud800",
    "x" * 65,
    "final",
    "nope",
    "completed",
    "official",
    "female",
    "phone",
    "<=",
    "2026",
    "2026-13",
    "2026-02",
    "2026-02-29",
    "2024-02-29",
    "2026-02-30",
    "0000-01-01",
    "0001-01-01",
    "2026-11-22T10:00:00Z",
    "2026-11-22T10:00:00",
    "2026-11-22T10:00Z",
    "2026-11-22T24:00:00Z",
    "2026-11-22T23:59:60Z",
    "2026-11-22T10:00:00.123456789+14:00",
    "2026-11-22T10:00:00-00:00",
    "2026-11-22T10:00:00+14:01",
    "2026-11-22 10:00:00Z",
    "10:30:00",
    "24:00:00",
    "Patient/p1",
    "urn:oid:1.2.3",
    "urn:oid:1.02",
    "http://loinc.org",
    "1.5",
    "true",
    "abc-123.X",
    "a_b",
]
NUMBERS = (
    st.integers(min_value=-(2**33), max_value=2**33)
    | st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 1.0, 5.0, -0.0])
    | st.floats(allow_nan=False, allow_infinity=False)
)
LEAVES = (
    st.sampled_from(INTERESTING_STRINGS) | st.text(max_size=6) | st.booleans() | NUMBERS | st.none()
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["text", "value", "code", "x", "id"]), inner, max_size=2)
    ),
    max_leaves=4,
)
NAMES = st.sampled_from(
    [
        "colour",
        "_status",
        "_given",
        "fhir_comments",
        "resource_type",
        "resourceType",
        "status__ext",
        "class_fhir",
        "id",
        "extension",
        "modifierExtension",
        "contained",
        "meta",
        "text",
        "language",
        "implicitRules",
        "valueString",
        "valueInteger",
        "valueBoolean",
        "valueCodeableConcept",
        "valueQuantity",
        "valueDateTime",
        "effectiveDateTime",
        "effectivePeriod",
        "effectiveInstant",
        "deceasedBoolean",
        "system",
        "code",
        "display",
        "url",
        "use",
        "value",
        "reference",
        "item",
        "answer",
        "linkId",
    ]
) | st.text(max_size=6)
NONSENSE = st.sampled_from(
    [
        {"resourceType": "Patient", "id": "x"},
        {"resourceType": "NotAType"},
        {"extension": [{"url": "http://x", "valueString": "y"}]},
        {"extension": [{"url": "http://x"}]},
        {"extension": []},
        {"coding": [{"code": "x", "userSelected": "yes"}]},
        {"reference": "Patient/p1", "display": "Ann"},
        {"value": 1, "unit": "kg", "comparator": "<"},
        {"value": 1, "comparator": "about"},
        {"start": "2026-11-22", "end": "2026-11-21T10:00:00Z"},
        [{"url": "http://x", "valueHumanName": {"use": "nickname"}}],
        [{"url": "http://x", "valueTiming": {"repeat": {"periodUnit": "fortnight"}}}],
        [{"url": "http://x", "valueIdentifier": {"use": "secret"}}],
        {"url": "http://x", "valueCode": "a", "valueString": "b"},
    ]
)


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every place in a resource a value sits: (its object or array, its key or index)."""
    found: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in pairs:
            found.append((node, key))
            if isinstance(child, dict | list):
                stack.append(child)
    return found


def _mutate(draw: st.DrawFn, resource: dict[str, Any]) -> None:
    # Every value drawn is copied before it goes in: a later mutation must not change the
    # strategies' own constants (hypothesis replays draws).
    slots = _slots(resource)
    containers = [resource] + [c[k] for c, k in slots if isinstance(c[k], dict | list)]
    operation = draw(
        st.sampled_from(
            [
                *("tweak", "tweak", "tweak", "drop", "drop", "replace", "add"),
                *("listify", "unlistify", "empty", "nest", "copy"),
            ]
        )
    )
    if operation == "add":
        target = draw(st.sampled_from(containers))
        if isinstance(target, dict):
            target[draw(NAMES)] = copy.deepcopy(draw(VALUES | NONSENSE))
        else:
            target.append(copy.deepcopy(draw(st.sampled_from(target))) if target else 1)
        return
    if not slots:
        return
    container, key = draw(st.sampled_from(slots))
    value = container[key]
    if operation == "drop":
        del container[key]
    elif operation == "tweak":
        # A value of the same JSON type, valid or nearly: where the rules are finest.
        if isinstance(value, str):
            container[key] = draw(st.sampled_from(INTERESTING_STRINGS) | st.text(max_size=6))
        elif isinstance(value, bool):
            container[key] = draw(st.sampled_from([not value, "true", 1, 0]))
        elif isinstance(value, int | float):
            container[key] = draw(NUMBERS)
        else:
            container[key] = copy.deepcopy(draw(VALUES))
    elif operation == "replace":
        container[key] = copy.deepcopy(draw(VALUES))
    elif operation == "listify":
        container[key] = [value]
    elif operation == "unlistify" and isinstance(value, list) and value:
        container[key] = value[0]
    elif operation == "empty":
        container[key] = copy.deepcopy(draw(st.sampled_from(["", [], {}, [{}], " "])))
    elif operation == "nest":
        container[key] = copy.deepcopy(draw(NONSENSE))
    elif operation == "copy":
        other, other_key = draw(st.sampled_from(slots))
        container[key] = copy.deepcopy(other[other_key])


@st.composite
def mutated_resources(draw: st.DrawFn) -> dict[str, Any]:
    resource = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        _mutate(draw, resource)
    return resource


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_resources())
def test_the_fast_path_never_disagrees_with_the_model(resource: dict[str, Any]) -> None:
    fast = isinstance(resource.get("resourceType"), str) and certainly_valid(resource)
    if fast:
        # "Certainly valid" is a promise about the R4B model itself.
        get_fhir_model_class(resource["resourceType"]).model_validate(copy.deepcopy(resource))
    answer = outcome(FAST, resource)
    assert answer == outcome(MODEL_ONLY, resource)
    # --hypothesis-show-statistics tells how often each case came up.
    event("certainly valid" if fast else "not sure")
    event(f"validation: {answer[0]}")


# -- each primitive rule against the model ------------------------------------------------------

PRIMITIVES = [
    "String",
    "Code",
    "Id",
    "Uri",
    "Canonical",
    "Url",
    "Oid",
    "Markdown",
    "Date",
    "DateTime",
    "Instant",
    "Time",
    "Decimal",
    "Integer",
    "UnsignedInt",
    "PositiveInt",
    "Boolean",
    "Base64Binary",
    "Uuid",
]
# Characters where regex engines and Python's str methods disagree about whitespace.
ODD_CHARACTERS = ["\ud800", "\udfff", "\x1c", "\x1f", "\x0b", "\x0c", "\x85", "\u00a0"]
ODD_CHARACTERS += ["\u180e", "\u200b", "\u2028", "\u3000", "\ufeff", " ", "\t", "\n", "\r"]
TEXT = st.text(alphabet=st.characters() | st.sampled_from(ODD_CHARACTERS), max_size=8)


def _matching(pattern: str | re.Pattern[str]) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


# Values near each type's rule: what its pattern allows (a February 30th, hour 23, a fraction
# of nine digits...), and a little more or less.
LIKELY: dict[str, st.SearchStrategy[Any]] = {
    "Date": _matching(fhir_types.Date.pattern),
    "DateTime": _matching(fhir_types.DateTime.pattern),
    "Instant": _matching(fhir_types.Instant.pattern),
    "Time": _matching(fhir_types.Time.pattern),
    "Decimal": NUMBERS | _matching(fhir_types.Decimal.pattern),
    "Id": _matching(r"[A-Za-z0-9\-.]{1,70}\n?"),
    "Oid": _matching(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+\n?"),
    "Code": _matching(r"\S{1,3}(\s{1,2}\S{1,3}){0,2}\s?"),
    "Integer": NUMBERS | st.booleans(),
    "UnsignedInt": NUMBERS | st.booleans(),
    "PositiveInt": NUMBERS | st.booleans(),
    "Boolean": st.sampled_from([True, False, "true", 1, 0]),
}
ANY_VALUE = TEXT | st.sampled_from(INTERESTING_STRINGS) | NUMBERS | st.booleans()
PRIMITIVE_VALUES = st.sampled_from(PRIMITIVES).flatmap(
    lambda kind: st.tuples(st.just(kind), LIKELY.get(kind, TEXT) | ANY_VALUE)
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PRIMITIVE_VALUES)
def test_each_primitive_rule_is_never_looser_than_the_model(
    kind_and_value: tuple[str, Any],
) -> None:
    kind, value = kind_and_value
    resource = {
        "resourceType": "Patient",
        "extension": [{"url": "http://x", f"value{kind}": value}],
    }
    fast = certainly_valid(resource)
    if fast:
        get_fhir_model_class("Patient").model_validate(resource)
    assert outcome(FAST, resource) == outcome(MODEL_ONLY, resource)
    event(f"{kind}: {'certainly valid' if fast else 'not sure'}")
