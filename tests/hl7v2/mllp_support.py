"""The MLLP listener on a free port of 127.0.0.1, in its own event-loop thread, for tests that
talk to it over real sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.hl7v2.mllp_framing import MllpFrameDecoder, encode_frame
from wardcare.hl7v2.mllp_listener import MllpListener
from wardcare.services.context import AppContext


@contextmanager
def running_listener(context: AppContext, **options: float) -> Iterator[MllpListener]:
    loop = asyncio.new_event_loop()
    listener = MllpListener(InboundHandler(context), host="127.0.0.1", port=0, **options)  # type: ignore[arg-type]
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(listener.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "listener did not start"
    try:
        yield listener
    finally:
        asyncio.run_coroutine_threadsafe(listener.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def send_raw(port: int, data: bytes, *, acks: int = 1, timeout: float = 20) -> list[bytes]:
    """Send bytes as they are and read `acks` frames back (a plain socket, no MLLP library)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        return read_frames(conn, acks)


def read_frames(conn: socket.socket, count: int) -> list[bytes]:
    decoder = MllpFrameDecoder()
    frames: list[bytes] = []
    while len(frames) < count:
        data = conn.recv(65536)
        if not data:
            break
        frames += [f.payload for f in decoder.feed(data)]
    return frames


def frame(message: bytes) -> bytes:
    return encode_frame(message)
