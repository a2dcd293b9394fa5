"""The outbound sender against a real MLLP receiver: ACK, AE, AR, timeout, wrong MSA-2, order,
and a sender restarted with messages still queued."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.hl7v2.outbound_receiver import MllpReceiver
from tests.hl7v2.outbound_support import (
    destination,
    news2_score,
    outbox_rows,
    wait_for,
    with_destinations,
)
from wardcare.hl7v2.mllp_sender import OutboundSender, backoff_seconds
from wardcare.hl7v2.news2_to_oru import oru_r01
from wardcare.hl7v2.outbound_fields import Header
from wardcare.services.context import AppContext
from wardcare.storage.hl7_outbox_store import DEAD_LETTER, PENDING, SENT, Hl7OutboxStore, NewMessage

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver() -> Iterator[MllpReceiver]:
    with MllpReceiver() as running:
        yield running


def queue(ctx: AppContext, count: int, *, name: str = "EPR") -> list[str]:
    """`count` real ORU^R01 messages queued for a destination; their MSH-10s in queue order."""
    ids = [f"{name}{i:04d}" for i in range(count)]
    messages = [
        NewMessage(
            destination=name,
            message_type="ORU^R01",
            control_id=cid,
            resource=f"Observation/news2-{i}/_history/1",
            patient="Patient/p1",
            message=oru_r01(
                news2_score(ctx, id=f"news2-{i}"),
                patient={"id": "p1", "name": [{"family": "Jones"}]},
                encounter=None,
                bed_code="WARD7/BAY2/BED5",
                header=Header("WARDCARE", "LTH", "EPR", "LTH", cid, datetime.now(UTC), "UTC"),
            ),
        )
        for i, cid in enumerate(ids)
    ]
    with ctx.uow.write() as tx:
        Hl7OutboxStore(tx.connection).add(messages, now=0)
    return ids


def statuses(ctx: AppContext) -> list[str]:
    return [r.status for r in outbox_rows(ctx)]


def test_an_acknowledged_message_is_marked_sent_with_its_ack(
    context: AppContext, receiver: MllpReceiver
) -> None:
    ctx = with_destinations(context, destination(receiver.port))
    (cid,) = queue(ctx, 1)
    with OutboundSender(ctx):
        wait_for(lambda: statuses(ctx) == [SENT], "the message to be sent")
    (row,) = outbox_rows(ctx)
    assert row.attempts == 1
    assert row.last_ack is not None
    assert f"MSA|AA|{cid}" in row.last_ack
    assert receiver.control_ids() == [cid]
    assert receiver.received[0] == row.message  # the bytes queued are the bytes sent


def test_ar_and_a_timeout_are_retried_with_backoff_until_the_receiver_takes_it(
    context: AppContext, receiver: MllpReceiver
) -> None:
    receiver.script("AR", "silent", "AR")
    ctx = with_destinations(context, destination(receiver.port, ack_timeout_seconds=1.0))
    (cid,) = queue(ctx, 1)
    with OutboundSender(ctx):
        wait_for(lambda: statuses(ctx) == [SENT], "the message to be sent after recovery")
    (row,) = outbox_rows(ctx)
    assert row.attempts == 4
    assert receiver.control_ids() == [cid] * 4  # the same message, same MSH-10, each time
    assert row.last_error is not None
    assert "AR" in row.last_error


def test_an_ack_for_another_message_is_not_accepted(
    context: AppContext, receiver: MllpReceiver
) -> None:
    receiver.script(default="wrong-msa-2")
    ctx = with_destinations(context, destination(receiver.port))
    queue(ctx, 1)
    with OutboundSender(ctx):
        wait_for(lambda: outbox_rows(ctx)[0].attempts >= 2, "two recorded attempts")
        (row,) = outbox_rows(ctx)
        assert row.status == PENDING  # every ACK so far named another message
        assert row.last_error is not None
        assert "does not match MSH-10" in row.last_error
        receiver.script(default="AA")
        wait_for(lambda: statuses(ctx) == [SENT], "the message to be sent")


def test_ae_is_dead_lettered_after_max_attempts_and_the_queue_moves_on(
    context: AppContext, receiver: MllpReceiver
) -> None:
    receiver.script("AE", "AE", "AE")
    ctx = with_destinations(context, destination(receiver.port, max_attempts=3))
    first, second = queue(ctx, 2)
    with OutboundSender(ctx):
        wait_for(lambda: statuses(ctx) == [DEAD_LETTER, SENT], "a dead letter, then a send")
    dead, sent = outbox_rows(ctx)
    assert dead.attempts == 3
    assert dead.last_error is not None
    assert "Patient not known" in dead.last_error
    # The second message waited until the first was dead-lettered: order is kept.
    assert receiver.control_ids() == [first, first, first, second]
    assert sent.attempts == 1


def test_messages_are_delivered_in_queue_order_even_across_retries(
    context: AppContext, receiver: MllpReceiver
) -> None:
    receiver.script("AA", "AR", "silent", "AA")
    ctx = with_destinations(context, destination(receiver.port, ack_timeout_seconds=1.0))
    ids = queue(ctx, 6)
    with OutboundSender(ctx):
        wait_for(lambda: statuses(ctx) == [SENT] * 6, "all six to be sent")
    arrivals = receiver.control_ids()
    assert list(dict.fromkeys(arrivals)) == ids  # first arrivals are in queue order
    # Nothing after the second message arrived before the second was finally accepted.
    assert arrivals[:4] == [ids[0], ids[1], ids[1], ids[1]]


def test_destinations_are_independent(context: AppContext, receiver: MllpReceiver) -> None:
    with MllpReceiver(default="silent") as stuck:
        ctx = with_destinations(
            context,
            destination(receiver.port, name="EPR"),
            destination(stuck.port, name="PACS", ack_timeout_seconds=1.0),
        )
        queue(ctx, 1, name="PACS")
        ids = queue(ctx, 1, name="EPR")
        with OutboundSender(ctx):
            wait_for(
                lambda: [r.status for r in outbox_rows(ctx, destination="EPR")] == [SENT],
                "EPR's message despite PACS not answering",
            )
        assert [r.status for r in outbox_rows(ctx, destination="PACS")] == [PENDING]
    assert receiver.control_ids() == ids


def test_nothing_is_lost_when_the_sender_stops_and_a_new_one_starts(
    context: AppContext, receiver: MllpReceiver
) -> None:
    receiver.script(default="silent")
    ctx = with_destinations(context, destination(receiver.port, ack_timeout_seconds=1.0))
    ids = queue(ctx, 3)
    with OutboundSender(ctx):
        wait_for(lambda: len(receiver.received) >= 1, "a first attempt")
    assert statuses(ctx) == [PENDING] * 3  # stopped with nothing acknowledged: all still queued
    receiver.script(default="AA")
    with OutboundSender(ctx):  # e.g. WardCare restarted
        wait_for(lambda: statuses(ctx) == [SENT] * 3, "the restarted sender to deliver all")
    assert list(dict.fromkeys(receiver.control_ids())) == ids


def test_a_receiver_that_is_down_is_retried_until_it_is_up(context: AppContext) -> None:
    with MllpReceiver() as probe:
        port = probe.port  # a port that is free again once this receiver stops
    ctx = with_destinations(context, destination(port))
    queue(ctx, 1)
    with OutboundSender(ctx):
        wait_for(lambda: outbox_rows(ctx)[0].attempts >= 2, "refused connections")
        assert statuses(ctx) == [PENDING]
        assert "connection" in (outbox_rows(ctx)[0].last_error or "")
        with MllpReceiver(port=port):  # the EHR's engine comes back on its port
            wait_for(lambda: statuses(ctx) == [SENT], "delivery once the receiver is up")


def test_backoff_doubles_up_to_the_maximum() -> None:
    waits = [backoff_seconds(n, initial=1, maximum=60) for n in range(1, 9)]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


def test_after_a_rejection_the_message_waits_out_its_backoff(
    context: AppContext, receiver: MllpReceiver
) -> None:
    receiver.script("AR")
    ctx = with_destinations(context, destination(receiver.port))
    settings = ctx.settings.model_copy(
        update={"hl7_retry_initial_seconds": 60.0, "hl7_retry_max_seconds": 300.0}
    )
    ctx = dataclasses.replace(ctx, settings=settings)
    first, _second = queue(ctx, 2)
    with OutboundSender(ctx):
        wait_for(lambda: outbox_rows(ctx)[0].attempts == 1, "the first attempt to be recorded")
    head, behind = outbox_rows(ctx)
    assert head.status == PENDING
    assert head.last_attempt is not None
    assert head.next_attempt - head.last_attempt == 60 * 1_000_000  # the initial backoff
    assert behind.attempts == 0  # nothing overtakes the waiting head
    assert receiver.control_ids() == [first]
