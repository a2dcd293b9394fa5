"""Questions asked on hot paths, answered from the search indexes by fixed statements.

The generic search (`resource_search`) answers any FHIR query, but building its SQL costs more
than running these: NEWS2 from vital signs, the SpO2 scale, open escalations, the ward's due
list and care plans ask them on every write or page. Each names the search it is equal to, and
tests hold them to it (tests/storage/).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from wardcare.fhir.versions import StoredVersion
from wardcare.storage.driver_statements import PreparedSelect
from wardcare.storage.fixed_lookups import (
    CURRENT_BY_RID,
    CURRENT_OF_TYPE,
    NEWEST_WITH_TOKEN,
    SUBJECT_WITH_CODES,
    WITH_TOKEN,
    latest_for_each_statement,
)
from wardcare.storage.recent_by_code import NEWEST_WITH_CODE as _NEWEST_WITH_CODE_SELECT
from wardcare.storage.recent_by_code import RECENT_RIDS as _RECENT_RIDS_SELECT
from wardcare.storage.tables import stored_version

NEWEST_WITH_CODE = PreparedSelect(_NEWEST_WITH_CODE_SELECT)
RECENT_RIDS = PreparedSelect(_RECENT_RIDS_SELECT)


class IndexLookups(ABC):
    """Part of `ResourceRepository` (storage/repository.py), which provides its connection."""

    _conn: Connection
    _sql: dict[str, str]
    _written: dict[int, StoredVersion]

    @abstractmethod
    def _driver(self) -> Any:
        """A driver cursor inside the repository's transaction."""

    def patient_codes_in_window(
        self,
        resource_type: str,
        *,
        patient_id: str,
        code_params: tuple[str, str],
        after: int,
        until: int,
    ) -> set[tuple[str | None, str | None]]:
        """The (system, code) tokens of a patient's resources dated in (after, until], from the
        indexes alone: a cheap first look before fetching any resource. It runs after every
        write of a vital sign, so it goes to the driver directly like the writes."""
        cursor = self._driver()
        cursor.execute(
            self._sql["codes_in_window"],
            {
                "resource_type": resource_type,
                "patient_id": patient_id,
                "after": after,
                "until": until,
                "code_param_1": code_params[0],
                "code_param_2": code_params[1],
            },
        )
        return {(system, code) for system, code in cursor.fetchall()}

    def latest_for_each(
        self,
        resource_type: str,
        *,
        subject_param: str,
        subjects: Sequence[tuple[str, str]],
        date_param: str,
        token: tuple[str, str | None, str] | None = None,
        reference: tuple[str, str, Sequence[str]] | None = None,
    ) -> dict[tuple[str, str], StoredVersion]:
        """For each subject (e.g. each patient on a ward), its newest resource of a kind, chosen
        by a token (param, system, code) or a reference (param, target type, target ids), in one
        query: the ward's due list asks this once per assessment, not once per bed."""
        if not subjects:
            return {}
        types = {t for t, _i in subjects}
        # One statement per shape, built once with every value a bound parameter: building the
        # SQL expression per call cost more than the query (the due list asks six times).
        statement = latest_for_each_statement(
            len(types) == 1,
            token is not None,
            token is not None and token[1] is not None,
            reference is not None,
        )
        values: dict[str, Any] = {
            "resource_type": resource_type,
            "subject_param": subject_param,
            "date_param": date_param,
        }
        if len(types) == 1:
            values["subject_type"] = next(iter(types))
            values["subject_ids"] = [i for _t, i in subjects]
        else:
            values["subjects"] = list(subjects)
        if token is not None:
            values["token_param"], values["token_system"], values["token_code"] = token
        if reference is not None:
            values["ref_param"], values["ref_type"], ids = reference
            values["ref_ids"] = list(ids)
        # After the version columns: the subject's type and id.
        return {(row[7], row[8]): stored_version(row) for row in statement.rows(self._conn, values)}

    def newest_with_token(
        self,
        resource_type: str,
        *,
        subject_param: str,
        subject: tuple[str, str],
        token_param: str,
        system: str,
        code: str,
        date_param: str,
        limit: int = 1,
    ) -> list[StoredVersion]:
        """The newest resources about one subject with one token, newest first: a fixed
        statement (compiled once) for questions asked on hot paths, such as a patient's SpO2
        scale or their open escalations."""
        rows = NEWEST_WITH_TOKEN.rows(
            self._conn,
            {
                "resource_type": resource_type,
                "subject_param": subject_param,
                "target_type": subject[0],
                "target_id": subject[1],
                "token_param": token_param,
                "system": system,
                "code": code,
                "date_param": date_param,
                "limit": limit,
            },
        )
        return [stored_version(r) for r in rows]

    def newest_for_patient_code(
        self, resource_type: str, *, patient_id: str, system: str, code: str, limit: int = 1
    ) -> list[StoredVersion]:
        """A patient's newest resources with one code, newest `date` first, through
        search_patient_code (storage/recent_by_code.py): `newest_with_token` for the
        `patient` reference, the `code` token and `date`, for resources with one `date` value
        (Observations), without walking the patient's whole record."""
        rows = NEWEST_WITH_CODE.rows(
            self._conn,
            {
                "resource_type": resource_type,
                "patient_id": patient_id,
                "system": system,
                "code": code,
                "limit": limit,
            },
        )
        return [stored_version(r) for r in rows]

    def with_token(
        self, resource_type: str, *, param: str, system: str, code: str, limit: int = 1
    ) -> list[StoredVersion]:
        """Current resources whose `param` has the token system|code, in rid order: the search
        `{param}={system}|{code}&_count={limit}` (storage/fixed_lookups.py)."""
        rows = WITH_TOKEN.rows(
            self._conn,
            {
                "resource_type": resource_type,
                "param": param,
                "system": system,
                "code": code,
                "limit": limit,
            },
        )
        return [stored_version(r) for r in rows]

    def for_subject_with_codes(
        self,
        resource_type: str,
        *,
        subject_param: str,
        subject: tuple[str, str],
        token_param: str,
        codes: Sequence[str],
        limit: int,
    ) -> list[StoredVersion]:
        """Current resources about one subject whose `token_param` has any of `codes` (any
        system), in rid order: the search `{subject_param}={type}/{id}&{token_param}=a,b`."""
        rows = SUBJECT_WITH_CODES.rows(
            self._conn,
            {
                "resource_type": resource_type,
                "subject_param": subject_param,
                "target_type": subject[0],
                "target_id": subject[1],
                "token_param": token_param,
                "codes": list(codes),
                "limit": limit,
            },
        )
        return [stored_version(r) for r in rows]

    def recent_with_codes(
        self,
        resource_type: str,
        *,
        patient_id: str,
        tokens: Sequence[tuple[str, str]],
        after: int,
        until: int,
        limit: int,
        offset: int = 0,
    ) -> list[StoredVersion]:
        """A page of one patient's current resources with any of the (system, code) tokens and
        a `date` range ending after `after` and starting at or before `until`, newest
        first: the search `patient&code&date=gt&date=le&_sort=-date` as a fixed statement
        (storage/recent_by_code.py), for hot paths such as NEWS2 from vital signs."""
        rids = [
            rid
            for (rid,) in RECENT_RIDS.rows(
                self._conn,
                {
                    "resource_type": resource_type,
                    "patient_id": patient_id,
                    "tokens": [tuple(t) for t in tokens],
                    "codes": sorted({c for _s, c in tokens}),
                    "systems": sorted({s for s, _c in tokens}),
                    "after": after,
                    "until": until,
                    "limit": limit,
                    "offset": offset,
                },
            )
        ]
        if not rids:
            return []
        found = {rid: self._written[rid] for rid in rids if rid in self._written}
        unread = [rid for rid in rids if rid not in found]
        if unread:
            found.update(
                (r[0], stored_version(r)) for r in CURRENT_BY_RID.rows(self._conn, {"rids": unread})
            )
        return [found[rid] for rid in rids if rid in found]

    def current_of_type(self, resource_type: str, ids: Sequence[str]) -> list[StoredVersion]:
        """Current, not deleted versions of resources of one type by id, in one statement whose
        id list is a single expanding parameter (a ward's care plans name a thousand goals and
        tasks; building one SQL expression per id cost more than the query)."""
        if not ids:
            return []
        rows = CURRENT_OF_TYPE.rows(
            self._conn, {"resource_type": resource_type, "ids": list(dict.fromkeys(ids))}
        )
        return [stored_version(r) for r in rows]
