"""The HL7 outbox table: messages waiting for, or past, delivery to a destination.

Rows are added inside the transaction of the clinical change they report (see
services/hl7_outbox.py); the sender reads a destination's pending rows in `id` order and records
each attempt. Nothing is ever deleted: a delivered row stays `sent` with its ACK, a message the
receiver keeps refusing stays `dead-letter` until someone requeues it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from wardcare.storage.tables import hl7_outbox

PENDING = "pending"
SENT = "sent"
DEAD_LETTER = "dead-letter"
STATUSES = (PENDING, SENT, DEAD_LETTER)


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    destination: str
    message_type: str
    control_id: str
    resource: str
    patient: str | None
    message: str
    status: str
    attempts: int
    created: int  # microseconds since the epoch, UTC
    next_attempt: int
    last_attempt: int | None
    last_error: str | None
    last_ack: str | None
    sent: int | None


@dataclass(frozen=True)
class NewMessage:
    destination: str
    message_type: str
    control_id: str
    resource: str
    patient: str | None
    message: str


_COLUMNS = [getattr(hl7_outbox.c, name) for name in OutboxMessage.__dataclass_fields__]
_INSERT = (
    "INSERT INTO hl7_outbox (destination, message_type, control_id, resource, patient, message,"
    " status, attempts, created, next_attempt) VALUES (:destination, :message_type, :control_id,"
    " :resource, :patient, :message, :status, 0, :created, :created)"
)
_INSERT_PYFORMAT = re.sub(r":(\w+)", r"%(\1)s", _INSERT)  # psycopg's parameter style


def _row(row: Any) -> OutboxMessage:
    return OutboxMessage(*row)


class Hl7OutboxStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, messages: Sequence[NewMessage], *, now: int) -> None:
        """Queue messages inside the caller's (clinical) transaction. The insert goes to the
        driver directly, as the repository's hot writes do: it runs on the write path of every
        result stored while a destination is configured."""
        if not messages:
            return
        sql = _INSERT if self.connection.dialect.name == "sqlite" else _INSERT_PYFORMAT
        cursor = self.connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(
                sql,
                [
                    {
                        "destination": m.destination,
                        "message_type": m.message_type,
                        "control_id": m.control_id,
                        "resource": m.resource,
                        "patient": m.patient,
                        "message": m.message,
                        "status": PENDING,
                        "created": now,
                    }
                    for m in messages
                ],
            )
        finally:
            cursor.close()

    def queue_head(self, destination: str, *, limit: int) -> list[OutboxMessage]:
        """The destination's oldest pending messages, in the order they must be sent."""
        query = (
            select(*_COLUMNS)
            .where(hl7_outbox.c.destination == destination, hl7_outbox.c.status == PENDING)
            .order_by(hl7_outbox.c.id)
            .limit(limit)
        )
        return [_row(r) for r in self.connection.execute(query)]

    def get(self, message_id: int) -> OutboxMessage | None:
        row = self.connection.execute(
            select(*_COLUMNS).where(hl7_outbox.c.id == message_id)
        ).first()
        return _row(row) if row else None

    def listing(
        self,
        *,
        status: str | None,
        destination: str | None,
        patient: str | None,
        limit: int,
        offset: int,
    ) -> list[OutboxMessage]:
        """Newest first, for people looking at the queue."""
        query = select(*_COLUMNS).order_by(hl7_outbox.c.id.desc()).limit(limit).offset(offset)
        if status:
            query = query.where(hl7_outbox.c.status == status)
        if destination:
            query = query.where(hl7_outbox.c.destination == destination)
        if patient:
            query = query.where(hl7_outbox.c.patient == patient)
        return [_row(r) for r in self.connection.execute(query)]

    def counts(self) -> dict[tuple[str, str], int]:
        """(destination, status) -> number of messages."""
        query = select(hl7_outbox.c.destination, hl7_outbox.c.status, func.count()).group_by(
            hl7_outbox.c.destination, hl7_outbox.c.status
        )
        return {(d, s): int(n) for d, s, n in self.connection.execute(query)}

    def mark_sent(self, message_id: int, *, ack: str, now: int) -> None:
        self.connection.execute(
            update(hl7_outbox)
            .where(hl7_outbox.c.id == message_id, hl7_outbox.c.status == PENDING)
            .values(
                status=SENT,
                attempts=hl7_outbox.c.attempts + 1,
                last_attempt=now,
                last_ack=ack,
                sent=now,
            )
        )

    def record_failure(
        self,
        message_id: int,
        *,
        error: str,
        ack: str | None,
        now: int,
        next_attempt: int,
        dead_letter: bool,
    ) -> None:
        self.connection.execute(
            update(hl7_outbox)
            .where(hl7_outbox.c.id == message_id, hl7_outbox.c.status == PENDING)
            .values(
                status=DEAD_LETTER if dead_letter else PENDING,
                attempts=hl7_outbox.c.attempts + 1,
                last_attempt=now,
                last_error=error,
                last_ack=ack,
                next_attempt=next_attempt,
            )
        )

    def requeue(self, message_id: int, *, note: str, now: int) -> bool:
        """A dead letter back in its destination's queue, its attempt count started again;
        False if the message is not a dead letter."""
        result = self.connection.execute(
            update(hl7_outbox)
            .where(hl7_outbox.c.id == message_id, hl7_outbox.c.status == DEAD_LETTER)
            .values(
                status=PENDING,
                attempts=0,
                next_attempt=now,
                last_error=func.coalesce(hl7_outbox.c.last_error, "") + note,
            )
        )
        return bool(result.rowcount)
