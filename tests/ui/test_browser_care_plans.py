"""In the browser: a nurse adopts the plan an assessment proposed, activates it, documents an
intervention, and the nurse in charge prints the ward handover from the board."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.ui.test_care_plan_pages import HIGH_PRESSURE_RISK
from wardcare.demo.synthetic_hospital import SyntheticHospital

pytestmark = pytest.mark.slow


def test_adopt_activate_and_document_a_care_plan_then_print_the_handover(
    page: Any, live_server: LiveServer, ward: SyntheticHospital
) -> None:
    admitted = next(a for a in ward.admitted if not a.deteriorating)
    base = live_server.base_url
    patient = f"{base}/ui/patients/{admitted.patient['id']}"
    recorded = page.request.post(
        f"{patient}/assessments/pressure-ulcer-risk", form=HIGH_PRESSURE_RISK, max_redirects=0
    )
    assert recorded.status == 303

    page.goto(patient)
    page.get_by_role("link", name="Care plans and handover note").click()
    page.get_by_role("button", name="Adopt Pressure ulcer prevention (aSSKINg)").click()
    # Each action posts and redirects: wait for the new page's message, never read the old one.
    expect(page.locator("#done")).to_contain_text("Draft plan made")
    activate = page.get_by_role("button", name="Activate Pressure ulcer prevention (aSSKINg)")
    activate.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_contain_text("Plan activated")

    first = page.locator("form.intervention").first
    title = first.locator("legend").inner_text()
    first.get_by_role("button").click()
    expect(page.locator("#done")).to_contain_text("Intervention documented")
    assert "(last: done)" in page.locator("form.intervention").first.locator("legend").inner_text()
    assert title.split(",")[0] in page.locator("form.intervention").first.inner_text()

    page.goto(f"{base}/ui/wards/WARD7")
    bed = admitted.bed["identifier"][0]["value"].replace("/", "-")
    assert "Pressure" in page.locator(f"#bed-{bed} .risks").inner_text()
    href = page.get_by_role("link", name="Print handover").get_attribute("href")
    assert href == "/wards/WARD7/handover.pdf"
    pdf = page.request.get(base + href)
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
