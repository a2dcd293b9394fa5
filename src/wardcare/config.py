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
    # SMART on FHIR resource-server security (README "Security and audit"): tokens are accepted
    # only from this issuer, signed by a key in its JWKS, for this audience.
    auth_issuer: str | None = None
    auth_jwks_url: str | None = None
    auth_jwks_file: str | None = None  # a JWKS JSON file instead of a URL
    auth_audience: str | None = None
    auth_authorization_endpoint: str | None = None  # published in smart-configuration
    auth_token_endpoint: str | None = None
    auth_leeway_seconds: int = 30  # clock skew allowed on exp/nbf/iat
    # DEV ONLY: WardCare's own demo authorisation server and test EHR (`make demo`).
    dev_mode: bool = False
    dev_auth_key_file: str = "var/dev-auth-signing-key.pem"
    # The SMART app side (WardCare's UI) registers as this public client.
    launch_client_id: str = "wardcare-ui"
