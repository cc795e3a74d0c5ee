"""The directory benchmark runs on the typeahead's database and finds what its queries were made from."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.directory.__main__ import run
from bench.typeahead.__main__ import build
from crm.settings import Settings


def test_every_kind_of_query_is_timed_and_two_words_find_their_employer(tmp_path: Path, capsys) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'directory.db'}", scheduler_enabled=False)
    asyncio.run(build(settings, 300, rebuild=False))
    capsys.readouterr()
    asyncio.run(run(settings, 120))
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert set(rows) == {"start", "typed", "later", "words", "all"}
    assert rows["words"][5] == "100.0%" and rows["later"][5] == "100.0%"  # found: each word anywhere
