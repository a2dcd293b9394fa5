"""Translate a parsed FHIR search into SQL over the index tables (FHIR R4 3.1.1.5 matching rules).

Every criterion becomes `rid IN (index lookup)`; the index tables are keyed so each lookup is an
index range scan. Sorting by a date or string parameter reads the sort value per matching row
through the (rid, param) index, so the cost follows the number of matches, not the store's size.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Table,
    and_,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from wardcare import errors
from wardcare.fhir.search_parameters import ParamType
from wardcare.fhir.search_query import (
    Criterion,
    DateValue,
    QuantityValue,
    ReferenceValue,
    SearchQuery,
    SortKey,
    StringValue,
    TokenValue,
)
from wardcare.storage.tables import (
    resources,
    search_date,
    search_patient_code,
    search_quantity,
    search_reference,
    search_string,
    search_token,
)

_TABLE_FOR: dict[ParamType, Table] = {
    ParamType.TOKEN: search_token,
    ParamType.URI: search_token,
    ParamType.STRING: search_string,
    ParamType.DATE: search_date,
    ParamType.REFERENCE: search_reference,
    ParamType.QUANTITY: search_quantity,
    ParamType.NUMBER: search_quantity,
}


def matching_rids(query: SearchQuery) -> Select[Any]:
    """SELECT rid of every current, not deleted resource the criteria match.

    One criterion drives (its index lookup lists the candidates); the others are checked per
    candidate through the (rid, param) indexes. Listing every rid of a common code ("all heart
    rates in the hospital") to intersect it with one patient's would make a search grow with
    the store; a reference (the patient, the encounter) is the usual narrow driver.
    """
    r = resources.c
    conditions: list[ColumnElement[bool]] = [r.resource_type == query.resource_type, ~r.deleted]
    driver = _driving_criterion(query.criteria)
    for criterion in query.criteria:
        conditions.append(
            _criterion(query.resource_type, criterion, per_candidate=criterion is not driver)
        )
    return select(r.rid).where(*conditions)


def by_patient_code(query: SearchQuery) -> tuple[Select[Any], list[ColumnElement[Any]]] | None:
    """For a search by one patient and by code (sorted by date or not), the rids that match,
    one per resource, driven by the search_patient_code index, with the page's ORDER BY; None
    when the query has another shape (the generic search answers it).

    "This patient's heart rates, newest first" then reads the few index entries of that patient
    and code instead of every resource of the patient; other criteria (a date range, a status)
    are still checked per candidate. The index holds only current, not deleted versions.
    """
    patient = next((c for c in query.criteria if _one_patient(c)), None)
    code = next((c for c in query.criteria if _plain_code(c)), None)
    if patient is None or code is None:
        return None
    if query.sort and [k.param.code for k in query.sort] != ["date"]:
        return None
    pc = search_patient_code.c
    reference = patient.values[0]
    assert isinstance(reference, ReferenceValue)
    others = [
        _criterion(query.resource_type, c, per_candidate=True)
        for c in query.criteria
        if c is not patient and c is not code
    ]
    matches = (
        select(resources.c.rid)
        .select_from(search_patient_code.join(resources, resources.c.rid == pc.rid))
        .where(
            pc.resource_type == query.resource_type,
            pc.patient_id == reference.target_id,
            or_(*(_value_condition(search_patient_code, v) for v in code.values)),
            ~resources.c.deleted,
            *others,
        )
        .group_by(resources.c.rid)
    )
    # The same order as _sort_value: the latest end descending, the earliest start ascending,
    # resources without a date last, then rid.
    order: list[ColumnElement[Any]] = []
    if query.sort:
        if query.sort[0].descending:
            order.append(func.max(pc.sort_high).desc().nulls_last())
        else:
            order.append(func.min(pc.sort_low).asc().nulls_last())
    order.append(resources.c.rid)
    return matches, order


def _one_patient(criterion: Criterion) -> bool:
    value = criterion.values[0] if len(criterion.values) == 1 else None
    return (
        criterion.param.code == "patient"
        and criterion.missing is None
        and not criterion.negate
        and isinstance(value, ReferenceValue)
        and value.target_type == "Patient"
        and value.canonical is None
    )


def _plain_code(criterion: Criterion) -> bool:
    return (
        criterion.param.code == "code"
        and criterion.param.type == ParamType.TOKEN
        and criterion.missing is None
        and not criterion.negate
        and bool(criterion.values)
        and all(isinstance(v, TokenValue) and v.code is not None for v in criterion.values)
    )


def _driving_criterion(criteria: list[Criterion]) -> Criterion | None:
    usable = [c for c in criteria if c.missing is None and not c.negate]
    for kind in (("_id",), ()):
        for criterion in usable:
            if criterion.param.code in kind:
                return criterion
    for criterion in usable:
        if criterion.param.type == ParamType.REFERENCE:
            return criterion
    return usable[0] if usable else None


def order_by(query: SearchQuery) -> list[ColumnElement[Any]]:
    clauses: list[ColumnElement[Any]] = []
    for key in query.sort:
        clauses.append(_sort_value(query.resource_type, key))
    clauses.append(resources.c.rid)  # a stable order, so paging never repeats or skips a row
    return clauses


def _sort_value(resource_type: str, key: SortKey) -> ColumnElement[Any]:
    code = key.param.code
    if code == "_lastUpdated":
        column: ColumnElement[Any] = resources.c.last_updated
    elif code == "_id":
        column = resources.c.id
    else:
        table = _TABLE_FOR[key.param.type]
        # Chosen by table, not built for every table first: a token table has no `low`
        # (`_sort=status` was a 500).
        if table.name == search_date.name:
            value_column: ColumnElement[Any] = table.c.high if key.descending else table.c.low
        else:
            name = {search_string.name: "value_norm", search_token.name: "code"}[table.name]
            value_column = table.c[name]
        agg = func.max if key.descending else func.min
        column = (
            select(agg(value_column))
            .where(table.c.rid == resources.c.rid, table.c.param == code)
            .scalar_subquery()
        )
    # Resources without a value sort last either way.
    return column.desc().nulls_last() if key.descending else column.asc().nulls_last()


def _criterion(
    resource_type: str,
    criterion: Criterion,
    *,
    per_candidate: bool = False,
    res: FromClause = resources,
) -> ColumnElement[bool]:
    """The condition on `res` (the `resources` table, or an alias of it for a chain's target)
    that one criterion sets."""
    param = criterion.param
    if criterion.chain:
        return _chained(resource_type, criterion)
    if param.code == "_id":
        ids = [v.code for v in criterion.values if isinstance(v, TokenValue) and v.code]
        if criterion.missing is not None:
            return false() if criterion.missing else true()
        condition = res.c.id.in_(ids)
        return not_(condition) if criterion.negate else condition
    if param.code == "_lastUpdated":
        if criterion.missing is not None:
            # Every version has a lastUpdated (it is a column, not an index row): an empty OR
            # here was a 500.
            return false() if criterion.missing else true()
        lu = res.c.last_updated
        return or_(
            *(_date_condition(lu, lu, v) for v in criterion.values if isinstance(v, DateValue))
        )
    table = _TABLE_FOR[param.type]
    base = [
        table.c.resource_type == resource_type,
        table.c.param == param.code
        if param.patient_twin is None
        else table.c.param.in_(param.row_params),
    ]
    if criterion.missing is not None:
        present = res.c.rid.in_(select(table.c.rid).where(*base))
        return not_(present) if criterion.missing else present
    value_conditions = [_value_condition(table, value) for value in criterion.values]
    if per_candidate:
        found = (
            select(table.c.rid)
            .where(table.c.rid == res.c.rid, *base, or_(*value_conditions))
            .exists()
        )
        return not_(found) if criterion.negate else found
    lookup = select(table.c.rid).where(*base, or_(*value_conditions))
    if criterion.negate:
        return res.c.rid.not_in(lookup)
    return res.c.rid.in_(lookup)


def _chained(resource_type: str, criterion: Criterion) -> ColumnElement[bool]:
    """`ref.param=value`: the rids whose reference rows point at a current resource of a target
    type that matches `param=value` there (its criterion set on an alias of `resources`)."""
    ref = search_reference.c
    targets = []
    for target_type, inner in criterion.chain:
        target = resources.alias(f"chained_{target_type.lower()}")
        ids = select(target.c.id).where(
            target.c.resource_type == target_type,
            ~target.c.deleted,
            _criterion(target_type, inner, res=target),
        )
        targets.append(and_(ref.target_type == target_type, ref.target_id.in_(ids)))
    lookup = select(ref.rid).where(
        ref.resource_type == resource_type,
        ref.param.in_(criterion.param.row_params),
        or_(*targets),
    )
    return resources.c.rid.in_(lookup)


def _value_condition(table: Table, value: object) -> ColumnElement[bool]:
    c = table.c
    if isinstance(value, TokenValue):
        parts: list[ColumnElement[bool]] = []
        if value.code is not None:
            parts.append(c.code == value.code)
        if value.system_given:
            parts.append(c.system == value.system if value.system else c.system.is_(None))
        return and_(*parts) if parts else true()
    if isinstance(value, StringValue):
        if value.modifier == "exact":
            return c.value == value.text
        pattern = _escape_like(value.text)
        pattern = f"%{pattern}%" if value.modifier == "contains" else f"{pattern}%"
        return c.value_norm.like(pattern, escape="\\")
    if isinstance(value, DateValue):
        return _date_condition(c.low, c.high, value)
    if isinstance(value, ReferenceValue):
        by_id = c.target_id == value.target_id
        if value.target_type is not None:
            by_id = and_(c.target_type == value.target_type, by_id)
        if value.canonical:
            return or_(by_id, and_(c.target_type == "", c.target_id == value.canonical))
        return by_id
    if isinstance(value, QuantityValue):
        condition = _quantity_condition(c.value, value)
        if value.code:
            condition = and_(condition, c.code == value.code)
        if value.system:
            condition = and_(condition, c.system == value.system)
        return condition
    raise errors.not_supported(f"search value {value!r} is not supported")


def _date_condition(
    low: ColumnElement[Any], high: ColumnElement[Any], v: DateValue
) -> ColumnElement[bool]:
    match v.prefix:
        case "gt":
            return high > v.high
        case "lt":
            return low < v.low
        case "ge":
            return high >= v.low
        case "le":
            return low <= v.high
        case "sa":
            return low > v.high
        case "eb":
            return high < v.low
        case "ne":
            return not_(and_(low >= v.low, high <= v.high))
        case "ap":
            return and_(low <= v.high, high >= v.low)
    return and_(low >= v.low, high <= v.high)


def _quantity_condition(column: ColumnElement[Any], v: QuantityValue) -> ColumnElement[bool]:
    match v.prefix:
        case "gt" | "sa":
            return column > v.value
        case "lt" | "eb":
            return column < v.value
        case "ge":
            return column >= v.value
        case "le":
            return column <= v.value
        case "ne":
            return not_(column.between(v.low, v.high))
        case "ap":  # "approximately": within 10% (3.1.1.4.2 leaves the margin to the server)
            margin = abs(v.value) * 0.1
            return column.between(v.value - margin, v.value + margin)
    return column.between(v.low, v.high)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
