"""Crash test (issue 5): a real `wardcare serve` is killed with SIGKILL at random points while a
client sends vital-sign messages and resends each until it is acknowledged. Afterwards every
message that got an AA is in the database exactly once, and nothing was applied twice.

Bounded for the suite: WARDCARE_CRASH_MESSAGES (default 300) messages and
WARDCARE_CRASH_KILLS (default 3) kills; the issue's 2,000 is run by hand with
WARDCARE_CRASH_MESSAGES=2000 (figures in docs/benchmarks.md).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from tests.hl7v2.inbound_support import sample
from tests.hl7v2.test_inbound_samples import original_mode
from wardcare.hl7v2.mllp_framing import MllpFrameDecoder, encode_frame
from wardcare.storage.database import make_engine

MESSAGES = int(os.environ.get("WARDCARE_CRASH_MESSAGES", "300"))
KILLS = int(os.environ.get("WARDCARE_CRASH_KILLS", "3"))
WARDCARE = [sys.executable, "-m", "wardcare"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, database: str, env: dict[str, str]) -> None:
        self.database = database
        self.env = env
        self.mllp_port = _free_port()
        self.http_port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *WARDCARE,
                "serve",
                "--database",
                self.database,
                "--http-port",
                str(self.http_port),
                "--mllp-port",
                str(self.mllp_port),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.mllp_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("wardcare serve did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


def _vitals(n: int) -> bytes:
    """The e-obs sample as the n-th set, a minute after the one before (as a monitor sends)."""
    minute = 660 + n
    when = f"202611{22 + minute // 1440:02d}{minute % 1440 // 60:02d}{minute % 60:02d}00"
    return (
        original_mode(sample("oru_r01_vitals.hl7"))
        .replace(b"EOBS0000001", f"CRASH{n:06d}".encode())
        .replace(b"OBS-20261122-0001", f"OBS-CRASH-{n:06d}".encode())
        .replace(b"20261122101000", when.encode())
    )


def _send_until_acknowledged(port_of: Server, message: bytes, conn: list[socket.socket]) -> bytes:
    while True:
        try:
            if not conn:
                conn.append(socket.create_connection(("127.0.0.1", port_of.mllp_port), timeout=5))
            conn[0].sendall(encode_frame(message))
            decoder = MllpFrameDecoder()
            while True:
                data = conn[0].recv(65536)
                if not data:
                    raise ConnectionError("closed")
                frames = decoder.feed(data)
                if frames:
                    return frames[0].payload
        except OSError:
            if conn:
                conn.pop().close()
            time.sleep(0.05)


@pytest.mark.slow
def test_every_acknowledged_message_survives_sigkill_exactly_once(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'crash.db'}"
    # HTTP serves only with an authorisation server to trust: the DEV ONLY one here (MLLP itself
    # is not behind tokens), with its key in the test's directory.
    env = {
        **os.environ,
        "WARDCARE_DATABASE_URL": database,
        "WARDCARE_DEV_MODE": "1",
        "WARDCARE_DEV_AUTH_KEY_FILE": str(tmp_path / "dev-auth-key.pem"),
    }
    subprocess.run(
        [*WARDCARE, "migrate", "--database", database],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = Server(database, env)
    server.start()
    conn: list[socket.socket] = []
    _send_until_acknowledged(server, original_mode(sample("adt_a01_admit.hl7")), conn)
    acknowledged: list[str] = []
    done = threading.Event()
    rng = random.Random(5)

    # Kills spread over the run: after a random number of acknowledged messages, then a random
    # few milliseconds later, so some land mid-transaction and some between ACK and next send.
    thresholds = sorted(rng.sample(range(1, MESSAGES), KILLS))

    def killer() -> None:
        for threshold in thresholds:
            while len(acknowledged) < threshold:
                if done.wait(0.005):
                    return
            time.sleep(rng.uniform(0, 0.05))
            server.kill()
            server.start()

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        for n in range(MESSAGES):
            ack = _send_until_acknowledged(server, _vitals(n), conn)
            if ack.split(b"\r")[1].split(b"|")[1] == b"AA":
                acknowledged.append(f"CRASH{n:06d}")
    finally:
        done.set()
        thread.join(120)
        for c in conn:
            c.close()
        server.kill()
    assert len(acknowledged) == MESSAGES  # every message was eventually acknowledged AA
    engine = make_engine(database)
    with engine.connect() as db:
        rows = db.execute(
            text(
                "SELECT control_id, status, resources FROM hl7_inbound_messages"
                " WHERE control_id LIKE 'CRASH%'"
            )
        ).all()
        versions = db.execute(
            text("SELECT MAX(version_id) FROM resources WHERE resource_type = 'Observation'")
        ).scalar_one()
        observations = db.execute(
            text("SELECT COUNT(*) FROM resources WHERE resource_type = 'Observation'")
        ).scalar_one()
        # Every version ever written, not only the current ones: an Observation written twice
        # (a second application with other content, or a NEWS2 scored again) shows here.
        written = [
            orjson.loads(r[0])
            for r in db.execute(
                text(
                    "SELECT v.content FROM resource_versions v JOIN resources r ON r.rid = v.rid"
                    " WHERE r.resource_type = 'Observation'"
                )
            ).all()
        ]
    engine.dispose()
    by_id = {r[0]: r for r in rows}
    assert len(rows) == len(by_id) == MESSAGES  # one log row per control id
    assert all(by_id[c][1] == "accepted" for c in acknowledged)
    assert versions == 1  # no result was applied twice (a second apply is a version 2)
    # Six vital signs, ACVPU and the NEWS2 they complete, per message.
    assert observations == MESSAGES * 8
    assert len(written) == MESSAGES * 8
    # Per message, not only in total (a lost message and a doubled one would cancel out): each
    # set's seven readings carry its OBR-3 in their identifier, once each ...
    per_set = Counter(
        o["identifier"][0]["value"].split("|")[1] for o in written if o.get("identifier")
    )
    assert per_set == {f"OBS-CRASH-{n:06d}": 7 for n in range(MESSAGES)}
    # ... and each message's log row lists its own Observations, version 1, listed by no other.
    listed = [
        ref for r in rows for ref in orjson.loads(r[2] or "[]") if ref.startswith("Observation/")
    ]
    assert len(listed) == len(set(listed)) == MESSAGES * 8
    assert all(ref.endswith("/_history/1") for ref in listed)
    assert all(
        sum(ref.startswith("Observation/") for ref in orjson.loads(r[2] or "[]")) == 8 for r in rows
    )
