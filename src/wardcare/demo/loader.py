"""Store the synthetic hospital through the same services every other write uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from wardcare.demo.care_record import DEFAULT_SEED
from wardcare.demo.care_rounds import CareRecordTotals, load_care_record
from wardcare.demo.synthetic_hospital import (
    DEFAULT_SPEC,
    HospitalSpec,
    SyntheticHospital,
    build_hospital,
)
from wardcare.domain.actor import Actor, ActorKind
from wardcare.fhir.search_query import parse_search
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext

DEMO_LOADER = Actor(kind=ActorKind.SYSTEM, display="WardCare demo data loader")


def hospital_is_loaded(ctx: AppContext, ward_code: str = "WARD7") -> bool:
    query = parse_search(
        "Location",
        [("identifier", ward_code)],
        ctx.search_parameters,
        default_count=1,
        max_count=1,
    )
    with ctx.uow.read() as tx:
        return bool(tx.resources.search(query).matches)


def load_hospital(
    ctx: AppContext,
    hospital: SyntheticHospital,
    *,
    progress: Callable[[int], None] = lambda _n: None,
) -> SyntheticHospital:
    """Validate and store every resource; one transaction per patient, so a failure is whole."""
    groups = [[*hospital.locations(), *hospital.practitioners]]
    groups += [admitted.resources() for admitted in hospital.admitted]
    for group in groups:
        for resource in group:
            ctx.validator.validate(resource)
        with ctx.uow.write() as tx:
            for resource in group:
                # Into an empty record: create with the builder's ids (no read before write).
                fhir.create_in(
                    tx,
                    ctx,
                    actor=DEMO_LOADER,
                    resource=resource,
                    resource_id=resource["id"],
                    client_id=True,
                )
        progress(len(group))
    return hospital


@dataclass(frozen=True)
class DemoLoad:
    hospital: SyntheticHospital
    care_record: CareRecordTotals | None


def load_demo(
    ctx: AppContext,
    spec: HospitalSpec = DEFAULT_SPEC,
    *,
    now: datetime,
    care_record: bool = True,
    care_seed: int = DEFAULT_SEED,
    progress: Callable[[str, int, int], None] = lambda _what, _total, _n: None,
) -> DemoLoad | None:
    """The demo into an empty record: the hospital, then (unless ``care_record`` is False) the
    ward's care record replayed through the services. Nothing happens, and None is returned,
    when the hospital is already loaded: loading twice never duplicates."""
    if hospital_is_loaded(ctx, spec.wards[0].code):
        return None
    hospital = build_hospital(spec, now=now)
    total = hospital.resource_count()
    load_hospital(ctx, hospital, progress=lambda n: progress("hospital", total, n))
    totals = None
    if care_record:
        count = len(hospital.admitted)
        totals = load_care_record(
            ctx, hospital, now=now, seed=care_seed, progress=lambda n: progress("care", count, n)
        )
    return DemoLoad(hospital, totals)
