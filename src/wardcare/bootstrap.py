"""The composition root: settings -> engine, registries, validator -> the application context."""

from __future__ import annotations

from wardcare import paths
from wardcare.catalog.catalog import Catalog, load_catalog
from wardcare.config import Settings
from wardcare.domain.clock import Clock, SystemClock
from wardcare.fhir.profiles import load_profiles
from wardcare.fhir.required_bindings import load_required_bindings
from wardcare.fhir.search_parameters import load_search_parameters
from wardcare.fhir.validation import ResourceValidator
from wardcare.hl7v2 import document_to_mdm, news2_to_oru, outbound_fields
from wardcare.services import care_plan_lifecycle, entered_in_error, news2_from_vitals
from wardcare.services.context import AppContext, StoredHook
from wardcare.services.hl7_outbox import MessageBuilders, OutboxHook
from wardcare.storage.database import make_engine
from wardcare.storage.unit_of_work import UnitOfWork


def build_context(settings: Settings, *, clock: Clock | None = None) -> AppContext:
    search_parameters = load_search_parameters(paths.FHIR_PROFILES / "search-parameters.json")
    profiles = load_profiles(paths.FHIR_PROFILES)
    bindings = load_required_bindings(paths.FHIR_PROFILES / "required-bindings.json")
    engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    catalog = load_catalog(paths.CARE_TEMPLATES)
    return AppContext(
        settings=settings,
        uow=UnitOfWork(engine, search_parameters),
        validator=ResourceValidator(profiles, bindings),
        search_parameters=search_parameters,
        profiles=profiles,
        clock=clock or SystemClock(),
        catalog=catalog,
        write_hooks=(
            news2_from_vitals.on_observation_stored,
            care_plan_lifecycle.on_care_planning_write,
        ),
        stored_hooks=outbox_hooks(settings, catalog),
        change_hooks=(entered_in_error.on_new_version,),
    )


def outbox_hooks(settings: Settings, catalog: Catalog) -> tuple[StoredHook, ...]:
    """The HL7 outbox, only when a destination is configured: otherwise writes pay nothing."""
    if not settings.hl7_destinations:
        return ()
    builders = MessageBuilders(
        header=outbound_fields.header_for,
        result=news2_to_oru.oru_r01,
        document=document_to_mdm.mdm_t02,
    )
    return (OutboxHook(settings, catalog, builders),)
