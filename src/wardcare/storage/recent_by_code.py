"""A patient's resources with any of some codes, dated in a window, newest first: the fixed
statement behind "this patient's latest vital signs" (NEWS2 from vital signs asks it after every
message or reading that may complete a set); and a patient's newest resources with one code, the
statement behind "this patient's SpO2 scale" (asked with every NEWS2 scored).

It is the statement `search_sql.by_patient_code` builds for the search
`patient=X&code=a,b,...&date=gtS&date=leU&_sort=-date` (`date` being the parameter the
index's sort columns hold) (same index, same conditions, same
order: the latest end descending, then rid), built once with bound parameters instead of
parsed and built again per call, which cost more than running it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, tuple_

from wardcare.storage.tables import (
    VERSION_COLUMNS,
    resource_versions,
    resources,
    search_patient_code,
)


def _recent_rids() -> Any:
    pc = search_patient_code.c
    return (
        select(resources.c.rid)
        .select_from(search_patient_code.join(resources, resources.c.rid == pc.rid))
        .where(
            pc.resource_type == bindparam("resource_type"),
            pc.patient_id == bindparam("patient_id"),
            # code and system each IN (for the index), then the exact pairs.
            pc.code.in_(bindparam("codes", expanding=True)),
            pc.system.in_(bindparam("systems", expanding=True)),
            tuple_(pc.system, pc.code).in_(bindparam("tokens", expanding=True)),
            ~resources.c.deleted,
            # The FHIR date prefixes as search_sql._date_condition reads them: `gt` is a `date`
            # range ending after the bound, `le` one starting at or before it. Some range does
            # exactly when the latest end (sort_high) or the earliest start (sort_low) does,
            # and those are in the index: a range scan, not a check of the whole history.
            pc.sort_high > bindparam("after"),
            pc.sort_low <= bindparam("until"),
        )
        .group_by(resources.c.rid)
        .order_by(func.max(pc.sort_high).desc().nulls_last(), resources.c.rid)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


RECENT_RIDS = _recent_rids()


def _newest_with_code() -> Any:
    """A patient's newest current resources with the token system|code, by the start of their
    `date` (sort_low), then the newest rid: what `ResourceRepository.newest_with_token` answers
    for `patient` and `code` with `date` for a resource with one `date` value (an Observation's
    effective[x]), where its max(low) is sort_low. The generic statement walks every resource
    that names the patient (3 ms per ~2,000 readings and growing with the stay); this reads the
    few index entries of that one code."""
    pc = search_patient_code.c
    return (
        select(*VERSION_COLUMNS)
        .select_from(
            search_patient_code.join(resources, resources.c.rid == pc.rid).join(
                resource_versions, resource_versions.c.rid == resources.c.rid
            )
        )
        .where(
            pc.resource_type == bindparam("resource_type"),
            pc.patient_id == bindparam("patient_id"),
            pc.code == bindparam("code"),
            pc.system == bindparam("system"),
            pc.sort_low.is_not(None),  # the generic statement needs a `date` row
            ~resources.c.deleted,
            resource_versions.c.version_id == resources.c.version_id,
        )
        .order_by(pc.sort_low.desc(), resources.c.rid.desc())
        .limit(bindparam("limit"))
    )


NEWEST_WITH_CODE = _newest_with_code()
