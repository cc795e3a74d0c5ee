"""Logging a touch once under real concurrency: the same form or Idempotency-Key sent several times at the
same instant, over several server processes, logs one touch (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from crm import clock
from crm.employers.models import Employer
from crm.touches.models import Touch
from tests.factories import PASSWORD, Factory

COPIES = 8


@dataclass
class Desk:
    factory: Factory
    employer: Employer
    spoc_email: str
    headers: dict[str, str]


@pytest.fixture
async def desk(staffed) -> Desk:
    return Desk(staffed.factory, staffed.employer, staffed.spoc.email, await staffed.factory.auth(staffed.spoc))


async def _logged(desk: Desk) -> int:
    async with desk.factory.sessionmaker() as db:
        return int(await db.scalar(select(func.count(Touch.id)).where(Touch.employer_id == desk.employer.id)) or 0)


async def test_one_log_form_sent_several_times_at_once_logs_one_touch(servers, desk):
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=COPIES)) as client:
        await client.get(f"{servers[0]}/login")
        signed_in = await client.post(f"{servers[0]}/login", data={
            "email": desk.spoc_email, "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"], "next": "/"})
        assert signed_in.status_code == 303, signed_in.text
        form = (await client.get(f"{servers[0]}/queue/log?employer_id={desk.employer.id}")).text
        key = form.split('name="form_key" value="', 1)[1].split('"', 1)[0]
        data = {"employer_id": str(desk.employer.id), "channel": "call", "occurred_on": clock.today().isoformat(),
                "notes": "called about interns", "form_key": key, "_csrf_token": client.cookies["csrftoken"]}
        answers = await asyncio.gather(*(client.post(f"{servers[i % len(servers)]}/queue/log", data=data)
                                         for i in range(COPIES)))
    assert [r.status_code for r in answers] == [303] * COPIES, [r.text for r in answers if r.status_code != 303]
    assert {r.headers["location"] for r in answers} == {f"/employers/{desk.employer.id}"}
    assert await _logged(desk) == 1


async def test_one_idempotency_key_sent_several_times_at_once_logs_one_touch(servers, desk):
    body = {"employer_id": desk.employer.id, "channel": "visit", "occurred_on": clock.today().isoformat()}
    headers = {**desk.headers, "Idempotency-Key": "visit-7"}
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=COPIES)) as client:
        answers = await asyncio.gather(*(client.post(f"{servers[i % len(servers)]}/api/touches", json=body,
                                                     headers=headers) for i in range(COPIES)))
    assert [r.status_code for r in answers] == [201] * COPIES, [r.text for r in answers if r.status_code != 201]
    assert len({r.json()["id"] for r in answers}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == COPIES - 1
    assert await _logged(desk) == 1
