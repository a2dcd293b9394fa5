"""A document (a DocumentReference with a PDF, e.g. a handover or an assessment) as MDM^T02 v2.5.1.

MDM^T02 "original document notification and content" (HL7 v2.5.1 chapter 9, medical
records/information management): EVN, PID, PV1, TXA describing the document, then one OBX whose
value type is ED (encapsulated data) carrying the PDF: source application ^ AP (application
data, table 0191) ^ PDF ^ Base64 ^ the bytes in base64. Base64's alphabet has none of the HL7
delimiters, so the data needs no escaping.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from wardcare.hl7v2.outbound_fields import (
    Header,
    coded,
    escape,
    first_coding,
    join_components,
    message,
    msh,
    pid,
    pv1,
    segment,
    timestamp,
)

MESSAGE_TYPE = "MDM^T02"
# DocumentReference.docStatus -> TXA-17 document completion status (table 0271): a generated
# sheet is documented, not authenticated (nobody signed it); a preliminary one is in progress.
_COMPLETION = {"preliminary": "IP", "final": "DO", "amended": "DO"}


def mdm_t02(
    document: Mapping[str, Any],
    *,
    pdf: bytes,
    file_name: str | None,
    patient: Mapping[str, Any],
    encounter: Mapping[str, Any] | None,
    bed_code: str | None,
    header: Header,
) -> str:
    tz = header.timezone
    when = timestamp(document.get("date") or (document.get("meta") or {}).get("lastUpdated"), tz)
    type_coding = first_coding(document.get("type"))
    type_text = (document.get("type") or {}).get("text")
    author = _author(document)
    txa = segment(
        "TXA",
        "1",
        escape((type_coding or {}).get("code") or "NOTE"),
        "AP",
        when,
        author,
        when,
        "",
        "",
        author,
        "",
        "",
        join_components(escape(document.get("id", "")), "WARDCARE"),
        "",
        "",
        "",
        escape(file_name or ""),
        _COMPLETION.get(document.get("docStatus") or "", "DO"),
        "",
        "AV",
    )
    encoded = base64.b64encode(pdf).decode("ascii")
    obx = segment(
        "OBX",
        "1",
        "ED",
        coded(type_coding, type_text or "Document"),
        "",
        f"WARDCARE^AP^PDF^Base64^{encoded}",
        "",
        "",
        "",
        "",
        "",
        "F",
        "",
        "",
        when,
    )
    return message(
        [
            msh(header, MESSAGE_TYPE),
            segment("EVN", "T02", timestamp(header.created, tz)),
            pid(patient),
            pv1(encounter, bed_code, header.sending_facility),
            txa,
            obx,
        ]
    )


def _author(document: Mapping[str, Any]) -> str:
    """TXA-5/TXA-9 as XCN: the Practitioner's id."""
    for author in document.get("author") or ():
        reference = author.get("reference") or ""
        if reference.startswith("Practitioner/"):
            return escape(reference.split("/", 1)[1])
    return ""
