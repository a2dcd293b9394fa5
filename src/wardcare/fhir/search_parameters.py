"""The search parameters the server indexes and accepts, loaded from fhir_profiles/.

fhir_profiles/search-parameters.json is a Bundle of FHIR SearchParameter resources; adding one
there (and restarting) makes it indexed, searchable and declared in the CapabilityStatement.
`_id` and `_lastUpdated` are columns of the store itself (FHIR R4 3.1.1.4.1).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from wardcare.fhir.element_paths import ElementPath, UnsupportedExpression, compile_path


class ParamType(StrEnum):
    TOKEN = "token"
    STRING = "string"
    DATE = "date"
    REFERENCE = "reference"
    QUANTITY = "quantity"
    URI = "uri"
    NUMBER = "number"


@dataclass(frozen=True)
class SearchParam:
    code: str
    type: ParamType
    url: str
    description: str
    path: ElementPath
    targets: tuple[str, ...] = ()
    # A reference parameter whose Patient references are also those of its twin
    # `X.where(resolve() is Patient)` (Observation `subject` and `patient`, Provenance `target`
    # and `patient`): they are indexed once, as the twin's rows, and this parameter is answered
    # from its own rows and the twin's (migration 0009). An assessment wrote each patient
    # reference twice, on pages of their own (docs/benchmarks.md, "Assessments").
    patient_twin: SearchParam | None = None

    @property
    def row_params(self) -> tuple[str, ...]:
        """The `param` values of the index rows that answer this parameter."""
        return (self.code,) if self.patient_twin is None else (self.code, self.patient_twin.code)


BUILT_IN = {
    "_id": SearchParam(
        "_id",
        ParamType.TOKEN,
        "http://hl7.org/fhir/SearchParameter/Resource-id",
        "Logical id",
        compile_path("Resource.id"),
    ),
    "_lastUpdated": SearchParam(
        "_lastUpdated",
        ParamType.DATE,
        "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
        "When the resource version last changed",
        compile_path("Resource.meta.lastUpdated"),
    ),
}


class SearchParameterRegistry:
    def __init__(self, params: dict[str, dict[str, SearchParam]], common: dict[str, SearchParam]):
        self._params = params
        self._common = common

    def for_type(self, resource_type: str) -> dict[str, SearchParam]:
        """Every parameter a search of this type accepts (built-ins included)."""
        return {**BUILT_IN, **self._common, **self._params.get(resource_type, {})}

    def indexed(self, resource_type: str) -> list[SearchParam]:
        """The parameters whose values are written to the index tables."""
        return [*self._common.values(), *self._params.get(resource_type, {}).values()]

    def get(self, resource_type: str, code: str) -> SearchParam | None:
        return self.for_type(resource_type).get(code)


def load_search_parameters(path: Path) -> SearchParameterRegistry:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    params: dict[str, dict[str, SearchParam]] = {}
    common: dict[str, SearchParam] = {}
    for entry in bundle.get("entry", []):
        resource: dict[str, Any] = entry["resource"]
        where = f"{path.name}: SearchParameter {resource.get('id')!r}"
        try:
            param = SearchParam(
                code=resource["code"],
                type=ParamType(resource["type"]),
                url=resource["url"],
                description=resource.get("description", ""),
                path=compile_path(resource["expression"]),
                targets=tuple(resource.get("target", ())),
            )
        except (KeyError, ValueError, UnsupportedExpression) as exc:
            raise ValueError(f"{where}: {exc}") from exc
        for base in resource["base"]:
            if base == "Resource":
                common[param.code] = param
            else:
                params.setdefault(base, {})[param.code] = param
    for by_code in params.values():
        _pair_patient_twins(by_code)
    return SearchParameterRegistry(params, common)


_PATIENT_TWIN = re.compile(r"^(?P<broader>.+)\.where\(resolve\(\) is Patient\)$")


def _pair_patient_twins(by_code: dict[str, SearchParam]) -> None:
    """Give each reference parameter `X` of one type its twin `X.where(resolve() is Patient)`."""
    by_expression = {
        p.path.expression: p for p in by_code.values() if p.type == ParamType.REFERENCE
    }
    for twin in list(by_expression.values()):
        match = _PATIENT_TWIN.match(twin.path.expression)
        broader = by_expression.get(match["broader"]) if match else None
        if broader is not None:
            by_code[broader.code] = replace(broader, patient_twin=twin)
