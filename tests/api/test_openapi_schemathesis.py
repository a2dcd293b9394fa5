"""Schemathesis generates requests from /openapi.json (authenticated, as the demo nurse) against
every operation: none may answer 5xx. Bounded: a few examples per operation, no shrinking.

The strategies are drawn directly (schemathesis's pytest plugin does not run under this pytest)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings

from tests.conftest import auth_headers
from wardcare.api.app import create_app
from wardcare.services.context import AppContext


@pytest.fixture
def app(context: AppContext) -> Iterator[FastAPI]:
    application = create_app(context)
    yield application
    application.state.audit.close()  # no audit writes may outlive the test


def _operations(app: FastAPI) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_no_generated_request_causes_a_5xx(context: AppContext, app: FastAPI) -> None:
    headers = auth_headers(context)
    operations = _operations(app)
    assert len(operations) >= 15
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=4,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=headers, allow_redirects=False)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:300]}")

        check()
    assert failures == []


@pytest.mark.parametrize("path", ["/fhir/{resource_type}", "/wards"])
def test_the_generated_requests_are_authenticated(
    context: AppContext, app: FastAPI, path: str
) -> None:
    """Without the header the same requests would all be 401s and prove nothing."""
    operation = next(o for o in _operations(app) if o.path == path and o.method.lower() == "get")

    @given(case=operation.as_strategy())
    @settings(max_examples=1, deadline=None, database=None)
    def check(case: schemathesis.Case) -> None:
        assert case.call(headers=auth_headers(context)).status_code != 401

    check()
