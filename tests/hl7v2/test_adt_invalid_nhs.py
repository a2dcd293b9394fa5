"""An NHS number failing Modulus 11 in PID-3 (or MRG-1) on an ADT message (issue 5, item 6 of
the review): AE with ERR (HL7 v2.5.1 2.15.5: ERR-2 error location, ERR-3 table 0357 code 102
"data type error") and nothing changed."""

from __future__ import annotations

from tests.hl7v2.adt_messages import adt, send
from tests.hl7v2.inbound_support import ack_fields, current
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext

BAD_NHS = "9434765918^^^NHS^NH~RR100001^^^LTH^MR"  # check digit should be 9
RECORD = ("Patient", "Encounter", "Location", "AllergyIntolerance", "Condition", "Provenance")


def _record(context: AppContext) -> dict[str, list[dict[str, object]]]:
    return {t: current(context, t) for t in RECORD}


def test_an_admission_with_an_invalid_nhs_number_is_ae_at_pid_3(context: AppContext) -> None:
    admit = adt(
        "A01",
        "M1",
        recorded="20261122083000",
        pid3=BAD_NHS,
        extra=("AL1|1|DA|PENICILLIN^Penicillin|SV|Rash",),
    )
    [ack] = InboundHandler(context).handle(admit)
    fields = ack_fields(ack)
    assert fields["MSA"][1:3] == ["AE", "M1"]
    assert fields["ERR"][2] == "PID^1^3"
    assert fields["ERR"][3].startswith("102^")
    assert fields["ERR"][4] == "E"
    assert all(not resources for resources in _record(context).values())


def test_an_update_with_an_invalid_nhs_number_changes_nothing(context: AppContext) -> None:
    handler = InboundHandler(context)
    assert send(handler, adt("A01", "M1", recorded="20261122083000")) == "AA"
    before = _record(context)
    for event in ("A08", "A02", "A03", "A31"):
        message = adt(event, f"M-{event}", recorded="20261122150000", pid3=BAD_NHS)
        [ack] = handler.handle(message)
        assert ack_fields(ack)["MSA"][1] == "AE"
        assert ack_fields(ack)["ERR"][2] == "PID^1^3"
    assert _record(context) == before


def test_a_merge_naming_an_invalid_nhs_number_in_mrg_1_is_ae_there(context: AppContext) -> None:
    handler = InboundHandler(context)
    assert send(handler, adt("A01", "M1", recorded="20261122083000")) == "AA"
    before = _record(context)
    merge = adt("A40", "M2", recorded="20261123115900", mrg="1234567890^^^NHS^NH")
    [ack] = handler.handle(merge)
    fields = ack_fields(ack)
    assert fields["MSA"][1] == "AE"
    assert fields["ERR"][2] == "MRG^1^1"
    assert fields["ERR"][3].startswith("102^")
    assert _record(context) == before
