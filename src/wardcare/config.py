"""Settings, in one place: command-line options override WARDCARE_* environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARDCARE_", extra="ignore")

    database_url: str = "sqlite:///var/wardcare.db"
    host: str = "127.0.0.1"
    http_port: int = 8000
    mllp_port: int = 2575
    # The public base URL for Bundle fullUrls and Location headers; derived from the request
    # when unset.
    base_url: str | None = None
    # FULL makes every commit durable against power loss (an fsync per commit, ~0.5 ms here):
    # a clinical record that was acknowledged must survive. NORMAL survives a process crash only.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    default_page_size: int = 20
    max_page_size: int = 1000
    # Readings taken within this many minutes of each other make one NEWS2 set.
    news2_window_minutes: int = 30
    # Times shown to people are ward-local (brief section 7); everything stored is UTC.
    local_timezone: str = "Europe/London"
    # Who may show the ward UI in a frame (CSP frame-ancestors, CSP Level 2): the EHR's origin,
    # e.g. "'self' https://ehr.trust.nhs.uk". Set it to the EHR that embeds WardCare.
    ui_frame_ancestors: str = "'self'"
