"""Migrations 0008 and 0020 rebuild the search keys with the current scheme (what `crm employers reindex`
writes); 0008's downgrade leaves the version-1 keys, 0020's the version-2 keys; on SQLite and PostgreSQL."""

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import insert, select, text

import crm.models  # noqa: F401
from crm import migrate
from crm.db import make_engine, make_sessionmaker
from crm.employers.candidates import employer_search_key, record_keys, reindex_all
from crm.employers.matching import EmployerRecord, blocking_keys, name_key
from crm.employers.models import Employer, EmployerAlias
from crm.settings import Settings
from tests.db.test_migrations import scratch_url

KEYS = employer_search_key.c


def _version_2(record: EmployerRecord) -> set[str]:
    return {key for key in record_keys(record) if not key.startswith("w:")}


async def _arrange(url: str, scheme: Callable[[EmployerRecord], set[str]] = blocking_keys) -> dict[str, int]:
    """Employers as an older database holds them: the keys of an older ``scheme`` (and one stale key)."""
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
            for key in scheme(EmployerRecord(employer_id, name, aliases.get(name, ())))
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
    ids = asyncio.run(_arrange(url))
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
    _drop(url, which)


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_upgrade_adds_a_key_per_name_word_and_downgrade_drops_only_those(tmp_path, which):
    url = scratch_url(tmp_path, which, "search_word_keys")
    settings = Settings(database_url=url)
    migrate.upgrade(settings, "0019")
    ids = asyncio.run(_arrange(url, _version_2))
    version_2 = asyncio.run(_keys(url)) - {("t:stale", ids["Bechtel"])}

    migrate.upgrade(settings, "0020")
    upgraded = asyncio.run(_keys(url))
    assert {("w:garcia", ids["Garcia Plumbing Inc"]), ("w:plumbing", ids["Garcia Plumbing Inc"]),
            ("w:bechtel", ids["Bechtel"]), ("w:power", ids["Bechtel"])} <= upgraded  # "power": its alias's
    assert {key for key in upgraded if not key[0].startswith("w:")} == version_2
    asyncio.run(_reindex(url))
    assert asyncio.run(_keys(url)) == upgraded

    migrate.downgrade(settings, "0019")
    assert asyncio.run(_keys(url)) == version_2
    _drop(url, which)


def _drop(url: str, which: str) -> None:
    if which == "postgresql":
        engine = make_engine(Settings(database_url=url.rsplit("/", 1)[0] + "/postgres"))

        async def drop() -> None:
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"'))
            await engine.dispose()

        asyncio.run(drop())
