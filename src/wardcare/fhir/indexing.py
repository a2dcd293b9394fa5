"""Turn a resource into search index rows, per FHIR R4 3.1.1.4 (search parameter types).

Each parameter's expression selects elements; each element becomes rows by the parameter's type:
token (Coding, CodeableConcept, Identifier, code), string (HumanName and Address parts), date (a
range), reference (type and id), quantity (value, system, unit code).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from wardcare.domain import nhs_number
from wardcare.fhir.dates import InvalidDate, date_range
from wardcare.fhir.element_paths import Node, element_names
from wardcare.fhir.search_parameters import ParamType, SearchParam

_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")
# The width of the index tables' value columns (storage/tables.py). Longer values are indexed by
# their first 255 characters, and searched the same way (search_query.py), so a search by the
# whole value still finds them; two values alike in their first 255 characters match alike.
INDEX_MAX = 255
_MAX = INDEX_MAX


@dataclass
class IndexRows:
    tokens: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    strings: list[tuple[str, str, str]] = field(default_factory=list)
    dates: list[tuple[str, int, int]] = field(default_factory=list)
    references: list[tuple[str, str, str]] = field(default_factory=list)
    quantities: list[tuple[str, float, str | None, str | None]] = field(default_factory=list)


def normalise_string(value: str) -> str:
    """Case- and accent-insensitive form (FHIR R4 3.1.1.5.13: string search)."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()[:_MAX]


def split_reference(reference: str) -> tuple[str, str] | None:
    """("Patient", "123") from "Patient/123", ".../Patient/123" or ".../Patient/123/_history/2"."""
    parts = reference.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2], parts[-1]
    return None


def index_resource(resource: dict[str, Any], params: list[SearchParam]) -> IndexRows:
    rows = IndexRows()
    names = element_names(resource)
    found: dict[str, list[Node]] = {}  # by parameter: a Patient twin's, read again below
    for param in params:
        first = param.path.first_elements
        if first is not None and first.isdisjoint(names):
            continue
        values = found[param.code] = param.path.values(resource)
        twin = param.patient_twin
        if values and twin is not None:
            # The twin's rows hold these Patient references (search_parameters.py).
            twin_values = found.get(twin.code)
            if twin_values is None:
                twin_values = twin.path.values(resource)
            covered = {id(value) for value, _type in twin_values}
            values = [node for node in values if id(node[0]) not in covered]
        if values:
            add = _ADDERS[param.type]
            for value, _type in values:
                add(rows, param.code, value)
    return rows


def _add_token(rows: IndexRows, code: str, value: Any) -> None:
    for system, token in _tokens(value):
        rows.tokens.append((code, system, token))


def _add_uri(rows: IndexRows, code: str, value: Any) -> None:
    if isinstance(value, str):
        rows.tokens.append((code, None, value[:_MAX]))


def _add_string(rows: IndexRows, code: str, value: Any) -> None:
    for text in _strings(value):
        rows.strings.append((code, normalise_string(text), text[:_MAX]))


def _add_date(rows: IndexRows, code: str, value: Any) -> None:
    span = _date_span(value)
    if span:
        rows.dates.append((code, *span))


def _add_reference(rows: IndexRows, code: str, value: Any) -> None:
    target = _reference_target(value)
    if target:
        rows.references.append((code, *target))


def _add_quantity(rows: IndexRows, code: str, value: Any) -> None:
    if isinstance(value, dict) and isinstance(value.get("value"), int | float):
        unit = value.get("code")
        rows.quantities.append(
            (
                code,
                float(value["value"]),
                _cut(value.get("system")),
                unit[:64] if isinstance(unit, str) else None,
            )
        )
    elif isinstance(value, int | float) and not isinstance(value, bool):
        rows.quantities.append((code, float(value), None, None))


# One look-up per parameter instead of a match over the types for every value: indexing runs for
# every version written (some 16 parameters for an Observation).
_ADDERS: dict[ParamType, Callable[[IndexRows, str, Any], None]] = {
    ParamType.TOKEN: _add_token,
    ParamType.URI: _add_uri,
    ParamType.STRING: _add_string,
    ParamType.DATE: _add_date,
    ParamType.REFERENCE: _add_reference,
    ParamType.QUANTITY: _add_quantity,
    ParamType.NUMBER: _add_quantity,
}


def _tokens(value: Any) -> list[tuple[str | None, str | None]]:
    if isinstance(value, bool):
        return [(None, "true" if value else "false")]
    if isinstance(value, str):
        return [(None, value[:_MAX])]
    if not isinstance(value, dict):
        return []
    if "coding" in value:  # CodeableConcept
        return [t for coding in value["coding"] for t in _tokens(coding)]
    if "code" in value and isinstance(value["code"], str):  # Coding
        return [(_cut(value.get("system")), value["code"][:_MAX])]
    if "value" in value and isinstance(value["value"], str):  # Identifier, ContactPoint
        system = value.get("system")
        if system == nhs_number.SYSTEM:
            # "943 476 5919" is the NHS number 9434765919 (validation accepts the spaces people
            # type): indexed by its digits, as a search for it is (fhir/search_query.py).
            return [(system, nhs_number.normalise(value["value"])[:_MAX])]
        return [(_cut(system), value["value"][:_MAX])]
    return []


def _cut(text: Any) -> str | None:
    return text[:_MAX] if isinstance(text, str) else None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    parts = _NAME_PARTS if ("family" in value or "given" in value) else _ADDRESS_PARTS
    found: list[str] = []
    for part in parts:
        item = value.get(part)
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, list):
            found.extend(i for i in item if isinstance(i, str))
    return found


# The same few values recur across the resources of one write (an assessment's Observations
# share their effective time and patient), and both are pure functions of a string.
_date_range = lru_cache(maxsize=4096)(date_range)


def _date_span(value: Any) -> tuple[int, int] | None:
    try:
        if isinstance(value, str):
            return _date_range(value)
        if isinstance(value, dict) and ("start" in value or "end" in value):  # Period
            low = _date_range(value["start"])[0] if "start" in value else -(2**62)
            high = _date_range(value["end"])[1] if "end" in value else 2**62
            return low, high
    except InvalidDate:
        return None
    return None


def _reference_target(value: Any) -> tuple[str, str] | None:
    if isinstance(value, str):  # canonical: matched by its URL
        return "", value[:_MAX]
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return None
    return _target_of(value["reference"])


@lru_cache(maxsize=4096)
def _target_of(ref: str) -> tuple[str, str]:
    target = split_reference(ref)
    if target and len(target[0]) <= 64:
        return target[0], target[1][:_MAX]
    return "", ref[:_MAX]
