"""Accessibility smoke check in a real browser (axe-core is not available offline, so the
checks are programmatic): every control has a label, landmarks and a skip link exist, text meets
WCAG 2.1 AA contrast, focus is visible, and nothing scrolls sideways at 1366x768."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer
from wardcare.demo.synthetic_hospital import SyntheticHospital
from wardcare.services.context import AppContext

pytestmark = pytest.mark.slow

# Runs in the page: a list of problems, empty when the page passes.
_CHECKS = """() => {
  const problems = [];
  const name = (el) => {
    if (el.labels && el.labels.length) return el.labels[0].textContent.trim();
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(' ').map(id => document.getElementById(id)?.textContent || '').join(' ').trim();
    if (el.tagName === 'BUTTON' || el.tagName === 'A') return el.textContent.trim();
    return '';
  };
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]')) {
    if (!name(el)) problems.push('no accessible name: ' + el.outerHTML.slice(0, 120));
  }
  for (const radio of document.querySelectorAll('input[type=radio]')) {
    const set = radio.closest('fieldset');
    if (!set || !set.querySelector('legend')?.textContent.trim()) problems.push('radio outside a labelled group: ' + radio.name);
  }
  for (const selector of ['header', 'nav', 'main', 'footer', 'h1']) {
    if (document.querySelectorAll(selector).length !== 1) problems.push('expected one ' + selector);
  }
  const skip = document.querySelector('a[href]');
  if (!skip || skip.getAttribute('href') !== '#main' || !document.getElementById('main')) problems.push('no skip link first');
  for (const svg of document.querySelectorAll('svg[role=img]')) {
    if (!svg.querySelector('title')?.textContent.trim()) problems.push('chart without a title');
  }
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const colour = rgb(getComputedStyle(node).backgroundColor);
      if (colour.length === 3 || (colour.length === 4 && colour[3] > 0)) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const el = text.parentElement;
    if (!text.textContent.trim() || !el || el.closest('svg, .visually-hidden, [hidden], .skip-link')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const fg = luminance(rgb(style.color)), bg = luminance(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} for "${text.textContent.trim().slice(0, 30)}"`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth) problems.push('horizontal scroll');
  return problems;
}"""


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
