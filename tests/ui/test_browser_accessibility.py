"""Accessibility smoke check in a real browser (axe-core is not available offline, so the
checks are programmatic): every control has a label, landmarks and a skip link exist, text meets
WCAG 2.1 AA contrast, focus is visible, and nothing scrolls sideways at 1366x768."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer
from wardcare.demo.synthetic_hospital import SyntheticHospital
from wardcare.services.context import AppContext

pytestmark = pytest.mark.slow

_CHECKS = (Path(__file__).parent / "accessibility_checks.js").read_text(encoding="utf-8")


def _focus_is_visible(page: Any) -> bool:
    return bool(
        page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
            return s.outlineStyle !== 'none' || s.boxShadow !== 'none'; }"""
        )
    )


def test_every_page_passes_the_accessibility_checks(
    page: Any, live_server: LiveServer, ward: SyntheticHospital, context: AppContext
) -> None:
    patient_id = ward.admitted[0].patient["id"]
    base = live_server.base_url
    pages = ["/ui/wards", "/ui/wards/WARD7", f"/ui/patients/{patient_id}"] + [
        f"/ui/patients/{patient_id}/assessments/{t.template.id}"
        for t in context.catalog.latest()
        if t.template.status == "active"
    ]
    for path in pages:
        page.goto(base + path)
        assert page.evaluate(_CHECKS) == [], path
        # Focus is visible on whatever the keyboard reaches: the skip link, then the next stops.
        for _ in range(3):
            page.keyboard.press("Tab")
            assert _focus_is_visible(page), (
                path,
                page.evaluate("document.activeElement.outerHTML"),
            )


def test_questioned_readings_are_announced_with_their_field(
    page: Any, live_server: LiveServer, ward: SyntheticHospital
) -> None:
    patient_id = ward.admitted[0].patient["id"]
    page.goto(f"{live_server.base_url}/ui/patients/{patient_id}/assessments/news2")
    page.fill("#f-temperature", "101")
    page.locator("#f-temperature-problem").wait_for(state="visible")
    described = page.get_attribute("#f-temperature", "aria-describedby") or ""
    assert "f-temperature-problem" in described.split()
    assert "Fahrenheit" in page.inner_text("#f-temperature-problem")
    assert page.evaluate(_CHECKS) == []  # the message itself meets contrast


def test_the_checks_find_what_they_look_for(page: Any) -> None:
    page.set_content(
        "<html><body><div style='width:2000px'><input id='x'>"
        "<p style='color:#aaaaaa'>pale text</p><h1>a</h1></div></body></html>"
    )
    problems = page.evaluate(_CHECKS)
    assert any(p.startswith("no accessible name") for p in problems)
    assert any(p.startswith("contrast") and "pale text" in p for p in problems)
    assert "expected one main" in problems
    assert "no skip link first" in problems
    assert "horizontal scroll" in problems
