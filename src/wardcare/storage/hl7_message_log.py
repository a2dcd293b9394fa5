"""The inbound HL7 v2 message log (table `hl7_inbound_messages`, migration 0003).

A message is logged when it arrives, before it is parsed, and finished with its outcome and the
ACK it was answered with. `receive` claims the sender's (MSH-3, MSH-4, MSH-10) with
INSERT ... ON CONFLICT DO NOTHING (SQLite 3.35+, PostgreSQL): a resend finds the first row
instead of creating a second, even when both arrive at once on different connections.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from wardcare.storage.driver_statements import driver_cursor, for_dialect
from wardcare.storage.tables import hl7_inbound_messages as log

RECEIVED = "received"
ACCEPTED = "accepted"
ERROR = "error"
REJECTED = "rejected"
STATUSES = (RECEIVED, ACCEPTED, ERROR, REJECTED)

# Claimed and finished once per message: on the driver's cursor (storage/driver_statements.py).
_CLAIM = (
    "INSERT INTO hl7_inbound_messages (received_at, sending_application, sending_facility,"
    " control_id, message_type, patient_key, status, raw, attempts)"
    " VALUES (:received_at, :sending_application, :sending_facility, :control_id,"
    " :message_type, :patient_key, 'received', :raw, 0)"
    " ON CONFLICT (sending_application, sending_facility, control_id) DO NOTHING RETURNING id"
)
_FINISH = (
    "UPDATE hl7_inbound_messages SET status = :status, ack_code = :ack_code, ack = :ack,"
    " error = :error, resources = :resources, processed_at = :processed_at,"
    " attempts = attempts + 1{patient_key} WHERE id = :id"
)
_FINISH_KEEPING_KEY = _FINISH.format(patient_key="")
_FINISH_WITH_KEY = _FINISH.format(patient_key=", patient_key = :patient_key")


@dataclass(frozen=True)
class LoggedMessage:
    id: int
    received_at: int
    sending_application: str | None
    sending_facility: str | None
    control_id: str | None
    message_type: str | None
    patient_key: str | None
    status: str
    ack_code: str | None
    ack: str | None
    error: str | None
    raw: str
    resources: list[str]
    processed_at: int | None
    attempts: int

    @property
    def finished(self) -> bool:
        return self.status != RECEIVED


@dataclass(frozen=True)
class Claim:
    message: LoggedMessage
    new: bool  # False: this (MSH-3, MSH-4, MSH-10) was logged before


def receive(
    conn: Connection,
    *,
    raw: str,
    received_at: int,
    sending_application: str | None,
    sending_facility: str | None,
    control_id: str | None,
    message_type: str | None,
    patient_key: str | None,
) -> Claim:
    """Log a message as received, or find the earlier row with the same sender key."""
    values = {
        "raw": raw,
        "received_at": received_at,
        "sending_application": sending_application,
        "sending_facility": sending_facility,
        "control_id": control_id,
        "message_type": message_type,
        "patient_key": patient_key,
    }
    cursor = driver_cursor(conn)
    cursor.execute(for_dialect(conn.dialect, _CLAIM), values)
    inserted = cursor.fetchone()
    if inserted is not None:
        # The row as just inserted: no need to read it (and its raw message) back.
        return Claim(
            LoggedMessage(
                id=int(inserted[0]),
                received_at=received_at,
                sending_application=sending_application,
                sending_facility=sending_facility,
                control_id=control_id,
                message_type=message_type,
                patient_key=patient_key,
                status=RECEIVED,
                ack_code=None,
                ack=None,
                error=None,
                raw=raw,
                resources=[],
                processed_at=None,
                attempts=0,
            ),
            new=True,
        )
    row = conn.execute(
        select(log).where(
            log.c.sending_application == sending_application,
            log.c.sending_facility == sending_facility,
            log.c.control_id == control_id,
        )
    ).first()
    assert row is not None, "ON CONFLICT means the row exists"
    return Claim(_message(row), new=False)


def finish(
    conn: Connection,
    message_id: int,
    *,
    status: str,
    ack_code: str,
    ack: str,
    error: str | None,
    resources: list[str],
    processed_at: int,
    patient_key: str | None = None,
) -> None:
    values: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "ack_code": ack_code,
        "ack": ack,
        "error": error,
        "resources": json.dumps(resources),
        "processed_at": processed_at,
    }
    sql = _FINISH_KEEPING_KEY
    if patient_key is not None:
        values["patient_key"] = patient_key
        sql = _FINISH_WITH_KEY
    driver_cursor(conn).execute(for_dialect(conn.dialect, sql), values)


def get(conn: Connection, message_id: int) -> LoggedMessage | None:
    row = conn.execute(select(log).where(log.c.id == message_id)).first()
    return _message(row) if row else None


@dataclass(frozen=True)
class LogFilter:
    status: str | None = None
    message_type: str | None = None  # e.g. "ORU^R01" or "ADT"
    patient_key: str | None = None
    control_id: str | None = None
    sending_application: str | None = None
    received_from: int | None = None  # microseconds, inclusive
    received_to: int | None = None  # microseconds, exclusive
    count: int = 50
    offset: int = 0


def search(conn: Connection, where: LogFilter) -> tuple[list[LoggedMessage], int]:
    """Messages matching the filter, newest first, and how many match in all."""
    clauses = []
    if where.status:
        clauses.append(log.c.status == where.status)
    if where.message_type:
        if "^" in where.message_type:
            clauses.append(log.c.message_type == where.message_type)
        else:
            clauses.append(log.c.message_type.like(f"{where.message_type}^%"))
    if where.patient_key:
        clauses.append(log.c.patient_key == where.patient_key)
    if where.control_id:
        clauses.append(log.c.control_id == where.control_id)
    if where.sending_application:
        clauses.append(log.c.sending_application == where.sending_application)
    if where.received_from is not None:
        clauses.append(log.c.received_at >= where.received_from)
    if where.received_to is not None:
        clauses.append(log.c.received_at < where.received_to)
    rows = conn.execute(
        select(log)
        .where(*clauses)
        .order_by(log.c.received_at.desc(), log.c.id.desc())
        .limit(where.count)
        .offset(where.offset)
    ).all()
    total = conn.execute(select(func.count()).select_from(log).where(*clauses)).scalar_one()
    return [_message(r) for r in rows], int(total)


def _message(row: Any) -> LoggedMessage:
    m = row._mapping
    return LoggedMessage(
        id=int(m["id"]),
        received_at=int(m["received_at"]),
        sending_application=m["sending_application"],
        sending_facility=m["sending_facility"],
        control_id=m["control_id"],
        message_type=m["message_type"],
        patient_key=m["patient_key"],
        status=m["status"],
        ack_code=m["ack_code"],
        ack=m["ack"],
        error=m["error"],
        raw=m["raw"],
        resources=json.loads(m["resources"]) if m["resources"] else [],
        processed_at=m["processed_at"],
        attempts=int(m["attempts"]),
    )
