"""An employer import run by another process (``crm import employers`` beside the servers): the servers'
writes get the database between its batches, in bounded time, and never fail because of it."""

from __future__ import annotations

import asyncio
from itertools import count

import httpx

from crm.employers.import_service import run_import
from tests.employers.test_import_sharing import (
    ROWS,
    assert_writes_got_in,
    slow_batches,
    slow_import_rows,
    warm_up,
    write_while,
)
from tests.factories import PASSWORD


async def test_server_writes_get_the_database_between_the_batches_of_an_import_run_elsewhere(servers, staffed,
                                                                                            monkeypatch):
    f = staffed.factory
    board = await f.organization("Import Board", "workforce_board", ["LA-BASIN"])
    lead = await f.user("importlead@example.org", "Ida Import", [("lead", "LA-BASIN")], org=board)
    bearer = await f.auth(lead)
    holding = slow_batches(monkeypatch)
    n = count()
    async with httpx.AsyncClient(timeout=60) as client:
        writes = (
            *(lambda base=base: client.post(f"{base}/api/employers", headers=bearer,
                                            json={"legal_name": f"Walk-in Employer {next(n)}", "zip": "90012"})
              for base in servers),
            lambda: client.post(f"{servers[0]}/api/auth/token", json={"email": lead.email, "password": PASSWORD}))
        await warm_up(*writes)
        # This test's process runs the import, as the CLI would, on an engine of its own.
        importing = asyncio.create_task(run_import(f.sessionmaker, slow_import_rows("Elsewhere Freight"),
                                                   batch_size=ROWS))
        await asyncio.wait_for(holding.wait(), 30)
        answers = await write_while(importing, *writes)
    assert_writes_got_in(await importing, answers)
