"""Is this resource certainly valid FHIR R4 structure? A fast, one-sided check on the parsed JSON.

fhir.resources' R4B models are the judge of structure (fhir/validation.py), but building one
costs far more than reading the JSON once: ~0.2-0.5 ms of CPU for a NEWS2 QuestionnaireResponse
or a vital-sign Observation, most of what validating it costs. This module reads the same
models' own metadata (each field's JSON name, element type, list or not, required or not, its
choice group and the constraints fhir_core puts on each primitive type) and checks the dict
directly.

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

import calendar
import datetime
import decimal
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Le, MaxLen, MinLen
from fhir.resources.R4B import get_fhir_model_class
from fhir_core import types as fhir_types
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase, FhirElementOrResourceBase
from pydantic import AnyUrl

Check = Callable[[Any], bool]


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


def _never(_value: Any) -> bool:
    return False


def _element(name: str, annotation: Any) -> Element:
    unwrapped = _unwrap(annotation)
    if unwrapped is None:
        return Element(name, False, _never)
    is_list, inner = unwrapped
    if isinstance(inner, type) and issubclass(inner, FhirBase):
        if issubclass(inner, FhirElementOrResourceBase):
            # Resource or Element: the class is chosen by the value (contained, Bundle.entry).
            return Element(name, is_list, _never)
        return Element(name, is_list, _complex_rule(inner), inner)
    primitive = _primitive(inner)
    if primitive is None:
        return Element(name, is_list, _never)
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


# -- primitive types (FHIR R4 2.24.0.1) ----------------------------------------------------------
#
# fhir_core checks some primitives with pydantic `pattern`s, run by pydantic-core's Rust regex
# with search semantics and Unicode classes, and others with Python regexes of its own. A rule
# below is written for one exact fhir_core constraint and is compiled only if the model still
# declares that constraint. Python's \s is a superset of Rust's Unicode \s (it also counts
# U+001C..U+001F), so "not Python whitespace" implies "not Rust whitespace": the rules below
# use that direction only.

_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> bool:
    """A non-empty str pydantic-core can read: a lone surrogate is not valid UTF-8 (pydantic
    refuses it), and FHIR R4 JSON does not allow empty strings."""
    return (
        type(value) is str and value != "" and (value.isascii() or _SURROGATE.search(value) is None)
    )


def _string(value: Any) -> bool:
    # FHIR R4 2.24.0.1 string: fhir_core's pattern [ \r\n\t\S]+ needs one such character (a
    # search). Asking it of the first character also satisfies an anchored match.
    if not _text(value):
        return False
    first: str = value[0]
    return first in " \t\r\n" or not first.isspace()


_CODE = re.compile(r"\S+(?: \S+)*")


def _code(value: Any) -> bool:
    # FHIR R4 2.24.0.1 code: no leading or trailing whitespace and only single spaces inside
    # (fhir_core: ^[^\s]+(\s[^\s]+)*$). Tokens of non-whitespace joined by single spaces.
    return _text(value) and _CODE.fullmatch(value) is not None


_ID = re.compile(r"[A-Za-z0-9\-.]+")


def _id_rule(max_length: int) -> Check:
    # FHIR R4 2.24.0.1 id: [A-Za-z0-9\-\.]{1,64}; fhir_core's length limit is read from its
    # constraint (255 by default; WardCare refuses more than 64 before this check).
    def check(value: Any) -> bool:
        return type(value) is str and len(value) <= max_length and _ID.fullmatch(value) is not None

    return check


_OID = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")


def _oid(value: Any) -> bool:
    # FHIR R4 2.24.0.1 oid: urn:oid: and the dotted numbers.
    return type(value) is str and _OID.fullmatch(value) is not None


def _boolean(value: Any) -> bool:
    # FHIR R4 2.24.0.1 boolean: a JSON true or false (the model also takes "true" and 1).
    return type(value) is bool


def _integer_rule(low: int, high: int) -> Check:
    # FHIR R4 2.24.0.1 integer / unsignedInt / positiveInt: a JSON number without a fraction,
    # in the range fhir_core declares (Ge/Le). Not bool, which Python counts as an int.
    def check(value: Any) -> bool:
        return type(value) is int and low <= value <= high

    return check


def _decimal(value: Any) -> bool:
    # FHIR R4 2.24.0.1 decimal: a JSON number. fhir_core matches str(value) against its own
    # pattern (no NaN or Infinity) before it makes a Decimal of it. An int of thousands of
    # digits cannot even be made a str (Python's int_max_str_digits): kept to 64 bits here, as
    # JSON parsers keep it.
    if type(value) is int:
        return -(2**63) <= value < 2**64
    return type(value) is float and fhir_types.Decimal.pattern.fullmatch(str(value)) is not None


def _valid_day(value: str) -> bool:
    """The pattern allows 31 days in every month; pydantic then refuses 2026-02-30."""
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    return day <= calendar.monthrange(year, month)[1]


def _no_leap_second(value: str) -> bool:
    # A seconds field of 60 is valid FHIR but kept as a string by fhir_core after another
    # check: not modelled here.
    return fhir_types.FHIR_LEAP_SECOND.fullmatch(value) is None


def _date(value: Any) -> bool:
    # FHIR R4 2.24.0.1 date: YYYY, YYYY-MM or YYYY-MM-DD, a real day.
    return (
        type(value) is str
        and fhir_types.Date.pattern.fullmatch(value) is not None
        and (len(value) < 10 or _valid_day(value))
    )


def _date_time(value: Any) -> bool:
    # FHIR R4 2.24.0.1 dateTime: a date, or a date and time with seconds and a time zone; the
    # pattern also keeps hours below 24 and the offset within +/-14:00.
    return (
        type(value) is str
        and fhir_types.DateTime.pattern.fullmatch(value) is not None
        and (len(value) < 10 or _valid_day(value))
        and _no_leap_second(value)
    )


def _instant(value: Any) -> bool:
    # FHIR R4 2.24.0.1 instant: a dateTime to the second at least, always with a time zone.
    return (
        type(value) is str
        and fhir_types.Instant.pattern.fullmatch(value) is not None
        and _valid_day(value)
        and _no_leap_second(value)
    )


def _time(value: Any) -> bool:
    # FHIR R4 2.24.0.1 time: hh:mm:ss, no time zone.
    return (
        type(value) is str
        and fhir_types.Time.pattern.fullmatch(value) is not None
        and _no_leap_second(value)
    )


def _always(_value: Any) -> bool:
    return True


def _partial_date(value: Any) -> bool:
    # fhir_core keeps YYYY and YYYY-MM as strings; a full date becomes a date or datetime.
    return len(value) < 10


_PATTERN_RULES: dict[type[Any], tuple[str, Check]] = {
    # fhir_core type: (the pydantic pattern it declares, the rule written for that pattern)
    fhir_types.String: ("[ \r\n\t\\S]+", _string),
    fhir_types.Code: (r"^[^\s]+(\s[^\s]+)*$", _code),
    # uri and canonical: \S* (a search) matches any string; markdown: \s*(\S|\s)* likewise.
    fhir_types.Uri: (r"\S*", _text),
    fhir_types.Canonical: (r"\S*", _text),
    fhir_types.Markdown: (r"\s*(\S|\s)*", _text),
    fhir_types.Oid: (r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$", _oid),
}


# The types fhir_core checks with Python code and regexes of its own (used here as they are), with
# the Python type its model holds: (that type, the rule, whether the model keeps the JSON str).
_OWN_RULES: dict[type[Any], tuple[Any, Check, Check]] = {
    fhir_types.Decimal: (decimal.Decimal, _decimal, _never),
    fhir_types.Date: (datetime.date, _date, _partial_date),
    fhir_types.DateTime: (datetime.datetime, _date_time, _partial_date),
    fhir_types.Instant: (datetime.datetime, _instant, _never),
    fhir_types.Time: (datetime.time, _time, _never),
    # url: fhir_core validates it as a plain str (a relative path is allowed too).
    fhir_types.Url: (typing.Union[AnyUrl, str], _text, _always),  # noqa: UP007 (as declared)
    # xhtml (Narrative.div): the model checks nothing beyond its being a str.
    fhir_types.Xhtml: (str, _text, _always),
}


def _primitive(annotation: Any) -> tuple[Check, Check] | None:
    """(the rule, whether the model keeps the value as a str) for a primitive type, or None if
    there is no rule for it (base64Binary, uuid, anything unexpected)."""
    if annotation is bool:
        return _boolean, _never
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    base, *metadata = typing.get_args(annotation)
    if len(metadata) != 1:
        return None
    (kind,) = metadata
    constraint = type(kind)
    if constraint in _PATTERN_RULES and base is str:
        pattern, rule = _PATTERN_RULES[constraint]
        if _patterns(kind) == [pattern]:
            return rule, _always
        return None
    if constraint is fhir_types.Id and base is str:
        return _id(kind)
    if constraint in (fhir_types.Integer, fhir_types.UnsignedInt, fhir_types.PositiveInt):
        low = [m.ge for m in kind if isinstance(m, Ge)]
        high = [m.le for m in kind if isinstance(m, Le)]
        if base is int and len(low) == 1 and len(high) == 1:
            return _integer_rule(int(low[0]), int(high[0])), _never  # type: ignore[call-overload]
        return None
    if constraint in _OWN_RULES:
        expected_base, rule, kept_as_string = _OWN_RULES[constraint]
        return (rule, kept_as_string) if base == expected_base else None
    return None


def _patterns(kind: Any) -> list[str | None]:
    return [getattr(m, "pattern", None) for m in kind]


def _id(kind: Any) -> tuple[Check, Check] | None:
    parts = list(kind)
    minimum = [m.min_length for m in parts if isinstance(m, MinLen)]
    maximum = [m.max_length for m in parts if isinstance(m, MaxLen)]
    patterns = [p for p in _patterns(parts) if p is not None]
    if minimum == [1] and len(maximum) == 1 and patterns == [r"^[A-Za-z0-9\-.]+$"]:
        return _id_rule(int(maximum[0])), _always
    return None
