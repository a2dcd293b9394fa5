"""Fixtures of the care-planning API tests: a clock the test moves, and the app built on it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from wardcare.api.app import create_app
from wardcare.domain.clock import FixedClock
from wardcare.services.context import AppContext

CARE_PLANNING_START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday, 10:00 GMT: day shift


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(CARE_PLANNING_START)


@pytest.fixture
def nurse(context: AppContext, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(dataclasses.replace(context, clock=clock))) as client:
        yield client
