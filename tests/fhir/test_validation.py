"""Structure, required bindings, NHS numbers: what makes a resource storable."""

from typing import Any

import pytest

from tests import factories
from wardcare.bootstrap import build_context
from wardcare.config import Settings
from wardcare.errors import Category, WardCareError
from wardcare.fhir.validation import parse_json


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> Any:
    url = f"sqlite:///{tmp_path_factory.mktemp('v') / 'v.db'}"
    return build_context(Settings(database_url=url)).validator


def rejected(validator: Any, resource: Any) -> WardCareError:
    with pytest.raises(WardCareError) as caught:
        validator.validate(resource)
    return caught.value


def test_malformed_json_is_invalid() -> None:
    with pytest.raises(WardCareError) as caught:
        parse_json(b'{"resourceType": "Patient",')
    assert caught.value.category == Category.INVALID


def test_an_unknown_element_is_named_by_its_path(validator: Any) -> None:
    error = rejected(validator, factories.patient(colour="blue"))
    assert error.category == Category.INVALID
    assert error.issues[0].expression == ("Patient.colour",)


def test_a_bad_date_is_named_by_its_path(validator: Any) -> None:
    error = rejected(validator, factories.patient(birthDate="1941-13-45"))
    assert error.issues[0].expression == ("Patient.birthDate",)


def test_a_code_outside_its_required_value_set_is_unprocessable(validator: Any) -> None:
    error = rejected(validator, factories.heart_rate("p1", status="nope"))
    assert error.category == Category.UNPROCESSABLE
    assert error.issues[0].expression == ("Observation.status",)


def test_a_nested_required_binding_is_checked_with_its_index(validator: Any) -> None:
    patient = factories.patient()
    patient["name"][0]["use"] = "nickname-ish"
    error = rejected(validator, patient)
    assert error.issues[0].expression == ("Patient.name[0].use",)


def test_an_nhs_number_failing_modulus_11_is_unprocessable(validator: Any) -> None:
    patient = factories.patient(
        identifier=[{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765910"}]
    )
    error = rejected(validator, patient)
    assert error.category == Category.UNPROCESSABLE
    assert error.issues[0].expression == ("Patient.identifier[0].value",)
    assert "Modulus 11" in error.issues[0].message


def test_an_unserved_resource_type_is_not_supported(validator: Any) -> None:
    error = rejected(validator, {"resourceType": "Medication"})
    assert error.category == Category.NOT_SUPPORTED


def test_a_contained_resource_of_an_unknown_type_is_invalid_not_a_crash(validator: Any) -> None:
    observation = factories.heart_rate("p1", contained=[{"resourceType": "NotAType", "id": "x"}])
    error = rejected(validator, observation)
    assert error.category == Category.INVALID


def test_a_number_where_a_url_belongs_is_invalid_not_a_crash(validator: Any) -> None:
    # fhir_core raised AttributeError for a non-string valueUrl, which reached the client as a
    # 500; it is the client's mistake, so a 400.
    patient = {"resourceType": "Patient", "extension": [{"url": "http://x", "valueUrl": 5}]}
    with pytest.raises(WardCareError) as raised:
        validator.validate(patient)
    assert raised.value.category == Category.INVALID
    assert "Patient" in raised.value.issues[0].expression[0]


def test_json_nested_100_levels_parses_and_101_is_refused_naming_the_element() -> None:
    def body(levels: int) -> bytes:
        # The resource is level 1; "x" holds levels - 1 nested lists.
        return b'{"resourceType":"Patient","x":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"

    assert parse_json(body(100))["resourceType"] == "Patient"
    with pytest.raises(WardCareError) as refused:
        parse_json(body(101))
    assert refused.value.issues[0].expression == ("Patient.x",)


def test_json_too_deep_for_the_parser_still_names_its_top_level_element() -> None:
    # A string with an escaped quote and brackets must not confuse the reading of the text.
    text = b'{"a":"q\\"[[[","resourceType":"Patient","deep":' + b"[" * 2000 + b"]" * 2000 + b"}"
    with pytest.raises(WardCareError) as refused:
        parse_json(text)
    assert refused.value.issues[0].expression == ("Patient.deep",)
