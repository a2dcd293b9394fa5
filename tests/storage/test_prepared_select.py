"""storage/driver_statements.PreparedSelect runs a Core SELECT on the driver's cursor: it must
answer exactly the rows SQLAlchemy's own execution of the statement answers, with plain,
expanding (IN list) and tuple-expanding parameters, whatever the number of items, on SQLite
and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select, tuple_

from wardcare.services.context import AppContext
from wardcare.storage.driver_statements import PreparedSelect
from wardcare.storage.tables import resources

ROWS = [("Patient", f"p{n}") for n in range(6)] + [("Observation", f"o{n}") for n in range(6)]


@pytest.fixture
def stored(context: AppContext) -> AppContext:
    with context.uow.engine.begin() as conn:
        conn.execute(
            resources.insert(),
            [
                {
                    "resource_type": t,
                    "id": i,
                    "version_id": 1,
                    "last_updated": n,
                    "deleted": n % 5 == 0,
                }
                for n, (t, i) in enumerate(ROWS)
            ],
        )
    return context


PLAIN = (
    select(resources.c.resource_type, resources.c.id)
    .where(resources.c.resource_type == bindparam("t"), ~resources.c.deleted)
    .order_by(resources.c.id)
    .limit(bindparam("limit"))
)
EXPANDING = (
    select(resources.c.id)
    .where(
        resources.c.resource_type == bindparam("t"),
        resources.c.id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(resources.c.id)
)
TUPLES = (
    select(resources.c.resource_type, resources.c.id, resources.c.last_updated)
    .where(
        tuple_(resources.c.resource_type, resources.c.id).in_(bindparam("keys", expanding=True)),
        resources.c.last_updated >= bindparam("since"),
    )
    .order_by(resources.c.last_updated)
)

CASES = [
    (PLAIN, {"t": "Patient", "limit": 3}),
    (PLAIN, {"t": "Observation", "limit": 10}),
    (EXPANDING, {"t": "Patient", "ids": ["p1"]}),
    (EXPANDING, {"t": "Patient", "ids": ["p1", "p3", "o2", "nobody"]}),
    (TUPLES, {"keys": [("Patient", "p2")], "since": 0}),
    (TUPLES, {"keys": [("Patient", "p2"), ("Observation", "o4"), ("Patient", "o4")], "since": 3}),
]


@pytest.mark.parametrize(("statement", "values"), CASES)
def test_the_driver_answers_what_sqlalchemy_answers(
    stored: AppContext, statement: object, values: dict[str, object]
) -> None:
    prepared = PreparedSelect(statement)
    with stored.uow.engine.connect() as conn:
        expected = [tuple(r) for r in conn.execute(statement, values)]  # type: ignore[call-overload]
        answered = [tuple(r) for r in prepared.rows(conn, values)]
    assert answered == expected
    assert expected  # each case finds something, so an empty answer cannot pass


def test_one_text_per_number_of_items(stored: AppContext) -> None:
    prepared = PreparedSelect(EXPANDING)
    dialect = stored.uow.engine.dialect
    one, _ = prepared.sql(dialect, {"t": "Patient", "ids": ["p1"]})
    other, _ = prepared.sql(dialect, {"t": "Patient", "ids": ["p2"]})
    three, values = prepared.sql(dialect, {"t": "Patient", "ids": ["p1", "p2", "p3"]})
    assert one is other  # the same text, cached
    assert three != one
    assert sorted(v for k, v in values.items() if k.startswith("ids")) == ["p1", "p2", "p3"]


def test_an_empty_list_is_refused_not_sent(stored: AppContext) -> None:
    with stored.uow.engine.connect() as conn, pytest.raises(ValueError, match="ids"):
        PreparedSelect(EXPANDING).rows(conn, {"t": "Patient", "ids": []})
