"""What every service needs, built once by `wardcare.bootstrap`."""

from __future__ import annotations

from dataclasses import dataclass

from wardcare.catalog.catalog import Catalog
from wardcare.config import Settings
from wardcare.domain.clock import Clock
from wardcare.fhir.profiles import ProfileRegistry
from wardcare.fhir.search_parameters import SearchParameterRegistry
from wardcare.fhir.validation import ResourceValidator
from wardcare.storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    uow: UnitOfWork
    validator: ResourceValidator
    search_parameters: SearchParameterRegistry
    profiles: ProfileRegistry
    clock: Clock
    catalog: Catalog
