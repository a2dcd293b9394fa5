"""Ward views as JSON for the ward board, handover and integrations: /wards/{ward}/..."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from wardcare.api.care_plan_routes import assessment_entry, care_plan_entries
from wardcare.api.dependencies import ActorDep, ContextDep
from wardcare.api.fhir_responses import fhir_response
from wardcare.api.worker_threads import run_in_worker
from wardcare.domain import nhs_number
from wardcare.domain.schedule import LONDON
from wardcare.domain.ward_stay import age_from_birth_date
from wardcare.services import due_list
from wardcare.services.ward_census import Bed, list_wards, ward_census

router = APIRouter(prefix="/wards", tags=["Wards"])


@router.get("", summary="The wards of this hospital")
async def wards(ctx: ContextDep, actor: ActorDep) -> Response:
    found = await run_in_worker(lambda: list_wards(ctx, actor=actor))
    return fhir_response(
        {"wards": [{"code": w.code, "name": w.name, "location": f"Location/{w.id}"} for w in found]}
    )


@router.get(
    "/{ward}/due", summary="Per bed: assessments and care-plan interventions due and overdue"
)
async def ward_due(ward: str, ctx: ContextDep, actor: ActorDep) -> Response:
    found = await run_in_worker(lambda: due_list.ward_due(ctx, actor=actor, ward_code=ward))
    today = found.generated_at.date()
    return fhir_response(
        {
            "ward": {"code": found.census.ward.code, "name": found.census.ward.name},
            "generatedAt": _times(found.generated_at),
            "beds": [
                {
                    **_bed(entry.bed, today),
                    "due": [assessment_entry(item) for item in entry.items]
                    + care_plan_entries(entry.care_plans),
                }
                for entry in found.beds
            ],
        }
    )


def _times(moment: datetime | None) -> dict[str, str] | None:
    if moment is None:
        return None
    return {
        "utc": moment.astimezone(UTC).isoformat(),
        "local": moment.astimezone(LONDON).isoformat(),
    }


@router.get("/{ward}", summary="A ward's beds in bed order, with who is in each")
async def ward(ward: str, ctx: ContextDep, actor: ActorDep) -> Response:
    census = await run_in_worker(lambda: ward_census(ctx, actor=actor, ward_code=ward))
    today = ctx.clock.now().date()
    return fhir_response(
        {
            "ward": {
                "code": census.ward.code,
                "name": census.ward.name,
                "location": f"Location/{census.ward.id}",
            },
            "beds": [_bed(b, today) for b in census.beds],
            "occupied": sum(1 for b in census.beds if b.patient),
            "unbedded": [_patient(p, e, today) for p, e in census.unbedded],
        }
    )


def _bed(bed: Bed, today: date) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": bed.code,
        "name": bed.name,
        "room": bed.room,
        "location": f"Location/{bed.id}",
    }
    if bed.patient and bed.encounter:
        body["patient"] = _patient(bed.patient, bed.encounter, today)
    else:
        body["patient"] = None
    return body


def _patient(patient: dict[str, Any], encounter: dict[str, Any], today: date) -> dict[str, Any]:
    name = (patient.get("name") or [{}])[0]
    nhs = next(
        (
            i.get("value")
            for i in patient.get("identifier", ())
            if i.get("system") == nhs_number.SYSTEM
        ),
        None,
    )
    birth = patient.get("birthDate")
    age = age_from_birth_date(birth, today)
    return {
        "reference": f"Patient/{patient['id']}",
        "name": " ".join([*name.get("given", []), name.get("family", "")]).strip(),
        "nhsNumber": nhs_number.formatted(nhs) if nhs else None,
        "birthDate": birth,
        "age": age,
        "gender": patient.get("gender"),
        "encounter": f"Encounter/{encounter['id']}",
        "admitted": encounter.get("period", {}).get("start"),
    }
