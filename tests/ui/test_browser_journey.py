"""A nurse at the ward board, in a real browser (Debian's chromium), with the keyboard only:
open the board, go to a patient's obs, record a full NEWS2 set in chart order, watch the running
score and band, submit, and see the stored score on the patient page and on the board."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer
from wardcare.demo.synthetic_hospital import SyntheticHospital
from wardcare.domain.bed_order import bed_order_key

pytestmark = pytest.mark.slow


def _focused(page: Any) -> str:
    return str(page.evaluate("document.activeElement.id || document.activeElement.textContent"))


def _type_and_tab(page: Any, expected_id: str, text: str) -> None:
    assert _focused(page) == expected_id
    page.keyboard.type(text)
    page.keyboard.press("Tab")


def test_a_full_news2_set_recorded_with_the_keyboard_reaches_the_patient_page_and_the_board(
    page: Any, live_server: LiveServer, ward: SyntheticHospital, tmp_path: Path
) -> None:
    admitted = next(a for a in ward.admitted if not a.deteriorating)
    patient_id = admitted.patient["id"]
    base = live_server.base_url

    page.goto(f"{base}/ui/wards/WARD7")
    beds = page.locator("tbody#board-rows tr").evaluate_all("rows => rows.map(r => r.id)")
    codes = [b.removeprefix("bed-").replace("-", "/") for b in beds]
    assert codes == sorted(codes, key=bed_order_key)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.screenshot(path=str(tmp_path / "board.png"))

    # Keyboard only: the skip link comes first, then the board's links in bed order.
    page.keyboard.press("Tab")
    assert _focused(page) == "Skip to main content"
    record = page.locator(f'a[href="/ui/patients/{patient_id}/assessments/news2"]')
    record.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/ui/patients/{patient_id}/assessments/news2")

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # skip link -> main
    page.keyboard.press("Tab")
    # Tab order is the RCP chart order: RR, SpO2, air/oxygen, BP, pulse, ACVPU, temperature.
    _type_and_tab(page, "f-respiration-rate", "22")
    assert _focused(page) == "f-spo2"
    page.keyboard.type("140")
    problem = page.locator("#f-spo2-problem")
    problem.wait_for(state="visible")
    assert problem.inner_text().startswith("SpO2 140 %? Check the reading")
    assert page.get_attribute("#f-spo2", "aria-invalid") == "true"
    page.keyboard.press("Control+A")
    _type_and_tab(page, "f-spo2", "94")
    assert _focused(page) == "f-on-oxygen"  # the air/oxygen radio group
    page.keyboard.press("ArrowRight")  # Yes -> No (air): arrow keys choose within the group
    assert page.is_checked("#f-on-oxygen-false")
    assert page.is_hidden("#f-oxygen-flow")  # flow rate only asked on oxygen (enableWhen)
    page.keyboard.press("Tab")
    _type_and_tab(page, "f-systolic-bp", "104")
    _type_and_tab(page, "f-pulse", "112")
    assert _focused(page) == "f-consciousness"
    page.keyboard.press("Space")  # Alert
    page.keyboard.press("Tab")
    assert _focused(page) == "f-temperature"
    page.keyboard.type("38.4")

    running = page.locator("#running-score")
    assert running.get_attribute("aria-live") == "polite"
    live = page.locator("#live-score")
    live.wait_for(state="visible")
    assert live.inner_text().split() == ["7", "HIGH"]
    assert "level-3" in (live.get_attribute("class") or "")
    # Sub-scores from RCP chart 1 beside each reading: pulse 111-130 scores 2, SpO2 94-95 1.
    assert page.locator("#f-pulse-points").inner_text() == "scores 2"
    assert page.locator("#f-spo2-points").inner_text() == "scores 1"
    assert page.locator("#f-spo2-problem").is_hidden()
    page.screenshot(path=str(tmp_path / "news2-form.png"))

    page.keyboard.press("Enter")  # submits the form from the last field
    page.wait_for_url("**/recorded?**")
    assert page.locator("#stored-score").inner_text().split() == ["7", "HIGH"]
    assert "STAT" in page.locator("#escalation").inner_text()

    page.goto(f"{base}/ui/patients/{patient_id}")
    latest = page.locator(".latest .score")
    assert latest.inner_text().split() == ["7", "HIGH"]
    assert page.locator(".news2-chart svg circle").count() >= 1
    assert "Royal College of Physicians" in page.locator(".news2-chart figcaption").inner_text()

    page.goto(f"{base}/ui/wards/WARD7")
    bed_code = admitted.bed["identifier"][0]["value"].replace("/", "-")
    row = page.locator(f"#bed-{bed_code}")
    assert row.locator(".news2 .score").inner_text().split() == ["7", "HIGH"]
    assert "STAT" in row.locator(".escalations").inner_text()
    assert "Continuous" in row.locator(".due").inner_text()


def test_the_board_refreshes_its_rows_in_place(
    page: Any, live_server: LiveServer, ward: SyntheticHospital
) -> None:
    admitted = next(a for a in ward.admitted if not a.deteriorating)
    page.goto(f"{live_server.base_url}/ui/wards/WARD7")
    bed_code = admitted.bed["identifier"][0]["value"].replace("/", "-")
    before = page.locator(f"#bed-{bed_code} .news2").inner_text()
    form = {
        "respiration-rate": "26",
        "spo2": "91",
        "on-oxygen": "true",
        "oxygen-flow": "4",
        "systolic-bp": "88",
        "pulse": "131",
        "consciousness": "V",
        "temperature": "39.5",
    }
    recorded = page.request.post(
        f"{live_server.base_url}/ui/patients/{admitted.patient['id']}/assessments/news2",
        form=form,
        max_redirects=0,
    )
    assert recorded.status == 303
    page.locator("a[href^='/ui/patients/']").first.focus()
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    page.evaluate("window.wardcareRefreshBoard()")
    cell = page.locator(f"#bed-{bed_code} .news2 .score")
    cell.filter(has_text="HIGH").wait_for()
    assert cell.inner_text().split()[0] == "19"  # RR 3, SpO2 3, O2 2, BP 3, HR 3, V 3, T 2
    assert before != page.locator(f"#bed-{bed_code} .news2").inner_text()
    assert page.evaluate("document.activeElement.getAttribute('href')") == focused
