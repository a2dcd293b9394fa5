"""A patient's fluid balance chart: the volumes charted in the period, with the running balance.

Which items count as intake or output is data: any template item marked `balance: intake` or
`balance: output` (care_templates/assessments/fluid-balance.yaml), whose answers are stored as
Observations in mL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.fluid_balance import Direction, FluidBalance, FluidEntry, fluid_balance
from wardcare.fhir.dates import from_micros, instant
from wardcare.fhir.search_query import parse_search
from wardcare.fhir.vital_signs import effective_range
from wardcare.services import authorisation
from wardcare.services.context import AppContext

_MAX_ENTRIES = 1000


def patient_fluid_balance(
    ctx: AppContext, *, actor: Actor, patient_id: str, hours: int = 24
) -> tuple[FluidBalance, datetime, datetime]:
    authorisation.authorise_patient(actor, patient_id, ("Observation",))
    if not 1 <= hours <= 24 * 14:
        raise errors.invalid("hours must be between 1 and 336", "hours")
    directions: dict[tuple[str, str], tuple[Direction, str]] = {}
    for loaded in ctx.catalog.latest():
        for item in loaded.template.items:
            if item.balance and item.code:
                directions[(item.code.system, item.code.code)] = (
                    Direction(item.balance),
                    item.link_id,
                )
    until = ctx.clock.now()
    since = until - timedelta(hours=hours)
    entries: list[FluidEntry] = []
    with ctx.uow.read() as tx:
        patient = tx.resources.current("Patient", patient_id)
        if patient is None or patient.deleted:
            raise errors.not_found(f"Patient/{patient_id} is not known")
        if directions:
            query = parse_search(
                "Observation",
                [
                    ("patient", patient_id),
                    ("code", ",".join(f"{s}|{c}" for s, c in directions)),
                    ("date", f"ge{instant(since)}"),
                    ("date", f"le{instant(until)}"),
                    ("status", "final,amended,corrected"),
                ],
                ctx.search_parameters,
                default_count=_MAX_ENTRIES,
                max_count=_MAX_ENTRIES,
            )
            query.total = "none"
            for stored in tx.resources.search(query).matches:
                observation = orjson.loads(stored.content or b"{}")
                when = effective_range(observation)
                volume = observation.get("valueQuantity", {}).get("value")
                coding = next(
                    (
                        (c.get("system"), c.get("code"))
                        for c in observation["code"]["coding"]
                        if (c.get("system"), c.get("code")) in directions
                    ),
                    None,
                )
                if when is None or coding is None or not isinstance(volume, int | float):
                    continue
                direction, kind = directions[coding]
                entries.append(FluidEntry(from_micros(when[0]), direction, float(volume), kind))
    return fluid_balance(entries), since, until
