"""What each entry of a batch or transaction Bundle asks for (FHIR R4 3.1.0.13): its request
read and checked (method, URL, resource), its resource validated as a write of its own would
be, and `urn:uuid:` references between entries rewritten to the ids the server assigns.
`bundle_processing` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wardcare import errors
from wardcare.errors import Issue, WardCareError
from wardcare.fhir.versions import StoredVersion
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.services.recorded_times import check_recorded_times
from wardcare.services.vital_sign_checks import check_vital_signs

# The order a transaction applies its entries in (3.1.0.13.2): DELETE, POST, PUT, GET.
ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass
class BundleEntry:
    index: int
    method: str
    resource_type: str
    resource_id: str | None
    version: str | None
    query: list[tuple[str, str]] | None
    resource: dict[str, Any] | None
    full_url: str | None
    if_none_exist: str | None
    if_match: str | None
    assigned_id: str | None = None
    matched: StoredVersion | None = None  # what a conditional create found instead of creating
    response: dict[str, Any] = field(default_factory=dict)


def parse_entry(index: int, raw: Any, base_url: str) -> BundleEntry:
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise errors.invalid(f"{where}.request is required", f"{where}.request", code="required")
    request = raw["request"]
    method = request.get("method")
    url = request.get("url")
    if method not in ORDER or method in ("PATCH", "HEAD"):
        raise errors.invalid(
            f"{where}.request.method {method!r} is not supported",
            f"{where}.request.method",
            code="not-supported",
        )
    if not isinstance(url, str) or not url:
        raise errors.invalid(
            f"{where}.request.url is required", f"{where}.request.url", code="required"
        )
    if url.startswith(base_url):
        url = url[len(base_url) :]
    parts = urlsplit(url.lstrip("/"))
    segments = [s for s in parts.path.split("/") if s]
    query = parse_qsl(parts.query, keep_blank_values=True) if "?" in url else None
    if not segments:
        raise errors.invalid(
            f"{where}.request.url {url!r} names no resource type", f"{where}.request.url"
        )
    resource_id = segments[1] if len(segments) > 1 else None
    version = segments[3] if len(segments) > 3 and segments[2] == "_history" else None
    resource = raw.get("resource")
    if method in ("POST", "PUT") and not isinstance(resource, dict):
        raise errors.invalid(
            f"{where}.resource is required for {method}", f"{where}.resource", code="required"
        )
    if method == "PUT" and resource_id is None:
        raise errors.invalid(
            f"{where}: PUT needs Type/id (conditional update is not supported)",
            f"{where}.request.url",
            code="not-supported",
        )
    if method == "DELETE" and resource_id is None:
        raise errors.invalid(
            f"{where}: DELETE needs Type/id (conditional delete is not supported)",
            f"{where}.request.url",
            code="not-supported",
        )
    return BundleEntry(
        index,
        method,
        segments[0],
        resource_id,
        version,
        query,
        resource if isinstance(resource, dict) else None,
        raw.get("fullUrl"),
        request.get("ifNoneExist"),
        request.get("ifMatch"),
    )


def validate_entry(ctx: AppContext, entry: BundleEntry) -> None:
    fhir.check_type(entry.resource_type)
    if entry.resource is None:
        return
    try:
        ctx.validator.validate(entry.resource, expected_type=entry.resource_type)
        check_vital_signs(entry.resource)
        check_recorded_times(ctx, entry.resource)
    except WardCareError as exc:
        prefix = f"Bundle.entry[{entry.index}].resource"
        exc.issues = [
            Issue(
                i.message,
                tuple(prefix + e[e.find(".") :] if "." in e else prefix for e in i.expression)
                or (prefix,),
                i.code,
            )
            for i in exc.issues
        ]
        raise
    if entry.method == "PUT" and entry.resource.get("id") != entry.resource_id:
        raise errors.invalid(
            f"Bundle.entry[{entry.index}]: resource id does not match request.url",
            f"Bundle.entry[{entry.index}].resource.id",
        )


def check_unique_targets(entries: list[BundleEntry]) -> None:
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        if entry.method in ("PUT", "DELETE") and entry.resource_id:
            key = (entry.resource_type, entry.resource_id)
            if key in seen:
                raise errors.invalid(
                    f"Bundle.entry[{entry.index}] changes {key[0]}/{key[1]} a second time "
                    "in one transaction",
                    f"Bundle.entry[{entry.index}]",
                )
            seen.add(key)


def rewrite_entries(entries: list[BundleEntry], references: dict[str, str]) -> None:
    if references:
        for entry in entries:
            if entry.resource is not None:
                entry.resource = _rewrite_references(entry.resource, references)


def _rewrite_references(resource: dict[str, Any], references: dict[str, str]) -> dict[str, Any]:
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items()}
            ref = out.get("reference")
            if isinstance(ref, str) and ref in references:
                out["reference"] = references[ref]
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(resource)
    return result
