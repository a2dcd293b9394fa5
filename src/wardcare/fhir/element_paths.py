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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# A node is (value, type): the type is known only where a choice element named it
# (valueQuantity -> "Quantity"); elsewhere it is "".
Node = tuple[Any, str]
Step = Callable[[Iterator[Node]], Iterator[Node]]

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

    def values(self, resource: dict[str, Any]) -> list[Node]:
        found: list[Node] = []
        resource_type = resource.get("resourceType", "")
        for root, steps in self._branches:
            if root not in ("Resource", "DomainResource") and root != resource_type:
                continue
            nodes: Iterator[Node] = iter([(resource, resource_type)])
            for step in steps:
                nodes = step(nodes)
            found.extend(nodes)
        return found


def compile_path(expression: str) -> ElementPath:
    branches = tuple(_compile_branch(part.strip()) for part in _split_union(expression))
    return ElementPath(expression, branches)


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
    prefix_len = len(name)

    def step(nodes: Iterator[Node]) -> Iterator[Node]:
        for value, _type in nodes:
            if not isinstance(value, dict):
                continue
            if name in value:
                yield from _flatten(value[name], "")
                continue
            # A choice element (value[x], effective[x]) appears as valueQuantity, effectivePeriod...
            for key, child in value.items():
                if key.startswith(name) and len(key) > prefix_len and key[prefix_len].isupper():
                    yield from _flatten(child, key[prefix_len:])

    return step


def _flatten(value: Any, type_name: str) -> Iterator[Node]:
    if isinstance(value, list):
        for item in value:
            yield item, type_name
    elif value is not None:
        yield value, type_name


def _of_type(type_name: str) -> Step:
    wanted = type_name.lower()

    def step(nodes: Iterator[Node]) -> Iterator[Node]:
        for value, found in nodes:
            if found.lower() == wanted:
                yield value, found

    return step


def _references_to(resource_type: str) -> Step:
    prefix = resource_type + "/"
    infix = "/" + prefix

    def step(nodes: Iterator[Node]) -> Iterator[Node]:
        for value, found in nodes:
            if not isinstance(value, dict):
                continue
            ref = value.get("reference")
            if value.get("type") == resource_type or (
                isinstance(ref, str) and (ref.startswith(prefix) or infix in ref)
            ):
                yield value, found

    return step
