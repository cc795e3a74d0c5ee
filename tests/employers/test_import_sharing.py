"""An import shares the database: the other writers of its process (API and page requests beside an
upload's import) get their turn between its batches, in bounded time, and never fail because of it."""

from __future__ import annotations

import asyncio
import time
from itertools import count
from typing import Any

import httpx
import pytest

from crm.employers import import_service
from crm.employers.import_service import run_import
from tests.employers.test_import import csv_bytes, employer
from tests.factories import PASSWORD

HOLD = 0.3  # seconds each batch of the slowed import holds the write lock at least
BATCHES, ROWS = 12, 3
# A write waits at most for the batch that holds the lock, SQLite's busy handler noticing it free (it
# polls every 100 ms) and its own work; a write left to SQLite's busy handler alone waits for most of
# the import (BATCHES * HOLD) or past busy_timeout.
BOUND = 1.5


def slow_batches(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Make each batch of an import of this process hold the write lock ``HOLD`` seconds or more, as
    thousands of rows do; the event is set once the first batch holds it."""
    holding = asyncio.Event()
    write = import_service.write

    async def slow_write(*args: Any, **kwargs: Any) -> Any:
        holding.set()
        await asyncio.sleep(HOLD)
        return await write(*args, **kwargs)

    monkeypatch.setattr(import_service, "write", slow_write)
    return holding


def slow_import_rows(name: str) -> bytes:
    return csv_bytes([employer(f"{name} {n}", n) for n in range(BATCHES * ROWS)])


async def warm_up(*writes: Any) -> None:
    """Each write once before the import: a server's first request of a kind waits for what it loads
    first (the ZIP table, about a second), which is not what is measured."""
    for write in writes:
        assert (await write()).status_code == 201


async def write_while(importing: asyncio.Task[Any], *writes: Any) -> list[tuple[int, float]]:
    """Send ``writes`` (callables returning a response) round after round until the import is done: each
    answer's status and seconds."""
    answers: list[tuple[int, float]] = []

    async def timed(write: Any) -> None:
        started = time.monotonic()
        response = await write()
        answers.append((response.status_code, time.monotonic() - started))

    while not importing.done():
        await asyncio.gather(*(timed(w) for w in writes))
        await asyncio.sleep(0.05)
    return answers


def assert_writes_got_in(result: Any, answers: list[tuple[int, float]]) -> None:
    """The import wrote every row; every write sent meanwhile succeeded, none waited past ``BOUND``, and
    there were enough of them to overlap it."""
    assert result.counts["new"] == BATCHES * ROWS
    assert [status for status, _ in answers] == [201] * len(answers)
    assert max(seconds for _, seconds in answers) < BOUND, sorted(round(s, 2) for _, s in answers)
    assert len(answers) >= 6, "the writes must overlap the import"


async def test_api_writes_beside_an_upload_import_get_the_database_between_its_batches(app, world, monkeypatch):
    holding = slow_batches(monkeypatch)
    lead = {"email": world.users["lead"].email, "password": PASSWORD}
    bearer = await world.f.auth(world.users["lead"])
    sessionmaker = app.state["sessionmaker"]
    # The requests and the import in one event loop, as in a server process (the test client would run the
    # app in a thread of its own).
    async with app.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                 base_url="http://testserver.local") as client:
        n = count()
        writes = (
            # Begins its transaction as a writer when it first touches the database (no begin_write).
            lambda: client.post("/api/employers", headers=bearer,
                                json={"legal_name": f"Walk-in Employer {next(n)}", "zip": "90012"}),
            # Queues for the process's write turn (begin_write).
            lambda: client.post("/api/auth/token", json=lead))
        await warm_up(*writes)
        # As the upload page runs it: a task of the server process, on the app's engine.
        importing = asyncio.create_task(run_import(sessionmaker, slow_import_rows("Beside Upload"), batch_size=ROWS))
        await asyncio.wait_for(holding.wait(), 30)
        answers = await write_while(importing, *writes)
        result = await importing
    assert_writes_got_in(result, answers)
