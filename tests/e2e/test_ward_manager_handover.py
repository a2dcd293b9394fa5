"""The ward manager's journey: a ward full of patients, `wardcare handover` at shift change, and
the printed sheet kept in the record, exactly as printed."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import orjson
from typer.testing import CliRunner

from tests.handover.pdf_pages import page_count, page_texts, render_pngs, squash
from wardcare.cli import app
from wardcare.demo.loader import load_hospital
from wardcare.demo.synthetic_hospital import (
    HospitalSpec,
    WardSpec,
    beds_in_bed_order,
    build_hospital,
)
from wardcare.domain import nhs_number
from wardcare.domain.actor import WARDCARE_SYSTEM
from wardcare.services import fhir_reads
from wardcare.services.context import AppContext

SPEC = HospitalSpec(
    wards=(WardSpec("WARD7", "Ward 7 (Acute Medicine)", bays=1, beds_per_bay=4, side_rooms=1),),
    occupancy=0.9,
    days_of_obs=1,
)


def test_ward_manager_prints_the_sheet_and_it_is_kept(
    context: AppContext, database_url: str, tmp_path: Path
) -> None:
    hospital = load_hospital(context, build_hospital(SPEC, now=datetime.now(UTC)))
    output = tmp_path / "ward7.pdf"
    result = CliRunner().invoke(
        app,
        [
            "handover",
            "--ward",
            "WARD7",
            "-o",
            str(output),
            "--printed-by",
            "Sister Grace Ward (ward manager)",
            "--database",
            database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    pdf = output.read_bytes()
    pages = page_texts(pdf, tmp_path)
    assert len(pages) == page_count(pdf, tmp_path) == len(render_pngs(pdf, tmp_path))
    text = squash(" ".join(pages))
    assert "Printed by: Sister Grace Ward (ward manager)" in text

    # Every bed in bed order; each admitted patient's NHS number printed 3-3-4 in their bed.
    by_bed = {a.bed["id"]: a for a in hospital.admitted}
    positions = []
    for bed in beds_in_bed_order(hospital, "WARD7"):
        admitted = by_bed.get(bed["id"])
        if admitted is None:
            continue
        family = admitted.patient["name"][0]["family"].upper()
        number = nhs_number.formatted(admitted.patient["identifier"][0]["value"])
        assert number in text
        positions.append(text.index(f"{family},"))
    assert positions == sorted(positions)
    assert len(positions) == len(hospital.admitted)
    empty = sum(1 for b in beds_in_bed_order(hospital, "WARD7") if b["id"] not in by_bed)
    assert text.count("Empty bed") == empty
    assert f"Occupied: {len(hospital.admitted)} of 5 beds" in text
    # Every deteriorating patient shows a NEWS2 band in words; none shows as unscored zero.
    assert text.count(" HIGH") + text.count(" MEDIUM") >= sum(
        1 for a in hospital.admitted if a.deteriorating
    )

    # The sheet is kept: the same bytes, with every patient's version it was built from.
    found = fhir_reads.search(
        context,
        actor=WARDCARE_SYSTEM,
        resource_type="DocumentReference",
        params=[("type", "http://wardcare.org/fhir/CodeSystem/document-type|ward-handover-sheet")],
    )
    assert len(found.page.matches) == 1
    document = orjson.loads(found.page.matches[0].content or b"{}")
    assert document["author"] == [{"display": "Sister Grace Ward (ward manager)"}]
    related = {r["reference"] for r in document["context"]["related"]}
    for admitted in hospital.admitted:
        assert f"Patient/{admitted.patient['id']}/_history/1" in related
        assert f"Encounter/{admitted.encounter['id']}/_history/1" in related
    binary_id = document["content"][0]["attachment"]["url"].split("/")[1]
    binary = fhir_reads.read(
        context, actor=WARDCARE_SYSTEM, resource_type="Binary", resource_id=binary_id
    )
    assert base64.b64decode(orjson.loads(binary.content or b"{}")["data"]) == pdf
    assert f"DocumentReference/{document['id']}" in result.output

    # The print is audited as an export (DICOM 110106), naming what was kept and who printed it.
    officer = dataclasses.replace(WARDCARE_SYSTEM, scopes=frozenset({"system/AuditEvent.rs"}))
    audits = fhir_reads.search(
        context, actor=officer, resource_type="AuditEvent", params=[]
    ).page.matches
    (event,) = [orjson.loads(a.content or b"{}") for a in audits]
    assert event["type"]["code"] == "110106"
    assert event["agent"][0]["who"]["display"] == "Sister Grace Ward (ward manager)"
    assert {"reference": f"DocumentReference/{document['id']}"} in [
        e.get("what") for e in event["entity"]
    ]


def test_cli_says_when_the_ward_is_unknown(
    context: AppContext, database_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "none.pdf"
    result = CliRunner().invoke(
        app, ["handover", "--ward", "NOWARD", "-o", str(output), "--database", database_url]
    )
    assert result.exit_code == 1
    assert "There is no ward with code 'NOWARD'" in result.output
    assert not output.exists()
