"""Migration 0021 on SQLite and PostgreSQL: duplicate councils (same owner, region and name in any case or
spacing) and duplicate partnerships (same name and regions) made before it are renamed " (2)", " (3)", ...
in id order, audited, and then the database refuses another; the downgrade keeps the names."""

import asyncio

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

import crm.models  # noqa: F401
from crm import migrate
from crm.audit.models import AuditEvent
from crm.councils.models import AdvisoryCouncil
from crm.db import make_engine
from crm.partnerships.models import SectorPartnership, partnership_region
from crm.settings import Settings
from tests.db.test_migrations import scratch_url

COUNCILS = AdvisoryCouncil.__table__
PARTNERSHIPS = SectorPartnership.__table__
AUDIT = AuditEvent.__table__


async def _arrange(url: str) -> None:
    """Two regions, two organizations, and councils and partnerships as an older database held them."""
    engine = make_engine(Settings(database_url=url))
    async with engine.begin() as conn:
        await conn.execute(insert(crm.models.Region.__table__), [{"id": 1, "code": "LA", "name": "Los Angeles"},
                                                                  {"id": 2, "code": "BAY", "name": "Bay Area"}])
        await conn.execute(insert(crm.models.Organization.__table__), [
            {"id": 1, "name": "East LA College", "kind": "community_college"},
            {"id": 2, "name": "LA Board", "kind": "workforce_board"}])
        await conn.execute(insert(COUNCILS), [
            {"id": 1, "name": "Welding Advisory", "owner_organization_id": 1, "region_id": 1},
            {"id": 2, "name": "Welding Advisory", "owner_organization_id": 1, "region_id": 1},  # -> (3)
            {"id": 3, "name": "welding  ADVISORY", "owner_organization_id": 1, "region_id": 1},  # -> (4)
            {"id": 4, "name": "Welding Advisory (2)", "owner_organization_id": 1, "region_id": 1},  # its own name
            {"id": 5, "name": "Welding Advisory", "owner_organization_id": 2, "region_id": 1},  # another owner
            {"id": 6, "name": "Welding Advisory", "owner_organization_id": 1, "region_id": 2},  # another region
            {"id": 7, "name": "W" * 200, "owner_organization_id": 1, "region_id": 1},
            {"id": 8, "name": "W" * 200, "owner_organization_id": 1, "region_id": 1}])  # shortened, "(2)"
        await conn.execute(insert(PARTNERSHIPS), [
            {"id": 1, "name": "LA Logistics", "owner_organization_id": 2, "stage": "scoping"},
            {"id": 2, "name": "LA logistics", "owner_organization_id": 2, "stage": "scoping"},  # -> (2)
            {"id": 3, "name": "LA Logistics", "owner_organization_id": 2, "stage": "scoping"}])  # LA and BAY
        await conn.execute(insert(partnership_region), [
            {"partnership_id": 1, "region_id": 1}, {"partnership_id": 2, "region_id": 1},
            {"partnership_id": 3, "region_id": 1}, {"partnership_id": 3, "region_id": 2}])
    await engine.dispose()


async def _state(url: str, again: bool) -> tuple[dict[int, str], dict[int, str], list[tuple], bool]:
    """Council and partnership names by id, the audited renames, and whether a duplicate council is refused."""
    engine = make_engine(Settings(database_url=url))
    async with engine.connect() as conn:
        councils = dict((await conn.execute(select(COUNCILS.c.id, COUNCILS.c.name))).all())
        partnerships = dict((await conn.execute(select(PARTNERSHIPS.c.id, PARTNERSHIPS.c.name))).all())
        audited = [tuple(r) for r in await conn.execute(
            select(AUDIT.c.action, AUDIT.c.entity_id, AUDIT.c.before, AUDIT.c.after).order_by(AUDIT.c.id))]
        refused = False
        if again:
            try:
                await conn.execute(insert(COUNCILS).values(
                    id=100, name="WELDING advisory", name_key="welding advisory", owner_organization_id=1,
                    region_id=1))
            except IntegrityError:
                refused = True
        await conn.rollback()
    await engine.dispose()
    return councils, partnerships, audited, refused


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_upgrade_renames_later_duplicates_audited_and_then_refuses_one(tmp_path, which):
    url = scratch_url(tmp_path, which, "council_names")
    settings = Settings(database_url=url)
    migrate.upgrade(settings, "0020")
    asyncio.run(_arrange(url))
    migrate.upgrade(settings, "0021")
    councils, partnerships, audited, refused = asyncio.run(_state(url, again=True))
    assert councils == {1: "Welding Advisory", 2: "Welding Advisory (3)", 3: "welding  ADVISORY (4)",
                        4: "Welding Advisory (2)", 5: "Welding Advisory", 6: "Welding Advisory", 7: "W" * 200,
                        8: "W" * 196 + " (2)"}
    assert partnerships == {1: "LA Logistics", 2: "LA logistics (2)", 3: "LA Logistics"}
    assert audited == [
        ("council.rename_duplicate", 2, {"name": "Welding Advisory"}, {"name": "Welding Advisory (3)"}),
        ("council.rename_duplicate", 3, {"name": "welding  ADVISORY"}, {"name": "welding  ADVISORY (4)"}),
        ("council.rename_duplicate", 8, {"name": "W" * 200}, {"name": "W" * 196 + " (2)"}),
        ("partnership.rename_duplicate", 2, {"name": "LA logistics"}, {"name": "LA logistics (2)"})]
    assert refused
    migrate.downgrade(settings, "0020")
    assert asyncio.run(_state(url, again=False))[:2] == (councils, partnerships)
