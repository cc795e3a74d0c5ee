"""Migration 0013 takes the region off admin, partner and chair grants (keeping one grant per user and
role), leaves SPOC and lead grants alone, then refuses a region on those roles; on SQLite and PostgreSQL."""

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
    """Grants as a 0012 database may hold them, made by the admin page or the CLI before the fix."""
    engine = make_engine(Settings(database_url=url))
    async with engine.begin() as conn:
        await conn.execute(insert(crm.models.Region.__table__), [{"id": 1, "code": "LA", "name": "Los Angeles"},
                                                                  {"id": 2, "code": "BAY", "name": "Bay Area"}])
        await conn.execute(insert(crm.models.User.__table__), [
            {"id": n, "email": f"u{n}@example.org", "name": f"User {n}"} for n in range(1, 5)])
        await conn.execute(insert(GRANTS), [
            {"id": 1, "user_id": 1, "role": "admin", "region_id": 1},  # beside a plain admin grant: goes
            {"id": 2, "user_id": 1, "role": "admin", "region_id": None},
            {"id": 3, "user_id": 2, "role": "admin", "region_id": 2},  # the older of two: kept, region off
            {"id": 4, "user_id": 2, "role": "admin", "region_id": 1},
            {"id": 5, "user_id": 3, "role": "partner", "region_id": 1},
            {"id": 6, "user_id": 3, "role": "chair", "region_id": 2},
            {"id": 7, "user_id": 4, "role": "spoc", "region_id": 1},
            {"id": 8, "user_id": 4, "role": "lead", "region_id": 2},
        ])
    await engine.dispose()


async def _grants_then_insert_regional_admin(url: str) -> tuple[list[tuple[int, int, str, int | None]], bool]:
    engine = make_engine(Settings(database_url=url))
    async with engine.connect() as conn:
        rows = [tuple(r) for r in await conn.execute(
            select(GRANTS.c.id, GRANTS.c.user_id, GRANTS.c.role, GRANTS.c.region_id).order_by(GRANTS.c.id))]
        try:
            await conn.execute(insert(GRANTS).values(id=100, user_id=4, role="admin", region_id=1))
            refused = False
        except IntegrityError:
            refused = True
        await conn.rollback()
    await engine.dispose()
    return rows, refused


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_upgrade_takes_the_region_off_grants_it_means_nothing_to_and_then_refuses_one(tmp_path, which):
    url = scratch_url(tmp_path, which, "role_grants")
    settings = Settings(database_url=url)
    migrate.upgrade(settings, "0012")
    asyncio.run(_arrange(url))
    migrate.upgrade(settings, "0013")
    rows, refused = asyncio.run(_grants_then_insert_regional_admin(url))
    assert rows == [(2, 1, "admin", None), (3, 2, "admin", None), (5, 3, "partner", None), (6, 3, "chair", None),
                    (7, 4, "spoc", 1), (8, 4, "lead", 2)]
    assert refused
    migrate.downgrade(settings, "0012")
    assert asyncio.run(_grants_then_insert_regional_admin(url)) == (rows, False)
