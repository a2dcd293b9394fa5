"""Acknowledgements: the ACK message WardCare answers each inbound message with.

HL7 v2.5.1 chapter 2: MSA-1 is AA (applied), AE (understood, not applied) or AR (rejected); in
enhanced mode (MSH-15/16) the accept acknowledgement is CA/CE/CR (2.9.3). MSA-2 always echoes
the sender's MSH-10 so it can match the ACK to what it sent. An error is carried in ERR with a
table 0357 code, the location (segment^sequence^field, e.g. PID^1^3) and words a person can act
on; ERR-1 (v2.3/2.4 "error code and location") is filled as well as ERR-2/3/4/8 (v2.5), so
receivers of every supported version read it.
"""

from __future__ import annotations

import re
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


# Control characters (C0, DEL) in an echoed value: as \Xhh\ (HL7 v2.5.1 2.7.3 hexadecimal
# data), so that the ACK holds only displayable characters and its frame cannot be cut short
# (0x0B, 0x1C 0x0D inside an ACK would end or restart the MLLP frame).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _escape(value: str, *, text: bool = False) -> str:
    """Encode a value for an ER7 field with the default separators (2.5.1 2.7). Free text
    (`text`) keeps line ends as spaces; identifiers echo them exactly, hex-escaped."""
    escaped = (
        value.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
    )
    if text:
        escaped = escaped.replace("\r", " ").replace("\n", " ")
    if _CONTROL.search(escaped) is None:
        return escaped
    return _CONTROL.sub(lambda m: f"\\X{ord(m.group()):02X}\\", escaped)


def _err_segment(error: AckError) -> str:
    """HL7 v2.5.1 2.15.5 ERR: ERR-1 (ELD, v2.3/2.4), ERR-2 location (ERL, 2.A.27), ERR-3 code
    (table 0357), ERR-4 severity, ERR-8 user message. A location's parts may come from the
    message (a segment name), so each is escaped."""
    name = ERROR_CODES.get(error.code, "Application error")
    code = _escape(error.code)
    located = [_escape(part) for part in error.location.split("^")] if error.location else []
    parts = [*located, "", "", ""][:3]
    eld = "^".join([*parts, f"{code}&{name}&HL70357"]) if error.location else ""
    return "|".join(
        [
            "ERR",
            eld,
            "^".join(located),
            f"{code}^{name}^HL70357",
            "E",
            "",
            "",
            "",
            _escape(error.text[:250], text=True),
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
        f"ACK^{_escape(trigger)}^ACK" if trigger else "ACK",
        _escape(control_id),
        _escape(header.processing_id if header else "") or "P",
        _escape(header.version if header else "") or "2.5.1",
    ]
    # MSA-2 echoes MSH-10 whole, however long (2.5.1 2.15.8.2): the sender matches on it.
    echoed = _escape(header.control_id) if header else ""
    msa = ["MSA", code, echoed]  # MSA-2 is kept even when empty (nothing could be read)
    if text:
        msa.append(_escape(text[:80], text=True))
    segments = ["|".join(msh), "|".join(msa)]
    segments += [_err_segment(e) for e in errors]
    return ("\r".join(segments) + "\r").encode()
