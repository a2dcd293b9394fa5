"""Which representation a FHIR request asks for: JSON, or a 406 (FHIR R4 3.1.0.1.10).

WardCare serves FHIR JSON only. A client that asks for XML (or Turtle), by `Accept` or by the
`_format` parameter that overrides it (3.1.0.1.10: "_format ... the server SHALL use it"), gets
406 Not Acceptable with an OperationOutcome, not JSON it did not ask for and may not be able to
read. An Accept that also allows JSON (`*/*`, `application/*`, a JSON type) is served JSON.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import Scope

from wardcare import errors
from wardcare.api.fhir_responses import error_response
from wardcare.errors import Category

# The media types (and _format short names, 3.1.0.1.10) that mean FHIR JSON.
_JSON = frozenset(
    {
        "json",
        "application/json",
        "application/fhir+json",
        "application/json+fhir",  # the DSTU2 name some clients still send
        "text/json",
        "*/*",
        "application/*",
    }
)


@lru_cache(maxsize=256)
def _accepts_json(accept: str) -> bool:
    """Does an Accept header allow JSON? (RFC 9110 12.5.1: q=0 means "not acceptable")."""
    for part in accept.split(","):
        media_type, *params = (p.strip() for p in part.split(";"))
        if media_type.lower() not in _JSON:
            continue
        quality = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        try:
            if float(quality) > 0:
                return True
        except ValueError:
            return True  # a malformed weight is ignored, as if it were absent
    return not accept.strip()


def _format_is_json(value: str) -> bool:
    return value.split(";", maxsplit=1)[0].strip().lower() in _JSON


def format_refusal(params: list[tuple[str, str]]) -> Response | None:
    """The 406 for a `_format` among search parameters sent in a POST _search body."""
    for name, value in params:
        if name == "_format" and not _format_is_json(value):
            return _refusal(f"_format={value} asks for a format WardCare does not serve", "_format")
    return None


# Operations under /fhir whose answer is not FHIR JSON (the patient handover is a PDF): a client
# asking for what they serve must not be refused.
_OTHER_REPRESENTATIONS = ("/$handover",)


def not_acceptable(scope: Scope) -> Response | None:
    """A 406 OperationOutcome for a FHIR request that asks for anything but JSON, else None."""
    if scope["path"].endswith(_OTHER_REPRESENTATIONS):
        return None
    query: bytes = scope.get("query_string", b"")
    if b"_format" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if name == "_format" and not _format_is_json(value):
                return _refusal(
                    f"_format={value} asks for a format WardCare does not serve", "_format"
                )
        return None  # _format=json overrides Accept
    for name, value in scope["headers"]:
        if name == b"accept":
            accept = value.decode("latin-1")
            if not _accepts_json(accept):
                return _refusal(f"Accept: {accept} does not allow JSON", "Accept")
    return None


def _refusal(reason: str, where: str) -> Response:
    response = error_response(
        errors.error(
            Category.NOT_SUPPORTED,
            f"{reason}: WardCare serves FHIR JSON only (application/fhir+json)",
            where,
            code="not-supported",
        )
    )
    response.status_code = 406
    return response
