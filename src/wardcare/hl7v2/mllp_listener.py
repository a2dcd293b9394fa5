"""The MLLP listener: an asyncio server that `wardcare serve` runs beside HTTP.

Each connection reads frames (mllp_framing) and answers each message with its ACK before
reading the next one, as MLLP senders expect. The work runs in a worker thread (services are
synchronous); one patient's messages are applied in the order received, across connections,
through a FIFO lock per patient, while different patients proceed in parallel. A connection
that sends garbage, stalls (idle timeout), oversize frames or drops mid-frame affects only
itself: an unfinished frame at EOF is never stored or acknowledged. An oversize frame is
answered AR (its MSH read from the head kept) and its connection closed; both limits come from
WARDCARE_MLLP_MAX_FRAME_BYTES and WARDCARE_MLLP_IDLE_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor

from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.hl7v2.inbound_ordering import PatientQueues
from wardcare.hl7v2.mllp_framing import DEFAULT_MAX_FRAME_SIZE, MllpFrameDecoder, encode_frame

log = logging.getLogger("wardcare.hl7v2")

# A message's handling waits on the database most of the time (round trips, commits), so each
# connection needs a thread of its own to keep the cores busy: asyncio's default executor has
# 6 threads on 2 cores, and with 8 connections two waited while the cores idled.
HANDLER_THREADS = 32
_HANDLER_THREADS = ThreadPoolExecutor(
    max_workers=HANDLER_THREADS, thread_name_prefix="wardcare-mllp"
)

DEFAULT_IDLE_TIMEOUT = 300.0  # seconds without a byte before a connection is closed
_LINGER_SECONDS = 10.0  # at most this long reading what a refused peer still sends


class MllpListener:
    def __init__(
        self,
        handler: InboundHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 2575,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self.handler = handler
        self.host = host
        self.requested_port = port
        self.max_frame_size = max_frame_size
        self.idle_timeout = idle_timeout
        self._server: asyncio.Server | None = None
        self._queues = PatientQueues()  # every identifier of the patient (inbound_ordering)
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_connection, self.host, self.requested_port
        )

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            tasks = list(self._connections)
            for task in tasks:
                task.cancel()
            # A message being applied when its connection is cancelled still commits in its
            # worker thread; its sender, unanswered, resends and gets the stored ACK.
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._server.wait_closed()

    async def _in_thread(self, payload: bytes) -> list[bytes]:
        """`handler.handle` in a handler thread, with this task's context (as `to_thread`)."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            _HANDLER_THREADS, context.run, self.handler.handle, payload
        )

    async def _lingering_close(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Half-close after the AR, then read and drop what the peer already sent: closing a
        socket with unread data resets the connection, and the peer could lose the AR."""
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()
            async with asyncio.timeout(min(self.idle_timeout, _LINGER_SECONDS)):
                while await reader.read(65536):
                    pass

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        decoder = MllpFrameDecoder(self.max_frame_size)
        try:
            while True:
                data = await asyncio.wait_for(reader.read(65536), self.idle_timeout)
                if not data:
                    break  # EOF; an unfinished frame is dropped unstored and unacknowledged
                oversize = False
                for frame in decoder.feed(data):
                    if frame.oversize:
                        acks = self.handler.too_large(frame.payload, self.max_frame_size)
                    else:
                        keys = self.handler.ordering_keys(frame.payload)
                        async with self._queues.hold(keys):
                            acks = await self._in_thread(frame.payload)
                    for ack in acks:
                        writer.write(encode_frame(ack))
                    await writer.drain()
                    if frame.oversize:
                        # AR sent; the peer is closed: it sends what WardCare will not take,
                        # and what follows in its stream is not trusted to be framed right.
                        oversize = True
                        break
                if oversize:
                    log.warning(
                        "MLLP frame over %d bytes: AR sent, connection closed", self.max_frame_size
                    )
                    await self._lingering_close(reader, writer)
                    break
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("MLLP connection failed")
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
