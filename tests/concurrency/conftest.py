"""Real concurrency: server processes (uvicorn) on a database of their own, for each backend.

PostgreSQL: two processes share a dedicated database (so a guarantee cannot come from one process's
memory). SQLite: one process.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

import crm.models  # noqa: F401  (complete metadata)
from crm.auth.models import User
from crm.db import make_engine, make_sessionmaker, metadata
from crm.employers.models import Employer
from crm.seed import load_reference
from crm.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import Factory

PG_URL = os.environ.get("CRM_TEST_DATABASE_URL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _create_pg_database(url: str) -> None:
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                                 password=parsed.password, database="postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()


async def _build(url: str) -> None:
    engine = make_engine(Settings(database_url=url))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
    async with make_sessionmaker(engine)() as db, db.begin():
        await load_reference(db)
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def concurrency_db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, int]:
    """(database url, number of server processes) for each backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'concurrency.db'}"
        processes = 1
    else:
        if not PG_URL:
            pytest.skip("CRM_TEST_DATABASE_URL is not set")
        # A database of its own: the servers hold connections the per-test reset would fight with.
        base = make_url(PG_URL)
        url = base.set(database=f"{base.database}_concurrency").render_as_string(hide_password=False)
        asyncio.run(_create_pg_database(url))
        processes = 2
    asyncio.run(_build(url))
    return url, processes


@pytest.fixture
def servers(concurrency_db: tuple[str, int]) -> Iterator[list[str]]:
    url, count = concurrency_db
    procs, bases = [], []
    for _ in range(count):
        port = _free_port()
        env = {**os.environ, "CRM_DATABASE_URL": url, "CRM_SECRET_KEY": TEST_SECRET, "CRM_SCHEDULER": "0",
               "CRM_LOG_LEVEL": "WARNING", "CRM_BASE_URL": f"http://127.0.0.1:{port}", "CRM_DB_POOL_SIZE": "20"}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "crm.app:create_app_from_env", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"], env=env))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 90
        for base in bases:
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server {base} did not start")
                time.sleep(0.3)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@dataclass
class Staffed:
    factory: Factory
    spoc: User
    employer: Employer


@pytest.fixture
async def staffed(concurrency_db: tuple[str, int]) -> AsyncIterator[Staffed]:
    """A factory on the servers' database, and one employer with its SPOC (Maria Lopez of the LA Basin WDB)."""
    url, _ = concurrency_db
    engine = make_engine(Settings(database_url=url))
    f = Factory(make_sessionmaker(engine))
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    spoc = await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board)
    employer = await f.employer("Golden State Logistics LLC")
    await f.assign(employer, spoc)
    yield Staffed(f, spoc, employer)
    await engine.dispose()
