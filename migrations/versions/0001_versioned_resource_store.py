"""versioned resource store and search indexes

Revision ID: 0001
Revises:
Create Date: 2026-11-23 00:33:58.904710
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column(
            "rid",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("rid", name=op.f("pk_resources")),
        sa.UniqueConstraint("resource_type", "id", name=op.f("uq_resources_resource_type_id")),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resources_resource_type_last_updated"),
            ["resource_type", "last_updated"],
            unique=False,
        )

    op.create_table(
        "conditional_claims",
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("criteria", sa.String(length=512), nullable=False),
        sa.Column("rid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["rid"], ["resources.rid"], name=op.f("fk_conditional_claims_rid_resources")
        ),
        sa.PrimaryKeyConstraint("resource_type", "criteria", name=op.f("pk_conditional_claims")),
    )
    op.create_table(
        "resource_versions",
        sa.Column("rid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("last_updated", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rid"], ["resources.rid"], name=op.f("fk_resource_versions_rid_resources")
        ),
        sa.PrimaryKeyConstraint("rid", "version_id", name=op.f("pk_resource_versions")),
    )
    with op.batch_alter_table("resource_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_versions_last_updated"), ["last_updated"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resource_versions_resource_type_last_updated"),
            ["resource_type", "last_updated"],
            unique=False,
        )

    op.create_table(
        "search_date",
        sa.Column("rid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("low", sa.BigInteger(), nullable=False),
        sa.Column("high", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rid"], ["resources.rid"], name=op.f("fk_search_date_rid_resources")
        ),
    )
    with op.batch_alter_table("search_date", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_date_lookup", ["resource_type", "param", "low", "high", "rid"], unique=False
        )
        batch_op.create_index("ix_search_date_rid_param", ["rid", "param"], unique=False)

    op.create_table(
        "search_quantity",
        sa.Column("rid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["rid"], ["resources.rid"], name=op.f("fk_search_quantity_rid_resources")
        ),
    )
    with op.batch_alter_table("search_quantity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_quantity_lookup",
            ["resource_type", "param", "code", "value", "rid"],
            unique=False,
        )
        batch_op.create_index("ix_search_quantity_rid_param", ["rid", "param"], unique=False)

    op.create_table(
        "search_reference",
        sa.Column("rid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["rid"], ["resources.rid"], name=op.f("fk_search_reference_rid_resources")
        ),
    )
    with op.batch_alter_table("search_reference", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_reference_lookup",
            ["resource_type", "param", "target_type", "target_id", "rid"],
            unique=False,
        )
        batch_op.create_index("ix_search_reference_rid_param", ["rid", "param"], unique=False)
        batch_op.create_index(
            "ix_search_reference_target", ["target_type", "target_id"], unique=False
        )

    op.create_table(
        "search_string",
        sa.Column("rid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value_norm", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["rid"], ["resources.rid"], name=op.f("fk_search_string_rid_resources")
        ),
    )
    with op.batch_alter_table("search_string", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_string_lookup", ["resource_type", "param", "value_norm", "rid"], unique=False
        )
        batch_op.create_index("ix_search_string_rid_param", ["rid", "param"], unique=False)

    op.create_table(
        "search_token",
        sa.Column("rid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=True),
        sa.Column("code", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["rid"], ["resources.rid"], name=op.f("fk_search_token_rid_resources")
        ),
    )
    with op.batch_alter_table("search_token", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_token_lookup",
            ["resource_type", "param", "code", "system", "rid"],
            unique=False,
        )
        batch_op.create_index("ix_search_token_rid_param", ["rid", "param"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("search_token", schema=None) as batch_op:
        batch_op.drop_index("ix_search_token_rid_param")
        batch_op.drop_index("ix_search_token_lookup")

    op.drop_table("search_token")
    with op.batch_alter_table("search_string", schema=None) as batch_op:
        batch_op.drop_index("ix_search_string_rid_param")
        batch_op.drop_index("ix_search_string_lookup")

    op.drop_table("search_string")
    with op.batch_alter_table("search_reference", schema=None) as batch_op:
        batch_op.drop_index("ix_search_reference_target")
        batch_op.drop_index("ix_search_reference_rid_param")
        batch_op.drop_index("ix_search_reference_lookup")

    op.drop_table("search_reference")
    with op.batch_alter_table("search_quantity", schema=None) as batch_op:
        batch_op.drop_index("ix_search_quantity_rid_param")
        batch_op.drop_index("ix_search_quantity_lookup")

    op.drop_table("search_quantity")
    with op.batch_alter_table("search_date", schema=None) as batch_op:
        batch_op.drop_index("ix_search_date_rid_param")
        batch_op.drop_index("ix_search_date_lookup")

    op.drop_table("search_date")
    with op.batch_alter_table("resource_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_versions_resource_type_last_updated"))
        batch_op.drop_index(batch_op.f("ix_resource_versions_last_updated"))

    op.drop_table("resource_versions")
    op.drop_table("conditional_claims")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resources_resource_type_last_updated"))

    op.drop_table("resources")
