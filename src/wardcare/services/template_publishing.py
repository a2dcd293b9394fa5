"""Publish every assessment template as a Questionnaire in the record, on start.

The latest version of a template is `Questionnaire/{id}`; earlier versions stay readable as
`Questionnaire/{id}-v{major}-{minor}-{patch}`, so responses to them still resolve. A template
that has not changed since it was last published writes nothing.
"""

from __future__ import annotations

from typing import Any

import orjson

from wardcare.domain.actor import Actor, ActorKind
from wardcare.services import fhir_interactions as fhir
from wardcare.services.context import AppContext

PUBLISHER = Actor(kind=ActorKind.SYSTEM, display="WardCare template publisher")


def publish_questionnaires(ctx: AppContext) -> list[str]:
    """Store new or changed Questionnaires; returns the ids written."""
    written = []
    latest = {t.template.id: t.template.version for t in ctx.catalog.latest()}
    for loaded in ctx.catalog.all():
        resource = dict(loaded.questionnaire)
        template = loaded.template
        if latest[template.id] != template.version:
            resource["id"] = f"{template.id}-v{template.version.replace('.', '-')}"
        with ctx.uow.write() as tx:
            current = tx.resources.current("Questionnaire", resource["id"])
            if current is not None and current.content and _same(current.content, resource):
                continue
            fhir.update_in(tx, ctx, actor=PUBLISHER, resource=resource)
        written.append(resource["id"])
    return written


def _same(stored: bytes, resource: dict[str, Any]) -> bool:
    existing = orjson.loads(stored)
    existing.pop("meta", None)
    return bool(existing == resource)
