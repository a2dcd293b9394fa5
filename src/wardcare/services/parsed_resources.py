"""Stored resources parsed once: the ward's due list reads the same care plans, goals and
intervention Tasks on every request, and parsing their JSON was its largest single cost.

The cache is keyed by the stored JSON itself, not by (type, id, version): a new version (every
change is one, nothing is updated in place) has new JSON and so is parsed afresh, and even a
version number reused after a rolled-back write cannot return what was never committed. Looking
a key up hashes and compares the bytes, which costs a fraction of parsing them.

The parsed dicts are shared between requests: callers only read them (the due list, the care
summary, the handover sheet and intervention documentation's lookup do); a service that means
to change a resource parses its own copy.
"""

from __future__ import annotations

from typing import Any

import orjson


class ParsedResources:
    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._parsed: dict[bytes, dict[str, Any]] = {}

    def parse(self, content: bytes) -> dict[str, Any]:
        found = self._parsed.get(content)
        if found is None:
            found = orjson.loads(content)
            if len(self._parsed) >= self.capacity:
                # Bounded memory; dropping everything is cheaper than tracking recency on every
                # hit, and one request re-fills what a ward needs.
                self._parsed.clear()
            self._parsed[content] = found
        return found

    def __len__(self) -> int:
        return len(self._parsed)
