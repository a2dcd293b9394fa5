"""UI test fixtures: a small ward with patients, and a real browser (Debian's chromium driven by
Playwright; no `playwright install`, no network)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer
from wardcare.demo.loader import load_hospital
from wardcare.demo.synthetic_hospital import (
    HospitalSpec,
    SyntheticHospital,
    WardSpec,
    build_hospital,
)
from wardcare.services.context import AppContext

CHROMIUM = Path(os.environ.get("WARDCARE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREEN = {"width": 1366, "height": 768}
SMALL_WARD = HospitalSpec(
    wards=(WardSpec("WARD7", "Ward 7 (Acute Medicine)", bays=1, beds_per_bay=4, side_rooms=1),),
    occupancy=0.8,
    days_of_obs=1,
    nurses_per_ward=2,
)


@pytest.fixture
def ward(context: AppContext) -> SyntheticHospital:
    """Ward 7 with five beds, most occupied, a day of observations each."""
    return load_hospital(context, build_hospital(SMALL_WARD, now=datetime.now(UTC)))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    # A missing browser is a failure with the fix, never a silent skip.
    if not CHROMIUM.exists():
        pytest.fail(
            f"The UI tests drive Debian's chromium at {CHROMIUM}, which is not installed: "
            "sudo apt-get install -y chromium (it is in the Makefile's DEB_PACKAGES), or set "
            "WARDCARE_CHROMIUM to a Chromium binary."
        )
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only UI tests need it)

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    # When the server demands a token (SMART security), the browser sends the one the live
    # server fixture carries with every request, frames included.
    headers = getattr(live_server, "headers", None) or {}
    browser_context = browser.new_context(viewport=SCREEN, extra_http_headers=dict(headers))
    opened = browser_context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    browser_context.close()
