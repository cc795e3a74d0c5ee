"""python -m bench.intake.statements --db sqlite|postgresql [--requests 600]

The cost of one intake without HTTP and without the machine's other load in the figure: the same
request mix as ``bench.intake`` sent straight into the ASGI app in this process, one at a time,
counting per request kind the SQL statements (``before_cursor_execute``), aiosqlite's thread
hand-offs (SQLite: each is a wake-up of the connection's worker thread) and this process's CPU
time. Deterministic counts; the CPU time still depends on the machine, but far less than
wall-clock latency. Writes to the data set like ``bench.intake`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.common import add_database_arguments, bench_database_url
from bench.generate import BENCH_PASSWORD
from bench.intake import load_sample, plan
from crm import clock
from crm.app import create_app
from crm.settings import Settings

Message = dict[str, Any]


class Counters:
    def __init__(self) -> None:
        self.statements = 0
        self.hops = 0

    def install(self) -> None:
        event.listen(Engine, "before_cursor_execute", self._statement)
        try:
            import aiosqlite.core
        except ImportError:  # pragma: no cover - aiosqlite is a dependency
            return
        original = aiosqlite.core.Connection._execute
        counters = self

        async def counted(conn: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            counters.hops += 1
            return await original(conn, fn, *args, **kwargs)

        aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]

    def _statement(self, *_: Any) -> None:
        self.statements += 1


async def call(app: Callable[..., Awaitable[None]], method: str, path: str, body: bytes = b"",
               headers: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[int, bytes]:
    """One request straight into the ASGI app."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"bench.local"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()), *headers],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {}}
    sent = False
    status, chunks = 0, []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def run(db_url: str, requests: int, partners: int, warmup: int, seed: int) -> list[str]:
    counters = Counters()
    counters.install()
    today = clock.today()
    sample = await load_sample(db_url, partners, today, seed)
    planned = plan(sample, warmup + requests, clients=1, today=today, seed=seed)
    app = create_app(Settings(database_url=db_url, scheduler_enabled=False, log_level="WARNING"))
    startup: asyncio.Queue[Message] = asyncio.Queue()
    started = asyncio.Event()
    await startup.put({"type": "lifespan.startup"})

    async def lifespan_send(message: Message) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                       startup.get, lifespan_send))
    await started.wait()
    for p in sample.partners:
        status, body = await call(app, "POST", "/api/auth/token", msgspec.json.encode(
            {"email": p.email, "password": BENCH_PASSWORD}))
        assert status == 201, body
        p.token = msgspec.json.decode(body)["token"]
    stats: dict[str, Counter[str]] = defaultdict(Counter)
    cpu: dict[str, float] = defaultdict(float)
    for i, item in enumerate(planned):
        headers = ((b"authorization", f"Bearer {sample.partners[item.partner].token}".encode()),)
        before = (counters.statements, counters.hops, time.process_time())
        status, _ = await call(app, "POST", "/api/touch-requests", msgspec.json.encode(item.body), headers)
        if i < warmup:
            continue
        for kind in (item.kind, "all"):
            stats[kind]["n"] += 1
            stats[kind][f"status {status}"] += 1
            stats[kind]["statements"] += counters.statements - before[0]
            stats[kind]["hops"] += counters.hops - before[1]
            cpu[kind] += time.process_time() - before[2]
    health_cpu = time.process_time()
    for _ in range(1000):
        await call(app, "GET", "/healthz")
    health_cpu = (time.process_time() - health_cpu) / 1000
    startup.put_nowait({"type": "lifespan.shutdown"})
    await asyncio.wait([lifespan], timeout=10)
    out = [f"{'kind':<12} {'n':>5} {'statements':>11} {'thread hops':>12} {'CPU ms':>8}  statuses"]
    for kind in sorted(stats, key=lambda k: (k == "all", k)):
        s = stats[kind]
        n = s["n"]
        codes = " ".join(f"{k[7:]}x{v}" for k, v in sorted(s.items()) if k.startswith("status"))
        out.append(f"{kind:<12} {n:>5} {s['statements'] / n:>11.1f} {s['hops'] / n:>12.1f} "
                   f"{1000 * cpu[kind] / n:>8.2f}  {codes}")
    out.append(f"GET /healthz in-process: {1000 * health_cpu:.3f} ms CPU per request")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.intake.statements", description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--partners", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    url = bench_database_url(args.db, args.path, args.url)
    print("\n".join(asyncio.run(run(url, args.requests, args.partners, args.warmup, args.seed))))


if __name__ == "__main__":
    main()
