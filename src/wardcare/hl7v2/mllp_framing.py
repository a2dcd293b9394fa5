"""MLLP framing: the Minimal Lower Layer Protocol envelope around an HL7 v2 message.

HL7 v2.5.1 Implementation Guide, Appendix C (MLLP release 1/2): a message travels as
``<VT> message <FS><CR>``, i.e. the start block 0x0B, the message bytes, then the end block
0x1C 0x0D. This module is pure (no sockets): `encode_frame` wraps one message and
`MllpFrameDecoder` turns a stream of received chunks back into frames, whatever the chunk
boundaries (a slow sender may deliver a frame one byte at a time).

Robustness rules, because one misbehaving peer must never stop the listener:
- bytes before a start block are skipped (line noise, a peer's keep-alive, a stray CR);
- a start block inside an unfinished frame abandons that frame and starts a new one (the peer
  gave up and resent: 0x0B never occurs in HL7 text, whose characters are printable);
- a frame longer than ``max_frame_size`` is not buffered whole: its first ``max_frame_size``
  bytes are kept (enough to read MSH and answer AR) and the rest discarded up to its end block;
- bytes of an unfinished frame at EOF are never returned (`in_frame` tells the caller).
"""

from __future__ import annotations

from dataclasses import dataclass

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
_START = 0x0B
_FS = 0x1C
_CR = 0x0D

# Large enough for an MDM with a base64 PDF of a few megabytes; a trust can raise it.
DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024


def encode_frame(message: bytes) -> bytes:
    """One message wrapped in MLLP start and end blocks."""
    return START_BLOCK + message + END_BLOCK


@dataclass(frozen=True, slots=True)
class Frame:
    """One received frame. ``oversize`` frames hold only the first ``max_frame_size`` bytes."""

    payload: bytes
    oversize: bool = False


class MllpFrameDecoder:
    """Incremental MLLP decoder: feed it chunks as they arrive; it returns complete frames."""

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if max_frame_size < 1:
            raise ValueError("max_frame_size must be positive")
        self.max_frame_size = max_frame_size
        self._buffer = bytearray()
        self._in_frame = False
        self._oversize = False  # discarding the tail of a frame that grew past the maximum
        self._pending_fs = False  # a 0x1C ended the last chunk while discarding
        self.skipped_bytes = 0  # bytes outside any frame, for the connection's log
        self.abandoned_frames = 0  # frames restarted by a new start block before their end

    @property
    def in_frame(self) -> bool:
        """True while part of a frame has been received but not its end block."""
        return self._in_frame

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        view = memoryview(data)
        pos = 0
        size = len(data)
        while pos < size:
            if not self._in_frame:
                start = data.find(START_BLOCK, pos)
                if start < 0:
                    self.skipped_bytes += size - pos
                    return frames
                self.skipped_bytes += start - pos
                pos = start + 1
                self._begin()
                continue
            if self._oversize:
                pos = self._discard(data, pos, frames)
                continue
            pos = self._collect(data, view, pos, frames)
        return frames

    def _begin(self) -> None:
        self._in_frame = True
        self._oversize = False
        self._pending_fs = False
        self._buffer.clear()

    def _collect(self, data: bytes, view: memoryview, pos: int, frames: list[Frame]) -> int:
        """Append frame bytes until the end block, a restarting start block or the maximum."""
        # The end block may straddle two chunks: the buffer can end with 0x1C.
        if self._buffer and self._buffer[-1] == _FS and data[pos] == _CR:
            self._buffer.pop()
            self._finish(frames, bytes(self._buffer), oversize=False)
            return pos + 1
        end = data.find(END_BLOCK, pos)
        restart = data.find(START_BLOCK, pos)
        if restart >= 0 and (end < 0 or restart < end):
            self.abandoned_frames += 1
            self._begin()
            return restart + 1
        stop = end if end >= 0 else len(data)
        room = self.max_frame_size - len(self._buffer)
        if stop - pos > room:
            self._buffer += view[pos : pos + room]
            self._oversize = True
            return pos + room
        self._buffer += view[pos:stop]
        if end < 0:
            return len(data)
        self._finish(frames, bytes(self._buffer), oversize=False)
        return end + len(END_BLOCK)

    def _discard(self, data: bytes, pos: int, frames: list[Frame]) -> int:
        """Drop an oversize frame's tail up to its end block, then report its head."""
        if self._pending_fs:
            self._pending_fs = False
            if data[pos] == _CR:
                self._finish(frames, bytes(self._buffer), oversize=True)
                return pos + 1
        end = data.find(END_BLOCK, pos)
        restart = data.find(START_BLOCK, pos)
        if restart >= 0 and (end < 0 or restart < end):
            self.abandoned_frames += 1
            self._begin()
            return restart + 1
        if end < 0:
            self._pending_fs = data[-1] == _FS
            return len(data)
        self._finish(frames, bytes(self._buffer), oversize=True)
        return end + len(END_BLOCK)

    def _finish(self, frames: list[Frame], payload: bytes, *, oversize: bool) -> None:
        frames.append(Frame(payload, oversize))
        self._in_frame = False
        self._oversize = False
        self._pending_fs = False
        self._buffer.clear()
