"""One patient's chart as the patient page shows it: where they are, their latest result of each
assessment, NEWS2 over the last 72 hours, care plans, allergies, open escalations and risk flags.
Everything is read in one transaction, so the page shows one moment of the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from wardcare.catalog.catalog import LoadedTemplate
from wardcare.domain.actor import Actor
from wardcare.fhir.dates import from_micros
from wardcare.fhir.indexing import split_reference
from wardcare.fhir.vital_signs import effective_range
from wardcare.services import authorisation, fhir_reads
from wardcare.services.context import AppContext
from wardcare.services.due_list import latest_results
from wardcare.services.patient_care_plans import CarePlanSummary, care_plans_for
from wardcare.services.patient_summaries import (
    Allergy,
    Escalation,
    News2Score,
    RiskFlag,
    allergies,
    news2_scores,
    open_escalations,
    risk_flags,
    search_all,
)
from wardcare.services.ward_census import LOCATION_CODE
from wardcare.storage.unit_of_work import Transaction

CHART_WINDOW = timedelta(hours=72)


@dataclass(frozen=True)
class LatestResult:
    template: LoadedTemplate
    at: datetime | None
    total: int | None
    band: str | None  # the band in words (e.g. "High risk"); None when not scored


@dataclass(frozen=True)
class PatientChart:
    patient: dict[str, Any]
    bed_code: str | None  # e.g. WARD7/BAY2/BED5
    ward_code: str | None
    encounter: str | None  # "Encounter/id" of the current stay
    news2: list[News2Score]  # oldest first
    latest: list[LatestResult]
    care_plans: list[CarePlanSummary]
    allergies: list[Allergy]
    escalations: list[Escalation]
    flags: list[RiskFlag]
    read_at: datetime


def patient_chart(ctx: AppContext, *, actor: Actor, patient_id: str) -> PatientChart:
    authorisation.authorise_patient(
        actor, patient_id, authorisation.CHART_READS + authorisation.CARE_PLAN_READS
    )
    now = ctx.clock.now()
    with ctx.uow.read() as tx:
        patient = orjson.loads(
            fhir_reads.read_in(tx, resource_type="Patient", resource_id=patient_id).content or b"{}"
        )
        encounter, bed_code = _current_stay(tx, ctx, patient_id)
        ids = [patient_id]
        return PatientChart(
            patient=patient,
            bed_code=bed_code,
            ward_code=bed_code.split("/", 1)[0] if bed_code else None,
            encounter=f"Encounter/{encounter['id']}" if encounter else None,
            news2=news2_scores(tx, ctx, ids, since=now - CHART_WINDOW)[patient_id],
            latest=_latest_results(tx, ctx, patient_id),
            care_plans=care_plans_for(tx, ctx, patient_id),
            allergies=allergies(tx, ctx, ids)[patient_id],
            escalations=open_escalations(tx, ctx, ids)[patient_id],
            flags=risk_flags(tx, ctx, ids)[patient_id],
            read_at=now,
        )


def current_encounter(ctx: AppContext, *, actor: Actor, patient_id: str) -> str | None:
    """ "Encounter/id" of the patient's stay in progress, for an assessment recorded now."""
    authorisation.authorise_patient(actor, patient_id, ("Patient", "Encounter"))
    with ctx.uow.read() as tx:
        fhir_reads.read_in(tx, resource_type="Patient", resource_id=patient_id)
        encounter, _bed = _current_stay(tx, ctx, patient_id)
    return f"Encounter/{encounter['id']}" if encounter else None


def _current_stay(
    tx: Transaction, ctx: AppContext, patient_id: str
) -> tuple[dict[str, Any] | None, str | None]:
    """The in-progress Encounter and the code of its active bed (or ward) location."""
    encounters = search_all(
        tx, ctx, "Encounter", [("patient", f"Patient/{patient_id}"), ("status", "in-progress")]
    )
    if not encounters:
        return None, None
    encounter = encounters[0]
    keys = [
        target
        for entry in encounter.get("location", ())
        if entry.get("status", "active") == "active"
        and (target := split_reference(entry.get("location", {}).get("reference", "")))
    ]
    codes = [
        str(i.get("value"))
        for v in tx.resources.current_many(keys)
        if v.content
        for i in orjson.loads(v.content).get("identifier", ())
        if i.get("system") == LOCATION_CODE
    ]
    # The most specific location (the bed) has the longest code: WARD7/BAY2/BED5.
    return encounter, max(codes, key=len) if codes else None


def _latest_results(tx: Transaction, ctx: AppContext, patient_id: str) -> list[LatestResult]:
    subject = [("Patient", patient_id)]
    results = []
    for loaded in ctx.catalog.latest():
        # The due list's rule: a result entered in error is never the latest (hazard DUE1).
        found = latest_results(tx, loaded, subject, ctx=ctx).get(subject[0])
        if found is None or found.content is None:
            results.append(LatestResult(loaded, None, None, None))
            continue
        row = orjson.loads(found.content)
        when = effective_range(row) or effective_range({"effectiveDateTime": row.get("authored")})
        band = next(
            (
                c.get("display") or c.get("code")
                for i in row.get("interpretation", ())
                for c in i.get("coding", ())
            ),
            None,
        )
        total = row.get("valueInteger")
        results.append(
            LatestResult(
                loaded,
                from_micros(when[0]) if when else from_micros(found.last_updated),
                total if isinstance(total, int) else None,
                band,
            )
        )
    return results
