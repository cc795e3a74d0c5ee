"""Migration 0012 keeps the oldest of active routing rules that route the same employers (region,
sector prefix, county; "any" included), deactivates the rest, then refuses new duplicates; on
SQLite and PostgreSQL."""

import asyncio

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

import crm.models  # noqa: F401
from crm import migrate
from crm.db import make_engine
from crm.settings import Settings
from tests.db.test_migrations import scratch_url

RULES = crm.models.RoutingRule.__table__


async def _arrange(url: str) -> None:
    """Rules as a 0011 database may hold them: two pairs of duplicates, one already inactive copy."""
    engine = make_engine(Settings(database_url=url))
    async with engine.begin() as conn:
        await conn.execute(insert(crm.models.Region.__table__), [{"id": 1, "code": "LA", "name": "Los Angeles"},
                                                                  {"id": 2, "code": "BAY", "name": "Bay Area"}])
        await conn.execute(insert(crm.models.County.__table__).values(id=5, name="Los Angeles", region_id=1))
        await conn.execute(insert(RULES), [
            {"id": 1, "region_id": 1, "naics_prefix": "31", "county_id": 5, "priority": 100, "active": True},
            {"id": 2, "region_id": 1, "naics_prefix": "31", "county_id": 5, "priority": 50, "active": True},
            {"id": 3, "region_id": 1, "naics_prefix": None, "county_id": None, "priority": 100, "active": True},
            {"id": 4, "region_id": 1, "naics_prefix": None, "county_id": None, "priority": 100, "active": True},
            {"id": 5, "region_id": 1, "naics_prefix": None, "county_id": None, "priority": 100, "active": False},
            {"id": 6, "region_id": 2, "naics_prefix": None, "county_id": None, "priority": 100, "active": True},
            {"id": 7, "region_id": 1, "naics_prefix": "31", "county_id": None, "priority": 100, "active": True},
        ])
    await engine.dispose()


async def _active_then_insert_duplicate(url: str) -> tuple[list[int], bool]:
    engine = make_engine(Settings(database_url=url))
    async with engine.connect() as conn:
        active = list(await conn.scalars(select(RULES.c.id).where(RULES.c.active.is_(True)).order_by(RULES.c.id)))
        try:
            await conn.execute(insert(RULES).values(id=100, region_id=1, naics_prefix=None, county_id=None, priority=1,
                                                    active=True))
            refused = False
        except IntegrityError:
            refused = True
        await conn.rollback()
    await engine.dispose()
    return active, refused


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_upgrade_keeps_the_oldest_of_duplicate_rules_and_then_refuses_new_ones(tmp_path, which):
    url = scratch_url(tmp_path, which, "routing_rules")
    settings = Settings(database_url=url)
    migrate.upgrade(settings, "0011")
    asyncio.run(_arrange(url))
    migrate.upgrade(settings, "0012")
    active, refused = asyncio.run(_active_then_insert_duplicate(url))
    assert active == [1, 3, 6, 7]  # 2 and 4 copied 1 and 3; other regions and sectors untouched
    assert refused
    migrate.downgrade(settings, "0011")
    assert asyncio.run(_active_then_insert_duplicate(url)) == ([1, 3, 6, 7], False)
