"""Messages in a file: one message, many messages, or an HL7 batch (FHS/BHS ... BTS/FTS,
HL7 v2.5.1 2.10.3). Each MSH starts a message; batch header and trailer segments are
envelopes, not message content."""

from __future__ import annotations

import re

_ENVELOPE = (b"FHS", b"BHS", b"BTS", b"FTS")


def split_messages(content: bytes) -> list[bytes]:
    segments = [s for s in re.split(rb"\r\n|\r|\n", content) if s.strip()]
    messages: list[list[bytes]] = []
    for segment in segments:
        if segment[:3] in _ENVELOPE:
            continue
        if segment.startswith(b"MSH") or not messages:
            messages.append([])
        messages[-1].append(segment)
    return [b"\r".join(m) + b"\r" for m in messages]
