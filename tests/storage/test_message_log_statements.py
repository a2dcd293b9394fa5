"""The inbound message log's claim and finish run on the driver's cursor: the claim must answer
exactly the row it stored (it is not read back), and finish must write every outcome column,
count the attempt and keep or replace the patient key, on either database."""

from __future__ import annotations

from wardcare.services.context import AppContext
from wardcare.storage import hl7_message_log as message_log


def _claim(context: AppContext, control_id: str) -> message_log.Claim:
    with context.uow.write() as tx:
        return message_log.receive(
            tx.connection,
            raw="MSH|^~\\&|LAB|RGH|||20261122||ORU^R01|1|P|2.5.1\rPID|1",
            received_at=1_763_800_000_000_000,
            sending_application="LAB",
            sending_facility="RGH",
            control_id=control_id,
            message_type="ORU^R01",
            patient_key=None,
        )


def test_a_new_claim_is_the_row_it_stored(context: AppContext) -> None:
    claim = _claim(context, "C1")
    assert claim.new
    with context.uow.read() as tx:
        assert message_log.get(tx.connection, claim.message.id) == claim.message
    again = _claim(context, "C1")
    assert not again.new
    assert again.message == claim.message


def test_finish_writes_the_outcome_and_counts_the_attempt(context: AppContext) -> None:
    first = _claim(context, "C2").message
    with context.uow.write() as tx:
        message_log.finish(
            tx.connection,
            first.id,
            status=message_log.ERROR,
            ack_code="AE",
            ack='["ack one"]',
            error="no patient",
            resources=[],
            processed_at=5,
            patient_key="NHS|9434765919",
        )
    with context.uow.write() as tx:
        message_log.finish(
            tx.connection,
            first.id,
            status=message_log.ACCEPTED,
            ack_code="AA",
            ack='["ack two"]',
            error=None,
            resources=["Observation/a/_history/1"],
            processed_at=6,
        )
    with context.uow.read() as tx:
        done = message_log.get(tx.connection, first.id)
    assert done is not None
    assert (done.status, done.ack_code, done.ack, done.error) == (
        "accepted",
        "AA",
        '["ack two"]',
        None,
    )
    assert (done.resources, done.processed_at, done.attempts) == (
        ["Observation/a/_history/1"],
        6,
        2,
    )
    assert done.patient_key == "NHS|9434765919"  # kept when finish is given none
    assert (done.raw, done.received_at, done.control_id) == (first.raw, first.received_at, "C2")
