"""The inbound HL7 v2 message log (issue 5).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hl7_inbound_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("sending_application", sa.String(length=227), nullable=True),
        sa.Column("sending_facility", sa.String(length=227), nullable=True),
        sa.Column("control_id", sa.String(length=199), nullable=True),
        sa.Column("message_type", sa.String(length=32), nullable=True),
        sa.Column("patient_key", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ack_code", sa.String(length=2), nullable=True),
        sa.Column("ack", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("resources", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_inbound_messages")),
        sa.UniqueConstraint(
            "sending_application",
            "sending_facility",
            "control_id",
            name="uq_hl7_inbound_messages_sender_control_id",
        ),
    )
    with op.batch_alter_table("hl7_inbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hl7_inbound_messages_status_received_at", ["status", "received_at"]
        )
        batch_op.create_index(
            "ix_hl7_inbound_messages_message_type_received_at", ["message_type", "received_at"]
        )
        batch_op.create_index(
            "ix_hl7_inbound_messages_patient_key_received_at", ["patient_key", "received_at"]
        )


def downgrade() -> None:
    op.drop_table("hl7_inbound_messages")
