"""From FHIR resources to the words a handover prints (the presentation model's pieces).

No reads here: the caller passes what it read in its snapshot. Rules that matter clinically:
no NEWS2 prints as "none recorded" (never 0); a stale or incomplete set is said so; allergies
distinguish "no known drug allergy" from "none recorded"; risk flags name their source result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from wardcare.catalog.catalog import Catalog
from wardcare.domain import news2, nhs_number
from wardcare.domain.local_time import duration_words, printed_date, printed_time
from wardcare.domain.news2_colours import band_swatch, band_words
from wardcare.domain.schedule import LONDON, DueState
from wardcare.domain.sparkline import sparkline
from wardcare.domain.ward_stay import age_from_birth_date, days_since_admission, describe_stay
from wardcare.fhir.dates import InvalidDate, date_range, from_micros
from wardcare.fhir.vital_signs import effective_range
from wardcare.handover.model import (
    NONE_RECORDED,
    DueLine,
    Escalation,
    News2Summary,
    PatientIdentity,
    RiskFlag,
    SbarNote,
)
from wardcare.services.due_list import DueItem
from wardcare.services.handover_notes import sections_of
from wardcare.services.handover_records import RISK_TEMPLATES

NKDA_CODES = frozenset({"409137002", "716186003"})  # SNOMED: no known (drug) allergy
_SEX = {"male": "M", "female": "F", "other": "other", "unknown": "sex unknown"}


def when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return from_micros(date_range(value)[0])
    except InvalidDate:
        return None


def _text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    return next((str(c["display"]) for c in concept.get("coding", ()) if c.get("display")), "")


def patient_name(patient: dict[str, Any]) -> str:
    """FAMILY, Given Names: the NHS order for identifying a patient on paper."""
    names = patient.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    family = str(name.get("family", "")).upper()
    given = " ".join(name.get("given", []))
    return ", ".join(p for p in (family, given) if p) or "Name not recorded"


def identity(
    patient: dict[str, Any],
    encounter: dict[str, Any] | None,
    conditions: Sequence[dict[str, Any]],
    allergies: Sequence[dict[str, Any]],
    *,
    now: datetime,
) -> PatientIdentity:
    nhs = next(
        (
            i.get("value")
            for i in patient.get("identifier", ())
            if i.get("system") == nhs_number.SYSTEM
        ),
        None,
    )
    birth = patient.get("birthDate")
    years = age_from_birth_date(birth, now.astimezone(LONDON).date())
    age = NONE_RECORDED if years is None else f"{years} y"
    admitted = when((encounter or {}).get("period", {}).get("start"))
    allergy_lines, alert = allergy_list(allergies)
    return PatientIdentity(
        name=patient_name(patient),
        age=age,
        sex=_SEX.get(str(patient.get("gender")), NONE_RECORDED),
        nhs_number=nhs_number.formatted(nhs) if nhs else NONE_RECORDED,
        birth_date=printed_date(datetime.fromisoformat(f"{birth}T12:00:00+00:00"))
        if isinstance(birth, str) and len(birth) == 10
        else NONE_RECORDED,
        stay=describe_stay(days_since_admission(admitted, now)) if admitted else NONE_RECORDED,
        admitted=printed_time(admitted) if admitted else NONE_RECORDED,
        admitting_problem=admitting_problem(encounter, conditions),
        allergies=allergy_lines,
        allergy_alert=alert,
    )


def admitting_problem(
    encounter: dict[str, Any] | None, conditions: Sequence[dict[str, Any]]
) -> str:
    """The encounter's reason, else its encounter-diagnosis Condition."""
    for reason in (encounter or {}).get("reasonCode", ()):
        if _text(reason):
            return _text(reason)
    encounter_ref = f"Encounter/{(encounter or {}).get('id')}"
    for condition in conditions:
        if condition.get("encounter", {}).get("reference") == encounter_ref and _text(
            condition.get("code")
        ):
            return _text(condition.get("code"))
    return NONE_RECORDED


def other_conditions(
    encounter: dict[str, Any] | None, conditions: Sequence[dict[str, Any]]
) -> tuple[str, ...]:
    encounter_ref = f"Encounter/{(encounter or {}).get('id')}"
    return tuple(
        _text(c.get("code"))
        for c in conditions
        if c.get("encounter", {}).get("reference") != encounter_ref
        and _status(c, "clinicalStatus") in ("active", "recurrence", "relapse", "")
        and _status(c, "verificationStatus") != "entered-in-error"
        and _text(c.get("code"))
    )


def _status(resource: dict[str, Any], element: str) -> str:
    return next((str(c.get("code")) for c in resource.get(element, {}).get("coding", ())), "")


def allergy_list(allergies: Sequence[dict[str, Any]]) -> tuple[tuple[str, ...], bool]:
    """Lines to print and whether a real allergy is among them (printed as an alert)."""
    lines, alert, nkda = [], False, False
    for allergy in allergies:
        if _status(allergy, "verificationStatus") in ("entered-in-error", "refuted"):
            continue
        if _status(allergy, "clinicalStatus") in ("inactive", "resolved"):
            continue
        codes_ = {c.get("code") for c in allergy.get("code", {}).get("coding", ())}
        if codes_ & NKDA_CODES:
            nkda = True
            continue
        reactions = [
            _text(m)
            for r in allergy.get("reaction", ())
            for m in r.get("manifestation", ())
            if _text(m)
        ]
        critical = " HIGH CRITICALITY" if allergy.get("criticality") == "high" else ""
        line = _text(allergy.get("code")) or "Allergy (substance not recorded)"
        lines.append(
            f"{line} ({', '.join(reactions)}){critical}" if reactions else f"{line}{critical}"
        )
        alert = True
    if not lines:
        return (("No known drug allergy",) if nkda else (NONE_RECORDED,)), False
    return tuple(lines), alert


def news2_summary(
    item: DueItem | None,
    scores: Sequence[dict[str, Any]],
    *,
    now: datetime,
    trend: timedelta = timedelta(hours=24),
) -> News2Summary:
    """The latest NEWS2 (from the due list, same snapshot) and the 24-hour trend."""
    points = []
    for obs in scores:
        taken = effective_range(obs)
        if taken is not None and isinstance(obs.get("valueInteger"), int):
            points.append((from_micros(taken[0]), int(obs["valueInteger"])))
    line = sparkline(points, until=now, span=trend) if points else None
    incomplete = item.note if item else None
    if item is None or item.last_total is None or item.last_at is None:
        return News2Summary(
            None, "", band_swatch(None), NONE_RECORDED, sparkline=line, incomplete=incomplete
        )
    response = ""
    try:
        single_3 = item.last_band == news2.RiskBand.LOW_MEDIUM
        response = news2.clinical_response(item.last_total, single_3).response_text
    except ValueError:
        response = ""
    return News2Summary(
        item.last_total,
        band_words(item.last_band),
        band_swatch(item.last_band),
        printed_time(item.last_at),
        response=response,
        sparkline=line,
        incomplete=incomplete,
    )


_SHORT_TITLES = {
    "news2": "NEWS2",
    "falls-multifactorial": "Falls assessment",
    "morse-fall-scale": "Morse falls score",
    "pressure-ulcer-risk": "Pressure ulcer screen",
    "must": "MUST",
    "pain-score": "Pain score",
    "fluid-balance": "Fluid balance",
}


def short_title(template_id: str, title: str) -> str:
    """The name that fits a handover column; a trust's own template keeps its title."""
    return _SHORT_TITLES.get(template_id, title.split(" (", maxsplit=1)[0])


def due_lines(items: Sequence[DueItem], *, now: datetime) -> tuple[DueLine, ...]:
    lines = []
    for item in items:
        if getattr(item, "kind", "assessment") != "assessment":
            continue  # care-plan interventions print under the care plan
        title = short_title(item.template.template.id, item.template.template.title)
        due = item.due
        if due.state is DueState.OVERDUE and due.overdue_by is not None:
            lines.append(DueLine(f"{title} OVERDUE {duration_words(due.overdue_by)}", True))
        elif due.state is DueState.CONTINUOUS:
            lines.append(DueLine(f"{title}: CONTINUOUS monitoring", True))
        elif due.state is DueState.DUE and due.due_at is not None:
            lines.append(DueLine(f"{title} due {printed_time(due.due_at)}", False))
        elif (
            due.state is DueState.NOT_DUE
            and due.due_at is not None
            and due.due_at - now < timedelta(hours=12)
        ):
            lines.append(DueLine(f"{title} next {printed_time(due.due_at)}", False))
    return tuple(lines)


def risk_flags(
    latest: dict[str, dict[str, dict[str, Any]]], patient_id: str, catalog: Catalog
) -> tuple[RiskFlag, ...]:
    """Falls, pressure and nutrition from each area's newest result, whichever tool recorded it."""
    flags = []
    for area, template_ids in RISK_TEMPLATES.items():
        newest: tuple[datetime, str, dict[str, Any]] | None = None
        for template_id in template_ids:
            result = latest.get(template_id, {}).get(patient_id)
            if result is None:
                continue
            taken = effective_range(result) if result["resourceType"] == "Observation" else None
            at = from_micros(taken[0]) if taken else when(result.get("authored"))
            if at is not None and (newest is None or at > newest[0]):
                newest = (at, template_id, result)
        if newest is None:
            flags.append(RiskFlag(area, NONE_RECORDED, False))
            continue
        at, template_id, result = newest
        flags.append(_flag(area, at, template_id, result, catalog))
    return tuple(flags)


def _flag(
    area: str, at: datetime, template_id: str, result: dict[str, Any], catalog: Catalog
) -> RiskFlag:
    loaded = catalog.get(template_id)
    if result["resourceType"] == "QuestionnaireResponse" and loaded is not None:
        # A checklist (NICE NG249 falls): the risk factors are the answers that trigger a plan.
        answers = {
            i.get("linkId"): next(iter(a.values())) if (a := (i.get("answer") or [{}])[0]) else None
            for i in result.get("item", ())
        }
        found = []
        for trigger in loaded.template.care_plan_triggers:
            for link_id, wanted in trigger.when_answer.items():
                value = answers.get(link_id)
                value = value.get("code") if isinstance(value, dict) else value
                if value == wanted and link_id not in found:
                    found.append(link_id)
        words = ", ".join(f.replace("-", " ") for f in found)
        text = f"{len(found)} risk factors ({words})" if found else "no risk factors found"
        return RiskFlag(area, f"{text}, {printed_time(at)}", bool(found))
    band: dict[str, Any] = next(
        (c for i in result.get("interpretation", ()) for c in i.get("coding", ())), {}
    )
    band_code = str(band.get("code", ""))
    display = band.get("display") or band_code
    raised = band_code not in ("", "low", "none")
    total = result.get("valueInteger")
    label = f"{str(display).upper()} (score {total}, {printed_time(at)})"
    return RiskFlag(area, label, raised)


def escalation_lines(tasks: Sequence[dict[str, Any]]) -> tuple[Escalation, ...]:
    ordered = sorted(tasks, key=lambda t: str(t.get("authoredOn", "")), reverse=True)
    return tuple(
        Escalation(
            priority=str(t.get("priority", "routine")).upper(),
            text=str(t.get("description") or _text(t.get("code")) or "Escalation"),
            raised=printed_time(at) if (at := when(t.get("authoredOn"))) else NONE_RECORDED,
            status=str(t.get("status", "")),
        )
        for t in ordered
    )


def sbar_note(note: dict[str, Any] | None) -> SbarNote | None:
    if note is None:
        return None
    sections = sections_of(note)
    sent = when(note.get("sent"))
    acknowledged = None
    if note.get("status") == "completed":
        who = ", ".join(r.get("display", "") for r in note.get("recipient", ())) or "unknown"
        received = when(note.get("received"))
        acknowledged = f"by {who} at {printed_time(received) if received else NONE_RECORDED}"
    return SbarNote(
        situation=sections["situation"],
        background=sections["background"],
        assessment=sections["assessment"],
        recommendation=sections["recommendation"],
        author=str(note.get("sender", {}).get("display", "unknown")),
        written=printed_time(sent) if sent else NONE_RECORDED,
        version=int(note.get("meta", {}).get("versionId", 1)),
        acknowledged=acknowledged,
    )
