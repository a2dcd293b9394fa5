"""Shared helpers for WardCare benchmarks.

Servers are real `wardcare serve` subprocesses on a free port with default settings (only what
the caller passes is set); databases are throwaway (a SQLite file in a temporary directory, or a
dedicated PostgreSQL schema dropped afterwards); results are JSON files in bench/results/ (which
git ignores), with a description of the machine they were measured on.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASES = ("sqlite", "postgresql")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the wardcare command ----------------------------------------------------------------------


def wardcare_command(*args: str) -> list[str]:
    """The `wardcare` CLI of the interpreter running the benchmark (the project's venv)."""
    script = VENV_BIN / "wardcare"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from wardcare.cli import app; app()", *args]


# Every request needs a SMART access token (README "Security and audit"): benchmark servers run
# the DEV ONLY demo authorisation server with a fixed issuer and audience, so a token minted here
# is valid on any port, and the clients send it.
BENCH_AUTH = {
    "dev_mode": "1",
    "dev_auth_key_file": str(REPO / "var" / "bench-dev-auth-signing-key.pem"),
    "auth_issuer": "urn:wardcare:bench:dev-auth",
    "auth_audience": "urn:wardcare:bench:fhir",
}


def auth_headers(scope: str = "user/*.cruds") -> dict[str, str]:
    """A 12-hour token of the demo nurse, signed with the benchmark servers' dev key."""
    from wardcare.config import Settings  # noqa: PLC0415 - clients need not import the app
    from wardcare.devauth import users  # noqa: PLC0415
    from wardcare.devauth.authorization_server import DevAuthorizationServer  # noqa: PLC0415

    server = DevAuthorizationServer(Settings(**BENCH_AUTH))  # type: ignore[arg-type]
    token = server.mint(user=users.user("nurse"), scope=scope, lifetime=12 * 3600)
    return {"Authorization": f"Bearer {token}"}


def wardcare_env(**settings: str) -> dict[str, str]:
    """This process's environment without any WARDCARE_* variable, plus the given settings.

    `wardcare_env(database_url=url)` sets WARDCARE_DATABASE_URL; everything else is the
    server's default, whatever the calling shell exports.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDCARE_")}
    env.update({f"WARDCARE_{k.upper()}": v for k, v in settings.items()})
    return env


def migrate(database_url: str) -> None:
    """`wardcare migrate --database URL`, as an operator would run it."""
    done = subprocess.run(
        wardcare_command("migrate", "--database", database_url),
        env=wardcare_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wardcare migrate failed:\n{done.stdout}\n{done.stderr}")


# -- servers -----------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)


@contextlib.contextmanager
def running_server(
    database_url: str,
    *,
    log_dir: Path,
    host: str = "127.0.0.1",
    ready_path: str = "/fhir/metadata",
    startup_timeout: float = 90.0,
    **settings: str,
) -> Iterator[Server]:
    """`wardcare serve` on a free port with default settings apart from the database and port
    (and any other `settings`, e.g. `sqlite_synchronous="NORMAL"` for WARDCARE_SQLITE_...)."""
    port = free_port(host)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            wardcare_command("serve"),
            env=wardcare_env(
                **{**BENCH_AUTH, **settings}, database_url=database_url, http_port=str(port)
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    server = Server(process, host, port, log_path)
    try:
        wait_for_http(server, ready_path, timeout=startup_timeout)
        yield server
    finally:
        stop_process(process)


def wait_for_http(server: Server, path: str, *, timeout: float) -> None:
    """Poll until GET path answers 200; fail early, with the server's log, if it exits."""
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the server exited with status {server.process.returncode}:\n{server.log_tail()}"
            )
        connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer within {timeout:.0f} s")
        time.sleep(0.1)


def stop_process(process: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    """Ctrl-C (a graceful uvicorn shutdown), then SIGTERM, then SIGKILL."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # After the command name: state is field 3, utime field 14, stime field 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values)
    return total - idle, total


class CpuMeter:
    """How many CPUs the whole machine kept busy since it was created (or last reset)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._busy, self._total = _cpu_jiffies()

    def busy_cores(self) -> float:
        busy, total = _cpu_jiffies()
        elapsed = total - self._total
        if elapsed <= 0:
            return 0.0
        return (busy - self._busy) / elapsed * (os.cpu_count() or 1)


def _disk_counters() -> tuple[int, int]:
    """(bytes written, flushes) so far by the machine's disks (not partitions, loop or zram)."""
    written = flushes = 0
    with contextlib.suppress(OSError):
        disks = {d.name for d in Path("/sys/block").iterdir()}
        for line in Path("/proc/diskstats").read_text().splitlines():
            parts = line.split()
            if parts[2] in disks and not parts[2].startswith(("loop", "ram", "zram")):
                written += int(parts[9]) * 512
                flushes += int(parts[17]) if len(parts) > 17 else 0
    return written, flushes


def _process_io(pid: int) -> int:
    """Bytes a process has caused to be written to storage so far (0 if not readable)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


_BACKEND = re.compile(r"^postgres: .*\((\d+)\)")


def _tcp_local_ports(pids: Iterable[int]) -> set[int]:
    """Local TCP ports of the sockets the given processes hold."""
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if len(parts) > 9 and parts[9] in inodes:
                    ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def postgres_processes_serving(pids: Iterable[int]) -> set[int]:
    """PostgreSQL's processes working for the given client processes: the backends connected
    to them (found by the client port in the backend's command line) and the shared background
    processes (writer, checkpointer, WAL writer, autovacuum); not other clients' backends."""
    ports = _tcp_local_ports(pids)
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            command = (entry / "cmdline").read_text().replace("\0", " ").strip()
        except OSError:
            continue
        backend = _BACKEND.match(command)
        if backend is None or int(backend.group(1)) in ports:
            found.add(int(entry.name))
    return found


def child_pids(name: str) -> list[int]:
    """This process's children called `name` (as in /proc/PID/comm)."""
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            command = stat[stat.index("(") + 1 : stat.rindex(")")]
            if command == name and stat.rsplit(")", 1)[1].split()[1] == me:
                found.append(int(entry.name))
    return found


def _process_cpu(pids: set[int]) -> dict[int, tuple[float, int]]:
    """(CPU seconds, bytes written) so far of the given processes that still exist."""
    found: dict[int, tuple[float, int]] = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[pid] = ((int(fields[11]) + int(fields[12])) / _CLOCK_TICKS, _process_io(pid))
    return found


class MachineUsage:
    """Who used the machine during a measurement: CPUs kept busy by the whole machine, by our
    own processes and by everything else (`other_cores`: another job sharing the machine, which
    makes the measurement suspect); and disk writes and flushes (fsyncs reaching the disk),
    machine-wide and by our processes.

    Our processes are `pids`, plus, with `postgres=True`, PostgreSQL's processes serving them
    (see postgres_processes_serving), looked up again at the end for connections opened since.
    """

    def __init__(self, pids: Iterable[int] = (), *, postgres: bool = False) -> None:
        self._pids, self._postgres = set(pids), postgres
        self._machine = CpuMeter()
        self._disk = _disk_counters()
        self._started = time.perf_counter()
        self._own = _process_cpu(self._our_pids())

    def _our_pids(self) -> set[int]:
        if not self._postgres:
            return self._pids
        return self._pids | postgres_processes_serving(self._pids)

    def finish(self, extra_own_seconds: float = 0.0) -> dict[str, float]:
        """`extra_own_seconds`: CPU of our processes that were not followed by pid (e.g. worker
        processes that report their own time and may have exited)."""
        machine = self._machine.busy_cores()
        written, flushes = _disk_counters()
        elapsed = time.perf_counter() - self._started
        now = _process_cpu(self._our_pids() | set(self._own))
        # A process that appeared during the measurement did all its work during it.
        own = sum(now[pid][0] - self._own.get(pid, (0.0, 0))[0] for pid in now)
        own_written = sum(now[pid][1] - self._own.get(pid, (0.0, 0))[1] for pid in now)
        own_cores = (own + extra_own_seconds) / elapsed if elapsed else 0.0
        scale = 1e6 * elapsed if elapsed else float("inf")  # bytes -> MB/s
        return {
            "machine_cores": round(machine, 2),
            "own_cores": round(own_cores, 2),
            "other_cores": round(max(0.0, machine - own_cores), 2),
            "disk_write_mb_s": round((written - self._disk[0]) / scale, 2),
            "own_disk_write_mb_s": round(own_written / scale, 2),
            "disk_flushes_per_s": round((flushes - self._disk[1]) / elapsed, 1) if elapsed else 0,
        }


def least_disturbed(
    measure: Callable[[], dict[str, Any]],
    *,
    retries: int,
    max_other_cores: float,
    other: Callable[[dict[str, Any]], float],
) -> dict[str, Any]:
    """Run a measurement, again (up to `retries` times) while something else on the machine used
    more than `max_other_cores` CPUs during it. Returns the least disturbed attempt, with
    "disturbed" set if even that one was, and the attempts set aside under "discarded" (their
    failures still count)."""
    attempts: list[dict[str, Any]] = []
    for _ in range(retries + 1):
        attempts.append(measure())
        if other(attempts[-1]) <= max_other_cores:
            break
    chosen = min(range(len(attempts)), key=lambda i: other(attempts[i]))
    best = dict(attempts[chosen])
    best["disturbed"] = other(best) > max_other_cores
    best["discarded"] = [a for i, a in enumerate(attempts) if i != chosen]
    return best


def wait_for_quiet_machine(
    max_busy_cores: float = 0.3, window: float = 2.0, timeout: float = 300.0
) -> float:
    """Wait (up to `timeout` s) until other work keeps at most `max_busy_cores` CPUs busy over a
    `window`, so a measurement does not share the machine; returns the last reading."""
    deadline = time.monotonic() + timeout
    while True:
        meter = CpuMeter()
        time.sleep(window)
        busy = meter.busy_cores()
        if busy <= max_busy_cores or time.monotonic() > deadline:
            return round(busy, 2)


# -- HTTP client -------------------------------------------------------------------------------


class KeepAliveClient:
    """One persistent HTTP/1.1 connection (http.client: cheap on the client's CPU).

    A request that fails with a connection error closes the connection, so the next request
    reconnects; the error is raised for the caller to count, never retried silently.
    """

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self._connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        try:
            self._connection.request(method, path, body=body, headers=dict(headers or {}))
            response = self._connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self._connection.close()
            raise

    def close(self) -> None:
        self._connection.close()


# -- databases ---------------------------------------------------------------------------------


def _psycopg_url(sqlalchemy_url: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - only PostgreSQL runs need it

    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def postgres_schema(base_url: str = POSTGRES_URL, prefix: str = "bench") -> Iterator[str]:
    """A new, empty schema for this run; yields a URL whose search_path is that schema.

    The schema is dropped afterwards (callers must have closed their connections), so nothing
    else in the database is touched.
    """
    import psycopg  # noqa: PLC0415 - SQLite-only runs need no PostgreSQL driver

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(_psycopg_url(base_url), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(_psycopg_url(base_url), autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@contextlib.contextmanager
def sqlite_database(filename: str = "wardcare.db") -> Iterator[str]:
    """A SQLite file in a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="wardcare-bench-") as directory:
        yield f"sqlite:///{Path(directory) / filename}"


@contextlib.contextmanager
def fresh_database(kind: str, postgres_url: str = POSTGRES_URL) -> Iterator[str]:
    """An empty database of the given kind ("sqlite" or "postgresql"), not yet migrated."""
    if kind == "sqlite":
        with sqlite_database() as url:
            yield url
    elif kind == "postgresql":
        with postgres_schema(postgres_url) as url:
            yield url
    else:
        raise ValueError(f"unknown database {kind!r}: choose from {', '.join(DATABASES)}")


def postgres_server_version(url: str = POSTGRES_URL) -> str | None:
    try:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(_psycopg_url(url), connect_timeout=5) as connection:
            row = connection.execute("SHOW server_version").fetchone()
    except Exception:  # no server is fine: the machine description just says so
        return None
    return str(row[0]) if row else None


# -- statistics --------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Count, mean, p50/p95/p99 and max of latencies given in seconds, in milliseconds."""
    if not seconds:
        return {"n": 0}
    return {
        "n": len(seconds),
        "mean_ms": round(1000 * sum(seconds) / len(seconds), 3),
        "p50_ms": round(1000 * percentile(seconds, 50), 3),
        "p95_ms": round(1000 * percentile(seconds, 95), 3),
        "p99_ms": round(1000 * percentile(seconds, 99), 3),
        "max_ms": round(1000 * max(seconds), 3),
    }


# -- the machine -------------------------------------------------------------------------------


def _proc_field(path: str, key: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    return None


def machine(*, postgres_url: str | None = None) -> dict[str, Any]:
    """What the figures were measured on."""
    memory_kib = _proc_field("/proc/meminfo", "MemTotal")
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "memory_gib": (round(int(memory_kib.split()[0]) / 1024**2, 1) if memory_kib else None),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
    }
    if postgres_url is not None:
        info["postgresql"] = postgres_server_version(postgres_url)
    return info


def source_state() -> dict[str, Any]:
    """The commit the figures are for, and files changed since (read-only git commands): others
    may be editing the tree while a long benchmark runs, and a server imports src/ at start."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.rstrip("\n") if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--untracked-files=no", "--", "src", "migrations")
    return {
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "changed_files": [line[3:] for line in changed.splitlines()],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# -- results -----------------------------------------------------------------------------------


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_results(name: str, data: Mapping[str, Any], *, stamp: str | None = None) -> Path:
    """bench/results/<name>-<UTC timestamp>.json"""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{stamp or timestamp()}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "PASS" if ok else "FAIL"


# -- profiling ---------------------------------------------------------------------------------


@contextlib.contextmanager
def py_spy(pid: int, output: Path, *, rate: int = 200) -> Iterator[Path]:
    """Sample a process with py-spy (non-blocking) into collapsed stacks.

    Sampling costs the target some CPU: figures measured under a profile are not the results.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(VENV_BIN / "py-spy"),
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--nonblocking",
        "--rate",
        str(rate),
        "--output",
        str(output),
    ]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)  # let it attach
    try:
        yield output
    finally:
        if recorder.poll() is None:
            recorder.send_signal(signal.SIGINT)
            try:
                recorder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait()


_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>.*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match["file"]
    for marker in ("site-packages/", "/src/", "/lib/python3."):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{match['function']} ({file})"


def top_frames(collapsed: Path, n: int = 25, *, within: str | None = None) -> dict[str, Any]:
    """The functions with the most samples in a py-spy raw (collapsed stack) file.

    `inclusive` counts samples in which a function is anywhere on the stack (time spent in it
    and what it calls); `self` counts samples in which it is the innermost frame. py-spy
    leaves out threads the OS reports idle (waiting on a lock, a socket or the event loop).
    `within` keeps only the inclusive figures of functions whose file path contains it (e.g.
    "wardcare/": the project's own code rather than the framework frames above it).
    """
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [_frame_name(f) for f in stack.split(";")]
        count = int(count_text)
        total += count
        for name in set(frames):
            if within is None or within in name:
                inclusive[name] += count
        own[frames[-1]] += count
    return {
        "busy_samples": total,
        "inclusive": [(name, round(100 * c / total, 1)) for name, c in inclusive.most_common(n)]
        if total
        else [],
        "self": [(name, round(100 * c / total, 1)) for name, c in own.most_common(n)]
        if total
        else [],
    }
