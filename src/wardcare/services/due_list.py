"""The ward's due list: per bed, which assessments are due or overdue, and by how long.

NEWS2 is due at the frequency its last score sets, taken from the domain's RCP rules
(`domain/news2.clinical_response`, RCP chart 2: 12-hourly at 0, 4-hourly at 1-4, hourly at a
single 3 or 5-6, continuous at 7+); at 7+ obs are overdue when no new set was scored within
WARDCARE_NEWS2_HIGH_SCORE_MINUTES (30) of the last. Other assessments are due on admission and
then on their template's schedule or their last band's recheck. A result marked
entered-in-error (FHIR R4 Observation.status, QuestionnaireResponse.status) is never the last
result: the one before it is (hazard DUE1). A vital-signs set newer than the last NEWS2 that did
not complete a set is flagged as incomplete, with what is missing: a partial set is never shown
as a score, and the last score is shown with its time so a stale one is visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from wardcare.catalog.catalog import LoadedTemplate
from wardcare.catalog.template_schema import parse_duration
from wardcare.domain import news2
from wardcare.domain.actor import Actor
from wardcare.domain.schedule import Due, DueRule, LastDone, next_due
from wardcare.fhir import codes
from wardcare.fhir.dates import date_range, from_micros
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.versions import StoredVersion
from wardcare.fhir.vital_signs import effective_range
from wardcare.services import authorisation, news2_from_vitals
from wardcare.services.care_plan_work import PlanWork, active_plans
from wardcare.services.context import AppContext
from wardcare.services.fhir_reads import read_in
from wardcare.services.ward_census import Bed, WardCensus, census_in
from wardcare.storage.unit_of_work import Transaction

_WITHDRAWN = "entered-in-error"
_FALLBACK = 20  # results looked at per patient when the newest was entered in error


@dataclass(frozen=True)
class DueItem:
    template: LoadedTemplate
    due: Due
    last_at: datetime | None
    last_total: int | None
    last_band: str | None
    note: str | None = None


@dataclass
class BedDue:
    bed: Bed
    items: list[DueItem] = field(default_factory=list)
    # The bed's patient's active care plans, with their interventions due (care planning).
    care_plans: list[PlanWork] = field(default_factory=list)


@dataclass(frozen=True)
class PatientDue:
    patient: str
    encounter: dict[str, Any] | None
    items: list[DueItem]
    care_plans: list[PlanWork]
    generated_at: datetime


@dataclass(frozen=True)
class WardDue:
    census: WardCensus
    beds: list[BedDue]
    generated_at: datetime


def ward_due(ctx: AppContext, *, actor: Actor, ward_code: str) -> WardDue:
    authorisation.authorise_ward(actor)
    now = ctx.clock.now()
    with ctx.uow.read() as tx:
        return ward_due_in(tx, ctx, census=census_in(tx, ctx, ward_code=ward_code), now=now)


def ward_due_in(tx: Transaction, ctx: AppContext, *, census: WardCensus, now: datetime) -> WardDue:
    """The due list inside a transaction the caller holds (the handover sheet reads it in the
    same snapshot as everything else it prints)."""
    occupied = [b for b in census.beds if b.patient]
    subjects = [("Patient", b.patient["id"]) for b in occupied if b.patient]
    # Only active templates are scheduled: a draft (e.g. MUST until the trust holds BAPEN's
    # permission) is shipped and tested but not put on the ward's work list.
    scheduled = [t for t in ctx.catalog.latest() if t.template.status == "active"]
    latest = {t.template.id: latest_results(tx, t, subjects, ctx=ctx) for t in scheduled}
    latest_vitals = tx.resources.latest_for_each(
        "Observation",
        subject_param="patient",
        subjects=subjects,
        date_param="date",
        token=("category", codes.OBSERVATION_CATEGORY, "vital-signs"),
    )
    beds = []
    for bed in census.beds:
        entry = BedDue(bed)
        if bed.patient and bed.encounter:
            key = ("Patient", bed.patient["id"])
            admitted = _admitted(bed.encounter)
            for loaded in scheduled:
                last = latest[loaded.template.id].get(key)
                entry.items.append(_due_item(ctx, loaded, last, admitted, now))
            _flag_incomplete_set(tx, ctx, entry, latest_vitals.get(key))
        beds.append(entry)
    plans = active_plans(tx, ctx, [f"Patient/{pid}" for _t, pid in subjects], now)
    for entry in beds:
        if entry.bed.patient:
            entry.care_plans = plans.get(f"Patient/{entry.bed.patient['id']}", [])
    return WardDue(census, beds, now)


def patient_due(ctx: AppContext, *, actor: Actor, patient_id: str) -> PatientDue:
    """One patient's assessments and care-plan work due, wherever they are."""
    authorisation.authorise_patient(
        actor, patient_id, authorisation.CHART_READS + authorisation.CARE_PLAN_READS
    )
    now = ctx.clock.now()
    with ctx.uow.read() as tx:
        return patient_due_in(tx, ctx, patient_id=patient_id, now=now)


def patient_due_in(
    tx: Transaction, ctx: AppContext, *, patient_id: str, now: datetime
) -> PatientDue:
    read_in(tx, resource_type="Patient", resource_id=patient_id)  # 404 or 410 as a read
    key = ("Patient", patient_id)
    query = parse_search(
        "Encounter",
        [("patient", f"Patient/{patient_id}"), ("status", "in-progress"), ("_sort", "-date")],
        ctx.search_parameters,
        default_count=1,
        max_count=1,
    )
    query.total = "none"
    found = tx.resources.search(query).matches
    encounter = orjson.loads(found[0].content) if found and found[0].content else None
    items = []
    if encounter is not None:
        admitted = _admitted(encounter)
        for loaded in (t for t in ctx.catalog.latest() if t.template.status == "active"):
            last = latest_results(tx, loaded, [key], ctx=ctx).get(key)
            items.append(_due_item(ctx, loaded, last, admitted, now))
    plans = active_plans(tx, ctx, [f"Patient/{patient_id}"], now)
    return PatientDue(
        f"Patient/{patient_id}", encounter, items, plans.get(f"Patient/{patient_id}", []), now
    )


def latest_results(
    tx: Transaction,
    loaded: LoadedTemplate,
    subjects: list[tuple[str, str]],
    *,
    ctx: AppContext | None = None,
) -> dict[tuple[str, str], StoredVersion]:
    """Each subject's latest result of an assessment that was not entered in error. Results
    with a total (NEWS2, MUST, Morse) need nothing more; a questionnaire-only result entered in
    error is looked past only when `ctx` (for its search) is given."""
    template = loaded.template
    if template.total is not None:
        found = tx.resources.latest_for_each(
            "Observation",
            subject_param="patient",
            subjects=subjects,
            date_param="date",
            token=("code", template.total.system, template.total.code),
        )
    else:
        found = tx.resources.latest_for_each(
            "QuestionnaireResponse",
            subject_param="patient",
            subjects=subjects,
            date_param="authored",
            reference=("questionnaire", "", [template.canonical, template.url]),
        )
    for key, last in list(found.items()):
        if not _withdrawn(last):
            continue  # the one query answered: the usual case
        earlier = _latest_not_withdrawn(tx, loaded, key, ctx)
        if earlier is None:
            del found[key]
        else:
            found[key] = earlier
    return found


def _withdrawn(version: StoredVersion) -> bool:
    # A byte test first: the ward's whole list is read on every refresh of the board.
    content = version.content or b""
    return b"entered-in-error" in content and orjson.loads(content).get("status") == _WITHDRAWN


def _latest_not_withdrawn(
    tx: Transaction, loaded: LoadedTemplate, key: tuple[str, str], ctx: AppContext | None
) -> StoredVersion | None:
    template = loaded.template
    if template.total is not None:
        candidates = tx.resources.newest_for_patient_code(
            "Observation",
            patient_id=key[1],
            system=template.total.system,
            code=template.total.code,
            limit=_FALLBACK,
        )
    elif ctx is not None:
        query = parse_search(
            "QuestionnaireResponse",
            [
                ("patient", f"{key[0]}/{key[1]}"),
                ("questionnaire", f"{template.canonical},{template.url}"),
                ("status:not", _WITHDRAWN),
                ("_sort", "-authored"),
            ],
            ctx.search_parameters,
            default_count=1,
            max_count=1,
        )
        query.total = "none"
        candidates = tx.resources.search(query).matches
    else:
        return None
    return next((c for c in candidates if not _withdrawn(c)), None)


def _admitted(encounter: dict[str, Any]) -> datetime | None:
    start = encounter.get("period", {}).get("start")
    return from_micros(date_range(start)[0]) if isinstance(start, str) else None


def _due_item(
    ctx: AppContext,
    loaded: LoadedTemplate,
    last: StoredVersion | None,
    admitted: datetime | None,
    now: datetime,
) -> DueItem:
    template = loaded.template
    rule = DueRule(
        on_admission=parse_duration(template.next_due.on_admission)
        if template.next_due.on_admission
        else None,
        repeat=parse_duration(template.next_due.repeat) if template.next_due.repeat else None,
    )
    if last is None or last.content is None:
        return DueItem(
            loaded, next_due(rule, admitted_at=admitted, last=None, now=now), None, None, None
        )
    resource = orjson.loads(last.content)
    when = (
        effective_range(resource)
        if resource["resourceType"] == "Observation"
        else (date_range(resource["authored"]) if "authored" in resource else None)
    )
    at = from_micros(when[0]) if when else from_micros(last.last_updated)
    total = resource.get("valueInteger")
    band = next(
        (c.get("code") for i in resource.get("interpretation", ()) for c in i.get("coding", ())),
        None,
    )
    recheck = _recheck(loaded, resource, total, band)
    continuous = template.engine == "news2" and recheck is None and isinstance(total, int)
    done = LastDone(
        at=at,
        recheck=recheck,
        continuous=continuous,
        continuous_within=timedelta(minutes=ctx.settings.news2_high_score_minutes),
    )
    return DueItem(
        loaded, next_due(rule, admitted_at=admitted, last=done, now=now), at, total, band
    )


def _recheck(
    loaded: LoadedTemplate, score: dict[str, Any], total: int | None, band: str | None
) -> timedelta | None:
    if loaded.template.engine == "news2":
        if not isinstance(total, int) or isinstance(total, bool) or not 0 <= total <= 20:
            return None
        # RCP chart 2 through the domain's own rule (the one the score was made with): 0 ->
        # 12 h, 1-4 -> 4 h, a single parameter scoring 3 or 5-6 -> 1 h, 7+ -> None
        # (continuous). A single 3 is read from the sub-score components, and from the band
        # for a score stored without them.
        single_3 = band == "low-medium" or any(
            c.get("valueInteger") == 3 for c in score.get("component") or ()
        )
        return news2.clinical_response(total, single_3 and total >= 3).monitoring_interval
    found = next((b for b in loaded.template.bands if b.code == band), None)
    return parse_duration(found.recheck) if found and found.recheck else None


def _flag_incomplete_set(
    tx: Transaction, ctx: AppContext, entry: BedDue, latest_vital: StoredVersion | None
) -> None:
    """A vital sign newer than the last NEWS2 means the newest set did not complete."""
    news2_item = next((i for i in entry.items if i.template.template.engine == "news2"), None)
    if news2_item is None or latest_vital is None or latest_vital.content is None:
        return
    vital = orjson.loads(latest_vital.content)
    when = effective_range(vital)
    if when is None or vital.get("status") == _WITHDRAWN:
        return  # a reading entered in error is not a set to complete
    taken = from_micros(when[0])
    if news2_item.last_at is not None and taken <= news2_item.last_at:
        return
    assert entry.bed.patient is not None
    found = news2_from_vitals.latest_set(
        tx, ctx, patient=f"Patient/{entry.bed.patient['id']}", at=when[0]
    )
    if not found.missing:
        return
    missing = ", ".join(news2.Parameter(p).label for p in found.missing)
    note = (
        f"Incomplete set at {taken.isoformat()} (missing {missing}): not scored; complete the set"
    )
    index = entry.items.index(news2_item)
    entry.items[index] = DueItem(
        news2_item.template,
        news2_item.due,
        news2_item.last_at,
        news2_item.last_total,
        news2_item.last_band,
        note,
    )
