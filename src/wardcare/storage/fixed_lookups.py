"""Look-ups asked on every inbound message or stored result, as statements built once with
bound parameters: building the equivalent FHIR search (parse, criteria, SQL expression, cache
key) cost more than running it.

Each answers exactly what the search it names answers (the generic search's order is by rid
when no `_sort` is given; storage/search_sql.py), and tests hold them to it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, func, select, tuple_

from wardcare.storage.driver_statements import PreparedSelect
from wardcare.storage.tables import (
    resource_versions,
    resources,
    search_date,
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


WITH_TOKEN = PreparedSelect(_with_token())
SUBJECT_WITH_CODES = PreparedSelect(_subject_with_codes())


def _newest_with_token() -> Any:
    subject, token, date = search_reference.c, search_token.c, search_date.c
    newest = (
        select(subject.rid, func.max(date.low).label("at"))
        .select_from(
            search_reference.join(search_token, search_token.c.rid == subject.rid).join(
                search_date, search_date.c.rid == subject.rid
            )
        )
        .where(
            subject.resource_type == bindparam("resource_type"),
            subject.param == bindparam("subject_param"),
            subject.target_type == bindparam("target_type"),
            subject.target_id == bindparam("target_id"),
            token.param == bindparam("token_param"),
            token.system == bindparam("system"),
            token.code == bindparam("code"),
            date.param == bindparam("date_param"),
        )
        .group_by(subject.rid)
        .subquery()
    )
    return (
        versions_select()
        .join(newest, newest.c.rid == resources.c.rid)
        .where(resource_versions.c.version_id == resources.c.version_id, ~resources.c.deleted)
        .order_by(newest.c.at.desc(), resources.c.rid.desc())
        .limit(bindparam("limit"))
    )


NEWEST_WITH_TOKEN = PreparedSelect(_newest_with_token())


def _current_of_type() -> Any:
    return versions_select().where(
        resources.c.resource_type == bindparam("resource_type"),
        resources.c.id.in_(bindparam("ids", expanding=True)),
        resource_versions.c.version_id == resources.c.version_id,
        ~resources.c.deleted,
    )


CURRENT_OF_TYPE = PreparedSelect(_current_of_type())
# Read on nearly every write (the resource being updated, the patient of an assessment): built
# once, so a read does not pay for building and cache-keying the statement again.
CURRENT = PreparedSelect(
    versions_select().where(
        resources.c.resource_type == bindparam("resource_type"),
        resources.c.id == bindparam("id"),
        resource_versions.c.version_id == resources.c.version_id,
    )
)
CURRENT_BY_RID = PreparedSelect(
    versions_select().where(
        resources.c.rid.in_(bindparam("rids", expanding=True)),
        resource_versions.c.version_id == resources.c.version_id,
    )
)


@lru_cache(maxsize=16)
def latest_for_each_statement(
    one_type: bool, token: bool, token_system: bool, reference: bool
) -> PreparedSelect:
    """`IndexLookups.latest_for_each`'s statement for one shape of question."""
    subject, date = search_reference.alias("subject"), search_date.alias("d")
    # One type (a ward's patients): the ids as one expanding parameter, because building an
    # SQL expression per (type, id) pair cost more than the query itself.
    in_subjects = (
        and_(
            subject.c.target_type == bindparam("subject_type"),
            subject.c.target_id.in_(bindparam("subject_ids", expanding=True)),
        )
        if one_type
        else tuple_(subject.c.target_type, subject.c.target_id).in_(
            bindparam("subjects", expanding=True)
        )
    )
    conditions = [
        subject.c.resource_type == bindparam("resource_type"),
        subject.c.param == bindparam("subject_param"),
        in_subjects,
        date.c.param == bindparam("date_param"),
        ~resources.c.deleted,
    ]
    joined = subject.join(date, date.c.rid == subject.c.rid).join(
        resources, resources.c.rid == subject.c.rid
    )
    if token:
        joined = joined.join(search_token, search_token.c.rid == subject.c.rid)
        conditions += [
            search_token.c.param == bindparam("token_param"),
            search_token.c.code == bindparam("token_code"),
        ]
        if token_system:
            conditions.append(search_token.c.system == bindparam("token_system"))
    if reference:
        target = search_reference.alias("target")
        joined = joined.join(target, target.c.rid == subject.c.rid)
        conditions += [
            target.c.param == bindparam("ref_param"),
            target.c.target_type == bindparam("ref_type"),
            target.c.target_id.in_(bindparam("ref_ids", expanding=True)),
        ]
    ranked = (
        select(
            subject.c.rid,
            subject.c.target_type,
            subject.c.target_id,
            func.row_number()
            .over(
                partition_by=(subject.c.target_type, subject.c.target_id),
                order_by=(date.c.low.desc(), subject.c.rid.desc()),
            )
            .label("rank"),
        )
        .select_from(joined)
        .where(*conditions)
        .subquery()
    )
    return PreparedSelect(
        versions_select()
        .add_columns(ranked.c.target_type.label("s_type"), ranked.c.target_id.label("s_id"))
        .join(ranked, ranked.c.rid == resources.c.rid)
        .where(ranked.c.rank == 1, resource_versions.c.version_id == resources.c.version_id)
    )
