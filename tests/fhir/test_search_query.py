"""Search syntax: parameter types, prefixes, modifiers and result parameters (FHIR R4 3.1.1)."""

import pytest

from wardcare import paths
from wardcare.errors import WardCareError
from wardcare.fhir.dates import date_range
from wardcare.fhir.search_parameters import load_search_parameters
from wardcare.fhir.search_query import (
    DateValue,
    QuantityValue,
    ReferenceValue,
    SearchQuery,
    StringValue,
    TokenValue,
    parse_search,
)

REGISTRY = load_search_parameters(paths.FHIR_PROFILES / "search-parameters.json")


def parse(resource_type: str, *params: tuple[str, str]) -> SearchQuery:
    return parse_search(resource_type, list(params), REGISTRY, default_count=20, max_count=100)


def test_token_forms_system_code_code_and_bar_code() -> None:
    (criterion,) = parse("Observation", ("code", "http://loinc.org|8867-4,8310-5,|x")).criteria
    assert criterion.values == (
        TokenValue("http://loinc.org", "8867-4", system_given=True),
        TokenValue(None, "8310-5", system_given=False),
        TokenValue(None, "x", system_given=True),
    )


def test_repeated_parameters_are_separate_criteria_anded() -> None:
    query = parse("Observation", ("date", "ge2026-11-01"), ("date", "lt2026-12-01"))
    assert [c.values[0] for c in query.criteria] == [
        DateValue("ge", *date_range("2026-11-01")),
        DateValue("lt", *date_range("2026-12-01")),
    ]


def test_a_reference_by_bare_id_takes_the_single_target_type() -> None:
    (criterion,) = parse("Observation", ("patient", "p1")).criteria
    assert criterion.values == (ReferenceValue("Patient", "p1"),)


def test_string_modifiers() -> None:
    query = parse("Patient", ("name", "MÜLL"), ("family:exact", "Müller"), ("given:contains", "an"))
    assert [c.values[0] for c in query.criteria] == [
        StringValue("mull", ""),
        StringValue("Müller", "exact"),
        StringValue("an", "contains"),
    ]


def test_quantity_eq_uses_the_precision_written() -> None:
    (criterion,) = parse("Observation", ("value-quantity", "5.4||mm[Hg]")).criteria
    value = criterion.values[0]
    assert isinstance(value, QuantityValue)
    assert (value.low, value.high) == pytest.approx((5.35, 5.45))
    assert value.code == "mm[Hg]"


def test_count_sort_include_and_offset() -> None:
    query = parse(
        "Observation",
        ("_count", "500"),
        ("_offset", "40"),
        ("_sort", "-date"),
        ("_include", "Observation:patient"),
        ("_revinclude", "Provenance:target"),
    )
    assert query.count == 100  # capped at the server's maximum page size
    assert query.offset == 40
    assert [(k.param.code, k.descending) for k in query.sort] == [("date", True)]
    assert query.includes[0].param == "patient"
    assert query.revincludes[0].source_type == "Provenance"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("colour", "red", "Unknown search parameter 'colour'"),
        ("date", "2026-13-01", "not a real date"),
        ("_count", "ten", "whole number"),
        ("_sort", "value-quantity", "Cannot sort"),
        ("_include", "Observation:code", "no reference parameter"),
        ("code:above", "x", "not supported"),
        ("value-quantity", "high", "is not a number"),
    ],
)
def test_bad_search_parameters_are_refused_with_a_reason(
    name: str, value: str, fragment: str
) -> None:
    with pytest.raises(WardCareError) as caught:
        parse("Observation", (name, value))
    assert fragment in caught.value.message
