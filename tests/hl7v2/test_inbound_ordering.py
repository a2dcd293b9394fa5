"""One patient's messages are serialized however each identifies the patient (issue 5, defect 4
of the review): the ordering keys are every identifier in PID-3 (and MRG-1), joined with the
identifiers known to name the same patient (hl7v2/inbound_ordering.py)."""

from __future__ import annotations

import asyncio

from tests.hl7v2.adt_messages import adt, send
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.hl7v2.inbound_lookups import identifier_groups
from wardcare.hl7v2.inbound_ordering import PatientGroups, PatientQueues, message_identifiers
from wardcare.hl7v2.message_parsing import parse
from wardcare.services.context import AppContext

NHS_ONLY = "9434765919^^^NHS^NH"
MRN_ONLY = "RR100001^^^LTH^MR"


def _keys(groups: PatientGroups, context: AppContext, raw: bytes) -> set[str]:
    identifiers = message_identifiers(parse(raw))
    return set(groups.ordering_keys(identifiers, lambda k: identifier_groups(context, k)))


def test_nhs_only_and_mrn_only_messages_share_a_key_after_a_restart(context: AppContext) -> None:
    # The patient is on record with both identifiers (admitted before the restart)...
    assert send(InboundHandler(context), adt("A01", "M1", recorded="20261122083000")) == "AA"
    groups = PatientGroups()  # ...and the process starts again: nothing learnt in memory.
    by_nhs = _keys(groups, context, adt("A08", "M2", recorded="20261122090000", pid3=NHS_ONLY))
    by_mrn = _keys(groups, context, adt("A08", "M3", recorded="20261122091000", pid3=MRN_ONLY))
    assert by_nhs & by_mrn


def test_identifiers_sent_together_join_without_a_look_up() -> None:
    groups = PatientGroups()
    both = message_identifiers(parse(adt("A01", "M1", recorded="20261122083000")))
    first = set(groups.ordering_keys(both, None))
    by_nhs = set(groups.ordering_keys(["nhs:9434765919"], None))
    by_mrn = set(groups.ordering_keys(["mrn:RR100001"], None))
    assert first & by_nhs
    assert first & by_mrn
    assert by_nhs & by_mrn
    assert not set(groups.ordering_keys(["nhs:9999999468"], None)) & by_nhs


def test_a_message_linking_two_identifiers_waits_for_both() -> None:
    groups = PatientGroups()
    by_nhs = set(groups.ordering_keys(["nhs:9434765919"], None))  # in flight
    by_mrn = set(groups.ordering_keys(["mrn:RR100001"], None))  # in flight
    linking = set(groups.ordering_keys(["nhs:9434765919", "mrn:RR100001"], None))
    assert linking & by_nhs
    assert linking & by_mrn


def test_a_merge_is_ordered_with_both_patients_messages() -> None:
    groups = PatientGroups()
    merge = adt("A40", "M1", recorded="20261123115900", mrg="RR100077^^^LTH^MR")
    keys = set(groups.ordering_keys(message_identifiers(parse(merge)), None))
    assert "mrn:RR100077" in keys
    assert "nhs:9434765919" in keys
    retired = set(groups.ordering_keys(["mrn:RR100077"], None))
    assert retired & set(groups.ordering_keys(["nhs:9434765919"], None))


def test_queues_keep_arrival_order_across_different_keys() -> None:
    """A message waits for every earlier message sharing one of its keys, even when its own
    first key is free: {b} arriving after {a, b} runs after it."""

    async def scenario() -> list[str]:
        queues = PatientQueues()
        order: list[str] = []
        release = asyncio.Event()

        async def message(keys: list[str], name: str, wait: bool = False) -> None:
            async with queues.hold(keys):
                order.append(f"start {name}")
                if wait:
                    await release.wait()
                order.append(f"end {name}")

        first = asyncio.create_task(message(["nhs:1"], "by NHS", wait=True))
        await asyncio.sleep(0)
        linking = asyncio.create_task(message(["mrn:1", "nhs:1"], "by both"))
        await asyncio.sleep(0)
        by_mrn = asyncio.create_task(message(["mrn:1"], "by MRN"))
        other = asyncio.create_task(message(["nhs:2"], "other patient"))
        await other
        release.set()
        await asyncio.gather(first, linking, by_mrn)
        return order

    assert asyncio.run(scenario()) == [
        "start by NHS",
        "start other patient",
        "end other patient",
        "end by NHS",
        "start by both",
        "end by both",
        "start by MRN",
        "end by MRN",
    ]


def test_a_failed_look_up_orders_by_the_messages_identifiers_and_is_tried_again() -> None:
    groups = PatientGroups()
    calls: list[list[str]] = []

    def failing(keys: list[str]) -> list[list[str]]:
        calls.append(keys)
        raise OSError("database unavailable")

    assert groups.ordering_keys(["nhs:9434765919"], failing) == ("nhs:9434765919",)
    assert groups.ordering_keys(["nhs:9434765919"], lambda k: [[*k, "mrn:RR100001"]]) == (
        "mrn:RR100001",
        "nhs:9434765919",
    )
    assert calls == [["nhs:9434765919"]]
