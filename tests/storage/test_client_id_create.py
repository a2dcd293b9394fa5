"""A create under a client-chosen id that is taken is a clean CONFLICT (no savepoint: INSERT
... ON CONFLICT DO NOTHING), the resource already there is untouched, and the transaction can
go on and commit the rest of its work."""

from __future__ import annotations

import pytest

from tests import factories
from wardcare.errors import Category, WardCareError
from wardcare.services.context import AppContext


def test_a_taken_id_is_a_conflict_and_the_transaction_goes_on(context: AppContext) -> None:
    with context.uow.write() as tx:
        first = tx.resources.create(
            factories.patient(), resource_id="p-1", now=1_000, id_may_exist=True
        )
    with context.uow.write() as tx:
        with pytest.raises(WardCareError) as raised:
            tx.resources.create(
                factories.patient(), resource_id="p-1", now=2_000, id_may_exist=True
            )
        assert raised.value.category == Category.CONFLICT
        other = tx.resources.create(
            factories.patient(), resource_id="p-2", now=2_000, id_may_exist=True
        )
    with context.uow.read() as tx:
        kept = tx.resources.current("Patient", "p-1")
        assert kept is not None
        assert kept.content == first.content
        assert kept.version_id == 1
        assert tx.resources.current("Patient", "p-2") == other
