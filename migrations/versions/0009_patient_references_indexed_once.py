"""Patient references indexed once: drop the rows a parameter shares with its Patient twin.

A reference parameter `X` and its twin `X.where(resolve() is Patient)` (Observation `subject`
and `patient`, Provenance `target` and `patient`, ...) each had a row for every Patient
reference. Each is now written once, as the twin's row, and `X` is answered from its own rows
and the twin's (fhir/search_parameters.py `patient_twin`, storage/search_sql.py). An assessment
wrote 8 such rows fewer, and 7.5 fewer SQLite pages per commit (docs/benchmarks.md,
"Assessments"). This drops the rows already stored that the twin holds too (same resource, same
target), so a search never meets both; downgrade writes them back from the twin's rows.

The pairs are those of fhir_profiles/search-parameters.json when this migration was written. A
pair added there later is indexed once from then on; rows stored before it keep both, which a
search reads alike (it selects resources, not rows). Removing a twin (a `patient` parameter)
from that file would leave the broader parameter without the Patient rows written meanwhile:
that needs a migration that writes them back, as downgrade does.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# (resource type, broader parameter, its Patient twin)
TWINS = (
    ("Encounter", "subject", "patient"),
    ("Observation", "subject", "patient"),
    ("QuestionnaireResponse", "subject", "patient"),
    ("CarePlan", "subject", "patient"),
    ("Goal", "subject", "patient"),
    ("Task", "subject", "patient"),
    ("Condition", "subject", "patient"),
    ("Provenance", "target", "patient"),
    ("RequestGroup", "subject", "patient"),
    ("DocumentReference", "subject", "patient"),
    ("Communication", "subject", "patient"),
)

_DROP = text(
    "DELETE FROM search_reference WHERE resource_type = :resource_type AND param = :broader"
    " AND target_type = 'Patient' AND EXISTS (SELECT 1 FROM search_reference AS twin"
    " WHERE twin.resource_type = :resource_type AND twin.param = :twin"
    " AND twin.target_type = 'Patient' AND twin.target_id = search_reference.target_id"
    " AND twin.rid = search_reference.rid)"
)
_RESTORE = text(
    "INSERT INTO search_reference (rid, resource_type, param, target_type, target_id)"
    " SELECT rid, resource_type, :broader, target_type, target_id FROM search_reference"
    " WHERE resource_type = :resource_type AND param = :twin AND target_type = 'Patient'"
)


def upgrade() -> None:
    for resource_type, broader, twin in TWINS:
        op.get_bind().execute(
            _DROP, {"resource_type": resource_type, "broader": broader, "twin": twin}
        )


def downgrade() -> None:
    for resource_type, broader, twin in TWINS:
        op.get_bind().execute(
            _RESTORE, {"resource_type": resource_type, "broader": broader, "twin": twin}
        )
