"""Handover documents to HTML (Jinja2) and to PDF (WeasyPrint), with no network access.

The templates live in this package (`templates/`, shipped in the wheel); stylesheet and charts
are inline (CSS and SVG drawn from the model), so rendering needs no fetch at all. The URL
fetcher still refuses everything except `data:` URLs and files inside `templates/`: a template
that tried to reach the network (or a patient's name that smuggled in a URL) fails loudly
instead of leaking data or stalling a print. Fonts are DejaVu, from Debian's fonts-dejavu-core,
found by fontconfig.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from wardcare.domain.news2 import RCP_ACKNOWLEDGEMENT
from wardcare.handover.model import PatientHandover, WardSheet

TEMPLATES = Path(__file__).resolve().parent / "templates"


class NetworkRefused(FatalURLFetchingError):  # type: ignore[misc]
    """Rendering asked for something outside the package: refused, and the print fails."""


class PackageOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """Only `data:` URLs and files in this package's templates folder."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if url.startswith("file://"):
            path = Path(url.removeprefix("file://")).resolve()
            if path.is_relative_to(TEMPLATES):
                return super().fetch(url, headers)
        raise NetworkRefused(f"handover rendering does not fetch {url[:80]!r}")


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt field is an error, not a blank box
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css_string"] = css_string
    env.globals["rcp_acknowledgement"] = RCP_ACKNOWLEDGEMENT
    return env


def css_string(text: str) -> Markup:
    """Text as a quoted CSS string for `content:` in page margin boxes. It sits in a <style>
    element, where HTML escapes are not decoded, so CSS escapes are used instead: `<` too, so
    no text can close the element."""
    cleaned = "".join(c for c in text if c.isprintable())
    escaped = cleaned.replace("\\", "\\5C ").replace('"', "\\22 ").replace("<", "\\3C ")
    return Markup(f'"{escaped}"')


def ward_sheet_html(sheet: WardSheet) -> str:
    return _environment().get_template("ward_sheet.html").render(sheet=sheet)


def patient_handover_html(handover: PatientHandover) -> str:
    return _environment().get_template("patient_handover.html").render(doc=handover)


def to_pdf(html: str) -> tuple[bytes, int]:
    """The PDF of a rendered document and its page count (title and author come from the
    document's <title> and <meta>)."""
    document = HTML(
        string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=PackageOnlyFetcher()
    ).render()
    pdf: bytes = document.write_pdf()
    return pdf, len(document.pages)
