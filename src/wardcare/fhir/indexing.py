"""Turn a resource into search index rows, per FHIR R4 3.1.1.4 (search parameter types).

Each parameter's expression selects elements; each element becomes rows by the parameter's type:
token (Coding, CodeableConcept, Identifier, code), string (HumanName and Address parts), date (a
range), reference (type and id), quantity (value, system, unit code).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from wardcare.fhir.dates import InvalidDate, date_range
from wardcare.fhir.search_parameters import ParamType, SearchParam

_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")
_MAX = 255


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
    for param in params:
        for value, _type in param.path.values(resource):
            _add(rows, param, value)
    return rows


def _add(rows: IndexRows, param: SearchParam, value: Any) -> None:
    code = param.code
    match param.type:
        case ParamType.TOKEN:
            for system, token in _tokens(value):
                rows.tokens.append((code, system, token))
        case ParamType.URI:
            if isinstance(value, str):
                rows.tokens.append((code, None, value[:_MAX]))
        case ParamType.STRING:
            for text in _strings(value):
                rows.strings.append((code, normalise_string(text), text[:_MAX]))
        case ParamType.DATE:
            span = _date_span(value)
            if span:
                rows.dates.append((code, *span))
        case ParamType.REFERENCE:
            target = _reference_target(value)
            if target:
                rows.references.append((code, *target))
        case ParamType.QUANTITY | ParamType.NUMBER:
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
        return [(_cut(value.get("system")), value["value"][:_MAX])]
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


def _date_span(value: Any) -> tuple[int, int] | None:
    try:
        if isinstance(value, str):
            return date_range(value)
        if isinstance(value, dict) and ("start" in value or "end" in value):  # Period
            low = date_range(value["start"])[0] if "start" in value else -(2**62)
            high = date_range(value["end"])[1] if "end" in value else 2**62
            return low, high
    except InvalidDate:
        return None
    return None


def _reference_target(value: Any) -> tuple[str, str] | None:
    if isinstance(value, str):  # canonical: matched by its URL
        return "", value[:_MAX]
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return None
    ref: str = value["reference"]
    target = split_reference(ref)
    if target and len(target[0]) <= 64:
        return target[0], target[1][:_MAX]
    return "", ref[:_MAX]
