"""ADT messages built field by field for the tests of ADT semantics (out-of-order events,
merges, ordering keys). Modelled on the shared samples (tests/hl7v2/samples/adt_*.hl7, copied
from /work/shared/samples/hl7/), in original acknowledgement mode."""

from __future__ import annotations

from tests.hl7v2.inbound_support import ack_fields
from wardcare.hl7v2.inbound_handler import InboundHandler

JONES = "9434765919^^^NHS^NH~RR100001^^^LTH^MR"


def adt(
    event: str,
    control_id: str,
    *,
    recorded: str,
    occurred: str = "",
    bed: str = "WARD7^BAY2^BED5^LGI",
    prior_bed: str = "",
    visit: str = "V0001234",
    admitted: str = "20261122082500",
    discharged: str = "",
    pid3: str = JONES,
    mrg: str = "",
    extra: tuple[str, ...] = (),
    name: str = "Jones^Margaret^Ann^^Mrs",
) -> bytes:
    """ADT^`event`: EVN-2 `recorded`, EVN-6 `occurred`, PV1-3 `bed`, PV1-6 `prior_bed`,
    PV1-19 `visit`, PV1-44/45 admit and discharge times, PID-5 `name`."""
    pv1 = [""] * 46
    pv1[0], pv1[1], pv1[2], pv1[3] = "PV1", "1", "I", bed
    pv1[6], pv1[7], pv1[19] = prior_bed, "C98765^Patel^Raj^^^Dr", visit
    pv1[44], pv1[45] = admitted, discharged
    segments = [
        f"MSH|^~\\&|PAS|LTH|WARDCARE|LTH|{recorded}||ADT^{event}^ADT_A01|{control_id}|P|2.4",
        f"EVN|{event}|{recorded}||||{occurred}",
        f"PID|1||{pid3}||{name}||19410312|F",
    ]
    if mrg:
        segments.append(f"MRG|{mrg}")
    elif event not in ("A28", "A31", "A40"):
        segments.append("|".join(pv1).rstrip("|"))
    segments += extra
    return ("\r".join(segments) + "\r").encode()


def send(handler: InboundHandler, raw: bytes) -> str:
    [ack] = handler.handle(raw)
    return ack_fields(ack)["MSA"][1]
