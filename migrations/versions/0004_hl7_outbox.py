"""HL7 v2 outbound: the outbox of messages to deliver, one row per message and destination.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hl7_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=16), nullable=False),
        sa.Column("control_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("patient", sa.String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt", sa.BigInteger(), nullable=False),
        sa.Column("last_attempt", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_ack", sa.Text(), nullable=True),
        sa.Column("sent", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_outbox")),
        sa.UniqueConstraint("control_id", name=op.f("uq_hl7_outbox_control_id")),
    )
    with op.batch_alter_table("hl7_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_hl7_outbox_queue", ["destination", "status", "id"])
        batch_op.create_index("ix_hl7_outbox_status", ["status", "id"])


def downgrade() -> None:
    with op.batch_alter_table("hl7_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_hl7_outbox_status")
        batch_op.drop_index("ix_hl7_outbox_queue")
    op.drop_table("hl7_outbox")
