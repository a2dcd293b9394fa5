"""A real MLLP receiver for the outbound tests: an asyncio server on a free port of 127.0.0.1,
in its own thread, answering each message as the test scripts it (AA, AE, AR, an ACK whose MSA-2
names another message, or no answer at all), like an EHR's integration engine would."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterable
from typing import Literal

from wardcare.hl7v2.mllp_framing import MllpFrameDecoder, encode_frame

Answer = Literal["AA", "AE", "AR", "wrong-msa-2", "silent"]


def control_id(message: str) -> str:
    return message.split("\r", 1)[0].split("|")[9]


def ack(code: str, echoed: str) -> bytes:
    segments = [
        f"MSH|^~\\&|EPR|LTH|WARDCARE|WARDCARE|20261122101600||ACK^R01^ACK|A{echoed}|P|2.5.1",
        f"MSA|{code}|{echoed}",
    ]
    if code != "AA":
        segments.append("ERR||PID^1^3|204^Unknown key identifier^HL70357|E||||Patient not known")
    return ("\r".join(segments) + "\r").encode()


class MllpReceiver:
    def __init__(
        self, answers: Iterable[Answer] = (), default: Answer = "AA", port: int = 0
    ) -> None:
        self._answers: deque[Answer] = deque(answers)
        self.default: Answer = default
        self.received: list[str] = []  # every message, in arrival order (resends included)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = port

    def script(self, *answers: Answer, default: Answer | None = None) -> None:
        with self._lock:
            self._answers.extend(answers)
            if default is not None:
                self.default = default

    def control_ids(self) -> list[str]:
        with self._lock:
            return [control_id(m) for m in self.received]

    def __enter__(self) -> MllpReceiver:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the test MLLP receiver did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        server = await asyncio.start_server(self._connection, "127.0.0.1", self.port)
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        async with server:
            await self._stop.wait()
            server.close()
            for writer in list(self._writers):
                writer.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = MllpFrameDecoder()
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while chunk := await reader.read(65536):
                for frame in decoder.feed(chunk):
                    message = frame.payload.decode()
                    with self._lock:
                        self.received.append(message)
                        answer = self._answers.popleft() if self._answers else self.default
                    echoed = control_id(message)
                    if answer == "silent":
                        continue
                    if answer == "wrong-msa-2":
                        writer.write(encode_frame(ack("AA", "NOT" + echoed)))
                    else:
                        writer.write(encode_frame(ack(answer, echoed)))
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            if task is not None:
                self._tasks.discard(task)
