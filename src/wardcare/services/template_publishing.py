"""Publish the templates in the record, on start: each assessment as a Questionnaire, each care
plan as a PlanDefinition with one ActivityDefinition per intervention.

The latest version of a template is `Questionnaire/{id}` (`PlanDefinition/{id}`); earlier
versions stay readable as `Questionnaire/{id}-v{major}-{minor}-{patch}`, so responses and plans
made from them still resolve. A template that has not changed since it was last published writes
nothing.
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
    latest = {t.template.id: t.template.version for t in ctx.catalog.latest()}
    resources = []
    for loaded in ctx.catalog.all():
        resource = dict(loaded.questionnaire)
        template = loaded.template
        if latest[template.id] != template.version:
            resource["id"] = _versioned_id(template.id, template.version)
        resources.append(resource)
    return publish_resources(ctx, resources)


def publish_care_plans(ctx: AppContext) -> list[str]:
    """Store new or changed PlanDefinitions and ActivityDefinitions; returns the ids written."""
    plans = ctx.catalog.care_plans
    resources = []
    for loaded in plans.all():
        template = loaded.template
        is_latest = plans.get(template.id) is loaded
        for resource in (loaded.plan_definition, *loaded.activity_definitions):
            copy = dict(resource)
            if not is_latest:
                copy["id"] = _versioned_id(copy["id"], template.version)
            resources.append(copy)
    return publish_resources(ctx, resources)


def publish_resources(ctx: AppContext, resources: list[dict[str, Any]]) -> list[str]:
    """Store each resource under its id unless the stored version is the same, in one
    transaction (start-up publishes some fifty resources)."""
    written = []
    with ctx.uow.write() as tx:
        for resource in resources:
            current = tx.resources.current(resource["resourceType"], resource["id"])
            if current is not None and current.content and _same(current.content, resource):
                continue
            fhir.update_in(tx, ctx, actor=PUBLISHER, resource=dict(resource))
            written.append(f"{resource['resourceType']}/{resource['id']}")
    return written


def _versioned_id(resource_id: str, version: str) -> str:
    return f"{resource_id}-v{version.replace('.', '-')}"


def _same(stored: bytes, resource: dict[str, Any]) -> bool:
    existing = orjson.loads(stored)
    existing.pop("meta", None)
    return bool(existing == resource)
