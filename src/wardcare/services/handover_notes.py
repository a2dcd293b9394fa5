"""SBAR handover notes: a nurse records one per patient; the receiving nurse acknowledges it.

Each note is a FHIR R4 Communication (an occurrence of information passed from one person to
another, R4 Communication scope): `sender` is the nurse handing over, `sent` when, and four
`payload`s carry Situation, Background, Assessment and Recommendation (NHS Improvement SBAR),
each tagged with its section. Acknowledging adds `recipient` and `received` and completes it.
Every change is a new version with Provenance; a mistaken note is set to `entered-in-error`
(PUT /fhir/Communication/{id}) and no longer prints. An acknowledged note is not edited: the
receiving nurse acknowledged that text, so a change is a new note.
"""

from __future__ import annotations

from typing import Any

import orjson

from wardcare import errors
from wardcare.domain.actor import Actor
from wardcare.domain.smart_scopes import Interaction
from wardcare.errors import Category
from wardcare.fhir import resource_ids
from wardcare.fhir.dates import instant
from wardcare.fhir.versions import StoredVersion
from wardcare.services import authorisation, fhir_reads
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext
from wardcare.services.handover_records import NOTE_CATEGORY, SBAR_HANDOVER, search_all
from wardcare.storage.unit_of_work import Transaction

SECTION_EXTENSION = "http://wardcare.org/fhir/StructureDefinition/sbar-section"
SECTIONS = ("situation", "background", "assessment", "recommendation")
MAX_SECTION = 2000


def sections_of(note: dict[str, Any]) -> dict[str, str]:
    """The four SBAR texts of a note, by section (a missing section reads as empty)."""
    found = dict.fromkeys(SECTIONS, "")
    for payload in note.get("payload", ()):
        section = next(
            (
                e.get("valueCode")
                for e in payload.get("extension", ())
                if e.get("url") == SECTION_EXTENSION
            ),
            None,
        )
        if section in found and isinstance(payload.get("contentString"), str):
            found[section] = payload["contentString"]
    return found


def _checked_sections(body: Any) -> dict[str, str]:
    if not isinstance(body, dict):
        raise errors.invalid("A handover note is a JSON object with the four SBAR sections")
    unknown = sorted(set(body) - set(SECTIONS))
    if unknown:
        raise errors.invalid(
            f"Unknown field {unknown[0]!r}: a note has {', '.join(SECTIONS)}", unknown[0]
        )
    sections = {}
    for section in SECTIONS:
        text = body.get(section)
        if not isinstance(text, str) or not text.strip():
            raise errors.unprocessable(
                f"{section} is required: write what the next nurse needs", section
            )
        if len(text) > MAX_SECTION:
            raise errors.unprocessable(
                f"{section} is {len(text)} characters; keep each section under {MAX_SECTION}",
                section,
            )
        sections[section] = text.strip()
    return sections


def _person(actor: Actor) -> dict[str, str]:
    who = {"display": actor.display}
    if actor.reference:
        who["reference"] = actor.reference
    return who


def _current_encounter(tx: Transaction, ctx: AppContext, patient_id: str) -> str | None:
    found = search_all(
        tx, ctx, "Encounter", [("patient", f"Patient/{patient_id}"), ("status", "in-progress")]
    )
    return f"Encounter/{found[0]['id']}" if found else None


def record_note(ctx: AppContext, *, actor: Actor, patient_id: str, body: Any) -> StoredVersion:
    """Store a new SBAR note for the patient (a Communication, status in-progress)."""
    authorisation.authorise_patient_write(
        actor, [patient_id], [(Interaction.CREATE, "Communication")]
    )
    sections = _checked_sections(body)
    with ctx.uow.write() as tx:
        fhir_reads.read_in(tx, resource_type="Patient", resource_id=patient_id)
        note: dict[str, Any] = {
            "resourceType": "Communication",
            "status": "in-progress",
            "category": [
                {
                    "coding": [
                        {
                            "system": NOTE_CATEGORY,
                            "code": SBAR_HANDOVER,
                            "display": "SBAR handover note",
                        }
                    ]
                }
            ],
            "subject": {"reference": f"Patient/{patient_id}"},
            "sent": instant(ctx.clock.now()),
            "sender": _person(actor),
            "payload": [
                {
                    "extension": [{"url": SECTION_EXTENSION, "valueCode": section}],
                    "contentString": sections[section],
                }
                for section in SECTIONS
            ],
        }
        encounter = _current_encounter(tx, ctx, patient_id)
        if encounter:
            note["encounter"] = {"reference": encounter}
        ctx.validator.validate(note, expected_type="Communication")
        return fhir.create_in(
            tx, ctx, actor=actor, resource=note, resource_id=resource_ids.new_id()
        ).stored


def _note(tx: Transaction, patient_id: str, note_id: str) -> dict[str, Any]:
    stored = fhir_reads.read_in(tx, resource_type="Communication", resource_id=note_id)
    note: dict[str, Any] = orjson.loads(stored.content or b"{}")
    categories = {c.get("code") for cat in note.get("category", ()) for c in cat.get("coding", ())}
    if (
        note.get("subject", {}).get("reference") != f"Patient/{patient_id}"
        or SBAR_HANDOVER not in categories
    ):
        raise errors.not_found(f"Patient/{patient_id} has no handover note {note_id}")
    if note.get("status") == "entered-in-error":
        raise errors.error(Category.CONFLICT, f"Handover note {note_id} was entered in error")
    return note


def revise_note(
    ctx: AppContext, *, actor: Actor, patient_id: str, note_id: str, body: Any, if_match: str | None
) -> StoredVersion:
    """A new version of a note not yet acknowledged (If-Match guards a lost update)."""
    authorisation.authorise_patient_write(
        actor, [patient_id], [(Interaction.UPDATE, "Communication")]
    )
    sections = _checked_sections(body)
    expected = fhir.parse_etag(if_match) if if_match else None
    with ctx.uow.write() as tx:
        note = _note(tx, patient_id, note_id)
        if note.get("status") == "completed":
            raise errors.error(
                Category.CONFLICT,
                f"Handover note {note_id} was acknowledged as written: record a new note instead",
            )
        note["payload"] = [
            {
                "extension": [{"url": SECTION_EXTENSION, "valueCode": s}],
                "contentString": sections[s],
            }
            for s in SECTIONS
        ]
        note.pop("meta", None)
        ctx.validator.validate(note, expected_type="Communication")
        return fhir.update_in(tx, ctx, actor=actor, resource=note, expected_version=expected).stored


def acknowledge_note(
    ctx: AppContext, *, actor: Actor, patient_id: str, note_id: str, if_match: str | None = None
) -> StoredVersion:
    """The receiving nurse takes the handover: who (recipient) and when (received)."""
    authorisation.authorise_patient_write(
        actor, [patient_id], [(Interaction.UPDATE, "Communication")]
    )
    expected = fhir.parse_etag(if_match) if if_match else None
    with ctx.uow.write() as tx:
        note = _note(tx, patient_id, note_id)
        if note.get("status") == "completed":
            who = ", ".join(r.get("display", "") for r in note.get("recipient", ()))
            raise errors.error(
                Category.CONFLICT,
                f"Handover note {note_id} was already acknowledged by {who} "
                f"at {note.get('received')}",
            )
        note.update(
            status="completed", received=instant(ctx.clock.now()), recipient=[_person(actor)]
        )
        note.pop("meta", None)
        ctx.validator.validate(note, expected_type="Communication")
        return fhir.update_in(tx, ctx, actor=actor, resource=note, expected_version=expected).stored
