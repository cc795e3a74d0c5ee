"""What every benchmark shares: a real server (``crm serve``) on a free port, a lean HTTP load
driver, percentiles and the database URL of the generated data set.

The load driver is one asyncio process speaking HTTP/1.1 with keep-alive over raw streams: on a
2-core machine the client competes with the server for CPU, and a full HTTP client library (httpx)
costs several times more per request than the server's trivial endpoint, which would understate
the ceiling the endpoints are compared with. It expects ``Content-Length`` responses (uvicorn sends
them for every Litestar response).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.generate import DEFAULT_PATH, database_url

Responder = Callable[[int, int, bytes], None]  # (request index, status, body)


# ---------------------------------------------------------------- statistics


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (the smallest value with at least ``p``% of values at or below it)."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


@dataclass
class LoadResult:
    """Latencies (seconds) of every measured request, their statuses and the wall time of the run."""

    latencies: list[float]
    elapsed: float
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    def pct_ms(self, p: float) -> float:
        return percentile(sorted(self.latencies), p) * 1000

    def summary(self, name: str) -> str:
        ordered = sorted(self.latencies)
        codes = " ".join(f"{code}x{n}" for code, n in sorted(self.statuses.items()))
        return (f"{name:<34} {self.count:>6} req  {self.throughput:>8.1f} req/s  "
                f"p50 {percentile(ordered, 50) * 1000:6.1f} ms  p95 {percentile(ordered, 95) * 1000:6.1f} ms  "
                f"p99 {percentile(ordered, 99) * 1000:6.1f} ms  [{codes}]")


# ---------------------------------------------------------------- HTTP


def http_request(method: str, path: str, *, host: str = "127.0.0.1", headers: dict[str, str] | None = None,
                 body: bytes = b"") -> bytes:
    """The bytes of one HTTP/1.1 keep-alive request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
            break
    body = await reader.readexactly(length) if length else b""
    return status, body


async def drive(host: str, port: int, requests: Sequence[bytes], *, clients: int,
                on_response: Responder | None = None) -> LoadResult:
    """Send ``requests`` in order over ``clients`` keep-alive connections, as fast as answers come."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    it = iter(range(len(requests)))
    clock = time.perf_counter

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in it:
                t0 = clock()
                writer.write(requests[i])
                status, body = await _read_response(reader)
                latencies.append(clock() - t0)
                statuses[status] += 1
                if on_response is not None:
                    on_response(i, status, body)
        finally:
            writer.close()

    started = clock()
    await asyncio.gather(*(client() for _ in range(min(clients, len(requests)))))
    return LoadResult(latencies, clock() - started, statuses)


def run_load(port: int, requests: Sequence[bytes], *, clients: int, on_response: Responder | None = None) -> LoadResult:
    return asyncio.run(drive("127.0.0.1", port, requests, clients=clients, on_response=on_response))


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server and its workers.

        ``crm serve`` runs in a session of its own, so every process of that session is the server's
        (uvicorn's supervisor and its ``--workers`` children). Wall-clock figures on a shared 2-core
        machine mostly measure the other jobs; the server's CPU time per request does not.
        """
        return session_cpu_seconds(self.process.pid)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def session_cpu_seconds(sid: int) -> float:
    """Sum of utime + stime of the live processes in session ``sid`` (Linux ``/proc``; 0.0 elsewhere)."""
    total = 0
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        # Fields after the parenthesised command name (which may contain spaces): state is field 3.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid:  # field 6, session id
            total += int(fields[11]) + int(fields[12])  # fields 14-15, utime and stime
    return total / _CLOCK_TICKS


@contextlib.contextmanager
def serve(db_url: str, *, workers: int = 1, log: Path | None = None, http: str = "auto",
          loop: str = "auto") -> Iterator[Server]:
    """Run ``crm serve`` (uvicorn, scheduler off, warnings only) on a free port until the block ends."""
    port = free_port()
    env = dict(os.environ, CRM_DATABASE_URL=db_url, CRM_SCHEDULER="0", CRM_LOG_LEVEL="WARNING",
               CRM_DB_POOL_SIZE=os.environ.get("CRM_DB_POOL_SIZE", "20"))
    out = log.open("wb") if log else subprocess.DEVNULL
    cmd = [sys.executable, "-c", "from crm.cli import main; main()", "serve", "--port", str(port),
           "--workers", str(workers), "--http", http, "--loop", loop]
    # Own session: stopping the server stops its uvicorn workers too, and nothing else.
    process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield Server(url, port, process)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError("server did not become ready")


def bench_database_url(db: str, path: Path | None, url: str | None) -> str:
    """The generated data set's URL (``python -m bench.generate`` builds it)."""
    resolved = database_url(db, path, url)
    if db == "sqlite" and not (path or DEFAULT_PATH).exists():
        raise SystemExit(f"{path or DEFAULT_PATH} does not exist: run python -m bench.generate first")
    return resolved


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--path", type=Path, help=f"SQLite file (default {DEFAULT_PATH})")
    parser.add_argument("--url", help="postgresql+asyncpg://... of the generated data set")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
