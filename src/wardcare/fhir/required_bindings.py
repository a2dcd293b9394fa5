"""FHIR required bindings: a coded element whose binding strength is `required` takes only a
code of its value set (FHIR R4 terminologies 4.1.5.1). The bindings are data
(fhir_profiles/required-bindings.json, element path -> codes).

Checked on whichever form validation has: the R4B model when the model was built, or the JSON
itself when `structure_check` found the resource certainly valid (then no model exists). Both
walks report the same issues, with the same paths, in the model's field order.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from wardcare.errors import Issue
from wardcare.fhir.structure_check import Shape, complex_shape, resource_shape


class RequiredBindings:
    def __init__(self, bindings: dict[str, frozenset[str]]) -> None:
        self._bindings = bindings
        self._plans = _BindingPlans(bindings)

    def issues_in_model(self, model: BaseModel, resource_type: str) -> list[Issue]:
        issues: list[Issue] = []
        if self._bindings:
            _walk_bindings(model, resource_type, resource_type, self._bindings, issues)
        return issues

    def issues_in_json(self, resource: dict[str, Any], resource_type: str) -> list[Issue]:
        """`issues_in_model` for a resource structure_check has found certainly valid, read
        from its JSON rather than from a model of it: the same issues in the same order."""
        issues: list[Issue] = []
        if self._bindings:
            shape = resource_shape(resource_type)
            assert shape is not None  # structure_check accepted the resource
            plan = self._plans.plan(shape, resource_type)
            _walk_json_bindings(resource, plan, resource_type, issues)
        return issues


def load_required_bindings(path: Path) -> dict[str, frozenset[str]]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {b["path"]: frozenset(b["codes"]) for b in data["bindings"]}


# Element types whose required bindings apply wherever the type is used.
_DATATYPES = frozenset(
    {
        "HumanName",
        "Identifier",
        "ContactPoint",
        "Address",
        "Quantity",
        "Narrative",
        "Duration",
        "Age",
        "Count",
        "Distance",
        "SimpleQuantity",
        "Money",
        "Timing",
        "TimingRepeat",
        "Attachment",
        "Period",
        "Reference",
        "Coding",
        "CodeableConcept",
        "Annotation",
        "Meta",
        "Extension",
        "ContactDetail",
        "UsageContext",
        "RelatedArtifact",
        "Dosage",
        "Expression",
        "TriggerDefinition",
        "DataRequirement",
        "Signature",
        "SampledData",
        "Range",
        "Ratio",
    }
)


def _walk_bindings(
    model: BaseModel,
    element: str,
    fhirpath: str,
    bindings: dict[str, frozenset[str]],
    issues: list[Issue],
) -> None:
    for name, field in type(model).model_fields.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        json_name = field.alias or name
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            path = f"{fhirpath}.{json_name}" + (f"[{index}]" if isinstance(value, list) else "")
            if isinstance(item, BaseModel):
                type_name = type(item).__name__
                child = type_name if type_name in _DATATYPES else f"{element}.{json_name}"
                _walk_bindings(item, child, path, bindings, issues)
            elif isinstance(item, str):
                allowed = bindings.get(f"{element}.{json_name}")
                if allowed is not None and item not in allowed:
                    issues.append(_not_in_value_set(path, item, allowed))


def _not_in_value_set(path: str, code: str, allowed: Collection[str]) -> Issue:
    """The one issue both walks (the model's and the JSON's) report for a code outside a
    required binding, so the two give identical OperationOutcomes."""
    return Issue(
        f"{path} = {code!r} is not in the required value set ({', '.join(sorted(allowed))})",
        (path,),
        "code-invalid",
    )


class _BindingPlans:
    """The required bindings `_walk_bindings` looks for under each element name (`element`
    there: a resource type, a datatype, or a backbone element's path such as
    QuestionnaireResponse.item), worked out once per name. A backbone path no binding starts
    with has none below it either, so all such paths share one plan per type: the number of
    plans is bounded by the bindings file, not by how deeply requests nest."""

    def __init__(self, bindings: dict[str, frozenset[str]]) -> None:
        self.bindings = bindings
        # The element names some binding is under: for CarePlan.activity.detail.kind, CarePlan,
        # CarePlan.activity and CarePlan.activity.detail.
        self._live = {
            path.rsplit(".", depth)[0]
            for path in bindings
            for depth in range(1, path.count(".") + 1)
        }
        self._plans: dict[tuple[str, str | None], _BindingPlan] = {}

    def plan(self, shape: Shape, element: str) -> _BindingPlan:
        live = element if element in self._live else None
        key = (shape.type_name, live)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = _BindingPlan(self, shape, live)
        return found


class _BindingPlan:
    """The plan of one element name: which of its string elements have a required binding, and
    the plans of its complex elements."""

    __slots__ = ("_nested", "_plans", "bound", "element", "relevant", "shape")

    def __init__(self, plans: _BindingPlans, shape: Shape, element: str | None) -> None:
        self._plans = plans
        self.shape = shape
        self.element = element  # None: no binding applies at or below this backbone path
        bindings = plans.bindings
        self.bound = {
            name: bindings[f"{element}.{name}"]
            for name, child in shape.elements.items()
            if element and child.kept_as_string is not None and f"{element}.{name}" in bindings
        }
        # What the walk visits: the bound strings and the complex elements.
        self.relevant = frozenset(self.bound) | {
            name for name, child in shape.elements.items() if child.complex_type is not None
        }
        self._nested: dict[str, _BindingPlan | None] = {}

    def nested(self, name: str) -> _BindingPlan | None:
        """The plan of a complex element, or None for a primitive one."""
        if name not in self._nested:
            complex_type = self.shape.elements[name].complex_type
            shape = complex_shape(complex_type) if complex_type is not None else None
            plan = None
            if shape is not None:
                # As `_walk_bindings`: a datatype's bindings apply wherever it is used, a
                # backbone element's only at its own path.
                if shape.type_name in _DATATYPES:
                    element = shape.type_name
                else:
                    element = f"{self.element}.{name}" if self.element else ""
                plan = self._plans.plan(shape, element)
            self._nested[name] = plan
        return self._nested[name]


def _walk_json_bindings(
    value: dict[str, Any], plan: _BindingPlan, fhirpath: str, issues: list[Issue]
) -> None:
    """`_walk_bindings` on JSON that structure_check found certainly valid: elements in the
    model's field order, and only the values the model would hold as strings."""
    shape = plan.shape
    relevant = plan.relevant
    names = [name for name in value if name in relevant]
    if len(names) > 1:
        names.sort(key=shape.order.__getitem__)
    for name in names:
        child = value[name]
        element = shape.elements[name]
        is_list = element.is_list
        allowed = plan.bound.get(name)
        if allowed is not None:
            kept_as_string = element.kept_as_string
            assert kept_as_string is not None
            for index, item in enumerate(child if is_list else (child,)):
                if kept_as_string(item) and item not in allowed:
                    path = f"{fhirpath}.{name}[{index}]" if is_list else f"{fhirpath}.{name}"
                    issues.append(_not_in_value_set(path, item, allowed))
            continue
        nested = plan.nested(name)
        if nested is None:
            continue
        if is_list:
            for index, item in enumerate(child):
                _walk_json_bindings(item, nested, f"{fhirpath}.{name}[{index}]", issues)
        else:
            _walk_json_bindings(child, nested, f"{fhirpath}.{name}", issues)
