"""The FHIRPath subset used by search parameter expressions."""

import pytest

from wardcare.fhir.element_paths import UnsupportedExpression, compile_path

OBSERVATION = {
    "resourceType": "Observation",
    "subject": {"reference": "Patient/p1"},
    "performer": [{"reference": "Practitioner/n1"}, {"reference": "Patient/p1"}],
    "effectivePeriod": {"start": "2026-11-22T10:00:00Z"},
    "valueQuantity": {"value": 96},
}


def test_a_choice_element_is_found_under_its_typed_name() -> None:
    values = compile_path("Observation.effective").values(OBSERVATION)
    assert values == [({"start": "2026-11-22T10:00:00Z"}, "Period")]


def test_as_type_keeps_only_that_type_of_a_choice() -> None:
    assert compile_path("(Observation.value as Quantity)").values(OBSERVATION) == [
        ({"value": 96}, "Quantity")
    ]
    assert compile_path("Observation.value.as(CodeableConcept)").values(OBSERVATION) == []


def test_where_resolve_is_keeps_references_to_that_type() -> None:
    path = compile_path("Observation.performer.where(resolve() is Patient)")
    assert [v for v, _t in path.values(OBSERVATION)] == [{"reference": "Patient/p1"}]


def test_a_union_collects_both_sides() -> None:
    path = compile_path("Location.name | Location.alias")
    location = {"resourceType": "Location", "name": "Ward 7", "alias": ["Acute Medicine"]}
    assert [v for v, _t in path.values(location)] == ["Ward 7", "Acute Medicine"]


def test_an_expression_for_another_type_selects_nothing() -> None:
    assert compile_path("Patient.name").values(OBSERVATION) == []


@pytest.mark.parametrize(
    "expression",
    ["Observation.code.coding.first()", "observation.code", "Observation.value.exists()"],
)
def test_expressions_outside_the_subset_are_refused_at_load(expression: str) -> None:
    with pytest.raises(UnsupportedExpression):
        compile_path(expression)


def test_a_choice_whose_name_has_capitals_is_found_under_its_typed_name() -> None:
    patient = {"resourceType": "Patient", "multipleBirthInteger": 2, "birthDate": "1941-03-12"}
    assert compile_path("Patient.multipleBirth").values(patient) == [(2, "Integer")]


def test_objects_of_the_same_shape_give_each_their_own_values() -> None:
    # The choice forms are remembered per shape of keys, never per object.
    path = compile_path("Observation.component.value")
    observation = {
        "resourceType": "Observation",
        "component": [{"valueInteger": 1}, {"valueInteger": 2}, {"valueString": "x"}],
    }
    assert path.values(observation) == [(1, "Integer"), (2, "Integer"), ("x", "String")]


def test_an_element_present_in_its_plain_form_is_not_also_read_as_a_choice() -> None:
    path = compile_path("Task.code")
    task = {"resourceType": "Task", "code": {"text": "a"}, "codeExtra": {"text": "b"}}
    assert path.values(task) == [({"text": "a"}, "")]
