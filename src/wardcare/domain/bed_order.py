"""Bed order: the order a ward is walked and its handover sheet printed (brief section 1).

Location codes come from the patient administration system (HL7 PV1-3: ward^bay^bed), e.g.
WARD7/BAY2/BED5. Sorting them as text would put BAY10 before BAY2, so each segment is compared
by its letters, then by its number: bays in number order, bed by bed, then side rooms.
"""

from __future__ import annotations

import re

_RUN = re.compile(r"(\d+)")


def bed_order_key(location_code: str) -> tuple[tuple[str | int, ...], ...]:
    """A sort key that orders ``WARD7/BAY2/BED10`` after ``WARD7/BAY2/BED9``."""
    return tuple(
        tuple(int(part) if part.isdigit() else part.upper() for part in _RUN.split(segment) if part)
        for segment in location_code.split("/")
    )
