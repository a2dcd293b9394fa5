"""Ids WardCare assigns to the resources it creates: UUIDs that sort by when they were made.

FHIR leaves a server-assigned id opaque (R4 2.24.0.1 id: 1-64 of [A-Za-z0-9-.]); WardCare uses
RFC 9562 version 7 UUIDs, whose first 48 bits are the Unix time in milliseconds, rather than
random (version 4) ones. Why: every index keyed by an id, the store's (type, id) key and each
reference to a new resource (derivedFrom, Provenance.target, Task.focus), put a random id on a
random B-tree page, so one NEWS2 assessment (10 resources written together) dirtied some 76
SQLite pages a commit; with ids made in time order they land on the same few rightmost pages:
49 pages (docs/benchmarks.md, "Assessments"). The remaining 74 bits are random (RFC 9562 5.7),
so ids stay unguessable and unique across processes without coordination; ordering within one
millisecond is not needed for that locality and is not promised.
"""

from __future__ import annotations

import os
import time

_VERSION = 0x7
_VARIANT = 0b10  # RFC 9562 4.1: the variant of every UUID this RFC defines


def new_id(*, unix_ms: int | None = None) -> str:
    """A new version 7 UUID as a FHIR id (36 characters, lower-case hex and hyphens)."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    random_bits = int.from_bytes(os.urandom(10), "big")  # 80 bits; 74 are used
    value = (
        (ms & 0xFFFF_FFFF_FFFF) << 80
        | _VERSION << 76
        | (random_bits >> 68 & 0xFFF) << 64
        | _VARIANT << 62
        | random_bits & 0x3FFF_FFFF_FFFF_FFFF
    )
    # The canonical 8-4-4-4-12 form (RFC 9562 4), formatted directly: uuid.UUID's
    # constructor checks what is built right here, and cost as much as the rest.
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
