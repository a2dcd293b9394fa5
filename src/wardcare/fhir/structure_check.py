"""Is this resource certainly valid FHIR R4 structure? A fast, one-sided check on the parsed JSON.

fhir.resources' R4B models are the judge of structure (fhir/validation.py), but building one
costs far more than reading the JSON once: ~0.2-0.5 ms of CPU for a NEWS2 QuestionnaireResponse
or a vital-sign Observation, most of what validating it costs. This module reads the same
models' own metadata (each field's JSON name, element type, list or not, required or not, its
choice group and the constraints fhir_core puts on each primitive type, whose rules are in
fhir/primitive_rules.py) and checks the dict directly.

Its answer is one-sided: True means "certainly valid" (the R4B model would accept the resource)
and False means only "not sure". Anything it has no exact rule for says "not sure" and the caller
asks the model, whose errors and paths are the ones reported. So a rule may be stricter than the
model (a boolean must be a JSON boolean here, while the model also takes "true" or 1), never
looser. Not modelled, so "not sure": contained and other nested resources, primitive extensions
(`_element`), base64Binary, uuid, leap seconds, fhir.resources' own `fhir_comments`, empty
objects, arrays and strings, and any type whose fhir_core constraint is not the one a rule here
was written for (a later fhir_core with another pattern falls back rather than guesses).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase, FhirElementOrResourceBase

from wardcare.fhir.primitive_rules import Check, never, primitive_rule


@dataclass(frozen=True, slots=True)
class Element:
    """One element of a type, as its R4B model declares it."""

    name: str  # the JSON name (the model field's alias)
    is_list: bool
    accepts: Check  # one value (one item of a list): is it certainly valid?
    # A complex type, as the model declares it (fhir_core resolves it to a model class when it
    # meets a value, and so does `complex_shape`); None for a primitive.
    complex_type: type[FhirBase] | None = None
    # A primitive whose model value stays a str (a code, or a partial date) for this JSON value;
    # the required-binding walk looks only at those (as it does on the model).
    kept_as_string: Check | None = None
    choice: int = -1  # the bit of its choice group (value[x]) in Shape.required_choices, or -1


@dataclass(frozen=True, slots=True)
class Shape:
    """A complex type or resource: its elements by JSON name, in the model's field order.
    Built whole before anyone sees it, and never changed: requests on other threads may be
    reading it."""

    type_name: str  # its model class (e.g. "Coding", "QuestionnaireResponseItem")
    elements: dict[str, Element]
    order: dict[str, int]  # JSON name -> position among the model's fields
    required: tuple[str, ...]
    required_choices: int  # bits of the choice groups one of which must be present


def certainly_valid(resource: dict[str, Any]) -> bool:
    """True if fhir.resources' R4B model of `resource` certainly accepts it; False if not sure."""
    resource_type = resource.get("resourceType")
    if type(resource_type) is not str:
        return False
    shape = resource_shape(resource_type)
    return shape is not None and _object_ok(resource, shape)


_RESOURCE_SHAPES: dict[str, Shape | None] = {}


def resource_shape(resource_type: str) -> Shape | None:
    """The compiled shape of a resource type, or None if fhir.resources has no such resource."""
    if resource_type not in _RESOURCE_SHAPES:
        try:
            model = get_fhir_model_class(resource_type)
        except (KeyError, ValueError):
            model = None
        # get_fhir_model_class also answers for datatypes ("Coding"): only resources count.
        is_resource = (
            model is not None
            and model.has_resource_base()
            and model.get_resource_type() == resource_type
        )
        _RESOURCE_SHAPES[resource_type] = shape_of(model) if model and is_resource else None
    return _RESOURCE_SHAPES[resource_type]


def _object_ok(obj: Any, shape: Shape) -> bool:
    # FHIR R4 JSON (json.html): objects are never empty.
    if type(obj) is not dict or not obj:
        return False
    elements = shape.elements
    choices = 0
    for name, value in obj.items():
        element = elements.get(name)
        if element is None:
            return False  # unknown here: perhaps an error, perhaps `_x` or `fhir_comments`
        if element.choice >= 0:
            # FHIR R4 formats.html#choice: a value[x] element appears under one name only.
            bit = 1 << element.choice
            if choices & bit:
                return False
            choices |= bit
        if element.is_list:
            # Arrays are never empty, and a repeating element is always an array (json.html).
            if type(value) is not list or not value:
                return False
            accepts = element.accepts
            for item in value:
                if not accepts(item):
                    return False
        elif not element.accepts(value):
            return False
    for name in shape.required:
        if name not in obj:
            return False
    return choices & shape.required_choices == shape.required_choices


# -- compiling a model's metadata --------------------------------------------------------------

_SHAPES: dict[type[FHIRAbstractModel], Shape] = {}


def shape_of(model: type[FHIRAbstractModel]) -> Shape:
    """The shape of a model class, compiled on first use. The types of its complex elements are
    compiled when a value of theirs is first checked (so a recursive type such as
    QuestionnaireResponse.item needs nothing special). Two threads may compile the same model
    at once: each makes an equal Shape, and either may be kept."""
    shape = _SHAPES.get(model)
    if shape is None:
        shape = _SHAPES[model] = _compile(model)
    return shape


def _compile(model: type[FHIRAbstractModel]) -> Shape:
    blank = model.model_construct()
    choice_groups = list(blank.get_one_of_many_fields().values())
    group_of = {name: index for index, names in enumerate(choice_groups) for name in names}
    # Primitives of minimum cardinality 1 (FHIR R4 extensibility "special case"): the model also
    # takes `_status` with an extension instead of a value; here the value must be present.
    required_fields = {name for name, _ext in blank.get_required_fields()}
    elements: dict[str, Element] = {}
    order: dict[str, int] = {}
    required: list[str] = []
    if model.has_resource_base():
        # Only a top-level resource gets here (a nested one is "not sure"). The model takes its
        # resourceType as its class, which it must name (FHIR R4 JSON, json.html#resources).
        resource_type = model.get_resource_type()

        def names_the_type(value: Any) -> bool:
            return type(value) is str and value == resource_type

        elements["resourceType"] = Element("resourceType", False, names_the_type)
        order["resourceType"] = -1
    for position, (field_name, info) in enumerate(model.model_fields.items()):
        name = info.alias or field_name
        if info.is_required() or field_name in required_fields:
            required.append(name)  # (were it one not modelled, nothing would be certain)
        if name.startswith("_") or field_name == "fhir_comments":
            continue  # primitive extensions and comments: not modelled, so "not sure"
        element = _element(name, info.annotation)
        if field_name in group_of:
            element = _with_choice(element, group_of[field_name])
        elements[name] = element
        order[name] = position
    required_choices = 0
    for index, names in enumerate(choice_groups):
        extra = model.model_fields[names[0]].json_schema_extra
        if isinstance(extra, dict) and extra.get("one_of_many_required") is True:
            required_choices |= 1 << index
    return Shape(model.__name__, elements, order, tuple(required), required_choices)


def _with_choice(element: Element, index: int) -> Element:
    return Element(
        element.name,
        element.is_list,
        element.accepts,
        element.complex_type,
        element.kept_as_string,
        index,
    )


def _element(name: str, annotation: Any) -> Element:
    unwrapped = _unwrap(annotation)
    if unwrapped is None:
        return Element(name, False, never)
    is_list, inner = unwrapped
    if isinstance(inner, type) and issubclass(inner, FhirBase):
        if issubclass(inner, FhirElementOrResourceBase):
            # Resource or Element: the class is chosen by the value (contained, Bundle.entry).
            return Element(name, is_list, never)
        return Element(name, is_list, _complex_rule(inner), inner)
    primitive = primitive_rule(inner)
    if primitive is None:
        return Element(name, is_list, never)
    rule, kept_as_string = primitive
    return Element(name, is_list, rule, kept_as_string=kept_as_string)


_COMPLEX_SHAPES: dict[type[FhirBase], Shape | None] = {}


def complex_shape(complex_type: type[FhirBase]) -> Shape | None:
    """The shape of a complex element's type, or None for a type not modelled here (a nested
    resource, a primitive's extension). Resolved on first use: the model class behind a type is
    imported then, and Extension alone would bring in fifty datatypes no resource may use."""
    if complex_type not in _COMPLEX_SHAPES:
        model = complex_type.get_model_klass()
        modelled = not model.has_resource_base() and model.get_resource_type() != (
            "FHIRPrimitiveExtension"
        )
        _COMPLEX_SHAPES[complex_type] = shape_of(model) if modelled else None
    return _COMPLEX_SHAPES[complex_type]


def _complex_rule(complex_type: type[FhirBase]) -> Check:
    shape: Shape | None = None

    def object_ok(value: Any) -> bool:
        nonlocal shape
        if shape is None:
            shape = complex_shape(complex_type)
            if shape is None:
                return False
        return _object_ok(value, shape)

    return object_ok


def _unwrap(annotation: Any) -> tuple[bool, Any] | None:
    """(is a list, the element type) from `X | None`, `List[X] | None`, `X`, and `List[X | None]`
    (a primitive's list: a null keeps it aligned with its `_element` list, and is refused here
    as every null is); else None."""
    annotation = _without_none(annotation)
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        item = _without_none(item)
        return None if item is None else (True, item)
    return None if annotation is None else (False, annotation)


def _without_none(annotation: Any) -> Any:
    """X from `X | None`; None from a union of two types or more (fhir_comments: str | list)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else None
    return annotation
