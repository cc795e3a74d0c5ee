"""SQL statements and in-process CPU per page: ``python -m bench.pages.statements --db sqlite|postgresql``.

Runs the app in this process (no server, no network: httpx over ASGI) against the data set, signs in
as the same three people as ``bench.pages`` and loads each page a few times, counting the statements
the database receives (SQLAlchemy ``before_cursor_execute``, every engine of the process: the session
store's and the principal's included) and the CPU time of the process (all its threads, so
aiosqlite's too) per request. ``--show`` lists the statements of the last request.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.common import add_database_arguments, bench_database_url
from bench.generate import BENCH_PASSWORD
from bench.pages import pick_subject
from crm.app import create_app
from crm.settings import Settings


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan started, and a client that calls it in this process."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},  # type: ignore[arg-type]
                                       inbox.get, outbox.put))
    if (await outbox.get())["type"] != "lifespan.startup.complete":
        raise RuntimeError("the app did not start")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    client.cookies.clear()
    await client.get("/login")
    r = await client.post("/login", data={"email": email, "password": BENCH_PASSWORD, "next": "/queue"},
                          headers={"x-csrftoken": client.cookies.get("csrftoken") or ""}, follow_redirects=False)
    if r.status_code != 303:
        raise RuntimeError(f"sign-in failed for {email}: {r.status_code}")


async def measure(db_url: str, repeat: int, show: bool, out: Callable[[str], None] = print) -> None:
    subject = await pick_subject(db_url, 10)
    employer = subject.employers[0]
    plan = [(subject.email, "/queue"), (subject.lead_email, "/queue"), (subject.admin_email, "/queue"),
            (subject.email, f"/api/employers/{employer}/timeline"), (subject.email, f"/employers/{employer}")]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        app = create_app(Settings(database_url=db_url, scheduler_enabled=False, log_level="WARNING"))
        async with running(app) as client:
            signed_in = None
            for email, path in plan:
                if email != signed_in:
                    await sign_in(client, email)
                    signed_in = email
                await client.get(path)  # warm-up
                cpu = []
                for _ in range(repeat):
                    statements.clear()
                    started = time.process_time()
                    r = await client.get(path)
                    cpu.append((time.process_time() - started) * 1000)
                cpu.sort()
                out(f"{email:<40} {path:<34} {r.status_code}  {len(statements):3d} statements  "
                    f"CPU p50 {cpu[len(cpu) // 2]:6.1f} ms  {len(r.content):>8,} bytes")
                if show:
                    for text, n in collections.Counter(" ".join(s.split())[:150] for s in statements).most_common():
                        out(f"      {n:2d} x {text}")
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pages.statements", description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    parser.add_argument("--repeat", type=int, default=10, help="measured loads of each page")
    parser.add_argument("--show", action="store_true", help="list the statements of the last load")
    args = parser.parse_args(argv)
    asyncio.run(measure(bench_database_url(args.db, args.path, args.url), args.repeat, args.show))


if __name__ == "__main__":
    main()
