"""Migrations of role grants, on SQLite and PostgreSQL:
- 0013 takes the region off admin, partner and chair grants (keeping one grant per user and role), leaves
  SPOC and lead grants alone, then refuses a region on those roles;
- 0019 deletes the duplicates of region-less grants (two admins adding "partner" at once made them),
  keeping the lowest id of each user and role, leaves regional grants alone, then refuses a duplicate."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

import crm.models  # noqa: F401
from crm import migrate
from crm.db import make_engine
from crm.settings import Settings
from tests.db.test_migrations import scratch_url

GRANTS = crm.models.RoleGrant.__table__


async def _arrange(url: str, users: int, grants: list[tuple[int, int, str, int | None]]) -> None:
    """Two regions, ``users`` users and ``grants`` (id, user_id, role, region_id) as an older database held them."""
    engine = make_engine(Settings(database_url=url))
    async with engine.begin() as conn:
        await conn.execute(insert(crm.models.Region.__table__), [{"id": 1, "code": "LA", "name": "Los Angeles"},
                                                                  {"id": 2, "code": "BAY", "name": "Bay Area"}])
        await conn.execute(insert(crm.models.User.__table__), [
            {"id": n, "email": f"u{n}@example.org", "name": f"User {n}"} for n in range(1, users + 1)])
        await conn.execute(insert(GRANTS), [dict(zip(("id", "user_id", "role", "region_id"), g, strict=True))
                                            for g in grants])
    await engine.dispose()


async def _grants_then_insert(url: str, row: dict[str, Any]) -> tuple[list[tuple[int, int, str, int | None]], bool]:
    """The grants as stored, and whether inserting ``row`` is refused (rolled back either way)."""
    engine = make_engine(Settings(database_url=url))
    async with engine.connect() as conn:
        rows = [tuple(r) for r in await conn.execute(
            select(GRANTS.c.id, GRANTS.c.user_id, GRANTS.c.role, GRANTS.c.region_id).order_by(GRANTS.c.id))]
        try:
            await conn.execute(insert(GRANTS).values(id=100, **row))
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
    asyncio.run(_arrange(url, 4, [  # made by the admin page or the CLI before the fix
        (1, 1, "admin", 1),  # beside a plain admin grant: goes
        (2, 1, "admin", None),
        (3, 2, "admin", 2),  # the older of two: kept, region off
        (4, 2, "admin", 1),
        (5, 3, "partner", 1),
        (6, 3, "chair", 2),
        (7, 4, "spoc", 1),
        (8, 4, "lead", 2)]))
    migrate.upgrade(settings, "0013")
    regional_admin = {"user_id": 4, "role": "admin", "region_id": 1}
    rows, refused = asyncio.run(_grants_then_insert(url, regional_admin))
    assert rows == [(2, 1, "admin", None), (3, 2, "admin", None), (5, 3, "partner", None), (6, 3, "chair", None),
                    (7, 4, "spoc", 1), (8, 4, "lead", 2)]
    assert refused
    migrate.downgrade(settings, "0012")
    assert asyncio.run(_grants_then_insert(url, regional_admin)) == (rows, False)


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_upgrade_keeps_the_oldest_of_duplicate_region_less_grants_and_then_refuses_one(tmp_path, which):
    url = scratch_url(tmp_path, which, "regionless_grants")
    settings = Settings(database_url=url)
    migrate.upgrade(settings, "0018")
    asyncio.run(_arrange(url, 3, [
        (1, 1, "partner", None),  # kept: the lowest id
        (2, 1, "chair", None),
        (3, 1, "partner", None),  # goes
        (4, 1, "partner", None),  # goes
        (5, 2, "partner", None),  # another user's: kept
        (6, 2, "spoc", 1),
        (7, 2, "spoc", 2),  # another region: not a duplicate
        (8, 3, "admin", None),
        (9, 3, "admin", None)]))  # goes
    migrate.upgrade(settings, "0019")
    duplicate = {"user_id": 2, "role": "partner", "region_id": None}
    rows, refused = asyncio.run(_grants_then_insert(url, duplicate))
    assert rows == [(1, 1, "partner", None), (2, 1, "chair", None), (5, 2, "partner", None), (6, 2, "spoc", 1),
                    (7, 2, "spoc", 2), (8, 3, "admin", None)]
    assert refused
    migrate.downgrade(settings, "0018")
    assert asyncio.run(_grants_then_insert(url, duplicate)) == (rows, False)
