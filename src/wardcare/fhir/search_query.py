"""Parse a FHIR search query string into typed criteria (FHIR R4 3.1.1 "Search").

Repeated parameters are ANDed; comma-separated values are ORed (3.1.1.2). A parameter the server
does not know is an error, not silently ignored, so a client never mistakes a filtered-out
criterion for an empty result.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from wardcare import errors
from wardcare.domain import nhs_number
from wardcare.fhir.dates import InvalidDate, date_range
from wardcare.fhir.indexing import INDEX_MAX, normalise_string, split_reference
from wardcare.fhir.resource_types import is_served
from wardcare.fhir.search_parameters import ParamType, SearchParam, SearchParameterRegistry

Prefix = Literal["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_RESULT_PARAMS = {
    "_count",
    "_offset",
    "_sort",
    "_include",
    "_revinclude",
    "_total",
    "_summary",
    "_elements",
    "_format",
    "_pretty",
}


@dataclass(frozen=True)
class TokenValue:
    system: str | None
    code: str | None
    # "code" alone matches any system; "|code" matches only codes with no system.
    system_given: bool


@dataclass(frozen=True)
class StringValue:
    text: str
    modifier: Literal["", "exact", "contains"]


@dataclass(frozen=True)
class DateValue:
    prefix: Prefix
    low: int
    high: int


@dataclass(frozen=True)
class ReferenceValue:
    target_type: str | None  # None: any type with this id
    target_id: str
    # An absolute URL also matches a canonical reference (Questionnaire, PlanDefinition) to it.
    canonical: str | None = None


@dataclass(frozen=True)
class QuantityValue:
    prefix: Prefix
    value: float
    system: str | None
    code: str | None
    # "eq 5.4" means 5.35 to 5.45: the precision the value was written with (3.1.1.5.9).
    low: float
    high: float


Value = TokenValue | StringValue | DateValue | ReferenceValue | QuantityValue


@dataclass(frozen=True)
class Criterion:
    param: SearchParam
    values: tuple[Value, ...]  # ORed
    missing: bool | None = None  # the :missing modifier
    negate: bool = False  # the :not modifier on tokens
    # A chained search (3.1.1.4.12, `patient.identifier=...`): `param` is the reference, and
    # each (target type, criterion on that type) is ORed; `values` is then empty.
    chain: tuple[tuple[str, Criterion], ...] = ()


@dataclass(frozen=True)
class Include:
    source_type: str
    param: str
    target_type: str | None


@dataclass(frozen=True)
class SortKey:
    param: SearchParam
    descending: bool


@dataclass
class SearchQuery:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    count: int = 20
    offset: int = 0
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)
    total: Literal["none", "accurate"] = "accurate"
    summary_count: bool = False
    elements: tuple[str, ...] = ()


def parse_search(
    resource_type: str,
    params: list[tuple[str, str]],
    registry: SearchParameterRegistry,
    *,
    default_count: int,
    max_count: int,
) -> SearchQuery:
    query = SearchQuery(resource_type, count=default_count)
    known = registry.for_type(resource_type)
    for raw_name, raw_value in params:
        if "\x00" in raw_name or "\x00" in raw_value:
            raise _bad("A search parameter contains a NUL character", raw_name.replace("\x00", ""))
        name, _, modifier = raw_name.partition(":")
        if name == "_has":
            raise _chain_refused(raw_name, name, resource_type)
        if "." in raw_name:
            query.criteria.append(_chained(raw_name, raw_value, resource_type, registry))
            continue
        if name in _RESULT_PARAMS:
            _result_param(query, name, raw_value, registry, max_count)
            continue
        param = known.get(name)
        if param is None:
            raise _bad(
                f"Unknown search parameter {raw_name!r} for {resource_type}",
                raw_name,
                code="not-supported",
            )
        query.criteria.append(_criterion(param, modifier, raw_value, raw_name))
    return query


def _chain_refused(raw_name: str, name: str, resource_type: str) -> errors.WardCareError:
    """Reverse chaining with _has (3.1.1.4.13) and chains of more than one link are not
    supported: said plainly, with what to do instead, rather than read as an unknown parameter
    or (as `subject:Patient.name` once was) a type modifier that quietly matched nothing."""
    if name == "_has":
        message = (
            f"Reverse chaining ({raw_name}) is not supported: search the other resource type "
            "and read the references it holds"
        )
    else:
        reference = name.split(".", 1)[0]
        message = (
            f"Chained search ({raw_name}) is supported one link deep (e.g. "
            f"{reference}.identifier=system|value): search the resource the chain ends at "
            f"first, then {resource_type}?{reference}=Type/id with the ids it finds"
        )
    return _bad(message, raw_name, code="not-supported")


def _chained(
    raw_name: str, raw_value: str, resource_type: str, registry: SearchParameterRegistry
) -> Criterion:
    """`ref[:Type].param[:modifier]=value` (FHIR R4 3.1.1.4.12): resources whose reference
    `ref` points at a resource of a type it may refer to (or of `Type`) that matches
    `param=value`. One link deep: what a UK integration asks most, `patient.identifier=` an NHS
    number, without a second round trip."""
    head, _, tail = raw_name.partition(".")
    name, _, type_modifier = head.partition(":")
    if "." in tail or not tail:
        raise _chain_refused(raw_name, name, resource_type)
    param = registry.for_type(resource_type).get(name)
    if param is None or param.type != ParamType.REFERENCE:
        raise _bad(
            f"Chained search ({raw_name}): {name!r} is not a reference parameter of "
            f"{resource_type}",
            raw_name,
            code="not-supported",
        )
    if type_modifier and not (
        type_modifier in param.targets if param.targets else is_served(type_modifier)
    ):
        raise _bad(
            f"{raw_name}: {type_modifier!r} is not a resource type {name} can refer to", raw_name
        )
    targets = (type_modifier,) if type_modifier else param.targets
    chained_name, _, chained_modifier = tail.partition(":")
    chain = []
    for target in targets:
        chained = registry.for_type(target).get(chained_name)
        if chained is not None and is_served(target):
            chain.append((target, _criterion(chained, chained_modifier, raw_value, raw_name)))
    if not chain:
        raise _bad(
            f"Chained search ({raw_name}): no type {name} refers to "
            f"({', '.join(targets) or 'none known'}) has a search parameter {chained_name!r}",
            raw_name,
            code="not-supported",
        )
    return Criterion(param, (), chain=tuple(chain))


def _bad(message: str, name: str, code: str = "invalid") -> errors.WardCareError:
    return errors.invalid(message, name, code=code)


def _result_param(
    query: SearchQuery, name: str, value: str, registry: SearchParameterRegistry, max_count: int
) -> None:
    if name in ("_count", "_offset"):
        # ASCII digits only: str.isdigit() is also True for "²", which int() refuses.
        if not (value.isascii() and value.isdigit()) or len(value) > 9:
            raise _bad(f"{name} must be a whole number below 10^9, not {value!r}", name)
        number = int(value)
        if name == "_count":
            query.count = min(number, max_count)
        else:
            query.offset = number
    elif name == "_sort":
        known = registry.for_type(query.resource_type)
        for key in filter(None, value.split(",")):
            descending = key.startswith("-")
            param = known.get(key.lstrip("-"))
            if param is None or param.type not in (
                ParamType.DATE,
                ParamType.STRING,
                ParamType.TOKEN,
            ):
                raise _bad(f"Cannot sort {query.resource_type} by {key!r}", "_sort")
            query.sort.append(SortKey(param, descending))
    elif name in ("_include", "_revinclude"):
        query_list = query.includes if name == "_include" else query.revincludes
        query_list.append(_include(value, name, query.resource_type, registry))
    elif name == "_total":
        if value not in ("none", "estimate", "accurate"):
            raise _bad(f"_total must be none, estimate or accurate, not {value!r}", name)
        query.total = "none" if value == "none" else "accurate"
    elif name == "_summary":
        if value == "count":
            query.summary_count = True
        elif value != "false":
            raise _bad(
                f"_summary={value} is not supported (count and false are)",
                name,
                code="not-supported",
            )
    elif name == "_elements":
        query.elements = tuple(e.strip() for e in value.split(",") if e.strip())
    elif name == "_format" and value not in ("json", "application/json", "application/fhir+json"):
        raise _bad(f"Only JSON is served, not _format={value}", name, code="not-supported")


def _include(
    value: str, name: str, resource_type: str, registry: SearchParameterRegistry
) -> Include:
    parts = value.split(":")
    if value == "*" or len(parts) not in (2, 3):
        raise _bad(f"{name}={value!r} must be Type:param or Type:param:TargetType", name)
    source, param_code = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    param = registry.get(source, param_code)
    if param is None or param.type != ParamType.REFERENCE:
        raise _bad(f"{name}={value!r}: {source} has no reference parameter {param_code!r}", name)
    if name == "_include" and source != resource_type:
        raise _bad(f"_include={value!r} must start with the searched type {resource_type}", name)
    return Include(source, param_code, target)


def _criterion(param: SearchParam, modifier: str, raw: str, name: str) -> Criterion:
    if modifier == "missing":
        if raw not in ("true", "false"):
            raise _bad(f"{name} must be true or false", name)
        return Criterion(param, (), missing=raw == "true")
    negate = False
    if modifier == "not" and param.type == ParamType.TOKEN:
        negate = True
        modifier = ""
    allowed = {ParamType.STRING: ("", "exact", "contains")}.get(param.type, ("",))
    if param.type == ParamType.REFERENCE and modifier and modifier[:1].isupper():
        allowed_types = param.targets or ()
        if not (modifier in allowed_types if allowed_types else is_served(modifier)):
            raise _bad(
                f"{name}: {modifier!r} is not a resource type {param.code} can refer to",
                name,
            )
        references = tuple(_reference(v, param, modifier, name) for v in _split_or(raw))
        return Criterion(param, references)
    if modifier not in allowed:
        raise _bad(
            f"Modifier :{modifier} is not supported on {param.code}", name, code="not-supported"
        )
    values = tuple(_value(param, modifier, v, name) for v in _split_or(raw))
    if not values:
        raise _bad(f"Search parameter {name} has no value", name)
    return Criterion(param, values, negate=negate)


def _split_or(raw: str) -> list[str]:
    # A backslash escapes a comma inside a value (3.1.1.6).
    parts = re.split(r"(?<!\\),", raw)
    return [p.replace("\\,", ",") for p in parts if p != ""]


def _value(param: SearchParam, modifier: str, raw: str, name: str) -> Value:
    match param.type:
        case ParamType.TOKEN | ParamType.URI:
            # Compared with the index as it was written: cut to the column's width.
            if param.type == ParamType.URI:
                return TokenValue(None, raw[:INDEX_MAX], system_given=False)
            if "|" in raw:
                system, code = raw.split("|", 1)
                if system == nhs_number.SYSTEM:
                    code = nhs_number.normalise(code)  # indexed by its digits (indexing.py)
                return TokenValue(
                    system[:INDEX_MAX] or None, code[:INDEX_MAX] or None, system_given=True
                )
            return TokenValue(None, raw[:INDEX_MAX], system_given=False)
        case ParamType.STRING:
            text = raw[:INDEX_MAX] if modifier == "exact" else normalise_string(raw)
            return StringValue(text, modifier)  # type: ignore[arg-type]
        case ParamType.DATE:
            prefix, rest = _prefix(raw)
            try:
                low, high = date_range(rest)
            except InvalidDate as exc:
                raise _bad(f"{name}: {exc}", name) from exc
            return DateValue(prefix, low, high)
        case ParamType.REFERENCE:
            return _reference(raw, param, "", name)
        case ParamType.QUANTITY | ParamType.NUMBER:
            prefix, rest = _prefix(raw)
            number, _, unit = rest.partition("|")
            try:
                amount = float(number)
            except ValueError as exc:
                raise _bad(f"{name}: {number!r} is not a number", name) from exc
            if not math.isfinite(amount):
                raise _bad(f"{name}: {number!r} is not a finite number", name)
            system, _, code = unit.partition("|")
            if unit and not code:  # "5.4||mg" is system-less; "5.4|mg" is not valid syntax
                raise _bad(f"{name}: quantity must be number|system|code", name)
            decimals = len(number.partition(".")[2].rstrip()) if "." in number else 0
            half = 0.5 * 10**-decimals
            return QuantityValue(
                prefix, amount, system or None, code or None, amount - half, amount + half
            )
    raise _bad(f"{name}: search type {param.type} is not supported", name, code="not-supported")


def _prefix(raw: str) -> tuple[Prefix, str]:
    if raw[:2] in _PREFIXES and len(raw) > 2 and not raw[2:3].isalpha():
        return raw[:2], raw[2:]  # type: ignore[return-value]
    return "eq", raw


def _reference(raw: str, param: SearchParam, type_modifier: str, name: str) -> ReferenceValue:
    found = _reference_value(raw, param, type_modifier, name)
    # Compared with the index as it was written (indexing._target_of): cut to the column's width.
    return ReferenceValue(
        found.target_type,
        found.target_id[:INDEX_MAX],
        found.canonical[:INDEX_MAX] if found.canonical else None,
    )


def _reference_value(raw: str, param: SearchParam, type_modifier: str, name: str) -> ReferenceValue:
    if "://" in raw:
        target = split_reference(raw)
        if target:
            return ReferenceValue(target[0], target[1], canonical=raw)
        return ReferenceValue("", raw, canonical=raw)
    target = split_reference(raw)
    if target:
        if type_modifier and target[0] != type_modifier:
            raise _bad(f"{name}: {raw!r} is not a {type_modifier}", name)
        return ReferenceValue(*target)
    if "/" in raw or not raw:
        raise _bad(f"{name}: {raw!r} is not a reference (Type/id or id)", name)
    if type_modifier:
        return ReferenceValue(type_modifier, raw)
    if len(param.targets) == 1:
        return ReferenceValue(param.targets[0], raw)
    return ReferenceValue(None, raw)
