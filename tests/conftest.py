"""Shared fixtures: a database per test on SQLite (and PostgreSQL when CRM_TEST_DATABASE_URL is
set), the app built by ``create_app(test_settings)``, and factories for users of every role."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import crm.models  # noqa: F401  (complete metadata)
from crm.app import create_app
from crm.db import make_engine, make_sessionmaker, metadata
from crm.directory.models import Region
from crm.migrate import stamp_head
from crm.seed import load_reference
from crm.settings import Settings

PG_URL = os.environ.get("CRM_TEST_DATABASE_URL")
if PG_URL and (_worker := os.environ.get("PYTEST_XDIST_WORKER")):
    # Parallel workers (pytest-xdist) each get a PostgreSQL database of their own, named after the
    # configured one; modules that read the variable themselves see the per-worker name too.
    PG_URL = f"{PG_URL}_{_worker}"
    os.environ["CRM_TEST_DATABASE_URL"] = PG_URL
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
REFERENCE_TABLES = ("region", "county", "sector", "service")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


async def _build_schema(settings: Settings) -> None:
    engine = make_engine(settings)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(stamp_head)  # as `crm db upgrade` leaves it: /readyz and the CLI check it
    async with make_sessionmaker(engine)() as db, db.begin():
        await load_reference(db)
    await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated-and-seeded SQLite file per test session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_build_schema(Settings(database_url=f"sqlite+aiosqlite:///{path}")))
    return path


async def _create_pg_database_if_missing(url: str) -> None:
    base, name = url.rsplit("/", 1)
    admin = make_engine(Settings(database_url=f"{base}/postgres"))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        if not await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()


@pytest.fixture(scope="session")
def pg_ready() -> bool:
    if PG_URL:
        asyncio.run(_create_pg_database_if_missing(PG_URL))
        asyncio.run(_build_schema(Settings(database_url=PG_URL)))
    return bool(PG_URL)


async def _reset_pg(url: str) -> None:
    engine = make_engine(Settings(database_url=url))
    # DELETE beats TRUNCATE by far on the handful of rows a test writes.
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name not in REFERENCE_TABLES:
                await conn.execute(table.delete())
        # Reference rows stay, but what a test may set on them goes back to what the seed leaves.
        await conn.execute(update(Region).values(establishment_count=None))
    await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sqlite")


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, sqlite_dir: Path, sqlite_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        # One path per worker, a fresh copy of the template per test: the URL stays the same, so the
        # app built for it is reused (see ``app``). The previous test's WAL must not meet the new file.
        path = sqlite_dir / "test.db"
        for old in (path, path.with_name("test.db-wal"), path.with_name("test.db-shm")):
            old.unlink(missing_ok=True)
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
    else:
        request.getfixturevalue("pg_ready")
        assert PG_URL
        asyncio.run(_reset_pg(PG_URL))
        yield PG_URL


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, env="test", scheduler_enabled=False, secret_key=TEST_SECRET,
                    base_url="http://testserver.local")


_apps: list[tuple[Settings, Litestar]] = []


@pytest.fixture
def app(settings: Settings) -> Litestar:
    """The app for these settings, built once per worker: building one registers every route, ~0.4 s
    of CPU, which was a third of the suite. Each test gets it as new: the lifespan (``client``) runs
    per test and disposes the engine, and the in-process principal cache starts empty with the real
    clock. Tests needing other settings build their own with ``create_app``."""
    for built, app in _apps:
        if built == settings:
            cache = app.state.principal_cache
            cache.clear()
            cache.clock = time.monotonic
            return app
    app = create_app(settings)
    _apps.append((settings, app))
    return app


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def db(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for arranging and asserting; commit what the app must see."""
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def is_pg(database_url: str) -> bool:
    return database_url.startswith("postgresql")


from tests.factories import Factory  # noqa: E402


@dataclass
class World:
    """A tiny seeded world: two regions, an organization in each, users of every role."""

    f: Factory
    users: dict[str, Any]
    orgs: dict[str, Any]


@pytest.fixture
async def factory(sessionmaker: async_sessionmaker[AsyncSession]) -> Factory:
    return Factory(sessionmaker)


@pytest.fixture
def desk(sessionmaker: async_sessionmaker[AsyncSession]) -> Any:
    """Touches, bundled requests, contacts, hand-offs and blackout dates arranged in the database (``SpocDesk``)."""
    from tests.touches.conftest import SpocDesk

    return SpocDesk(sessionmaker)


@pytest.fixture
async def world(factory: Factory) -> World:
    f = factory
    college = await f.organization("East LA College", "community_college", ["LA-BASIN"])
    board = await f.organization("LA Basin WDB", "workforce_board", ["LA-BASIN"])
    bay_board = await f.organization("NOVA Workforce Board", "workforce_board", ["BAY-PENINSULA"])
    users = {
        "admin": await f.user("admin@example.org", "Ada Admin", [("admin", None)]),
        "lead": await f.user("lead@example.org", "Lee Lead", [("lead", "LA-BASIN")], org=board),
        "spoc": await f.user("spoc@example.org", "Maria Lopez", [("spoc", "LA-BASIN")], org=board),
        "spoc2": await f.user("spoc2@example.org", "Sam Ortiz", [("spoc", "LA-BASIN")], org=board),
        "bay_lead": await f.user("baylead@example.org", "Bay Lead", [("lead", "BAY-PENINSULA")], org=bay_board),
        "bay_spoc": await f.user("bayspoc@example.org", "Bay Spoc", [("spoc", "BAY-PENINSULA")], org=bay_board),
        "partner": await f.user("partner@example.org", "Pat Partner", [("partner", None)], org=college),
        "partner2": await f.user("partner2@example.org", "Quinn Partner", [("partner", None)], org=board),
        "chair": await f.user("chair@example.org", "Chris Chair", [("chair", None)]),
    }
    return World(f=f, users=users, orgs={"college": college, "board": board, "bay_board": bay_board})
