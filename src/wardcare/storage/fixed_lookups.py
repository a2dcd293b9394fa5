"""Look-ups asked on every inbound message or stored result, as statements built once with
bound parameters: building the equivalent FHIR search (parse, criteria, SQL expression, cache
key) cost more than running it.

Each answers exactly what the search it names answers (the generic search's order is by rid
when no `_sort` is given; storage/search_sql.py), and tests hold them to it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from wardcare.storage.tables import (
    resource_versions,
    resources,
    search_reference,
    search_token,
    versions_select,
)


def _with_token() -> Any:
    """`GET /{type}?{param}={system}|{code}&_count=n`: e.g. a patient by NHS number."""
    token = search_token.c
    return (
        versions_select()
        .where(
            resources.c.rid.in_(
                select(token.rid).where(
                    token.resource_type == bindparam("resource_type"),
                    token.param == bindparam("param"),
                    token.code == bindparam("code"),
                    token.system == bindparam("system"),
                )
            ),
            resources.c.resource_type == bindparam("resource_type"),
            ~resources.c.deleted,
            resource_versions.c.version_id == resources.c.version_id,
        )
        .order_by(resources.c.rid)
        .limit(bindparam("limit"))
    )


def _subject_with_codes() -> Any:
    """`GET /{type}?{subject_param}={type}/{id}&{token_param}=a,b,...&_count=n` (codes without
    a system): e.g. a patient's open care plans by status."""
    subject, token = search_reference.c, search_token.c
    return (
        versions_select()
        .where(
            resources.c.rid.in_(
                select(subject.rid).where(
                    subject.resource_type == bindparam("resource_type"),
                    subject.param == bindparam("subject_param"),
                    subject.target_type == bindparam("target_type"),
                    subject.target_id == bindparam("target_id"),
                )
            ),
            select(token.rid)
            .where(
                token.rid == resources.c.rid,
                token.resource_type == bindparam("resource_type"),
                token.param == bindparam("token_param"),
                token.code.in_(bindparam("codes", expanding=True)),
            )
            .exists(),
            resources.c.resource_type == bindparam("resource_type"),
            ~resources.c.deleted,
            resource_versions.c.version_id == resources.c.version_id,
        )
        .order_by(resources.c.rid)
        .limit(bindparam("limit"))
    )


WITH_TOKEN = _with_token()
SUBJECT_WITH_CODES = _subject_with_codes()
