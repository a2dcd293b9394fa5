"""Is this a valid FHIR R4 resource WardCare may store? (FHIR R4 RESTful API 3.1.0.1.4)

Four checks, cheapest first: the JSON parses; the structure is valid FHIR (fhir.resources' R4B
models, which agree with R4 for every type WardCare serves: see docs/architecture.md); codes
with a required binding come from their value set (fhir_profiles/required-bindings.json); and
the resource meets the profiles in fhir_profiles/ and WardCare's business rules (NHS numbers pass
Modulus 11). A structural failure is 400; a rule or profile failure is 422 (3.1.0.4.1).

Building the R4B model is most of the cost, so the common resource is first read by
fhir/structure_check.py, which answers "certainly valid" (the model would accept it; the
required bindings, fhir/required_bindings.py, are then read from the dict) or "not sure" (the
model decides, and its errors are the ones reported). Either way the verdict and the issues are
the same.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ValidationError

from wardcare import errors
from wardcare.domain import nhs_number
from wardcare.errors import Category, Issue, WardCareError
from wardcare.fhir.profiles import ProfileRegistry
from wardcare.fhir.required_bindings import RequiredBindings
from wardcare.fhir.resource_types import is_served
from wardcare.fhir.structure_check import certainly_valid

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
        self._fast_structure = fast_structure
        self._bindings = RequiredBindings(bindings)

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
            issues = self._bindings.issues_in_json(resource, resource_type)
        else:
            model = self._check_structure(resource, resource_type)
            issues = self._bindings.issues_in_model(model, resource_type)
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
