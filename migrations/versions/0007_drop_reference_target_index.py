"""Drop ix_search_reference_target: no query needs it, and every write paid for it.

Every query on search_reference names the searching resource type and parameter
(storage/search_sql.py, fixed_lookups.py, the _revinclude of repository.py, occurrence_index.py),
so ix_search_reference_lookup (resource_type, param, target_type, target_id, rid) serves them
all. The (target_type, target_id) index only cost writes: a NEWS2 assessment writes ~49
reference rows, and this index put them on pages of their own, scattered by patient, so one
assessment's commit wrote 51.5 SQLite pages with it and 35.5 without, and recording it cost
4.16 -> 3.64 ms of CPU in-process (docs/benchmarks.md, "Assessments").

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_search_reference_target", table_name="search_reference")


def downgrade() -> None:
    op.create_index("ix_search_reference_target", "search_reference", ["target_type", "target_id"])
