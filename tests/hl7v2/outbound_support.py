"""What the outbound tests share: a context whose settings name HL7 destinations, waiting for
the outbox to reach a state, and a NEWS2 score Observation as WardCare stores one."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from wardcare.bootstrap import outbox_hooks
from wardcare.config import Hl7Destination
from wardcare.domain import news2
from wardcare.domain.assessment_outcome import from_news2
from wardcare.services import assessment_results
from wardcare.services.context import AppContext
from wardcare.storage.hl7_outbox_store import Hl7OutboxStore, OutboxMessage


def with_destinations(context: AppContext, *destinations: Hl7Destination) -> AppContext:
    """The test context with these destinations, fast retries, and the outbox hook installed
    exactly as `wardcare.bootstrap` installs it."""
    settings = context.settings.model_copy(
        update={
            "hl7_destinations": list(destinations),
            "hl7_retry_initial_seconds": 0.02,
            "hl7_retry_max_seconds": 0.1,
            "hl7_sending_facility": "LTH",
        }
    )
    return dataclasses.replace(
        context, settings=settings, stored_hooks=outbox_hooks(settings, context.catalog)
    )


def destination(port: int, *types: str, name: str = "EPR", **overrides: Any) -> Hl7Destination:
    return Hl7Destination.model_validate(
        {
            "name": name,
            "host": "127.0.0.1",
            "port": port,
            "message_types": list(types or ("ORU^R01", "MDM^T02")),
            "receiving_application": "EPR",
            "receiving_facility": "LTH",
            "ack_timeout_seconds": 5.0,  # generous: the machine is shared; "silent" tests set less
            **overrides,
        }
    )


def outbox_rows(context: AppContext, **filters: Any) -> list[OutboxMessage]:
    with context.uow.read() as tx:
        rows = Hl7OutboxStore(tx.connection).listing(
            status=filters.get("status"),
            destination=filters.get("destination"),
            patient=filters.get("patient"),
            limit=1000,
            offset=0,
        )
    return sorted(rows, key=lambda r: r.id)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll until `condition` holds (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def news2_score(context: AppContext, **overrides: Any) -> dict[str, Any]:
    """A NEWS2 score Observation built by WardCare's own code (total 7: high)."""
    vitals = news2.VitalSigns(
        respiration_rate=22,
        spo2=94,
        on_oxygen=False,
        systolic_bp=104,
        pulse=112,
        consciousness=news2.Consciousness("A"),
        temperature=38.4,
    )
    loaded = context.catalog.get("news2")
    assert loaded is not None
    score = assessment_results.score_observation(
        loaded,
        from_news2(news2.news2(vitals, news2.SpO2Scale(1))),
        assessment_results.Context(
            patient="Patient/p1",
            encounter="Encounter/e1",
            effective="2026-11-22T10:10:00Z",
            performer={"reference": "Practitioner/n0042"},
            derived_from=["QuestionnaireResponse/q1"],
        ),
    )
    score.update(
        id="news2-1", meta={"versionId": "1", "lastUpdated": "2026-11-22T10:10:01.250000Z"}
    )
    score.update(overrides)
    return score
