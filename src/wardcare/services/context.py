"""What every service needs, built once by `wardcare.bootstrap`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wardcare.catalog.catalog import Catalog
from wardcare.config import Settings
from wardcare.domain.actor import Actor
from wardcare.domain.clock import Clock
from wardcare.fhir.profiles import ProfileRegistry
from wardcare.fhir.search_parameters import SearchParameterRegistry
from wardcare.fhir.validation import ResourceValidator
from wardcare.fhir.versions import StoredVersion
from wardcare.storage.unit_of_work import Transaction, UnitOfWork

# Runs in the writing transaction after a resource is stored (e.g. NEWS2 from vital signs).
WriteHook = Callable[[Transaction, "AppContext", Actor, dict[str, Any]], object]
# Runs in the writing transaction for every version stored, derived ones included (e.g. the HL7
# outbox queues a message about a NEWS2 score in the transaction that stores it). Must be cheap.
StoredHook = Callable[[Transaction, "AppContext", StoredVersion], object]
# Runs in the writing transaction after a new version of an existing resource is stored: an
# update (with the resource as stored) or a logical delete (None). Unlike write hooks it also runs
# where a caller skips them (an inbound HL7 correction or withdrawal, `hl7_inbound.save`), so what
# WardCare derived from a record follows every change to it (services/entered_in_error.py).
ChangeHook = Callable[
    [Transaction, "AppContext", Actor, StoredVersion, dict[str, Any] | None], object
]


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    uow: UnitOfWork
    validator: ResourceValidator
    search_parameters: SearchParameterRegistry
    profiles: ProfileRegistry
    clock: Clock
    catalog: Catalog
    write_hooks: tuple[WriteHook, ...] = field(default=())
    stored_hooks: tuple[StoredHook, ...] = field(default=())
    change_hooks: tuple[ChangeHook, ...] = field(default=())
