"""Enhanced acknowledgement mode (HL7 v2.5.1 2.9.3, tables 0155): MSH-15 says when to send the
accept (commit) ACK, MSH-16 when to send the application ACK; without them, original mode."""

from __future__ import annotations

import pytest

from tests.hl7v2.inbound_support import ack_fields, sample
from tests.hl7v2.mllp_support import frame, running_listener, send_raw
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext


def _with_modes(name: str, accept: str, application: str) -> bytes:
    raw = sample(name)
    first, rest = raw.split(b"\r", 1)
    fields = [*first.split(b"|")[:12], b"", b"", accept.encode(), application.encode()]
    return b"|".join(fields) + b"\r" + rest


@pytest.mark.parametrize(
    ("accept", "application", "codes"),
    [
        ("AL", "AL", ["CA", "AA"]),
        ("NE", "AL", ["AA"]),
        ("AL", "NE", ["CA"]),
        ("SU", "ER", ["CA"]),
        ("ER", "SU", ["AA"]),
        ("NE", "NE", []),
    ],
)
def test_an_applied_message(
    context: AppContext, accept: str, application: str, codes: list[str]
) -> None:
    acks = InboundHandler(context).handle(_with_modes("adt_a01_admit.hl7", accept, application))
    assert [ack_fields(a)["MSA"][1] for a in acks] == codes
    assert all(ack_fields(a)["MSA"][2] == "PAS000101" for a in acks)


@pytest.mark.parametrize(
    ("accept", "application", "codes"),
    [("AL", "AL", ["CA", "AE"]), ("AL", "SU", ["CA"]), ("ER", "ER", ["AE"])],
)
def test_a_message_that_cannot_be_applied(
    context: AppContext, accept: str, application: str, codes: list[str]
) -> None:
    acks = InboundHandler(context).handle(_with_modes("oru_r01_vitals.hl7", accept, application))
    assert [ack_fields(a)["MSA"][1] for a in acks] == codes


def test_a_rejected_message_gets_a_commit_reject(context: AppContext) -> None:
    acks = InboundHandler(context).handle(_with_modes("bad/unsupported_qry_a19.hl7", "AL", "AL"))
    assert [ack_fields(a)["MSA"][1] for a in acks] == ["CR"]
    assert ack_fields(acks[0])["ERR"][3].startswith("200^")


def test_both_acks_arrive_on_the_connection(context: AppContext) -> None:
    with running_listener(context) as listener:
        acks = send_raw(listener.port, frame(_with_modes("adt_a01_admit.hl7", "AL", "AL")), acks=2)
    assert [ack_fields(a)["MSA"][1] for a in acks] == ["CA", "AA"]
