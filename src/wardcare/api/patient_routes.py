"""Patient views as JSON for the UI and handover: /patients/{id}/..."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from wardcare import errors
from wardcare.api.dependencies import ActorDep, ContextDep
from wardcare.api.fhir_responses import fhir_response
from wardcare.api.worker_threads import run_in_worker
from wardcare.domain.schedule import LONDON
from wardcare.services.fluid_balance_chart import patient_fluid_balance

router = APIRouter(prefix="/patients", tags=["Patients"])

# A FHIR id (R4 2.24.0.1).
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@router.get("/{patient_id}/fluid-balance", summary="Fluid in and out, with the running balance")
async def fluid_balance(
    patient_id: str,
    ctx: ContextDep,
    actor: ActorDep,
    hours: Annotated[int, Query(ge=1, le=336)] = 24,
) -> Response:
    if not _FHIR_ID.fullmatch(patient_id):
        # As the other patient views answer an id that cannot exist; a NUL in it was a
        # PostgreSQL error (500) in the look-up.
        raise errors.not_found(f"Patient/{patient_id!r} is not known")
    balance, since, until = await run_in_worker(
        lambda: patient_fluid_balance(ctx, actor=actor, patient_id=patient_id, hours=hours)
    )
    return fhir_response(
        {
            "patient": f"Patient/{patient_id}",
            "from": since.isoformat(),
            "to": until.isoformat(),
            "intakeMl": balance.intake_ml,
            "outputMl": balance.output_ml,
            "balanceMl": balance.balance_ml,
            "entries": [
                {
                    "at": row.entry.at.isoformat(),
                    "local": row.entry.at.astimezone(LONDON).isoformat(),
                    "direction": row.entry.direction.value,
                    "kind": row.entry.kind,
                    "volumeMl": row.entry.volume_ml,
                    "runningBalanceMl": row.balance_ml,
                }
                for row in balance.entries
            ],
        }
    )
