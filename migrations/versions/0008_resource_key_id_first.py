"""The unique key of `resources` becomes (id, resource_type), id first.

Why: server-assigned ids are time-ordered (RFC 9562 UUIDv7, fhir/resource_ids.py). Keyed
(resource_type, id), each resource type's new ids were appended in the middle of the index, at
the end of that type's range, where SQLite splits a full page by rebalancing it with its
neighbours (btree.c balance_nonroot), which leaves them nearly full again: an assessment (a
QuestionnaireResponse, 7 Observations and a Provenance) rewrote 6.9 pages of this index per
commit. Keyed (id, resource_type), every new id is appended at the right-hand end of the whole
index, where a full page is split by adding one new page (balance_quick): 2.5 pages per commit
(docs/benchmarks.md, "Assessments"). Every lookup names both columns (`resource_type = ? AND
id = ?`, `id IN (...)` with the type), which either order serves; ON CONFLICT (resource_type,
id) names the same set of columns, which both databases match in any order.

SQLite cannot drop a table's constraint, so `resources` is rebuilt. resource_versions
references resources(rid), and the old table must be dropped before the new one takes its name:
foreign-key checks are deferred, the rows are copied aside, and they are inserted into the new
`resources` only after it has the name, so each row's insert settles the references its drop
left pending (SQLite "Foreign Key Support" 4.2 and 5: a DROP TABLE is an implicit DELETE, and a
deferred violation is resolved by inserting the parent row). Batch mode, which copies before
the rename, would leave them pending and fail the commit.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


_COLUMNS = "rid, resource_type, id, version_id, last_updated, deleted"
_INDEX = "ix_resources_resource_type_last_updated"


def _swap(old: str, new: str, columns: list[str]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(old, "resources", type_="unique")
        op.create_unique_constraint(new, "resources", columns)
        return
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(f"CREATE TEMP TABLE resources_copy AS SELECT {_COLUMNS} FROM resources")
    op.execute(f"DROP INDEX {_INDEX}")
    op.execute("DROP TABLE resources")
    op.execute(
        "CREATE TABLE resources (rid INTEGER NOT NULL, resource_type VARCHAR(64) NOT NULL,"
        " id VARCHAR(64) NOT NULL, version_id INTEGER NOT NULL, last_updated BIGINT NOT NULL,"
        " deleted BOOLEAN NOT NULL, CONSTRAINT pk_resources PRIMARY KEY (rid),"
        f" CONSTRAINT {new} UNIQUE ({', '.join(columns)}))"
    )
    op.execute(f"INSERT INTO resources ({_COLUMNS}) SELECT {_COLUMNS} FROM resources_copy")
    op.execute("DROP TABLE resources_copy")
    op.execute(f"CREATE INDEX {_INDEX} ON resources (resource_type, last_updated)")


def upgrade() -> None:
    _swap("uq_resources_resource_type_id", "uq_resources_id_resource_type", ["id", "resource_type"])


def downgrade() -> None:
    _swap("uq_resources_id_resource_type", "uq_resources_resource_type_id", ["resource_type", "id"])
