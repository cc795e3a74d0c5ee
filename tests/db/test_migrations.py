"""Migrations build the schema from nothing on SQLite and PostgreSQL, and match the models."""

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import crm.models  # noqa: F401
from crm import migrate
from crm.db import make_engine, metadata
from crm.settings import Settings
from tests.conftest import PG_URL


def _fresh_urls(tmp_path):
    yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    if PG_URL:
        yield f"{PG_URL}_migrations"  # per test database (and per parallel worker)


async def _recreate_pg_database(url: str) -> None:
    admin = make_engine(Settings(database_url=url.rsplit("/", 1)[0] + "/postgres"))
    name = url.rsplit("/", 1)[1]
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()


def scratch_url(tmp_path, which: str, name: str) -> str:
    """A fresh, empty database of its own for a migration test: a SQLite file, or a PostgreSQL database
    named after the test database (so per parallel worker too), dropped and created again."""
    if which == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
    if not PG_URL:
        pytest.skip("CRM_TEST_DATABASE_URL not set")
    url = f"{PG_URL}_{name}"
    asyncio.run(_recreate_pg_database(url))
    return url


async def _diff(url: str) -> list:
    engine = make_engine(Settings(database_url=url))
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(
            MigrationContext.configure(c, opts={"compare_type": migrate.compare_type}), metadata))
    await engine.dispose()
    return diff


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_upgrade_from_empty_matches_models_and_downgrade_to_base_works(tmp_path, which):
    urls = dict(zip(["sqlite", "postgresql"], _fresh_urls(tmp_path), strict=False))
    if which not in urls:
        pytest.skip("CRM_TEST_DATABASE_URL not set")
    url = urls[which]
    if which == "postgresql":
        asyncio.run(_recreate_pg_database(url))
    settings = Settings(database_url=url)
    migrate.upgrade(settings, "heads")
    assert asyncio.run(_diff(url)) == [], "models and migrations drifted: add an Alembic revision"
    migrate.downgrade(settings, "base")
    migrate.upgrade(settings, "heads")
    assert asyncio.run(_diff(url)) == []
