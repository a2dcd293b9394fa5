"""AR with ERR 207 when the database fails (issue 5): nothing is applied, and the same message
resent once the database works again is applied once and answered AA. The failures are real:
a table the step needs is missing from a throwaway SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.hl7v2.inbound_support import ack_fields, current, sample
from tests.hl7v2.test_inbound_samples import original_mode
from wardcare.bootstrap import build_context
from wardcare.config import Settings
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext
from wardcare.storage.migrate import upgrade


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[AppContext]:
    context = build_context(Settings(database_url=f"sqlite:///{tmp_path / 'failing.db'}"))
    upgrade(context.uow.engine)
    yield context
    context.uow.engine.dispose()


def _rename(context: AppContext, old: str, new: str) -> None:
    with context.uow.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def test_a_message_that_cannot_be_logged_is_ar_207(own_database: AppContext) -> None:
    _rename(own_database, "hl7_inbound_messages", "hl7_away")
    [ack] = InboundHandler(own_database).handle(original_mode(sample("adt_a01_admit.hl7")))
    fields = ack_fields(ack)
    assert fields["MSA"][1:3] == ["AR", "PAS000101"]
    assert fields["ERR"][3].startswith("207^")
    assert current(own_database, "Patient") == []


def test_a_failed_apply_is_ar_207_and_the_resend_is_applied_once(own_database: AppContext) -> None:
    handler = InboundHandler(own_database)
    _rename(own_database, "search_token", "search_token_away")
    [ack] = handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    assert ack_fields(ack)["MSA"][1] == "AR"
    assert ack_fields(ack)["ERR"][3].startswith("207^")
    _rename(own_database, "search_token_away", "search_token")
    assert current(own_database, "Patient") == []
    [ack] = handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    assert ack_fields(ack)["MSA"][1] == "AA"
    [again] = handler.handle(original_mode(sample("adt_a01_admit.hl7")))
    assert again == ack
    assert len(current(own_database, "Patient")) == 1
    assert len(current(own_database, "Encounter")) == 1
