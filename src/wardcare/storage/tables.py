"""The tables of the versioned FHIR store and its search indexes.

`resources` holds one row per logical resource (its current version and whether it is deleted);
`resource_versions` holds every version ever written, immutable (FHIR R4 RESTful API, "history").
The search_* tables are filled when a version is written, from the search parameters in
fhir_profiles/, so a search is an indexed join, never a scan of JSON.

Instants are stored as integer microseconds since the Unix epoch (UTC): they compare and sort the
same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)

from wardcare.fhir.versions import StoredVersion

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants a BIGINT identity.
RowId = BigInteger().with_variant(Integer(), "sqlite")

resources = Table(
    "resources",
    metadata,
    Column("rid", RowId, primary_key=True, autoincrement=True),
    Column("resource_type", String(64), nullable=False),
    Column("id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False),
    # id first: new server ids are time-ordered, so they append at the index's end (migration
    # 0008); every lookup names both columns.
    UniqueConstraint("id", "resource_type"),
    Index(None, "resource_type", "last_updated"),
)

resource_versions = Table(
    "resource_versions",
    metadata,
    Column("rid", RowId, ForeignKey("resources.rid"), primary_key=True),
    Column("version_id", Integer, primary_key=True, autoincrement=False),
    Column("resource_type", String(64), nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    # POST, PUT or DELETE: the interaction that wrote this version.
    Column("method", String(8), nullable=False),
    # The resource JSON as served (with id and meta); NULL for a delete.
    Column("content", Text, nullable=True),
    Index(None, "resource_type", "last_updated"),
    Index(None, "last_updated"),
)


def _index_table(name: str, *value_columns: Column[object], lookup: tuple[str, ...]) -> Table:
    return Table(
        name,
        metadata,
        # No foreign key to resources (migration 0006): index rows are derived, written only
        # with their resource, which is never deleted; PostgreSQL's check cost ~30 us a row.
        Column("rid", RowId, nullable=False),
        Column("resource_type", String(64), nullable=False),
        Column("param", String(64), nullable=False),
        *value_columns,
        Index(f"ix_{name}_rid_param", "rid", "param"),
        Index(f"ix_{name}_lookup", "resource_type", "param", *lookup),
    )


search_token = _index_table(
    "search_token",
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=True),
    lookup=("code", "system", "rid"),
)

search_string = _index_table(
    "search_string",
    # Lower-cased, accents removed: FHIR string search is case- and accent-insensitive.
    Column("value_norm", String(255), nullable=False),
    Column("value", String(255), nullable=False),
    lookup=("value_norm", "rid"),
)

search_date = _index_table(
    "search_date",
    # The instant range a date covers at its precision ("2026-11" = the whole of November).
    Column("low", BigInteger, nullable=False),
    Column("high", BigInteger, nullable=False),
    lookup=("low", "high", "rid"),
)

search_reference = _index_table(
    "search_reference",
    Column("target_type", String(64), nullable=False),
    Column("target_id", String(255), nullable=False),
    lookup=("target_type", "target_id", "rid"),
)

search_quantity = _index_table(
    "search_quantity",
    Column("value", Float, nullable=False),
    Column("system", String(255), nullable=True),
    Column("code", String(64), nullable=True),
    lookup=("code", "value", "rid"),
)

# A patient's resources by date (e.g. their observations in the last 30 minutes), from the
# `patient` and `date` parameters of each resource: the reference and date indexes alone can
# answer this only by reading either every one of the patient's observations or every
# observation of the hospital in the window.
search_patient_date = Table(
    "search_patient_date",
    metadata,
    Column("rid", RowId, nullable=False),  # no foreign key: see the index tables above
    Column("resource_type", String(64), nullable=False),
    Column("patient_id", String(255), nullable=False),
    Column("low", BigInteger, nullable=False),
    Index("ix_search_patient_date_rid", "rid"),
    Index("ix_search_patient_date_lookup", "resource_type", "patient_id", "low", "rid"),
)

# A patient's resources by code, with the values `_sort=date` orders by (the min low and max
# high of the resource's `date` parameter, NULL without one): "this patient's heart rates,
# newest first" (charts, NEWS2 inputs) is one index range over a few rows, where the generic
# search would read every resource of the patient and check its code and date one at a time.
search_patient_code = Table(
    "search_patient_code",
    metadata,
    Column("rid", RowId, nullable=False),  # no foreign key: see the index tables above
    Column("resource_type", String(64), nullable=False),
    Column("patient_id", String(255), nullable=False),
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=True),
    Column("sort_low", BigInteger, nullable=True),
    Column("sort_high", BigInteger, nullable=True),
    Index("ix_search_patient_code_rid", "rid"),
    Index(
        "ix_search_patient_code_lookup",
        "resource_type",
        "patient_id",
        "code",
        "system",
        "sort_high",
        "sort_low",
        "rid",
    ),
)

# Conditional create (If-None-Exist) must create at most one resource even when requests race:
# the normalised criteria are claimed here under a unique constraint, not searched then inserted.
conditional_claims = Table(
    "conditional_claims",
    metadata,
    Column("resource_type", String(64), primary_key=True),
    Column("criteria", String(512), primary_key=True),
    Column("rid", RowId, ForeignKey("resources.rid"), nullable=False),
)

INDEX_TABLES = (
    search_token,
    search_string,
    search_date,
    search_reference,
    search_quantity,
    search_patient_date,
    search_patient_code,
)

# Every inbound HL7 v2 message, stored before it is parsed (issue 5: nothing lost): its raw
# bytes, what became of it and the ACK it was answered with. The unique key is the sender's
# (MSH-3, MSH-4, MSH-10): a resend of an accepted message finds its row and gets the same ACK,
# even when the resend races the original on another connection. A message whose MSH cannot be
# read has no key (NULLs never collide) and is still logged.
hl7_inbound_messages = Table(
    "hl7_inbound_messages",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("received_at", BigInteger, nullable=False),
    Column("sending_application", String(227), nullable=True),
    Column("sending_facility", String(227), nullable=True),
    Column("control_id", String(199), nullable=True),
    Column("message_type", String(32), nullable=True),
    Column("patient_key", String(255), nullable=True),
    # received -> accepted (AA) | error (AE) | rejected (AR)
    Column("status", String(16), nullable=False),
    Column("ack_code", String(2), nullable=True),
    Column("ack", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("raw", Text, nullable=False),
    # JSON list of "Type/id/_history/n" this message wrote.
    Column("resources", Text, nullable=True),
    Column("processed_at", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False),
    UniqueConstraint(
        "sending_application",
        "sending_facility",
        "control_id",
        name="uq_hl7_inbound_messages_sender_control_id",
    ),
    Index(None, "status", "received_at"),
    Index(None, "message_type", "received_at"),
    Index(None, "patient_key", "received_at"),
)

# -- HL7 v2 outbound (issue 5) ---------------------------------------------------------------
# The outbox: one row per HL7 message to one destination, inserted in the transaction of the
# clinical change it reports (the transactional outbox pattern), so a committed change always has
# its message and a rolled-back one never does. The sender delivers a destination's rows in `id`
# order. Rows are integration state, updated in place as delivery progresses; the clinical record
# they report is the versioned resource named by `resource`.
hl7_outbox = Table(
    "hl7_outbox",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("destination", String(64), nullable=False),
    Column("message_type", String(16), nullable=False),  # e.g. ORU^R01
    Column("control_id", String(64), nullable=False),  # MSH-10; the ACK's MSA-2 must echo it
    Column("resource", String(255), nullable=False),  # e.g. Observation/x/_history/1
    Column("patient", String(255), nullable=True),  # e.g. Patient/y
    Column("message", Text, nullable=False),  # the HL7 message as sent (ER7, CR segment ends)
    Column("status", String(16), nullable=False),  # pending | sent | dead-letter
    Column("attempts", Integer, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("next_attempt", BigInteger, nullable=False),
    Column("last_attempt", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_ack", Text, nullable=True),
    Column("sent", BigInteger, nullable=True),
    UniqueConstraint("control_id"),
    Index("ix_hl7_outbox_queue", "destination", "status", "id"),
    Index("ix_hl7_outbox_status", "status", "id"),
)


# What a stored version is read back as (`fhir.versions.StoredVersion`), in that order: every
# statement that returns versions selects these, joined from `resources` to the version.
VERSION_COLUMNS = (
    resources.c.rid,
    resources.c.resource_type,
    resources.c.id,
    resource_versions.c.version_id,
    resource_versions.c.last_updated,
    resource_versions.c.method,
    resource_versions.c.content,
)


def versions_select() -> Select[Any]:
    """SELECT the version columns FROM resources JOIN resource_versions; callers add which."""
    return select(*VERSION_COLUMNS).join(
        resource_versions, resource_versions.c.rid == resources.c.rid
    )


def stored_version(row: Sequence[Any]) -> StoredVersion:
    """A version from a row whose first columns are VERSION_COLUMNS (a SQLAlchemy Row or the
    driver's tuple)."""
    rid, resource_type, resource_id, version_id, last_updated, method, content = row[:7]
    return StoredVersion(
        rid=rid,
        resource_type=resource_type,
        id=resource_id,
        version_id=version_id,
        last_updated=last_updated,
        deleted=content is None,
        method=method,
        content=content.encode() if content is not None else None,
    )
