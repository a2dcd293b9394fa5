"""Rendering on its own: a model in, a PDF out, nothing fetched, text escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.handover.pdf_pages import page_texts, squash
from wardcare.domain.news2_colours import NOT_RECORDED
from wardcare.handover import rendering
from wardcare.handover.model import (
    NONE_RECORDED,
    BedBlock,
    DocumentHeader,
    News2Summary,
    PatientIdentity,
    RiskFlag,
    WardSheet,
)

HEADER = DocumentHeader(
    title="Ward handover sheet",
    ward='Ward "7" <b>',
    ward_code="WARD7",
    shift="Night 01 Dec (19:30-07:30)",
    printed_by="Sister O'Brien",
    data_time="Tue 01 Dec 2026 18:50 GMT",
    printed_on="01 Dec 2026",
)


def _patient(name: str) -> PatientIdentity:
    return PatientIdentity(
        name=name,
        age="84 y",
        sex="F",
        nhs_number="943 476 5919",
        birth_date="05 Nov 1942",
        stay="admitted today",
        admitted="01 Dec 10:00",
        admitting_problem=NONE_RECORDED,
        allergies=(NONE_RECORDED,),
        allergy_alert=False,
    )


def test_a_sheet_renders_to_a_pdf_with_text_escaped(tmp_path: Path) -> None:
    sheet = WardSheet(
        HEADER,
        (
            BedBlock(
                "Bay 1 Bed 1",
                _patient("SMITH, <script>Jo"),
                News2Summary(None, "", NOT_RECORDED, NONE_RECORDED),
                flags=(RiskFlag("Falls", NONE_RECORDED, False),),
            ),
            BedBlock("Bay 1 Bed 2", None),
        ),
    )
    html = rendering.ward_sheet_html(sheet)
    assert "<script>Jo" not in html
    assert "&lt;script&gt;Jo" in html
    pdf, pages = rendering.to_pdf(html)
    assert pdf.startswith(b"%PDF-")
    assert pages == 1
    text = squash(" ".join(page_texts(pdf, tmp_path)))
    assert "SMITH, <script>Jo" in text
    assert "NEWS2: none recorded" in text
    assert "Empty bed" in text
    assert "Sister O'Brien" in text
    # The page margin line is a CSS string: quotes and markup stay text.
    assert 'CONFIDENTIAL: patient information. Ward "7" <b>, 01 Dec 2026' in text


def test_css_strings_cannot_break_out() -> None:
    assert rendering.css_string('a"b\\c</style>') == '"a\\22 b\\5C c\\3C /style>"'
    assert rendering.css_string("line\nbreak") == '"linebreak"'


@pytest.mark.parametrize(
    "url", ["http://example.org/x.png", "https://example.org/", "file:///etc/passwd"]
)
def test_rendering_fetches_nothing_outside_the_package(url: str) -> None:
    with pytest.raises(rendering.NetworkRefused):
        rendering.PackageOnlyFetcher().fetch(url)
    html = f'<html><body><img src="{url}"><p>x</p></body></html>'
    with pytest.raises(rendering.NetworkRefused):
        rendering.to_pdf(html)


def test_package_files_and_data_urls_are_allowed() -> None:
    response = rendering.PackageOnlyFetcher().fetch((rendering.TEMPLATES / "_page.css").as_uri())
    assert response is not None
    pdf, pages = rendering.to_pdf(
        '<html><body><img src="data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22/>">'
        "</body></html>"
    )
    assert pages == 1
    assert pdf.startswith(b"%PDF-")
