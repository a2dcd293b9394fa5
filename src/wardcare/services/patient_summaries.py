"""What the record says about a group of patients, in the shapes the ward board and the patient
page show: NEWS2 scores over time, allergies, open escalations and risk flags.

Each reader takes the patients of a whole ward at once (one query per kind of fact, never one
per bed), inside the caller's read transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from wardcare.catalog.catalog import LoadedTemplate
from wardcare.domain.assessment_scoring import AnswerError
from wardcare.fhir import codes
from wardcare.fhir.dates import from_micros, instant, start_micros
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.vital_signs import effective_range
from wardcare.services.context import AppContext
from wardcare.services.escalation import OPEN_STATUSES, is_escalation
from wardcare.storage.unit_of_work import Transaction

_MAX_ROWS = 5000
NO_KNOWN_DRUG_ALLERGY = "409137002"
_NOT_CURRENT = {"entered-in-error", "refuted"}

# Risk flags are the care plans an assessment's result calls for (each template's
# carePlanTriggers): a ward shows these three by name (brief: falls, pressure, nutrition).
FLAG_FOR_PLAN = {
    "falls-prevention": "Falls",
    "pressure-ulcer-prevention": "Pressure",
    "nutrition-support": "Nutrition",
}


@dataclass(frozen=True)
class News2Score:
    at: datetime
    total: int
    band: str  # low, low-medium, medium, high
    sub_scores: dict[str, int]  # sub-score SNOMED CT code -> points
    reference: str


@dataclass(frozen=True)
class Allergy:
    text: str
    high_risk: bool
    no_known: bool  # "No known drug allergy" recorded


@dataclass(frozen=True)
class Escalation:
    priority: str
    title: str
    description: str
    raised_at: datetime | None
    reference: str


@dataclass(frozen=True)
class RiskFlag:
    label: str  # Falls, Pressure, Nutrition
    reasons: tuple[str, ...]


def search_all(
    tx: Transaction, ctx: AppContext, resource_type: str, params: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    query = parse_search(
        resource_type, params, ctx.search_parameters, default_count=_MAX_ROWS, max_count=_MAX_ROWS
    )
    query.total = "none"
    return [orjson.loads(v.content) for v in tx.resources.search(query).matches if v.content]


def _patients(patient_ids: Iterable[str]) -> str:
    return ",".join(f"Patient/{pid}" for pid in patient_ids)


def _patient_id(reference: dict[str, Any] | None) -> str:
    value = (reference or {}).get("reference", "")
    return value.split("/", 1)[1] if isinstance(value, str) and "/" in value else ""


def news2_scores(
    tx: Transaction, ctx: AppContext, patient_ids: Sequence[str], *, since: datetime
) -> dict[str, list[News2Score]]:
    """Each patient's NEWS2 scores since a time, oldest first."""
    found: dict[str, list[News2Score]] = {pid: [] for pid in patient_ids}
    if not patient_ids:
        return found
    rows = search_all(
        tx,
        ctx,
        "Observation",
        [
            ("patient", _patients(patient_ids)),
            ("code", f"{codes.SNOMED}|{codes.NEWS2_TOTAL}"),
            ("date", f"ge{instant(since)}"),
            ("status", "final,amended,corrected"),
        ],
    )
    for row in rows:
        score = _news2_score(row)
        if score is not None:
            found.setdefault(_patient_id(row.get("subject")), []).append(score)
    for scores in found.values():
        scores.sort(key=lambda s: s.at)
    return found


def latest_news2(
    tx: Transaction, patient_ids: Sequence[str], *, count: int = 2
) -> dict[str, list[News2Score]]:
    """Each patient's newest NEWS2 scores (oldest first), one indexed look-up per patient: the
    ward board needs the latest and the one before it (the trend), not a day of history."""
    found: dict[str, list[News2Score]] = {}
    for pid in patient_ids:
        rows = tx.resources.newest_with_token(
            "Observation",
            subject_param="patient",
            subject=("Patient", pid),
            token_param="code",
            system=codes.SNOMED,
            code=codes.NEWS2_TOTAL,
            date_param="date",
            limit=count,
        )
        scores = [_news2_score(orjson.loads(r.content)) for r in rows if r.content]
        found[pid] = sorted((s for s in scores if s is not None), key=lambda s: s.at)
    return found


def _news2_score(row: dict[str, Any]) -> News2Score | None:
    when = effective_range(row)
    total = row.get("valueInteger")
    if when is None or not isinstance(total, int) or row.get("status") == "entered-in-error":
        return None
    band = next(
        (
            c.get("code", "")
            for i in row.get("interpretation", ())
            for c in i.get("coding", ())
            if c.get("system") == codes.NEWS2_SYSTEM
        ),
        "",
    )
    subs = {
        c["code"]["coding"][0]["code"]: c["valueInteger"]
        for c in row.get("component", ())
        if isinstance(c.get("valueInteger"), int) and c.get("code", {}).get("coding")
    }
    return News2Score(from_micros(when[0]), total, band, subs, f"Observation/{row['id']}")


def allergies(
    tx: Transaction, ctx: AppContext, patient_ids: Sequence[str]
) -> dict[str, list[Allergy]]:
    """Current allergies per patient; a patient with none recorded has an empty list (which the
    page shows as "none recorded", never as "no allergies")."""
    found: dict[str, list[Allergy]] = {pid: [] for pid in patient_ids}
    if not patient_ids:
        return found
    for row in search_all(tx, ctx, "AllergyIntolerance", [("patient", _patients(patient_ids))]):
        if _status(row, "verificationStatus") in _NOT_CURRENT:
            continue
        if _status(row, "clinicalStatus") not in ("", "active"):
            continue
        code = row.get("code", {})
        codings = code.get("coding", [])
        text = code.get("text") or next((c.get("display") for c in codings), "") or "Unnamed"
        no_known = any(c.get("code") == NO_KNOWN_DRUG_ALLERGY for c in codings)
        reactions = [
            m.get("text") or next((c.get("display") for c in m.get("coding", ())), "")
            for r in row.get("reaction", ())
            for m in r.get("manifestation", ())
        ]
        if reactions and not no_known:
            text = f"{text} ({', '.join(r for r in reactions if r)})"
        allergy = Allergy(text, row.get("criticality") == "high", no_known)
        found.setdefault(_patient_id(row.get("patient")), []).append(allergy)
    return found


def _status(row: dict[str, Any], element: str) -> str:
    codings = row.get(element, {}).get("coding", [])
    return str(codings[0].get("code", "")) if codings else ""


def open_escalations(
    tx: Transaction, ctx: AppContext, patient_ids: Sequence[str]
) -> dict[str, list[Escalation]]:
    """Escalation Tasks nobody has completed or cancelled yet, newest first.

    Only escalations count (the Tasks `services/escalation.py` raises, coded in WardCare's task
    types as `...-escalation`): a care plan's interventions are open Tasks too, and so may be
    any other system's Tasks, but none of them is an escalation."""
    found: dict[str, list[Escalation]] = {pid: [] for pid in patient_ids}
    if not patient_ids:
        return found
    rows = search_all(
        tx,
        ctx,
        "Task",
        [
            ("patient", _patients(patient_ids)),
            ("status", ",".join(sorted(OPEN_STATUSES))),
            ("code", f"{codes.TASK_TYPE}|"),  # any code of the task-type system
        ],
    )
    for row in rows:
        if not is_escalation(row):
            continue
        authored = start_micros(row.get("authoredOn"))
        raised = from_micros(authored) if authored is not None else None
        escalation = Escalation(
            priority=row.get("priority", "routine"),
            title=row.get("code", {}).get("text", "Escalation"),
            description=row.get("description", ""),
            raised_at=raised,
            reference=f"Task/{row['id']}",
        )
        found.setdefault(_patient_id(row.get("for")), []).append(escalation)
    for tasks in found.values():
        tasks.sort(key=lambda t: t.raised_at.timestamp() if t.raised_at else 0, reverse=True)
    return found


def risk_flags(
    tx: Transaction, ctx: AppContext, patient_ids: Sequence[str]
) -> dict[str, list[RiskFlag]]:
    """The risk flags each patient's latest assessments raise: an assessment result that
    triggers the falls, pressure-ulcer or nutrition care plan (its template's carePlanTriggers).

    The band is scored again from the latest response's answers by the template version it
    answered (the same rules that stored its score), so one search of the ward's responses
    serves every template."""
    reasons: dict[str, dict[str, list[str]]] = {pid: {} for pid in patient_ids}
    flagging = [
        t
        for t in ctx.catalog.latest()
        if any(trigger.plan in FLAG_FOR_PLAN for trigger in t.template.care_plan_triggers)
    ]
    if not patient_ids or not flagging:
        return {pid: [] for pid in patient_ids}
    canonicals = [c for t in flagging for c in (t.template.canonical, t.template.url)]
    rows = search_all(
        tx,
        ctx,
        "QuestionnaireResponse",
        [
            ("patient", _patients(patient_ids)),
            ("questionnaire", ",".join(canonicals)),
            ("status", "completed,amended"),
            ("_sort", "-authored"),
        ],
    )
    seen: set[tuple[str, str]] = set()
    for response in rows:  # newest first: the first of each (patient, template) is the latest
        answered = ctx.catalog.by_canonical(str(response.get("questionnaire", "")))
        pid = _patient_id(response.get("subject"))
        if answered is None or (pid, answered.template.id) in seen or pid not in reasons:
            continue
        seen.add((pid, answered.template.id))
        given = answers_by_link_id(response)
        band = _band(answered, given)
        for trigger in answered.template.care_plan_triggers:
            if trigger.plan not in FLAG_FOR_PLAN or not (trigger.when_band or trigger.when_answer):
                continue
            if trigger.when_band and band not in trigger.when_band:
                continue
            if any(given.get(k) != v for k, v in trigger.when_answer.items()):
                continue
            reasons[pid].setdefault(FLAG_FOR_PLAN[trigger.plan], []).append(trigger.reason)
    order = list(FLAG_FOR_PLAN.values())
    return {
        pid: [
            RiskFlag(label, tuple(dict.fromkeys(found[label]))) for label in order if label in found
        ]
        for pid, found in reasons.items()
    }


def _band(loaded: LoadedTemplate, given: dict[str, object]) -> str | None:
    if loaded.template.engine != "sum":
        return None
    answers = {k: v for k, v in given.items() if isinstance(v, bool | int | float | str)}
    try:
        return loaded.score(answers).band_code
    except (AnswerError, TypeError, ValueError):
        return None  # a response the current rules cannot score raises no flag by itself


def answers_by_link_id(response: dict[str, Any]) -> dict[str, object]:
    """A QuestionnaireResponse's first answer per linkId, as plain values (codes for codings)."""
    found: dict[str, object] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            for answer in item.get("answer", ())[:1]:
                for key, value in answer.items():
                    if key == "valueCoding":
                        found[item["linkId"]] = value.get("code")
                    elif key == "valueQuantity":
                        found[item["linkId"]] = value.get("value")
                    elif key.startswith("value"):
                        found[item["linkId"]] = value
            walk(item.get("item", []))

    walk(response.get("item", []))
    return found
