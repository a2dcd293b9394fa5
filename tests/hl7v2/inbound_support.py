"""Helpers for the inbound HL7 tests: samples, and reading back what a message stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from wardcare.services.context import AppContext

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    """A sample message with CR segment ends (the files are stored with LF)."""
    return (SAMPLES / name).read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r")


def ack_fields(ack: bytes) -> dict[str, list[str]]:
    """Segment name -> its fields (the first of each name), for asserting on an ACK."""
    found: dict[str, list[str]] = {}
    for segment in ack.decode().split("\r"):
        if segment:
            found.setdefault(segment[:3], segment.split("|"))
    return found


def current(context: AppContext, resource_type: str) -> list[dict[str, Any]]:
    with context.uow.read() as tx:
        rows = tx.connection.exec_driver_sql(
            "SELECT v.content FROM resources r JOIN resource_versions v"
            " ON v.rid = r.rid AND v.version_id = r.version_id"
            " WHERE r.resource_type = ? AND NOT r.deleted"
            if context.uow.engine.dialect.name == "sqlite"
            else "SELECT v.content FROM resources r JOIN resource_versions v"
            " ON v.rid = r.rid AND v.version_id = r.version_id"
            " WHERE r.resource_type = %s AND NOT r.deleted",
            (resource_type,),
        ).all()
    return [orjson.loads(r[0]) for r in rows]
