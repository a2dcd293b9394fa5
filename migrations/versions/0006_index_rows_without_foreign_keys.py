"""Index rows without foreign keys to resources: derived rows, written only by the repository in
the statement (PostgreSQL) or transaction (SQLite) that writes their resource, for resources that
are never deleted, so the constraint guarded against nothing and cost a trigger per row.

Measured before this change (PostgreSQL 15, EXPLAIN ANALYZE of one ORU's seven Observations in
one statement): the constraints' triggers took 2.56 of the statement's 3.44 ms (73 rows, ~30 us
a row). Versions (resource_versions) keep theirs: they are the record itself.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEX_TABLES = (
    "search_token",
    "search_string",
    "search_date",
    "search_reference",
    "search_quantity",
    "search_patient_date",
    "search_patient_code",
)


def upgrade() -> None:
    for table in INDEX_TABLES:
        # SQLite cannot drop a constraint: batch mode rebuilds the table (rows and indexes kept).
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            batch_op.drop_constraint(f"fk_{table}_rid_resources", type_="foreignkey")


def downgrade() -> None:
    for table in INDEX_TABLES:
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            batch_op.create_foreign_key(f"fk_{table}_rid_resources", "resources", ["rid"], ["rid"])
