"""A patient's resources by date: the search_patient_date index, filled from existing rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:16:10.808272
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_patient_date",
        sa.Column("rid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("low", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rid"], ["resources.rid"], name=op.f("fk_search_patient_date_rid_resources")
        ),
    )
    with op.batch_alter_table("search_patient_date", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_patient_date_lookup",
            ["resource_type", "patient_id", "low", "rid"],
            unique=False,
        )
        batch_op.create_index("ix_search_patient_date_rid", ["rid"], unique=False)
    # Resources stored before this index existed: their `patient` and `date` index rows say
    # everything it needs.
    op.execute(
        "INSERT INTO search_patient_date (rid, resource_type, patient_id, low)"
        " SELECT r.rid, r.resource_type, r.target_id, d.low FROM search_reference r"
        " JOIN search_date d ON d.rid = r.rid AND d.param = 'date'"
        " WHERE r.param = 'patient' AND r.target_type = 'Patient'"
    )


def downgrade() -> None:
    with op.batch_alter_table("search_patient_date", schema=None) as batch_op:
        batch_op.drop_index("ix_search_patient_date_rid")
        batch_op.drop_index("ix_search_patient_date_lookup")

    op.drop_table("search_patient_date")
