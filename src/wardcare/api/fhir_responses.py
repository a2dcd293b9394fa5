"""HTTP shapes of FHIR results: content type, ETag, Last-Modified, Location, Prefer."""

from __future__ import annotations

from email.utils import format_datetime
from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from wardcare.errors import WardCareError
from wardcare.fhir.dates import from_micros
from wardcare.fhir.outcomes import information, operation_outcome, status_for
from wardcare.fhir.versions import StoredVersion

FHIR_JSON = "application/fhir+json; charset=utf-8"


def fhir_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, status_code=status, media_type=FHIR_JSON, headers=headers)


def error_response(error: WardCareError) -> Response:
    return fhir_response(operation_outcome(error), status_for(error))


def version_headers(stored: StoredVersion) -> dict[str, str]:
    return {"ETag": stored.etag, "Last-Modified": _http_date(stored.last_updated // 1_000_000)}


@lru_cache(maxsize=256)
def _http_date(seconds: int) -> str:
    # HTTP dates have whole seconds (RFC 9110 5.6.7): a burst of writes shares a few, and
    # formatting one was a measurable share of a create's response.
    return format_datetime(from_micros(seconds * 1_000_000), usegmt=True)


def written_response(
    request: Request, stored: StoredVersion, status: int, base_url: str
) -> Response:
    """The answer to a create or update, honouring Prefer: return= (3.1.0.8)."""
    headers = version_headers(stored)
    headers["Location"] = (
        f"{base_url}/{stored.resource_type}/{stored.id}/_history/{stored.version_id}"
    )
    prefer = request.headers.get("prefer", "")
    if "return=minimal" in prefer:
        return Response(status_code=status, headers=headers)
    if "return=OperationOutcome" in prefer:
        action = "created" if status == 201 else "updated"
        message = f"{stored.resource_type}/{stored.id} {action} (version {stored.version_id})"
        return fhir_response(information(message), status, headers)
    assert stored.content is not None
    return fhir_response(stored.content, status, headers)
