"""Replay the ward's care record (`care_record.py`) through the services, as the nurses would.

For each patient, in time order, the ward nurse on shift (a USER actor for the ward's demo
Practitioner, scopes `user/*.cruds`) records the admission assessments
(`record_assessment`, so scores, extracted Observations, escalations and care-plan proposals
are WardCare's own), adopts some of the care plans they propose (`PlanDefinition/$apply`, then
activates the plan), and documents interventions at care rounds (`$record-occurrence`: done, or
not done with a reason; some left undocumented), stopping an hour or a few hours before now so
the latest work is due or overdue. The clock each service sees is set to the moment the nurse
acted, so due times, Provenance and `meta.lastUpdated` tell the ward's story in order. Last, the
nurse in charge completes the escalations the team has answered (with the real clock: the Task
says when the response happened), leaving open the newest NEWS2 escalation of one or two
patients per ward whose NEWS2 is high now, whose nurse adopts the deteriorating-patient plan
NEWS2 proposed.

Every call is audited as a request would be (an AuditEvent per service call, recorded at the real
time of loading), and every write has its Provenance from the service that made it.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from wardcare import errors
from wardcare.catalog.catalog import LoadedTemplate
from wardcare.demo.care_record import (
    DEFAULT_SEED,
    NOT_DONE_REASONS,
    Answer,
    PatientCare,
    PlannedAssessment,
    plan_care_record,
)
from wardcare.demo.synthetic_hospital import SyntheticHospital
from wardcare.domain.actor import Actor, ActorKind
from wardcare.domain.clock import FixedClock
from wardcare.domain.schedule import DueState
from wardcare.fhir import codes
from wardcare.fhir.care_planning import plan_template_id
from wardcare.fhir.dates import from_micros, instant, start_micros
from wardcare.fhir.outcomes import status_for
from wardcare.services import audit
from wardcare.services import fhir_interactions as fhir
from wardcare.services.care_plan_apply import apply_plan
from wardcare.services.care_plan_changes import activate_plan
from wardcare.services.care_plan_proposals import open_plans
from wardcare.services.care_plan_work import active_plans
from wardcare.services.context import AppContext
from wardcare.services.escalation import OPEN_STATUSES
from wardcare.services.intervention_documentation import record_occurrence
from wardcare.services.patient_summaries import latest_news2, search_all
from wardcare.services.record_assessment import record_assessment

NURSE_SCOPES = frozenset({"user/*.cruds"})
# At most this many patients per ward keep an open escalation (those with the highest NEWS2).
OPEN_ESCALATIONS_PER_WARD = 2
HIGH_NEWS2 = 5

T = TypeVar("T")


@dataclass
class CareRecordTotals:
    """What the replay stored, for the loader's summary and the tests."""

    assessments: int = 0
    plans_adopted: int = 0
    documented: int = 0
    not_done: int = 0
    escalations_completed: int = 0
    escalations_open: int = 0


class _Audit:
    """One AuditEvent per service call, as the HTTP middleware records a request."""

    def __init__(self, ctx: AppContext) -> None:
        self.trail = audit.AuditTrail(ctx)

    def call(self, actor: Actor, subtype: str, query: str, work: Callable[[], T]) -> T:
        note, token = audit.begin_note()
        status = 500
        try:
            result = work()
            status = 201 if subtype == "create" else 200
            return result
        except errors.WardCareError as exc:
            status = status_for(exc)
            raise
        finally:
            audit.end_note(token)
            # Named as the loader's, with the request a nurse's client would have made.
            what = f"wardcare demo (care record): {query}"
            self.trail.record(audit.Access(subtype, status, actor, query=what), note)


def nurse_actor(practitioner: dict[str, Any]) -> Actor:
    name = practitioner["name"][0]
    return Actor(
        kind=ActorKind.USER,
        display=f"{' '.join(name.get('given', []))} {name['family']}".strip(),
        reference=f"Practitioner/{practitioner['id']}",
        scopes=NURSE_SCOPES,
    )


def ward_nurses(hospital: SyntheticHospital, care: list[PatientCare]) -> dict[str, list[Actor]]:
    """Each ward's nurses: the Practitioners who took its patients' observations."""
    by_ref = {f"Practitioner/{p['id']}": p for p in hospital.practitioners}
    refs: dict[str, set[str]] = {}
    for patient in care:
        performers = refs.setdefault(patient.ward, set())
        for obs in patient.admission.observations:
            performers.update(p["reference"] for p in obs.get("performer", ()))
    return {
        ward: [nurse_actor(by_ref[r]) for r in sorted(found) if r in by_ref]
        for ward, found in refs.items()
    }


_SHIFT_EPOCH = datetime(2000, 1, 1, 7, 30, tzinfo=UTC)


def _on_shift(nurses: list[Actor], offset: int, when: datetime) -> Actor:
    shift = int((when - _SHIFT_EPOCH) // timedelta(hours=12))
    return nurses[(shift + offset) % len(nurses)]


def questionnaire_response(
    loaded: LoadedTemplate, care: PatientCare, planned: PlannedAssessment, author: Actor
) -> dict[str, Any]:
    """A completed QuestionnaireResponse to a template, answered as a nurse's form posts it."""
    items = {i.link_id: i for i in loaded.template.items}

    def answer(link_id: str, value: Answer) -> dict[str, Any]:
        item = items[link_id]
        if item.type == "boolean":
            return {"valueBoolean": value}
        if item.type == "integer":
            return {"valueInteger": value}
        if item.type == "decimal":
            return {"valueDecimal": value}
        if item.type == "choice":
            option = next(o for o in item.answers if o.code == value)
            system = option.system or loaded.template.code_system
            return {"valueCoding": {"system": system, "code": value, "display": option.display}}
        return {"valueString": value}

    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": loaded.template.canonical,
        "status": "completed",
        "subject": {"reference": care.patient_ref},
        "encounter": {"reference": care.encounter_ref},
        "authored": instant(planned.at),
        "author": {"reference": author.reference, "display": author.display},
        "item": [
            {"linkId": link_id, "text": items[link_id].text, "answer": [answer(link_id, value)]}
            for link_id, value in planned.answers.items()
        ],
    }
    return response


class _PatientReplay:
    def __init__(
        self,
        ctx: AppContext,
        trail: _Audit,
        care: PatientCare,
        nurses: list[Actor],
        offset: int,
        totals: CareRecordTotals,
    ) -> None:
        self.clock = FixedClock(care.rounds_from)
        self.ctx = replace(ctx, clock=self.clock)
        self.trail = trail
        self.care = care
        self.nurses = nurses
        self.offset = offset
        self.totals = totals
        self.rng = random.Random(care.seed)
        self.events: list[tuple[datetime, int, int, Any]] = []
        self.order = itertools.count()
        self.queued: set[str] = set()

    def nurse(self, when: datetime) -> Actor:
        return _on_shift(self.nurses, self.offset, when)

    def push(self, when: datetime, kind: int, payload: Any) -> None:
        heapq.heappush(self.events, (when, kind, next(self.order), payload))

    def run(self, now: datetime) -> None:
        for planned in self.care.assessments:
            self.push(planned.at, 0, planned)
        when = self.care.rounds_from
        while when <= self.care.rounds_until:
            self.push(when, 2, None)
            when += self.care.round_every
        while self.events:
            at, kind, _n, payload = heapq.heappop(self.events)
            if at >= now:
                continue
            self.clock.set(at)
            if kind == 0:
                self.assess(payload, now)
            elif kind == 1:
                self.adopt(payload)
            else:
                self.round()

    def assess(self, planned: PlannedAssessment, now: datetime) -> None:
        loaded = self.ctx.catalog.get(planned.template)
        if loaded is None:
            raise LookupError(f"no assessment template {planned.template!r}")
        nurse = self.nurse(planned.at)
        response = questionnaire_response(loaded, self.care, planned, nurse)
        self.trail.call(
            nurse,
            "create",
            "POST /fhir/QuestionnaireResponse",
            lambda: record_assessment(self.ctx, actor=nurse, response=response),
        )
        self.totals.assessments += 1
        with self.ctx.uow.read() as tx:
            proposals = [
                plan_template_id(plan)
                for _stored, plan in open_plans(tx, self.ctx, self.care.patient_ref)
                if plan.get("intent") == "proposal"
            ]
        for template in proposals:
            hours = self.care.adopt_after_hours.get(template or "")
            if template is None or hours is None or template in self.queued:
                continue
            self.queued.add(template)
            self.push(planned.at + timedelta(hours=hours), 1, template)

    def adopt(self, template: str) -> None:
        nurse = self.nurse(self.clock.now())
        try:
            applied = self.trail.call(
                nurse,
                "operation",
                f"POST /fhir/PlanDefinition/{template}/$apply",
                lambda: apply_plan(
                    self.ctx,
                    actor=nurse,
                    plan_definition_id=template,
                    subject=self.care.patient_ref,
                    encounter=self.care.encounter_ref,
                ),
            )
        except errors.WardCareError as exc:
            if exc.category != errors.Category.CONFLICT:
                raise
            return  # the patient already has this plan open
        self.clock.set(self.clock.now() + timedelta(minutes=self.rng.randint(5, 25)))
        plan = applied.care_plan
        self.trail.call(
            nurse,
            "update",
            f"PUT /fhir/CarePlan/{plan.id}",
            lambda: activate_plan(
                self.ctx, actor=nurse, care_plan_id=plan.id, version=plan.version_id
            ),
        )
        self.totals.plans_adopted += 1

    def round(self) -> None:
        now = self.clock.now()
        nurse = self.nurse(now)
        with self.ctx.uow.read() as tx:
            plans = active_plans(tx, self.ctx, [self.care.patient_ref], now)
        for plan in plans.get(self.care.patient_ref, []):
            for work in plan.interventions:
                due = [o for o in work.occurrences if o.state != DueState.NOT_DUE]
                for occurrence in due:
                    roll = self.rng.random()
                    if roll < self.care.missed_share:
                        continue
                    not_done = roll < self.care.missed_share + self.care.not_done_share
                    task_id = str(work.task["id"])
                    self.trail.call(
                        nurse,
                        "operation",
                        f"POST /fhir/Task/{task_id}/$record-occurrence",
                        partial(
                            record_occurrence,
                            self.ctx,
                            actor=nurse,
                            task_id=task_id,
                            outcome="not-done" if not_done else "done",
                            reason=self.rng.choice(NOT_DONE_REASONS) if not_done else None,
                            performed=now,
                            occurrence=occurrence.slot,
                        ),
                    )
                    self.totals.documented += 1
                    self.totals.not_done += int(not_done)


def load_care_record(
    ctx: AppContext,
    hospital: SyntheticHospital,
    *,
    now: datetime,
    seed: int = DEFAULT_SEED,
    progress: Callable[[int], None] = lambda _n: None,
) -> CareRecordTotals:
    """Replay every patient's care record, then answer the escalations; ``now`` is the time the
    hospital was built for (nothing is dated after it)."""
    care = plan_care_record(hospital, now=now, seed=seed)
    nurses = ward_nurses(hospital, care)
    totals = CareRecordTotals()
    trail = _Audit(ctx)
    try:
        for index, patient in enumerate(care):
            _PatientReplay(ctx, trail, patient, nurses[patient.ward], index, totals).run(now)
            progress(1)
        _answer_escalations(ctx, trail, care, nurses, random.Random(seed), totals)
    finally:
        trail.trail.close()
    return totals


def _answer_escalations(
    ctx: AppContext,
    trail: _Audit,
    care: list[PatientCare],
    nurses: dict[str, list[Actor]],
    rng: random.Random,
    totals: CareRecordTotals,
) -> None:
    """The nurse in charge completes every escalation but the newest NEWS2 escalation of the (at
    most) `OPEN_ESCALATIONS_PER_WARD` patients per ward whose latest NEWS2 is highest (5 or
    more)."""
    ids = [p.admission.patient["id"] for p in care]
    with ctx.uow.read() as tx:
        news2 = latest_news2(tx, ids, count=1)
        tasks = search_all(
            tx,
            ctx,
            "Task",
            [
                ("patient", ",".join(f"Patient/{i}" for i in ids)),
                ("status", ",".join(sorted(OPEN_STATUSES))),
                ("code", f"{codes.TASK_TYPE}|"),
            ],
        )
    keep: set[str] = set()
    for ward in sorted({p.ward for p in care}):
        scored = [
            (news2[p.admission.patient["id"]][-1].total, p.patient_ref)
            for p in care
            if p.ward == ward and news2.get(p.admission.patient["id"])
        ]
        high = sorted((s for s in scored if s[0] >= HIGH_NEWS2), reverse=True)
        for _total, patient_ref in high[:OPEN_ESCALATIONS_PER_WARD]:
            newest = max(
                (t for t in tasks if t["for"]["reference"] == patient_ref and _is_news2(t)),
                key=lambda t: str(t.get("authoredOn", "")),
                default=None,
            )
            if newest is not None:
                keep.add(newest["id"])
    ward_of = {p.patient_ref: p.ward for p in care}
    for task in sorted(tasks, key=lambda t: str(t["id"])):
        if task["id"] in keep:
            totals.escalations_open += 1
            continue
        in_charge = nurses[ward_of[task["for"]["reference"]]][0]
        raised = from_micros(start_micros(task.get("authoredOn")) or fhir.now_micros(ctx))
        answered = min(raised + timedelta(minutes=rng.randint(10, 50)), ctx.clock.now())
        completed = {
            **{k: v for k, v in task.items() if k != "meta"},
            "status": "completed",
            "executionPeriod": {"start": instant(raised), "end": instant(answered)},
            "owner": {"reference": in_charge.reference, "display": in_charge.display},
            "lastModified": instant(ctx.clock.now()),
            "note": [
                *task.get("note", []),
                {
                    "authorReference": {"reference": in_charge.reference},
                    "time": instant(answered),
                    "text": rng.choice(
                        (
                            "Reviewed by the medical team; plan documented in the notes.",
                            "Nurse in charge informed; doctor reviewed, observations increased.",
                            "Escalated to the outreach team, who reviewed the patient.",
                            "Reviewed; plan agreed with the patient and documented.",
                        )
                    ),
                },
            ],
        }
        trail.call(
            in_charge,
            "update",
            f"PUT /fhir/Task/{task['id']}",
            partial(
                fhir.update,
                ctx,
                actor=in_charge,
                resource_type="Task",
                resource_id=completed["id"],
                resource=completed,
                if_match=f'W/"{task["meta"]["versionId"]}"',
            ),
        )
        totals.escalations_completed += 1
    # The patients still escalated: their nurse adopts the deteriorating-patient plan NEWS2
    # proposed, now (escalate, sepsis screen, hourly fluid balance...).
    encounter_of = {p.patient_ref: p.encounter_ref for p in care}
    for task in (t for t in tasks if t["id"] in keep):
        patient_ref = task["for"]["reference"]
        nurse = _on_shift(nurses[ward_of[patient_ref]], 0, ctx.clock.now())
        try:
            applied = trail.call(
                nurse,
                "operation",
                "POST /fhir/PlanDefinition/deteriorating-patient/$apply",
                partial(
                    apply_plan,
                    ctx,
                    actor=nurse,
                    plan_definition_id="deteriorating-patient",
                    subject=patient_ref,
                    encounter=encounter_of[patient_ref],
                ),
            )
        except errors.WardCareError as exc:
            if exc.category != errors.Category.CONFLICT:
                raise
            continue
        plan = applied.care_plan
        trail.call(
            nurse,
            "update",
            f"PUT /fhir/CarePlan/{plan.id}",
            partial(activate_plan, ctx, actor=nurse, care_plan_id=plan.id, version=plan.version_id),
        )
        totals.plans_adopted += 1


def _is_news2(task: dict[str, Any]) -> bool:
    return any(
        c.get("system") == codes.TASK_TYPE and c.get("code") == codes.NEWS2_ESCALATION
        for c in task.get("code", {}).get("coding", ())
    )
