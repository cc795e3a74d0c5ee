"""Attach the signed-in Principal to every request: bearer token first, then the session."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from crm.auth.models import ApiToken, User
from crm.auth.passwords import hash_token
from crm.auth.principal import Principal

SESSION_COOKIE = "onedoor_session"


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class PrincipalMiddleware:
    """Sets ``scope["user"]`` to a Principal or None; guards decide what None may do."""

    def __init__(self, app: ASGIApp, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.app = app
        self.sessionmaker = sessionmaker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["user"] = await self._principal(scope)
        await self.app(scope, receive, send)

    async def _principal(self, scope: Scope) -> Principal | None:
        token = bearer_token(scope)
        if token is not None:
            return await self._from_token(token)
        session = scope.get("session") or {}
        user_id = session.get("user_id") if isinstance(session, dict) else None
        if not isinstance(user_id, int):
            return None
        async with self.sessionmaker() as db:
            user = await db.scalar(
                select(User).where(User.id == user_id, User.is_active.is_(True)).options(selectinload(User.grants))
            )
            return Principal.from_user(user) if user else None

    async def _from_token(self, token: str) -> Principal | None:
        async with self.sessionmaker() as db:
            row = await db.scalar(
                select(ApiToken)
                .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
                .options(selectinload(ApiToken.user).selectinload(User.grants))
            )
            if row is None or not row.user.is_active:
                return None
            principal = Principal.from_user(row.user, via_token=True)
            last_used, token_id = row.last_used_at, row.id
            # End the read before writing: on SQLite a read transaction cannot be upgraded to a
            # write while another connection writes ("database is locked"), a fresh one waits.
            await db.rollback()
            now = dt.datetime.now(dt.UTC)
            # Touch last_used_at at most once a minute so tokens don't turn every read into a write.
            if last_used is None or now - last_used > dt.timedelta(minutes=1):
                async with db.begin():
                    await db.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
            return principal


def _has_cookie(scope: Scope, name: str) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"cookie" and f"{name}=".encode() in value:
            return True
    return False


class BearerAwareCSRFMiddleware(CSRFMiddleware):
    """CSRF for cookie sessions. A bearer-token call, or an API call without a session cookie,
    carries no ambient credential to forge, so it skips the check (and gets a clean 401/403
    from the guards instead of a CSRF error)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            bearer_token(scope) is not None
            or (scope["path"].startswith("/api/") and not _has_cookie(scope, SESSION_COOKIE))
        ):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def client_addr(scope: Scope) -> str:
    client: Any = scope.get("client")
    return str(client[0]) if client else "unknown"
