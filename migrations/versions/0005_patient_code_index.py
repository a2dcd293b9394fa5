"""A patient's resources by code with their date sort values: the search_patient_code index,
filled from existing rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_patient_code",
        sa.Column("rid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=True),
        sa.Column("code", sa.String(length=255), nullable=True),
        sa.Column("sort_low", sa.BigInteger(), nullable=True),
        sa.Column("sort_high", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rid"], ["resources.rid"], name=op.f("fk_search_patient_code_rid_resources")
        ),
    )
    with op.batch_alter_table("search_patient_code", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_patient_code_lookup",
            ["resource_type", "patient_id", "code", "system", "sort_high", "sort_low", "rid"],
            unique=False,
        )
        batch_op.create_index("ix_search_patient_code_rid", ["rid"], unique=False)
    # Resources stored before this index existed: their `patient`, `code` and `date` index rows
    # say everything it needs (the same rows the write path derives, fhir/indexing.py).
    op.execute(
        "INSERT INTO search_patient_code"
        " (rid, resource_type, patient_id, system, code, sort_low, sort_high)"
        " SELECT DISTINCT r.rid, r.resource_type, r.target_id, t.system, t.code,"
        " (SELECT min(d.low) FROM search_date d WHERE d.rid = r.rid AND d.param = 'date'),"
        " (SELECT max(d.high) FROM search_date d WHERE d.rid = r.rid AND d.param = 'date')"
        " FROM search_reference r"
        " JOIN search_token t ON t.rid = r.rid AND t.param = 'code'"
        " WHERE r.param = 'patient' AND r.target_type = 'Patient'"
    )


def downgrade() -> None:
    with op.batch_alter_table("search_patient_code", schema=None) as batch_op:
        batch_op.drop_index("ix_search_patient_code_rid")
        batch_op.drop_index("ix_search_patient_code_lookup")

    op.drop_table("search_patient_code")
