"""The typeahead benchmark's own bookkeeping: it builds with the product's keys, and a database
whose keys are of an older scheme is reindexed instead of being measured as it is."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import delete, func, select

from bench.typeahead.__main__ import _keys_current, build, make_cases
from crm.db import make_engine, make_sessionmaker
from crm.employers.candidates import employer_search_key
from crm.settings import Settings


async def _current(settings: Settings) -> tuple[bool, int]:
    engine = make_engine(settings)
    async with make_sessionmaker(engine)() as db:
        current = await _keys_current(db)
        keys = await db.scalar(select(func.count()).select_from(employer_search_key)) or 0
    await engine.dispose()
    return current, keys


async def _drop_initial_keys(settings: Settings) -> None:
    engine = make_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(delete(employer_search_key).where(employer_search_key.c.key.startswith("o:")))
    await engine.dispose()


def test_stale_keys_are_rebuilt_before_measuring(tmp_path: Path, capsys) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'typeahead.db'}", scheduler_enabled=False)
    asyncio.run(build(settings, 300, rebuild=False))
    current, keys = asyncio.run(_current(settings))
    assert current and keys > 300

    asyncio.run(_drop_initial_keys(settings))  # what a database built before keys v2 holds
    assert asyncio.run(_current(settings))[0] is False
    capsys.readouterr()
    asyncio.run(build(settings, 300, rebuild=False))
    assert "reindexing" in capsys.readouterr().out
    assert asyncio.run(_current(settings)) == (True, keys)

    cases = asyncio.run(make_cases(settings, 50))
    assert len(cases) == 50 and {c.kind for c in cases} <= {"prefix", "typo", "suffix", "name+zip", "domain"}
