"""Migration 0019 deletes the duplicates of region-less grants (two admins adding "partner" at once made
them), keeping the lowest id of each user and role, leaves regional grants alone, then refuses a
duplicate; on SQLite and PostgreSQL."""

import asyncio

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

import crm.models  # noqa: F401
from crm import migrate
from crm.db import make_engine
from crm.settings import Settings
from tests.db.test_migrations import scratch_url

GRANTS = crm.models.RoleGrant.__table__


async def _arrange(url: str) -> None:
    """Grants as a 0018 database may hold them."""
    engine = make_engine(Settings(database_url=url))
    async with engine.begin() as conn:
        await conn.execute(insert(crm.models.Region.__table__), [{"id": 1, "code": "LA", "name": "Los Angeles"},
                                                                  {"id": 2, "code": "BAY", "name": "Bay Area"}])
        await conn.execute(insert(crm.models.User.__table__), [
            {"id": n, "email": f"u{n}@example.org", "name": f"User {n}"} for n in range(1, 4)])
        await conn.execute(insert(GRANTS), [
            {"id": 1, "user_id": 1, "role": "partner", "region_id": None},  # kept: the lowest id
            {"id": 2, "user_id": 1, "role": "chair", "region_id": None},
            {"id": 3, "user_id": 1, "role": "partner", "region_id": None},  # goes
            {"id": 4, "user_id": 1, "role": "partner", "region_id": None},  # goes
            {"id": 5, "user_id": 2, "role": "partner", "region_id": None},  # another user's: kept
            {"id": 6, "user_id": 2, "role": "spoc", "region_id": 1},
            {"id": 7, "user_id": 2, "role": "spoc", "region_id": 2},  # another region: not a duplicate
            {"id": 8, "user_id": 3, "role": "admin", "region_id": None},
            {"id": 9, "user_id": 3, "role": "admin", "region_id": None},  # goes
        ])
    await engine.dispose()


async def _grants_then_insert_duplicate(url: str) -> tuple[list[tuple[int, int, str, int | None]], bool]:
    engine = make_engine(Settings(database_url=url))
    async with engine.connect() as conn:
        rows = [tuple(r) for r in await conn.execute(
            select(GRANTS.c.id, GRANTS.c.user_id, GRANTS.c.role, GRANTS.c.region_id).order_by(GRANTS.c.id))]
        try:
            await conn.execute(insert(GRANTS).values(id=100, user_id=2, role="partner", region_id=None))
            refused = False
        except IntegrityError:
            refused = True
        await conn.rollback()
    await engine.dispose()
    return rows, refused


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_upgrade_keeps_the_oldest_of_duplicate_region_less_grants_and_then_refuses_one(tmp_path, which):
    url = scratch_url(tmp_path, which, "regionless_grants")
    settings = Settings(database_url=url)
    migrate.upgrade(settings, "0018")
    asyncio.run(_arrange(url))
    migrate.upgrade(settings, "0019")
    rows, refused = asyncio.run(_grants_then_insert_duplicate(url))
    assert rows == [(1, 1, "partner", None), (2, 1, "chair", None), (5, 2, "partner", None), (6, 2, "spoc", 1),
                    (7, 2, "spoc", 2), (8, 3, "admin", None)]
    assert refused
    migrate.downgrade(settings, "0018")
    assert asyncio.run(_grants_then_insert_duplicate(url)) == (rows, False)
