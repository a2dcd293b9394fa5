"""Is this a valid FHIR R4 resource WardCare may store? (FHIR R4 RESTful API 3.1.0.1.4)

Four checks, cheapest first: the JSON parses; the structure is valid FHIR (fhir.resources' R4B
models, which agree with R4 for every type WardCare serves: see docs/architecture.md); codes
with a required binding come from their value set (fhir_profiles/required-bindings.json); and
the resource meets the profiles in fhir_profiles/ and WardCare's business rules (NHS numbers pass
Modulus 11). A structural failure is 400; a rule or profile failure is 422 (3.1.0.4.1).

Building the R4B model is most of the cost, so the common resource is first read by
fhir/structure_check.py, which answers "certainly valid" (the model would accept it; the
required bindings are then read from the dict) or "not sure" (the model decides, and its errors
are the ones reported). Either way the verdict and the issues are the same.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ValidationError

from wardcare import errors
from wardcare.domain import nhs_number
from wardcare.errors import Category, Issue, WardCareError
from wardcare.fhir.profiles import ProfileRegistry
from wardcare.fhir.resource_types import is_served
from wardcare.fhir.structure_check import Shape, certainly_valid, complex_shape, resource_shape

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


# Deeper JSON than this is refused before anything walks it. FHIR R4 JSON (2.6.2) sets no limit,
# but no resource WardCare serves comes near it (a Questionnaire nests two levels per group of
# items), while the validator, the binding walk and the R4B models recurse: 1000 levels was a
# RecursionError (a 500), and orjson itself stops at 1024.
MAX_JSON_DEPTH = 100
_MAX_ID = 64


def parse_json(body: bytes) -> Any:
    if b"\\u0000" in body or b"\x00" in body:
        # FHIR strings may not hold control characters (R4 2.24.0.1 string), and PostgreSQL
        # text cannot store NUL: refuse it here rather than fail in the database.
        raise errors.invalid(
            "The body contains a NUL character, which FHIR does not allow", code="structure"
        )
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc):  # orjson stops at 1024 levels
            raise _too_deep(_deep_element_in_text(body, MAX_JSON_DEPTH)) from exc
        raise errors.invalid(f"The body is not valid JSON: {exc}", code="structure") from exc
    # A body with no more than MAX_JSON_DEPTH brackets cannot nest deeper: counting bytes is
    # cheap, so the common resource (an Observation has some 15) is never walked for this.
    if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH:
        too_deep = _deeper_than(parsed, MAX_JSON_DEPTH)
        if too_deep is not None:
            raise _too_deep(too_deep)
    return parsed


def _deeper_than(value: Any, limit: int) -> str | None:
    """The FHIRPath of the top-level element under which `value` nests deeper than `limit`
    levels ("" for the body itself), or None. Iterative: it must not recurse itself."""
    root_type = value.get("resourceType") if isinstance(value, dict) else None
    prefix = root_type if isinstance(root_type, str) else ""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, top = stack.pop()
        if depth > limit:
            return top
        if isinstance(node, dict):
            children = node.items()
        elif isinstance(node, list):
            children = ((f"[{i}]", child) for i, child in enumerate(node))  # type: ignore[assignment]
        else:
            continue
        for key, child in children:
            if isinstance(child, dict | list):
                path = top or (f"{prefix}.{key}" if prefix and not key.startswith("[") else key)
                stack.append((child, depth + 1, path))
    return None


_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _deep_element_in_text(body: bytes, limit: int) -> str:
    """`_deeper_than` for a body too deep to parse: its brackets and strings are read up to the
    first one past `limit`, and the last key of the top-level object before it named."""
    depth = 0
    strings: list[bytes] = []  # the strings of the top-level object, keys and values
    resource_type = ""
    for token in _JSON_TOKEN.finditer(body):
        text = token.group()
        if text[:1] == b'"':
            if depth == 1:
                if strings and strings[-1] == b'"resourceType"':
                    resource_type = text[1:-1].decode("utf-8", "replace")
                strings.append(text)
            continue
        depth += 1 if text in (b"{", b"[") else -1
        if depth > limit:
            key = strings[-1][1:-1].decode("utf-8", "replace") if strings else ""
            return f"{resource_type}.{key}" if resource_type and key else key
    return ""


def _too_deep(element: str) -> WardCareError:
    where = f" (in {element})" if element else ""
    return errors.invalid(
        f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels{where}, deeper than any FHIR "
        "resource WardCare serves",
        *((element,) if element else ()),
        code="structure",
    )


class ResourceValidator:
    def __init__(
        self,
        profiles: ProfileRegistry,
        bindings: dict[str, frozenset[str]],
        *,
        fast_structure: bool = True,
    ) -> None:
        """`fast_structure=False` always builds the R4B model, as before structure_check existed:
        the tests compare the two paths with it."""
        self._profiles = profiles
        self._bindings = bindings
        self._fast_structure = fast_structure
        self._plans = _BindingPlans(bindings)

    def validate(self, resource: Any, *, expected_type: str | None = None) -> str:
        """Check a parsed resource; return its type or raise WardCareError naming each problem."""
        resource_type = self._check_type(resource, expected_type)
        resource_id = resource.get("id")
        if isinstance(resource_id, str) and len(resource_id) > _MAX_ID:
            # FHIR R4 2.24.0.1 (id): at most 64 characters. The R4B models allow 255, and the
            # store's id column is 64 wide: a transaction's PUT reached PostgreSQL with it (500).
            raise errors.invalid(
                f"{resource_type}.id is {len(resource_id)} characters long; a FHIR id has at "
                f"most {_MAX_ID}",
                f"{resource_type}.id",
                code="value",
            )
        null = _first_null(resource, resource_type)
        if null:
            # FHIR R4 JSON (2.6.2): an element is either present with a value or absent.
            raise errors.invalid(
                f"{null} is null: leave an element out instead", null, code="structure"
            )
        if self._fast_structure and certainly_valid(resource):
            issues = self._check_bindings_in_json(resource, resource_type)
        else:
            model = self._check_structure(resource, resource_type)
            issues = self._check_bindings(model, resource_type)
        issues.extend(_check_nhs_numbers(resource, resource_type))
        for profile in self._profiles.applicable(resource):
            issues.extend(profile.check(resource))
        if issues:
            raise WardCareError(Category.UNPROCESSABLE, issues)
        return resource_type

    def _check_type(self, resource: Any, expected_type: str | None) -> str:
        if not isinstance(resource, dict):
            raise errors.invalid("A FHIR resource must be a JSON object", code="structure")
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str):
            raise errors.invalid("resourceType is missing", "resourceType", code="required")
        if expected_type and resource_type != expected_type:
            raise errors.invalid(
                f"resourceType {resource_type} does not match the URL's {expected_type}",
                "resourceType",
            )
        if not is_served(resource_type):
            raise errors.not_supported(
                f"WardCare does not store {resource_type} resources", "resourceType"
            )
        return resource_type

    def _check_structure(self, resource: dict[str, Any], resource_type: str) -> BaseModel:
        try:
            model: BaseModel = get_fhir_model_class(resource_type).model_validate(resource)
        except ValidationError as exc:
            raise WardCareError(
                Category.INVALID,
                [_issue_from_pydantic(resource_type, e) for e in exc.errors(include_url=False)],
            ) from None
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # fhir.resources raises KeyError for an unknown resourceType nested in `contained`
            # or a Bundle entry, and AttributeError for a number as a valueUrl, instead of a
            # validation error.
            raise errors.invalid(
                f"{resource_type} is not valid FHIR R4: unrecognised content ({exc})",
                resource_type,
                code="structure",
            ) from None
        return model

    def _check_bindings(self, model: BaseModel, resource_type: str) -> list[Issue]:
        issues: list[Issue] = []
        if self._bindings:
            _walk_bindings(model, resource_type, resource_type, self._bindings, issues)
        return issues

    def _check_bindings_in_json(self, resource: dict[str, Any], resource_type: str) -> list[Issue]:
        """`_check_bindings` on a resource structure_check has found certainly valid, read from
        its JSON rather than from a model of it: the same issues in the same order."""
        issues: list[Issue] = []
        if self._bindings:
            shape = resource_shape(resource_type)
            assert shape is not None  # structure_check accepted the resource
            plan = self._plans.plan(shape, resource_type)
            _walk_json_bindings(resource, plan, resource_type, issues)
        return issues


def structure_issues(resource: dict[str, Any]) -> list[Issue]:
    """Structural problems of a resource WardCare builds itself (e.g. a published
    Questionnaire), checked once when it is built rather than on every request."""
    resource_type = resource.get("resourceType", "")
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except ValidationError as exc:
        return [_issue_from_pydantic(resource_type, e) for e in exc.errors(include_url=False)]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return [Issue(f"{resource_type}: {exc}")]
    return []


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
                    issues.append(
                        Issue(
                            f"{path} = {item!r} is not in the required value set "
                            f"({', '.join(sorted(allowed))})",
                            (path,),
                            "code-invalid",
                        )
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
                    issues.append(
                        Issue(
                            f"{path} = {item!r} is not in the required value set "
                            f"({', '.join(sorted(allowed))})",
                            (path,),
                            "code-invalid",
                        )
                    )
            continue
        nested = plan.nested(name)
        if nested is None:
            continue
        if is_list:
            for index, item in enumerate(child):
                _walk_json_bindings(item, nested, f"{fhirpath}.{name}[{index}]", issues)
        else:
            _walk_json_bindings(child, nested, f"{fhirpath}.{name}", issues)


def _first_null(value: Any, path: str) -> str | None:
    if isinstance(value, dict):
        for key, child in value.items():
            if child is None:
                return f"{path}.{key}"
            found = _first_null(child, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, child in enumerate(value):
            # null is allowed inside an array only to keep a primitive array aligned with its
            # `_element` extensions; WardCare does not accept that form either.
            if child is None:
                return f"{path}[{index}]"
            found = _first_null(child, f"{path}[{index}]")
            if found:
                return found
    return None


def _issue_from_pydantic(resource_type: str, err: Any) -> Issue:
    path = resource_type
    for part in err["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = str(err["msg"]).removeprefix("Value error, ")
    kind = err.get("type", "")
    if kind in ("missing", "model_field_validation.missing"):
        return Issue(f"{path} is required", (path,), "required")
    if kind == "extra_forbidden":
        return Issue(
            f"{path} is not an element of {resource_type} in FHIR R4", (path,), "structure"
        )
    return Issue(f"{path}: {message}", (path,), "value")


def _check_nhs_numbers(resource: dict[str, Any], resource_type: str) -> list[Issue]:
    if resource_type != "Patient":
        return []
    issues = []
    for index, identifier in enumerate(resource.get("identifier", ())):
        if identifier.get("system") == nhs_number.SYSTEM:
            reason = nhs_number.why_invalid(str(identifier.get("value", "")))
            if reason:
                path = f"Patient.identifier[{index}].value"
                issues.append(Issue(reason, (path,), "value"))
    return issues


def load_required_bindings(path: Path) -> dict[str, frozenset[str]]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {b["path"]: frozenset(b["codes"]) for b in data["bindings"]}
