"""The EHR launches WardCare in a real browser (Debian's chromium): the test EHR's launch link
goes through SMART App Launch 2.0 (discovery, authorisation code with PKCE S256, state) to the
patient in context, with a session cookie and no token given to the browser by the test."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.ui.conftest import SCREEN
from wardcare.demo.synthetic_hospital import SyntheticHospital
from wardcare.ui.pages import patient_name

pytestmark = pytest.mark.slow


def test_an_ehr_launch_in_the_browser_opens_the_patient_in_context(
    browser: Any, live_server: LiveServer, ward: SyntheticHospital
) -> None:
    admitted = ward.admitted[0]
    patient_id = admitted.patient["id"]
    base = live_server.base_url
    # A fresh browser: no Authorization header, only what the launch itself sets.
    browser_context = browser.new_context(viewport=SCREEN)
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{base}/dev-ehr/launch?patient={patient_id}&user=nurse")
        page.wait_for_url(f"{base}/ui/patients/{patient_id}")
        assert page.locator("h1").inner_text() == patient_name(admitted.patient)
        cookies = {c["name"]: c for c in browser_context.cookies()}
        assert cookies["wardcare_session"]["httpOnly"] is True
        # The session is the launch's: the patient's own obs form opens with it.
        response = page.goto(f"{base}/ui/patients/{patient_id}/assessments/news2")
        assert response is not None
        assert response.status == 200
        # Without a launch, a new browser is sent to log in, not shown the record.
        stranger = browser.new_context(viewport=SCREEN).new_page()
        stranger.goto(f"{base}/ui/patients/{patient_id}")
        assert "/ui/patients/" not in stranger.url
        stranger.context.close()
    finally:
        browser_context.close()
