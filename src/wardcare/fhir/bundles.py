"""Compose searchset and history Bundles (FHIR R4 Bundle; RESTful API 3.1.1.3 paging).

Stored resources are already JSON; they are embedded as-is (orjson.Fragment), never parsed and
re-serialised, because serialising a FHIR model costs about a millisecond per resource.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import orjson

from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.versions import StoredVersion

_STATUS_TEXT = {"POST": "201 Created", "PUT": "200 OK", "DELETE": "204 No Content"}


def resource_body(version: StoredVersion, elements: Sequence[str] = ()) -> Any:
    """The stored JSON, or with `_elements` only the listed top-level elements (SUBSETTED)."""
    assert version.content is not None
    if not elements:
        return orjson.Fragment(version.content)
    full = orjson.loads(version.content)
    keep = {"resourceType", "id", "meta", *elements}
    subset = {k: v for k, v in full.items() if k in keep}
    meta = dict(subset.get("meta", {}))
    meta["tag"] = [
        *meta.get("tag", []),
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "SUBSETTED",
        },
    ]
    subset["meta"] = meta
    return subset


def searchset(
    *,
    base_url: str,
    resource_type: str,
    params: list[tuple[str, str]],
    matches: Sequence[StoredVersion],
    included: Sequence[StoredVersion],
    total: int | None,
    count: int,
    offset: int,
    elements: Sequence[str] = (),
) -> bytes:
    links = [{"relation": "self", "url": _page_url(base_url, resource_type, params, count, offset)}]
    if offset > 0:
        links.append(
            {
                "relation": "previous",
                "url": _page_url(base_url, resource_type, params, count, max(0, offset - count)),
            }
        )
    more = count > 0 and len(matches) == count and (total is None or offset + count < total)
    if more:
        links.append(
            {
                "relation": "next",
                "url": _page_url(base_url, resource_type, params, count, offset + count),
            }
        )
    entries = [_entry(base_url, m, "match", elements) for m in matches]
    entries += [_entry(base_url, i, "include", ()) for i in included]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "searchset",
    }
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    bundle["entry"] = entries
    return orjson.dumps(bundle)


def history_bundle(
    *,
    base_url: str,
    path: str,
    versions: Sequence[StoredVersion],
    total: int,
    count: int,
    offset: int,
    params: list[tuple[str, str]],
) -> bytes:
    kept = [(k, v) for k, v in params if k not in ("_count", "_offset")]

    def url(at: int) -> str:
        return f"{base_url}/{path}?" + urlencode(
            [*kept, ("_count", str(count)), ("_offset", str(at))]
        )

    links = [{"relation": "self", "url": url(offset)}]
    if offset + count < total:
        links.append({"relation": "next", "url": url(offset + count)})
    entries = []
    for v in versions:
        entry: dict[str, Any] = {"fullUrl": f"{base_url}/{v.resource_type}/{v.id}"}
        if v.content is not None:
            entry["resource"] = orjson.Fragment(v.content)
        entry["request"] = {
            "method": v.method,
            "url": v.resource_type if v.method == "POST" else f"{v.resource_type}/{v.id}",
        }
        entry["response"] = {
            "status": _STATUS_TEXT[v.method]
            if v.method != "POST" or v.version_id == 1
            else "200 OK",
            "etag": v.etag,
            "lastModified": instant(from_micros(v.last_updated)),
        }
        entries.append(entry)
    return orjson.dumps(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "history",
            "total": total,
            "link": links,
            "entry": entries,
        }
    )


def _entry(base_url: str, version: StoredVersion, mode: str, elements: Sequence[str]) -> Any:
    return {
        "fullUrl": f"{base_url}/{version.resource_type}/{version.id}",
        "resource": resource_body(version, elements),
        "search": {"mode": mode},
    }


def _page_url(
    base_url: str, resource_type: str, params: list[tuple[str, str]], count: int, offset: int
) -> str:
    kept = [(k, v) for k, v in params if k not in ("_count", "_offset")]
    query = urlencode([*kept, ("_count", str(count)), ("_offset", str(offset))])
    return f"{base_url}/{resource_type}?{query}"
