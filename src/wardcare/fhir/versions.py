"""One stored version of a resource: what read, vread, history and search hand back."""

from __future__ import annotations

from dataclasses import dataclass

from wardcare.fhir.dates import from_micros, instant


@dataclass(frozen=True)
class StoredVersion:
    rid: int
    resource_type: str
    id: str
    version_id: int
    last_updated: int  # microseconds since the epoch, UTC
    deleted: bool
    method: str
    content: bytes | None  # the resource JSON as served; None for a deleted version

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'

    @property
    def last_updated_instant(self) -> str:
        return instant(from_micros(self.last_updated))
