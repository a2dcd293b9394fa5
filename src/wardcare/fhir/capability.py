"""The CapabilityStatement, built from what the server really has (FHIR R4 CapabilityStatement).

Resource types, interactions, search parameters and profiles all come from the same registries
the server uses to store and search, so the statement cannot drift from the behaviour.
"""

from __future__ import annotations

from typing import Any

from wardcare import __version__
from wardcare.fhir.profiles import ProfileRegistry
from wardcare.fhir.resource_types import APPEND_ONLY_TYPES, SERVED_TYPES
from wardcare.fhir.search_parameters import ParamType, SearchParameterRegistry


def capability_statement(
    *,
    base_url: str,
    search_parameters: SearchParameterRegistry,
    profiles: ProfileRegistry,
    published: str,
) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": published,
        "publisher": "WardCare",
        "kind": "instance",
        "software": {"name": "WardCare", "version": __version__},
        "implementation": {"description": "WardCare nursing record FHIR API", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Every write creates a new version with a Provenance; deletes are logical and "
                    "history is kept. Unknown search parameters are rejected with 400."
                ),
                "resource": [_resource(t, search_parameters, profiles) for t in SERVED_TYPES],
                "interaction": [
                    {"code": "transaction"},
                    {"code": "batch"},
                    {"code": "history-system"},
                ],
            }
        ],
    }


def _resource(
    resource_type: str, registry: SearchParameterRegistry, profiles: ProfileRegistry
) -> dict[str, Any]:
    interactions = ["read", "vread", "create", "search-type", "history-instance", "history-type"]
    if resource_type not in APPEND_ONLY_TYPES:
        interactions += ["update", "delete"]
    params = registry.for_type(resource_type)
    reference_params = [p.code for p in params.values() if p.type == ParamType.REFERENCE]
    entry: dict[str, Any] = {
        "type": resource_type,
        "interaction": [{"code": code} for code in interactions],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": resource_type not in APPEND_ONLY_TYPES,
        "conditionalCreate": True,
        "conditionalRead": "not-supported",
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "searchInclude": [f"{resource_type}:{code}" for code in reference_params],
        "searchRevInclude": ["Provenance:target"],
        "searchParam": [
            {
                "name": p.code,
                "definition": p.url,
                "type": p.type.value,
                "documentation": p.description,
            }
            for p in params.values()
        ],
    }
    if resource_type == "QuestionnaireResponse":
        entry["operation"] = [
            {
                "name": "extract",
                "definition": "http://hl7.org/fhir/uv/sdc/OperationDefinition/QuestionnaireResponse-extract",
            }
        ]
    if resource_type == "Patient":
        # GET /fhir/Patient/{id}/$handover: the SBAR handover PDF, kept as a DocumentReference.
        entry["operation"] = [
            {
                "name": "handover",
                "definition": "http://wardcare.org/fhir/OperationDefinition/Patient-handover",
            }
        ]
    supported = [p.url for p in profiles.by_url.values() if p.type == resource_type]
    if supported:
        entry["supportedProfile"] = supported
    return entry
