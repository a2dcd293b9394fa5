"""ORU^R01 results beyond the samples: what is refused (AE naming the OBX) and what a result
status does to the Observation it reports."""

from __future__ import annotations

import pytest

from tests.hl7v2.inbound_support import ack_fields, current, sample
from tests.hl7v2.test_inbound_samples import original_mode
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext

PULSE = b"|8867-4^Heart rate^LN||112|/min^beats per minute^UCUM|||||F"


@pytest.fixture
def handler(context: AppContext) -> InboundHandler:
    handler = InboundHandler(context)
    handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    return handler


@pytest.mark.parametrize(
    ("replacement", "code", "location", "words"),
    [
        (b"|HRX^Heart rate^L||112|/min|||||F", "103", "OBX^6^3", "HRX"),
        (b"|8867-4^Heart rate^LN||112|mmHg|||||F", "102", "OBX^6^6", "/min"),
        (b"|8867-4^Heart rate^LN||412|/min|||||F", "102", "OBX^^5", "ulse"),
        (b"|8867-4^Heart rate^LN||112|/min|||||Q", "103", "OBX^6^11", "0085"),
    ],
)
def test_a_result_that_cannot_be_read_is_ae_and_stores_nothing(
    context: AppContext,
    handler: InboundHandler,
    replacement: bytes,
    code: str,
    location: str,
    words: str,
) -> None:
    raw = original_mode(sample("oru_r01_vitals.hl7")).replace(PULSE, replacement)
    [ack] = handler.handle(raw)
    fields = ack_fields(ack)
    assert fields["MSA"][1] == "AE"
    assert fields["ERR"][3].startswith(f"{code}^")
    assert fields["ERR"][2] == location
    assert words in fields["ERR"][8]
    assert current(context, "Observation") == []


def test_a_result_posted_as_wrong_is_marked_entered_in_error(
    context: AppContext, handler: InboundHandler
) -> None:
    handler.handle(original_mode(sample("oru_r01_vitals.hl7")))
    wrong = (
        original_mode(sample("oru_r01_vitals.hl7"))
        .replace(b"EOBS0000001", b"EOBS0000003")
        .replace(PULSE, PULSE[:-1] + b"W")
    )
    [ack] = handler.handle(wrong)
    assert ack_fields(ack)["MSA"][1] == "AA"
    [pulse] = [
        o for o in current(context, "Observation") if o["code"]["coding"][0]["code"] == "8867-4"
    ]
    assert pulse["status"] == "entered-in-error"
    assert pulse["meta"]["versionId"] == "2"


def test_the_same_results_resent_under_a_new_control_id_change_nothing(
    context: AppContext, handler: InboundHandler
) -> None:
    handler.handle(original_mode(sample("oru_r01_vitals.hl7")))
    before = current(context, "Observation")
    again = original_mode(sample("oru_r01_vitals.hl7")).replace(b"EOBS0000001", b"EOBS0000004")
    [ack] = handler.handle(again)
    assert ack_fields(ack)["MSA"][1] == "AA"
    after = current(context, "Observation")
    assert sorted(o["meta"]["versionId"] for o in after) == sorted(
        o["meta"]["versionId"] for o in before
    )
