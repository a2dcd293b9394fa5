"""A version's search index rows, table by table, in each table's column order.

`fhir/indexing.py` says what a resource is found by (tokens, strings, dates, references,
quantities); this module lays those out as the rows of the index tables (storage/tables.py),
including the two derived tables that answer "this patient's observations by date / by code"
in one index look-up. Both databases' write paths take the rows from here: PostgreSQL as one
jsonb document per statement, SQLite as one `executemany` per table.
"""

from __future__ import annotations

from typing import Any

from wardcare.fhir.indexing import IndexRows

# Each index table's columns after (rid, resource_type), with their PostgreSQL types (the
# PostgreSQL statement casts each value from jsonb).
INDEX_ROW_COLUMNS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("search_token", (("param", "text"), ("system", "text"), ("code", "text"))),
    ("search_string", (("param", "text"), ("value_norm", "text"), ("value", "text"))),
    ("search_date", (("param", "text"), ("low", "bigint"), ("high", "bigint"))),
    (
        "search_reference",
        (("param", "text"), ("target_type", "text"), ("target_id", "text")),
    ),
    (
        "search_quantity",
        (("param", "text"), ("value", "float8"), ("system", "text"), ("code", "text")),
    ),
    ("search_patient_date", (("patient_id", "text"), ("low", "bigint"))),
    (
        "search_patient_code",
        (
            ("patient_id", "text"),
            ("system", "text"),
            ("code", "text"),
            ("sort_low", "bigint"),
            ("sort_high", "bigint"),
        ),
    ),
)

# SQLite: positional parameters, because binding a tuple costs less than looking up each name
# in a dict, for the ~120 index rows of one NEWS2 assessment.
SQLITE_INSERTS: dict[str, str] = {
    table: f"INSERT INTO {table} (rid, resource_type, {', '.join(n for n, _t in columns)})"
    f" VALUES (?, ?, {', '.join('?' for _c in columns)})"
    for table, columns in INDEX_ROW_COLUMNS
}


def index_row_values(rows: IndexRows) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Index rows by table, their values in the columns' order of INDEX_ROW_COLUMNS."""
    return [
        ("search_token", rows.tokens),
        ("search_string", rows.strings),
        ("search_date", rows.dates),
        ("search_reference", rows.references),
        ("search_quantity", [(p, float(v), s, c) for p, v, s, c in rows.quantities]),
        ("search_patient_date", _patient_dates(rows)),
        ("search_patient_code", _patient_codes(rows)),
    ]


def sqlite_rows_by_table(
    versions: list[tuple[int, str, IndexRows]],
) -> dict[str, list[tuple[Any, ...]]]:
    """The index rows of several versions, (rid, resource type) first, for SQLITE_INSERTS."""
    by_table: dict[str, list[tuple[Any, ...]]] = {table: [] for table, _c in INDEX_ROW_COLUMNS}
    for rid, resource_type, rows in versions:
        for table, values in index_row_values(rows):
            if values:
                by_table[table].extend((rid, resource_type, *value) for value in values)
    return by_table


def _patient_dates(rows: IndexRows) -> list[tuple[str, int]]:
    """(patient id, date low) pairs for search_patient_date: the resource's `patient`
    reference(s) with its `date` value(s)."""
    return [
        (patient, low)
        for param, patient_type, patient in rows.references
        if param == "patient" and patient_type == "Patient"
        for date_param, low, _high in rows.dates
        if date_param == "date"
    ]


def _patient_codes(
    rows: IndexRows,
) -> list[tuple[str, str | None, str | None, int | None, int | None]]:
    """(patient id, system, code, sort low, sort high) rows for search_patient_code: each of the
    resource's `patient` references by each distinct `code` token, with the values a `_sort` on
    `date` orders by (storage/search_sql.py: min low ascending, max high descending)."""
    patients = [i for p, t, i in rows.references if p == "patient" and t == "Patient"]
    tokens = [(s, c) for p, s, c in rows.tokens if p == "code"]
    if not patients or not tokens:
        return []
    dates = [(low, high) for p, low, high in rows.dates if p == "date"]
    low = min((d[0] for d in dates), default=None)
    high = max((d[1] for d in dates), default=None)
    return [
        (patient, system, code, low, high)
        for patient in dict.fromkeys(patients)
        for system, code in dict.fromkeys(tokens)
    ]
