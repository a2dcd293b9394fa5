"""What a handover prints about a set of patients, read in batches inside one transaction.

One query per kind of record for the whole set (a ward of 28 or 300 patients costs the same
dozen queries, never one per bed), and every resource read is remembered with its version, so
the stored document can say exactly what it was built from (`sources`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from wardcare.fhir import codes
from wardcare.fhir.dates import instant
from wardcare.fhir.indexing import split_reference
from wardcare.fhir.search_query import parse_search
from wardcare.services.context import AppContext
from wardcare.services.due_list import latest_results
from wardcare.services.escalation import OPEN_STATUSES, is_escalation
from wardcare.storage.unit_of_work import Transaction

_PAGE = 2000
NOTE_CATEGORY = "http://wardcare.org/fhir/CodeSystem/communication-category"
SBAR_HANDOVER = "sbar-handover"
# The risk flags on the sheet and the templates whose latest result sets each.
RISK_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Falls": ("falls-multifactorial", "morse-fall-scale"),
    "Pressure": ("pressure-ulcer-risk",),
    "Nutrition": ("must",),
}


@dataclass
class PatientRecords:
    """Per patient id: the resources a handover shows (each a parsed FHIR JSON dict)."""

    news2: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    vitals: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    allergies: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    conditions: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    escalations: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    care_plans: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # template id -> patient id -> latest result (score Observation or QuestionnaireResponse)
    latest: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    sources: dict[str, None] = field(default_factory=dict)  # "Type/id/_history/v", in order

    def cite(self, resource: dict[str, Any]) -> None:
        version = resource.get("meta", {}).get("versionId")
        if version is not None:
            self.sources[f"{resource['resourceType']}/{resource['id']}/_history/{version}"] = None


def search_all(
    tx: Transaction, ctx: AppContext, resource_type: str, params: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Every match of a search, page by page (never silently cut at a page size)."""
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        query = parse_search(
            resource_type, params, ctx.search_parameters, default_count=_PAGE, max_count=_PAGE
        )
        query.total, query.offset = "none", offset
        page = tx.resources.search(query).matches
        found.extend(orjson.loads(v.content) for v in page if v.content)
        if len(page) < _PAGE:
            return found
        offset += _PAGE


def patient_of(resource: dict[str, Any], *elements: str) -> str | None:
    for element in elements:
        target = split_reference(resource.get(element, {}).get("reference", ""))
        if target and target[0] == "Patient":
            return target[1]
    return None


def read_records(
    tx: Transaction,
    ctx: AppContext,
    *,
    patient_ids: Iterable[str],
    obs_since: datetime,
    vitals_since: datetime | None = None,
) -> PatientRecords:
    """NEWS2 scores since `obs_since` (and vital signs since `vitals_since`, for a chart),
    allergies, conditions, open escalations, active care plans, the latest handover note and
    the latest risk assessments of each patient."""
    ids = list(dict.fromkeys(patient_ids))
    records = PatientRecords()
    if not ids:
        return records
    who = ",".join(f"Patient/{pid}" for pid in ids)
    news2 = f"{codes.SNOMED}|{codes.NEWS2_TOTAL}"
    for obs in search_all(
        tx,
        ctx,
        "Observation",
        [("patient", who), ("code", news2), ("date", f"gt{instant(obs_since)}")],
    ):
        _add(records, records.news2, obs, "subject")
    if vitals_since is not None:
        category = f"{codes.OBSERVATION_CATEGORY}|vital-signs"
        for obs in search_all(
            tx,
            ctx,
            "Observation",
            [("patient", who), ("category", category), ("date", f"gt{instant(vitals_since)}")],
        ):
            _add(records, records.vitals, obs, "subject")
    for allergy in search_all(tx, ctx, "AllergyIntolerance", [("patient", who)]):
        _add(records, records.allergies, allergy, "patient")
    for condition in search_all(tx, ctx, "Condition", [("patient", who)]):
        _add(records, records.conditions, condition, "subject")
    open_statuses = ",".join(sorted(OPEN_STATUSES))
    for task in search_all(tx, ctx, "Task", [("patient", who), ("status", open_statuses)]):
        if is_escalation(task):
            _add(records, records.escalations, task, "for")
    for plan in search_all(tx, ctx, "CarePlan", [("patient", who), ("status", "active")]):
        _add(records, records.care_plans, plan, "subject")
    _latest_notes(tx, ctx, records, who)
    _latest_risks(tx, ctx, records, ids)
    return records


def _add(
    records: PatientRecords,
    into: dict[str, list[dict[str, Any]]],
    resource: dict[str, Any],
    element: str,
) -> None:
    patient = patient_of(resource, element)
    if patient is not None:
        into[patient].append(resource)
        records.cite(resource)


def _latest_notes(tx: Transaction, ctx: AppContext, records: PatientRecords, who: str) -> None:
    """The newest SBAR note per patient that is not entered-in-error."""
    notes = search_all(
        tx,
        ctx,
        "Communication",
        [
            ("patient", who),
            ("category", f"{NOTE_CATEGORY}|{SBAR_HANDOVER}"),
            ("status", "in-progress,completed"),
        ],
    )
    for note in sorted(notes, key=lambda n: n.get("sent", "")):
        patient = patient_of(note, "subject")
        if patient is not None:
            records.notes[patient] = note
    for note in records.notes.values():
        records.cite(note)


def _latest_risks(
    tx: Transaction, ctx: AppContext, records: PatientRecords, ids: list[str]
) -> None:
    subjects = [("Patient", pid) for pid in ids]
    for template_ids in RISK_TEMPLATES.values():
        for template_id in template_ids:
            loaded = ctx.catalog.get(template_id)
            if loaded is None:
                continue
            found = latest_results(tx, loaded, subjects)
            latest = {key[1]: orjson.loads(v.content) for key, v in found.items() if v.content}
            for resource in latest.values():
                records.cite(resource)
            records.latest[template_id] = latest
