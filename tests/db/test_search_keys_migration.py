"""Migration 0008 rebuilds the search keys with the current scheme (what `crm employers reindex`
writes) and its downgrade leaves the version-1 keys; on SQLite and PostgreSQL."""

import asyncio

import pytest
from sqlalchemy import insert, select, text

import crm.models  # noqa: F401
from crm import migrate
from crm.db import make_engine, make_sessionmaker
from crm.employers.candidates import employer_search_key, reindex_all
from crm.employers.matching import EmployerRecord, blocking_keys, name_key
from crm.employers.models import Employer, EmployerAlias
from crm.settings import Settings
from tests.db.test_migrations import scratch_url

KEYS = employer_search_key.c


async def _arrange_version_1(url: str) -> dict[str, int]:
    """Employers as a 0007 database holds them: version-1 keys (and one stale key)."""
    engine = make_engine(Settings(database_url=url))
    ids = {}
    async with engine.begin() as conn:
        for name in ("Garcia Plumbing Inc", "Pacific Cabinetry", "Bechtel"):
            ids[name] = (await conn.execute(insert(Employer.__table__).values(
                legal_name=name, name_key=name_key(name), status="active", do_not_contact=False,
            ).returning(Employer.__table__.c.id))).scalar_one()
        await conn.execute(insert(EmployerAlias.__table__).values(
            employer_id=ids["Bechtel"], name="Bechtel Power Corp", name_key=name_key("Bechtel Power Corp")))
        aliases = {"Bechtel": ("Bechtel Power Corp",)}
        await conn.execute(insert(employer_search_key), [
            {"key": key, "employer_id": employer_id} for name, employer_id in ids.items()
            for key in blocking_keys(EmployerRecord(employer_id, name, aliases.get(name, ())))
        ] + [{"key": "t:stale", "employer_id": ids["Bechtel"]}])
    await engine.dispose()
    return ids


async def _keys(url: str) -> set[tuple[str, int]]:
    engine = make_engine(Settings(database_url=url))
    async with engine.connect() as conn:
        rows = {(k, e) for k, e in await conn.execute(select(KEYS.key, KEYS.employer_id))}
    await engine.dispose()
    return rows


async def _reindex(url: str) -> None:
    engine = make_engine(Settings(database_url=url))
    async with make_sessionmaker(engine)() as db, db.begin():
        await reindex_all(db)
    await engine.dispose()


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_upgrade_writes_what_reindex_writes_and_downgrade_drops_only_the_initial_keys(tmp_path, which):
    url = scratch_url(tmp_path, which, "search_keys")
    settings = Settings(database_url=url)
    migrate.upgrade(settings, "0007")
    ids = asyncio.run(_arrange_version_1(url))
    version_1 = asyncio.run(_keys(url)) - {("t:stale", ids["Bechtel"])}

    migrate.upgrade(settings, "0008")
    upgraded = asyncio.run(_keys(url))
    assert ("t:stale", ids["Bechtel"]) not in upgraded
    assert {("o:garcia p", ids["Garcia Plumbing Inc"]), ("o:p cabinetry", ids["Pacific Cabinetry"]),
            ("o:bechtel p", ids["Bechtel"])} <= upgraded
    asyncio.run(_reindex(url))
    assert asyncio.run(_keys(url)) == upgraded

    migrate.downgrade(settings, "0007")
    assert asyncio.run(_keys(url)) == version_1
    if which == "postgresql":
        engine = make_engine(Settings(database_url=url.rsplit("/", 1)[0] + "/postgres"))

        async def drop() -> None:
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"'))
            await engine.dispose()

        asyncio.run(drop())
