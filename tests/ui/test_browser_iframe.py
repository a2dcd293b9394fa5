"""The UI inside an EHR's frame: allowed for the EHR named in `ui_frame_ancestors`, refused for
any other site (CSP frame-ancestors), and usable there with the keyboard."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import LiveServer
from wardcare.demo.synthetic_hospital import SyntheticHospital
from wardcare.services.context import AppContext

pytestmark = pytest.mark.slow


class _EhrPage(BaseHTTPRequestHandler):
    """A stand-in EHR on its own port (another origin) whose page frames WardCare's URL."""

    framed = ""

    def do_GET(self) -> None:
        body = (
            "<!doctype html><html lang='en'><head><title>Test EHR</title></head><body>"
            "<h1>Test EHR</h1>"
            f"<iframe id='wardcare' title='WardCare' src='{self.framed}' width='1300' "
            "height='700'></iframe></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def ehr() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EhrPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _origin(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _open_in_ehr(page: Any, ehr: ThreadingHTTPServer, board_url: str) -> None:
    _EhrPage.framed = board_url
    page.goto(f"{_origin(ehr)}/chart")


def test_the_board_works_inside_the_configured_ehrs_frame(
    page: Any, context: AppContext, ward: SyntheticHospital, ehr: ThreadingHTTPServer
) -> None:
    settings = context.settings.model_copy(update={"ui_frame_ancestors": f"'self' {_origin(ehr)}"})
    with LiveServer(dataclasses.replace(context, settings=settings)) as server:
        _open_in_ehr(page, ehr, f"{server.base_url}/ui/wards/WARD7")
        frame = page.frame_locator("#wardcare")
        assert "Ward 7" in frame.locator("h1").inner_text()
        # Keyboard only, inside the frame: Tab reaches the skip link, then into the board.
        page.locator("#wardcare").focus()
        page.keyboard.press("Tab")
        inner = page.frames[1]
        assert inner.evaluate("document.activeElement.textContent") == "Skip to main content"
        first = ward.admitted[0].patient["id"]
        inner.locator(f'a[href="/ui/patients/{first}"]').focus()
        page.keyboard.press("Enter")
        frame.locator(".patient-banner h1").wait_for()
        assert page.url == f"{_origin(ehr)}/chart"  # the EHR page stays; the frame moved


def test_another_site_cannot_frame_the_ui(
    page: Any, live_server: LiveServer, ward: SyntheticHospital, ehr: ThreadingHTTPServer
) -> None:
    # The default setting ('self') names no EHR: another origin's frame stays empty.
    _open_in_ehr(page, ehr, f"{live_server.base_url}/ui/wards/WARD7")
    inner = page.frames[1]
    assert "Ward 7" not in inner.content()
    assert inner.locator("#board").count() == 0
