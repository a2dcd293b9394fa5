"""Settings, in one place: command-line options override WARDCARE_* environment variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Hl7Destination(BaseModel):
    """A system WardCare sends HL7 v2 messages to over MLLP (README, "Results back to the EHR")."""

    name: str = Field(min_length=1, max_length=64)
    host: str
    port: int = Field(ge=1, le=65535)
    # Only these message types are queued for this destination.
    message_types: list[Literal["ORU^R01", "MDM^T02"]] = Field(min_length=1)
    receiving_application: str = ""  # MSH-5
    receiving_facility: str = ""  # MSH-6
    ack_timeout_seconds: float = Field(default=10.0, gt=0)
    # An AE (application error) is retried this many times in all, then dead-lettered; AR and
    # timeouts are retried with backoff until the receiver takes the message.
    max_attempts: int = Field(default=5, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARDCARE_", extra="ignore")

    database_url: str = "sqlite:///var/wardcare.db"
    host: str = "127.0.0.1"
    http_port: int = 8000
    mllp_port: int = 2575
    # An inbound MLLP frame larger than this is answered AR and its connection closed; a
    # connection with no byte for this long is closed (only that connection).
    mllp_max_frame_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    mllp_idle_timeout_seconds: float = Field(default=300.0, gt=0)
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
    # At NEWS2 7 or more (RCP chart 2: continuous monitoring) the due list shows obs overdue when
    # no new set was scored within this many minutes of the last one.
    news2_high_score_minutes: int = Field(default=30, ge=1)
    # A reading or form dated more than this many minutes after the server's clock is refused
    # (hazard API1: a far-future date hid its assessment from the due list).
    future_tolerance_minutes: int = Field(default=15, ge=0)
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

    # HL7 v2 outbound: destinations as a JSON list (WARDCARE_HL7_DESTINATIONS) or a JSON file
    # (WARDCARE_HL7_DESTINATIONS_FILE); none configured means nothing is queued or sent.
    hl7_destinations: list[Hl7Destination] = Field(default_factory=list)
    hl7_destinations_file: Path | None = None
    hl7_sending_application: str = "WARDCARE"  # MSH-3
    hl7_sending_facility: str = "WARDCARE"  # MSH-4 and the facility in PV1-3
    hl7_processing_id: Literal["P", "T", "D"] = "P"  # MSH-11 (HL7 table 0103)
    # Inbound MSH-11 values accepted, e.g. "P" on a live system, "T,D" on a training one (HL7
    # table 0103); others are AR 202. Empty (the default) accepts every processing id.
    hl7_inbound_processing_ids: str = ""
    # Retry backoff: the first wait, doubled after each failed attempt, up to the maximum.
    hl7_retry_initial_seconds: float = Field(default=1.0, gt=0)
    hl7_retry_max_seconds: float = Field(default=300.0, gt=0)

    # Who may show the ward UI in a frame (CSP frame-ancestors, CSP Level 2): the EHR's origin,
    # e.g. "'self' https://ehr.trust.nhs.uk". Set it to the EHR that embeds WardCare.
    ui_frame_ancestors: str = "'self'"

    @model_validator(mode="after")
    def _destinations_from_file(self) -> Settings:
        if self.hl7_destinations_file is not None:
            raw = json.loads(self.hl7_destinations_file.read_text(encoding="utf-8"))
            self.hl7_destinations = [Hl7Destination.model_validate(d) for d in raw]
        names = [d.name for d in self.hl7_destinations]
        if len(set(names)) != len(names):
            raise ValueError(f"HL7 destination names must be unique: {names}")
        return self
