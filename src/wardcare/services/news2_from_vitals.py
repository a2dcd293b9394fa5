"""NEWS2 from vital signs that arrive one Observation at a time (API, Bundle, HL7 ORU).

After a vital sign is stored, the patient's most recent reading of each NEWS2 parameter within
the window before it (default 30 minutes) is gathered. Only a complete set is scored: a partial
set is stored as the readings it is and shown as incomplete, never as a low score (brief section
2; hazard "partial set shown as low"). The score is stored like an assessment's, derived from
the readings it used, in the same transaction as the reading that completed the set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from wardcare.domain import news2
from wardcare.domain.actor import Actor
from wardcare.domain.assessment_outcome import from_news2
from wardcare.fhir import codes, resource_ids
from wardcare.fhir.dates import date_range, from_micros, instant
from wardcare.fhir.versions import StoredVersion
from wardcare.fhir.vital_signs import INPUT_CODES, effective_range, readings, spo2_scale_setting
from wardcare.services import (
    assessment_results,
    care_plan_proposals,
    escalation,
    vital_sign_checks,
)
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.services.provenance import record_provenance
from wardcare.storage.unit_of_work import Transaction

_P = news2.Parameter
_PARAMETERS_BY_TOKEN: dict[tuple[str | None, str | None], tuple[news2.Parameter, ...]] = {
    (codes.LOINC, codes.RESPIRATORY_RATE): (_P.RESPIRATION_RATE,),
    (codes.LOINC, "59408-5"): (_P.SPO2,),
    (codes.LOINC, "2708-6"): (_P.SPO2,),
    (codes.LOINC, codes.SYSTOLIC_BP): (_P.SYSTOLIC_BP,),
    (codes.LOINC, codes.HEART_RATE): (_P.PULSE,),
    (codes.LOINC, codes.BODY_TEMPERATURE): (_P.TEMPERATURE,),
    (codes.LOINC, codes.INHALED_O2_FLOW): (_P.AIR_OR_OXYGEN,),
    (codes.SNOMED, codes.ACVPU_FINDING): (_P.CONSCIOUSNESS,),
}
_PAGE = 16
_INPUT_TOKENS = tuple(
    (system, code) for system, _bar, code in (c.partition("|") for c in INPUT_CODES)
)
_MAX_READINGS = 480


@dataclass(frozen=True)
class VitalSet:
    """The latest reading of each parameter in the window, and where each came from."""

    vitals: news2.VitalSigns
    sources: list[str]  # "Observation/id" of each reading used
    effective: int  # microseconds: the newest reading's time
    encounter: str | None
    missing: tuple[news2.Parameter, ...]


def latest_set(tx: Transaction, ctx: AppContext, *, patient: str, at: int) -> VitalSet:
    """The patient's most recent reading of each parameter taken in (at - window, at]; the
    window is WARDCARE_NEWS2_WINDOW_MINUTES (30 by default)."""
    window = _window(ctx)
    since = instant(from_micros(at - int(window.total_seconds() * 1_000_000)))
    until = instant(from_micros(at))
    latest: dict[news2.Parameter, tuple[Any, str, int]] = {}
    encounter = None
    offset = 0
    # Newest first, a page at a time: a monitor that sends a reading a minute fills the window
    # with hundreds, but the latest of each parameter is almost always on the first page. The
    # page is the search patient&code=INPUT_CODES&date=gt{since}&date=le{until}&_sort=-date,
    # asked through the store's fixed statement (building the search per call cost more).
    # The first page is one reading per parameter: a message that completes the set has just
    # stored exactly those, which the store answers without reading them back.
    limit = len(news2.Parameter)
    while offset < _MAX_READINGS and len(latest) < len(news2.Parameter):
        limit = min(limit, _MAX_READINGS - offset)
        page = tx.resources.recent_with_codes(
            "Observation",
            patient_id=patient.split("/", 1)[1],
            tokens=_INPUT_TOKENS,
            after=date_range(since)[1],
            until=date_range(until)[1],
            limit=limit,
            offset=offset,
        )
        for stored in page:
            observation = orjson.loads(stored.content or b"{}")
            when = effective_range(observation)
            if when is None:
                continue
            for reading in readings(observation):
                if not vital_sign_checks.usable(reading):
                    continue  # refused today, so never scored (and never a crash here)
                if reading.parameter not in latest:  # newest first: the first seen is latest
                    source = f"Observation/{stored.id}"
                    latest[reading.parameter] = (reading.value, source, when[0])
                    encounter = encounter or observation.get("encounter", {}).get("reference")
        if len(page) < limit:
            break
        offset += limit
        limit = _PAGE
    value = {p: v[0] for p, v in latest.items()}
    vitals = news2.VitalSigns(
        respiration_rate=value.get(news2.Parameter.RESPIRATION_RATE),
        spo2=value.get(news2.Parameter.SPO2),
        on_oxygen=value.get(news2.Parameter.AIR_OR_OXYGEN),
        systolic_bp=value.get(news2.Parameter.SYSTOLIC_BP),
        pulse=value.get(news2.Parameter.PULSE),
        consciousness=news2.Consciousness(value[news2.Parameter.CONSCIOUSNESS])
        if news2.Parameter.CONSCIOUSNESS in value
        else None,
        temperature=value.get(news2.Parameter.TEMPERATURE),
    )
    return VitalSet(
        vitals=vitals,
        sources=sorted({v[1] for v in latest.values()}),
        effective=max((v[2] for v in latest.values()), default=at),
        encounter=encounter,
        missing=tuple(p for p in news2.Parameter if p not in latest),
    )


def _window(ctx: AppContext) -> timedelta:
    return timedelta(minutes=ctx.settings.news2_window_minutes)


def _may_be_complete(tx: Transaction, *, patient: str, at: int, window: timedelta) -> bool:
    """Whether the indexes show a reading of every parameter in the window (most stored
    readings do not complete a set, and this answers without reading any resource)."""
    tokens = tx.resources.patient_codes_in_window(
        "Observation",
        patient_id=patient.split("/", 1)[1],
        code_params=("code", "component-code"),
        after=at - int(window.total_seconds() * 1_000_000),
        until=at,
    )
    present = {parameter for token in tokens for parameter in _PARAMETERS_BY_TOKEN.get(token, ())}
    return len(present) == len(news2.Parameter)


def spo2_scale(tx: Transaction, ctx: AppContext, patient: str) -> int:
    """The patient's SpO2 scale: their latest news2|spo2-scale setting, else scale 1."""
    # Through search_patient_code: the generic look-up walked the patient's whole record.
    settings = tx.resources.newest_for_patient_code(
        "Observation",
        patient_id=patient.split("/", 1)[1],
        system=codes.NEWS2_SYSTEM,
        code=codes.SPO2_SCALE,
    )
    for stored in settings:
        scale = spo2_scale_setting(orjson.loads(stored.content or b"{}"))
        if scale:
            return scale
    return 1


def score_stands(tx: Transaction, ctx: AppContext, *, sources: list[str]) -> bool:
    """Whether a current NEWS2 score (not entered in error) already rests on exactly these
    readings. A reading re-sent, corrected (a new version: services/entered_in_error.py amends
    the score itself) or arriving after a newer one of its parameter makes the same set again,
    and two current scores for one set would disagree once either is amended."""
    if not sources:
        return False
    resource_type, _slash, first_id = sources[0].partition("/")
    # A fixed statement (compiled once): this is asked for every complete set, on the hot path
    # of every ORU and every reading that completes a set (not a generic search, parsed, built
    # and compiled each time).
    scores = tx.resources.newest_with_token(
        "Observation",
        subject_param="derived-from",
        subject=(resource_type, first_id),
        token_param="code",
        system=codes.SNOMED,
        code=codes.NEWS2_TOTAL,
        date_param="date",
        limit=50,
    )
    wanted = set(sources)
    for stored in scores:
        score = orjson.loads(stored.content or b"{}")
        used = {
            r.get("reference")
            for r in score.get("derivedFrom") or ()
            if str(r.get("reference", "")).startswith("Observation/")
        }
        if score.get("status") != "entered-in-error" and used == wanted:
            return True
    return False


def on_observation_stored(
    tx: Transaction, ctx: AppContext, actor: Actor, observation: dict[str, Any]
) -> StoredVersion | None:
    """Score NEWS2 if this reading completes a set; returns the NEWS2 Observation stored."""
    if not readings(observation):
        return None
    patient = observation.get("subject", {}).get("reference")
    when = effective_range(observation)
    if not isinstance(patient, str) or not patient.startswith("Patient/") or when is None:
        return None
    if not _may_be_complete(tx, patient=patient, at=when[0], window=_window(ctx)):
        return None
    found = latest_set(tx, ctx, patient=patient, at=when[0])
    if found.missing:
        return None
    if score_stands(tx, ctx, sources=found.sources):
        return None
    scale = spo2_scale(tx, ctx, patient)
    outcome = from_news2(news2.news2(found.vitals, news2.SpO2Scale(scale)))
    loaded = ctx.catalog.get("news2")
    assert loaded is not None, "the NEWS2 template ships with WardCare"
    effective = instant(from_micros(found.effective))
    context = assessment_results.Context(
        patient=patient,
        encounter=found.encounter,
        effective=effective,
        performer=None,
        derived_from=found.sources,
    )
    score = assessment_results.score_observation(loaded, outcome, context, spo2_scale=scale)
    stored = fhir.create_in(
        tx,
        ctx,
        actor=actor,
        resource=score,
        resource_id=resource_ids.new_id(),
        run_hooks=False,
        provenance=False,
    ).stored
    task = escalation.escalate_if_needed(
        tx,
        ctx,
        actor=actor,
        loaded=loaded,
        outcome=outcome,
        result=stored,
        patient=patient,
        encounter=found.encounter,
        authored=effective,
        provenance=False,
    )
    proposals = care_plan_proposals.propose_from_result(
        tx,
        ctx,
        actor=actor,
        loaded=loaded,
        band=outcome.band_code,
        answers={},
        patient=patient,
        encounter=found.encounter,
        evidence=[f"Observation/{stored.id}"],
        now=stored.last_updated_instant,
    )
    written = [stored, *([task] if task else []), *proposals]
    record_provenance(
        tx.resources,
        written,
        actor,
        patient=patient,
        now=stored.last_updated,
        reason="NEWS2 scored from a complete set of vital signs",
    )
    return stored
