"""The ward handover sheet: one read of the record, a presentation model, a PDF, kept.

`gather_ward` reads everything the sheet prints in ONE read transaction (one snapshot: the
census, the due list, scores, allergies, escalations, care plans and notes all as at the same
instant, which the sheet states as its data time); `ward_sheet_model` turns it into words;
`print_ward_sheet` renders the PDF outside any transaction and stores it as a
DocumentReference listing the versions it was built from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from wardcare.domain.actor import Actor
from wardcare.domain.local_time import printed_date, printed_moment, shift_for
from wardcare.handover import rendering
from wardcare.handover.model import BedBlock, DocumentHeader, WardSheet
from wardcare.services import audit, authorisation
from wardcare.services import handover_presentation as present
from wardcare.services.context import AppContext
from wardcare.services.due_list import BedDue, WardDue, ward_due_in
from wardcare.services.handover_care_plans import care_problems
from wardcare.services.handover_documents import WARD_SHEET, StoredDocument, store_document
from wardcare.services.handover_records import PatientRecords, read_records
from wardcare.services.ward_census import Bed, census_in

TREND = timedelta(hours=24)


@dataclass(frozen=True)
class WardSnapshot:
    due: WardDue  # carries the census
    records: PatientRecords
    read_at: datetime

    @property
    def sources(self) -> list[str]:
        """Every version the sheet shows: beds' patients and encounters, then the records."""
        cited = dict.fromkeys(
            f"{r['resourceType']}/{r['id']}/_history/{r['meta']['versionId']}"
            for bed in self.due.census.beds
            for r in (bed.patient, bed.encounter)
            if r and "meta" in r
        )
        cited.update(self.records.sources)
        return list(cited)


@dataclass(frozen=True)
class PrintedSheet:
    pdf: bytes
    stored: StoredDocument
    pages: int
    gather_seconds: float
    render_seconds: float


def gather_ward(ctx: AppContext, *, actor: Actor, ward_code: str) -> WardSnapshot:
    """One read transaction: everything the sheet prints, as at one instant."""
    read_at = ctx.clock.now()
    with ctx.uow.read() as tx:
        census = census_in(tx, ctx, ward_code=ward_code)
        due = ward_due_in(tx, ctx, census=census, now=read_at)
        patient_ids = [b.patient["id"] for b in census.beds if b.patient]
        patient_ids += [p["id"] for p, _e in census.unbedded]
        records = read_records(tx, ctx, patient_ids=patient_ids, obs_since=read_at - TREND)
    return WardSnapshot(due, records, read_at)


def bed_block(
    ctx: AppContext,
    bed_label: str,
    entry: BedDue | None,
    patient: dict[str, object] | None,
    encounter: dict[str, object] | None,
    records: PatientRecords,
    now: datetime,
) -> BedBlock:
    if patient is None:
        return BedBlock(bed_label, None)
    pid = str(patient["id"])
    items = entry.items if entry else []
    news2_item = next((i for i in items if i.template.template.engine == "news2"), None)
    return BedBlock(
        bed=bed_label,
        patient=present.identity(
            patient,
            encounter,
            records.conditions.get(pid, []),
            records.allergies.get(pid, []),
            now=now,
        ),
        news2=present.news2_summary(news2_item, records.news2.get(pid, []), now=now, trend=TREND),
        due=present.due_lines(items, now=now),
        flags=present.risk_flags(records.latest, pid, ctx.catalog),
        care=care_problems(
            records.care_plans.get(pid, []),
            items,
            now=now,
            plan_work=entry.care_plans if entry else (),
        ),
        escalations=present.escalation_lines(records.escalations.get(pid, [])),
        note=present.sbar_note(records.notes.get(pid)),
    )


def _label(bed: Bed) -> str:
    return bed.name or bed.code


def ward_sheet_model(
    ctx: AppContext, snapshot: WardSnapshot, *, actor: Actor, shift: str | None
) -> WardSheet:
    census, now = snapshot.due.census, snapshot.read_at
    ward = census.ward
    header = DocumentHeader(
        title="Ward handover sheet",
        ward=f"{ward.name} ({ward.code})" if ward.name != ward.code else ward.code,
        ward_code=ward.code,
        shift=shift or shift_for(now),
        printed_by=actor.display,
        data_time=printed_moment(now),
        printed_on=printed_date(now),
    )
    beds = tuple(
        bed_block(ctx, _label(e.bed), e, e.bed.patient, e.bed.encounter, snapshot.records, now)
        for e in snapshot.due.beds
    )
    unbedded = tuple(
        bed_block(ctx, "No bed", None, patient, encounter, snapshot.records, now)
        for patient, encounter in census.unbedded
    )
    return WardSheet(header, beds, unbedded)


def print_ward_sheet(
    ctx: AppContext, *, actor: Actor, ward_code: str, shift: str | None = None
) -> PrintedSheet:
    """Read, render and keep the sheet; the PDF and its DocumentReference come back."""
    authorisation.authorise_ward_print(actor)
    started = time.perf_counter()
    snapshot = gather_ward(ctx, actor=actor, ward_code=ward_code)
    sheet = ward_sheet_model(ctx, snapshot, actor=actor, shift=shift)
    gathered = time.perf_counter()
    pdf, pages = rendering.to_pdf(rendering.ward_sheet_html(sheet))
    rendered = time.perf_counter()
    stored = store_document(
        ctx,
        actor=actor,
        pdf=pdf,
        kind=WARD_SHEET,
        title=f"Handover sheet {sheet.header.ward}, {sheet.header.shift}",
        data_time=snapshot.read_at,
        sources=snapshot.sources,
        ward_location=f"Location/{snapshot.due.census.ward.id}",
    )
    audit.note_exported(f"DocumentReference/{stored.document.id}")  # a print is an export
    return PrintedSheet(pdf, stored, pages, gathered - started, rendered - gathered)
