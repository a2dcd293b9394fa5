"""The small subset of FHIRPath that search parameter expressions use, evaluated fast.

SearchParameter.expression (FHIR R4 3.1.1.4) is FHIRPath. Indexing runs on every write, so instead
of a general FHIRPath engine WardCare compiles the forms its search parameters use:

    Patient.name.family                        a path of element names (choice types expanded)
    Observation.subject.where(resolve() is Patient)    references to one resource type
    (Observation.value as Quantity)            one type of a choice element (also .as(Quantity))
    Location.name | Location.alias             a union

An expression outside this subset is refused when fhir_profiles/ is loaded, never half-evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# A node is (value, type): the type is known only where a choice element named it
# (valueQuantity -> "Quantity"); elsewhere it is "".
Node = tuple[Any, str]
# A step maps the nodes selected so far to the nodes it selects. Lists rather than chained
# generators: indexing evaluates every search parameter of a resource on every write (some 16
# expressions per Observation, most selecting nothing), and a list step can stop at the first
# empty result, where a chain of generators paid for creating each generator first.
Step = Callable[[list[Node]], list[Node]]

_WHERE_IS = re.compile(r"^where\(resolve\(\) is ([A-Z][A-Za-z]+)\)$")
_AS_CALL = re.compile(r"^(?:as|ofType)\(([A-Za-z]+)\)$")
_AS_INFIX = re.compile(r"^\((.+) as ([A-Za-z]+)\)$")
_NAME = re.compile(r"^[a-z][A-Za-z0-9]*$")


class UnsupportedExpression(ValueError):
    pass


@dataclass(frozen=True)
class ElementPath:
    """A compiled expression: call `values(resource)` for the (value, type) nodes it selects."""

    expression: str
    _branches: tuple[tuple[str, tuple[Step, ...]], ...]
    # The top-level elements every branch starts from (None when a branch starts otherwise):
    # a resource with none of them has no value here, which `element_names` answers without
    # walking the expression (an Observation has values for about half its ~17 parameters).
    first_elements: frozenset[str] | None = None

    def values(self, resource: dict[str, Any]) -> list[Node]:
        found: list[Node] = []
        resource_type = resource.get("resourceType", "")
        for root, steps in self._branches:
            if root not in ("Resource", "DomainResource") and root != resource_type:
                continue
            nodes: list[Node] = [(resource, resource_type)]
            for step in steps:
                nodes = step(nodes)
                if not nodes:
                    break
            found.extend(nodes)
        return found


def compile_path(expression: str) -> ElementPath:
    parts = [part.strip() for part in _split_union(expression)]
    branches = tuple(_compile_branch(part) for part in parts)
    firsts = [_first_element(part) for part in parts]
    first_elements = frozenset(f for f in firsts if f is not None) if None not in firsts else None
    return ElementPath(expression, branches, first_elements)


def _first_element(text: str) -> str | None:
    infix = _AS_INFIX.match(text)
    if infix:
        return _first_element(infix.group(1))
    tokens = _split_dots(text)
    return tokens[1] if len(tokens) > 1 and _NAME.match(tokens[1]) else None


_NAMES_BY_KEYS: dict[tuple[str, ...], frozenset[str]] = {}


def element_names(value: dict[str, Any]) -> frozenset[str]:
    """The elements an object has, choice elements by their name too (valueQuantity: value)."""
    keys = tuple(value)
    names = _NAMES_BY_KEYS.get(keys)
    if names is None:
        names = frozenset(keys) | frozenset(_choices(value))
        if len(_NAMES_BY_KEYS) >= _MAX_SHAPES:
            _NAMES_BY_KEYS.clear()  # a bound, not an eviction policy: shapes are few
        _NAMES_BY_KEYS[keys] = names
    return names


def _split_union(expression: str) -> list[str]:
    return _split_outside_brackets(expression, "|")


def _split_dots(text: str) -> list[str]:
    return _split_outside_brackets(text, ".")


def _split_outside_brackets(text: str, separator: str) -> list[str]:
    """Split on a separator that is not inside (...): "a.where(b.c).d" -> a, where(b.c), d."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _compile_branch(text: str) -> tuple[str, tuple[Step, ...]]:
    infix = _AS_INFIX.match(text)
    if infix:
        root, inner = _compile_branch(infix.group(1))
        return root, (*inner, _of_type(infix.group(2)))
    tokens = _split_dots(text)
    root, rest = tokens[0], tokens[1:]
    if not re.fullmatch(r"[A-Z][A-Za-z]+", root):
        raise UnsupportedExpression(f"expression {text!r} must start with a resource type")
    steps: list[Step] = []
    for token in rest:
        where = _WHERE_IS.match(token)
        as_call = _AS_CALL.match(token)
        if where:
            steps.append(_references_to(where.group(1)))
        elif as_call:
            steps.append(_of_type(as_call.group(1)))
        elif _NAME.match(token):
            steps.append(_child(token))
        else:
            raise UnsupportedExpression(
                f"{token!r} in {text!r} is outside WardCare's FHIRPath subset"
            )
    return root, tuple(steps)


def _child(name: str) -> Step:
    def step(nodes: list[Node]) -> list[Node]:
        found: list[Node] = []
        for value, _type in nodes:
            if not isinstance(value, dict):
                continue
            if name in value:
                _flatten(value[name], "", found)
                continue
            # A choice element (value[x], effective[x]) appears as valueQuantity, effectivePeriod...
            for key, type_name in _choices(value).get(name, ()):
                _flatten(value[key], type_name, found)
        return found

    return step


# The choice elements of an object by the keys it has, e.g. ("status", "valueQuantity") ->
# {"value": [("valueQuantity", "Quantity")]}. Finding a missing element's choice form meant
# scanning every key of the object for every parameter that names it; the objects of one kind
# of resource share a few shapes of keys, so the answer is kept per shape.
_CHOICES_BY_KEYS: dict[tuple[str, ...], dict[str, list[tuple[str, str]]]] = {}
_MAX_SHAPES = 4096


def _choices(value: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    keys = tuple(value)
    choices = _CHOICES_BY_KEYS.get(keys)
    if choices is None:
        choices = {}
        for key in keys:
            # Every split before an upper-case letter is a candidate: "multipleBirthBoolean"
            # is multipleBirth[x] as Boolean (and multiple[x] as BirthBoolean, which no
            # expression names).
            for position in range(1, len(key)):
                if key[position].isupper():
                    choices.setdefault(key[:position], []).append((key, key[position:]))
        if len(_CHOICES_BY_KEYS) >= _MAX_SHAPES:
            _CHOICES_BY_KEYS.clear()  # a bound, not an eviction policy: shapes are few
        _CHOICES_BY_KEYS[keys] = choices
    return choices


def _flatten(value: Any, type_name: str, found: list[Node]) -> None:
    if isinstance(value, list):
        found += [(item, type_name) for item in value]
    elif value is not None:
        found.append((value, type_name))


def _of_type(type_name: str) -> Step:
    wanted = type_name.lower()

    def step(nodes: list[Node]) -> list[Node]:
        return [(value, found) for value, found in nodes if found.lower() == wanted]

    return step


def _references_to(resource_type: str) -> Step:
    prefix = resource_type + "/"
    infix = "/" + prefix

    def step(nodes: list[Node]) -> list[Node]:
        selected: list[Node] = []
        for value, found in nodes:
            if not isinstance(value, dict):
                continue
            ref = value.get("reference")
            if value.get("type") == resource_type or (
                isinstance(ref, str) and (ref.startswith(prefix) or infix in ref)
            ):
                selected.append((value, found))
        return selected

    return step
