"""Rendering a UI page: the Jinja2 templates, the words and colours shared by every page, the
security headers, and errors as pages a nurse can read (not OperationOutcome JSON).

Pages are framed by the EHR (SMART EHR launch), so they must not send X-Frame-Options DENY;
`Content-Security-Policy: frame-ancestors` names who may frame them (setting
`ui_frame_ancestors`, CSP Level 2 section 7.7). Everything a page uses is served by WardCare
itself ('self'): no network, no CDN, no inline script.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from wardcare.api.worker_threads import run_in_worker
from wardcare.domain.news2 import RCP_ACKNOWLEDGEMENT
from wardcare.domain.schedule import LONDON
from wardcare.domain.ward_stay import age_from_birth_date
from wardcare.errors import WardCareError
from wardcare.fhir.outcomes import status_for

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
T = TypeVar("T")

# RCP NEWS2 colours (chart 1: a parameter scoring 3 red, 2 amber, 1 yellow, 0 white), used for
# the aggregate band the same way: HIGH red, MEDIUM amber, LOW-MEDIUM yellow, LOW white. The band
# is always written in words beside the colour (colour-blind readers, black-and-white print).
BAND_LEVEL = {"high": 3, "medium": 2, "low-medium": 1, "low": 0}


def band_words(band: str | None) -> str:
    return band.upper() if band else ""


def local_time(moment: datetime | None, zone: str = "Europe/London") -> str:
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(zone))
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    days = abs((local.date() - today).days)
    if days == 0:
        return local.strftime("%H:%M")
    if days < 6:
        return local.strftime("%a %H:%M")  # "Wed 08:20": the weekday is enough within a week
    return local.strftime("%d %b %H:%M")


def duration(delta: timedelta | None) -> str:
    """How long, as a nurse says it: "45 min", "2 h 5 min", "3 days"."""
    if delta is None:
        return ""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return f"{hours // 24} days"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def patient_name(patient: dict[str, Any] | None) -> str:
    name = ((patient or {}).get("name") or [{}])[0]
    family = str(name.get("family", "")).upper()
    given = " ".join(name.get("given", []))
    return f"{family}, {given}".strip(", ") or "Name not recorded"


def age(patient: dict[str, Any] | None, today: date | None = None) -> int | None:
    return age_from_birth_date(
        (patient or {}).get("birthDate"), today or datetime.now(UTC).astimezone(LONDON).date()
    )


templates.env.filters.update(
    local_time=local_time, duration=duration, band_words=band_words, patient_name=patient_name
)
templates.env.globals.update(
    band_level=BAND_LEVEL, rcp_acknowledgement=RCP_ACKNOWLEDGEMENT, age=age
)


def _headers(request: Request) -> dict[str, str]:
    ancestors = request.app.state.context.settings.ui_frame_ancestors
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'; form-action 'self'; base-uri 'self'; frame-ancestors {ancestors}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",  # clinical pages are never served stale from a cache
    }


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, name, context, status_code=status, headers=_headers(request)
    )
    assert isinstance(response, HTMLResponse)
    return response


def error_page(request: Request, error: WardCareError) -> HTMLResponse:
    return page(
        request,
        "error.html",
        {"messages": [i.message for i in error.issues] or [error.category.value]},
        status_for(error),
    )


async def call(request: Request, work: Callable[[], T]) -> T | HTMLResponse:
    """Run a service call in a worker thread; a WardCare error becomes a readable page."""
    try:
        return await run_in_worker(work)
    except WardCareError as exc:
        return error_page(request, exc)
