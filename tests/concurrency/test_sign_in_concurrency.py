"""Sign-in throttling under real concurrency: wrong passwords sent for one e-mail at the same instant,
over several server processes, get no more tries than the limit (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from crm.auth.models import LoginFailure
from crm.settings import Settings

GUESSES = 16


async def test_wrong_passwords_sent_at_once_get_no_more_tries_than_the_limit(servers, staffed):
    limit = Settings().login_max_failures
    body = {"email": staffed.spoc.email, "password": "not-the-password"}
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=GUESSES)) as client:
        answers = await asyncio.gather(*(client.post(f"{servers[i % len(servers)]}/api/auth/token", json=body)
                                         for i in range(GUESSES)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [401] * limit + [429] * (GUESSES - limit), statuses
    async with staffed.factory.sessionmaker() as db:
        assert await db.scalar(select(func.count(LoginFailure.id))) == limit
