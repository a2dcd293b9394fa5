"""Acknowledgements: the ACK message WardCare answers each inbound message with.

HL7 v2.5.1 chapter 2: MSA-1 is AA (applied), AE (understood, not applied) or AR (rejected); in
enhanced mode (MSH-15/16) the accept acknowledgement is CA/CE/CR (2.9.3). MSA-2 always echoes
the sender's MSH-10 so it can match the ACK to what it sent. An error is carried in ERR with a
table 0357 code, the location (segment^sequence^field, e.g. PID^1^3) and words a person can act
on; ERR-1 (v2.3/2.4 "error code and location") is filled as well as ERR-2/3/4/8 (v2.5), so
receivers of every supported version read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from wardcare.hl7v2.message_parsing import Header

# HL7 table 0357, message error condition codes.
ERROR_CODES = {
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}


@dataclass(frozen=True)
class AckError:
    code: str  # HL7 table 0357
    text: str
    location: str = ""  # segment^sequence^field[^component], e.g. PID^1^3


def _escape(value: str) -> str:
    """Encode text for an ER7 field with the default separators (2.5.1 2.7)."""
    return (
        value.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def _err_segment(error: AckError) -> str:
    name = ERROR_CODES.get(error.code, "Application error")
    parts = [*error.location.split("^"), "", "", ""][:3]
    eld = "^".join([*parts, f"{error.code}&{name}&HL70357"]) if error.location else ""
    return "|".join(
        [
            "ERR",
            eld,
            error.location,
            f"{error.code}^{name}^HL70357",
            "E",
            "",
            "",
            "",
            _escape(error.text[:250]),
        ]
    )


def build_ack(
    header: Header | None,
    code: str,
    *,
    control_id: str,
    errors: tuple[AckError, ...] = (),
    text: str = "",
    now: datetime | None = None,
) -> bytes:
    """An ACK for `header` (None when the MSH could not be read: fields left empty)."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    trigger = header.trigger_event if header else ""
    msh = [
        "MSH",
        "^~\\&",
        _escape(header.receiving_application) if header else "WARDCARE",
        _escape(header.receiving_facility) if header else "",
        _escape(header.sending_application) if header else "",
        _escape(header.sending_facility) if header else "",
        moment,
        "",
        f"ACK^{trigger}^ACK" if trigger else "ACK",
        _escape(control_id),
        (header.processing_id if header else "") or "P",
        (header.version if header else "") or "2.5.1",
    ]
    echoed = _escape(header.control_id) if header else ""
    msa = ["MSA", code, echoed, _escape(text[:80])]
    segments = ["|".join(msh), "|".join(msa).rstrip("|")]
    segments += [_err_segment(e) for e in errors]
    return ("\r".join(segments) + "\r").encode()
