"""Attach the signed-in Principal to every request: bearer token first, then the session."""

from __future__ import annotations

import datetime as dt
import logging
from functools import cache
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, HTTPSendMessage, Receive, Scope, Send
from sqlalchemy import Select, bindparam, or_, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.auth.models import ApiToken, User
from crm.auth.passwords import hash_token
from crm.auth.principal import Principal, PrincipalCache, principal_select
from crm.db import begin_write

SESSION_COOKIE = "onedoor_session"
# A token's last_used_at is a coarse "is this token still in use" signal: a minute's precision.
LAST_USED_EVERY = dt.timedelta(minutes=1)
log = logging.getLogger("crm.auth")


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


@cache
def _by_user() -> Select[*tuple[Any, ...]]:
    return principal_select().where(User.id == bindparam("user_id"))


@cache
def _by_token() -> Select[*tuple[Any, ...]]:
    return (principal_select().add_columns(ApiToken.id.label("token_id"), ApiToken.last_used_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None)))


class PrincipalMiddleware:
    """Sets ``scope["user"]`` to a Principal or None; guards decide what None may do.

    A principal is loaded with one statement (user, organization and grants joined) and kept in
    ``cache`` (``PrincipalCache``, which states the staleness bound). Litestar builds one instance
    per route, so the app passes one cache for all of them.
    """

    def __init__(self, app: ASGIApp, sessionmaker: async_sessionmaker[AsyncSession],
                 cache: PrincipalCache | None = None) -> None:
        self.app = app
        self.sessionmaker = sessionmaker
        self.cache = cache if cache is not None else PrincipalCache(0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["user"] = await self._principal(scope)
        await self.app(scope, receive, send)

    async def _principal(self, scope: Scope) -> Principal | None:
        token = bearer_token(scope)
        if token is not None:
            return await self._from_token(token)
        session = scope.get("session")
        if not isinstance(session, dict):
            return None
        user_id = session.get("user_id")
        if not isinstance(user_id, int):
            return None
        key = ("user", user_id)
        epoch = session.get("epoch", 0)
        cached = self.cache.get(key)
        if cached is not None and cached.principal.session_epoch == epoch:
            return cached.principal
        # Not cached, or cached under another epoch: the user's sessions were ended (here or in another
        # process) after the cache was filled, so the database decides both ways -- this sign-in is
        # either the newer one or one that is over.
        async with self.sessionmaker() as db:
            conn = await db.connection()
            rows = (await conn.execute(_by_user(), {"user_id": user_id})).all()
        principal = Principal.from_rows(rows)
        if principal is None:
            return None
        self.cache.put(key, principal)
        if principal.session_epoch != epoch:
            # Signed in before a new password or a deactivation: that sign-in is over. Emptying the
            # session deletes it from the store with this response.
            session.clear()
            return None
        return principal

    async def _from_token(self, token: str) -> Principal | None:
        key = ("token", hash_token(token))
        cached = self.cache.get(key)
        if cached is None:
            async with self.sessionmaker() as db:
                conn = await db.connection()
                rows = (await conn.execute(_by_token(), {"token_hash": key[1]})).all()
            principal = Principal.from_rows(rows, via_token=True)
            if principal is None:
                return None
            token_id, last_used = rows[0].token_id, rows[0].last_used_at
            now = dt.datetime.now(dt.UTC)
            if last_used is not None and now - last_used <= LAST_USED_EVERY:
                # Recorded recently (by this process or another): the next write is due a minute after.
                recorded = self.cache.clock() - (now - last_used).total_seconds()
            else:
                recorded = None
            cached = self.cache.put(key, principal, token_id, recorded)
            if cached is None:  # caching is off
                if recorded is None:
                    await self._record_use(token_id, now)
                return principal
        if cached.recorded is None or self.cache.clock() - cached.recorded > LAST_USED_EVERY.total_seconds():
            cached.recorded = self.cache.clock()
            assert cached.token_id is not None
            await self._record_use(cached.token_id, dt.datetime.now(dt.UTC))
        return cached.principal

    async def _record_use(self, token_id: int, now: dt.datetime) -> None:
        """Record the token's use (at most once a minute per token): bookkeeping, never a failure.

        One UPDATE in a transaction of its own, queued like every writer (``begin_write``): a read
        followed by a write in one SQLite transaction fails at once when another writer committed
        in between ("database is locked"), and that used to turn API calls into 500s.
        """
        try:
            async with self.sessionmaker() as db:
                await begin_write(db)
                await db.execute(update(ApiToken).where(
                    ApiToken.id == token_id,
                    or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_EVERY),
                ).values(last_used_at=now))
                await db.commit()
        except OperationalError:
            log.warning("token_last_used_not_recorded", extra={"token_id": token_id}, exc_info=True)


def _has_cookie(scope: Scope, name: str) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"cookie" and f"{name}=".encode() in value:
            return True
    return False


class BearerAwareCSRFMiddleware(CSRFMiddleware):
    """CSRF for cookie sessions. A bearer-token call, or an API call without a session cookie,
    carries no ambient credential to forge, so it skips the check (and gets a clean 401/403
    from the guards instead of a CSRF error).

    Its cookie lives as long as a session may (``max_age``): Litestar's lasts until the browser closes, while
    the session cookie outlives a restart, so pages restored afterwards sent forms whose token matched no
    cookie ("CSRF token verification failed" for a user still signed in)."""

    def __init__(self, app: ASGIApp, config: CSRFConfig, max_age: int | None = None) -> None:
        super().__init__(app, config)
        self.max_age = max_age

    def _set_cookie_if_needed(self, message: HTTPSendMessage, token: str) -> None:
        headers = MutableScopeHeaders.from_message(message)
        cookie = Cookie(key=self.config.cookie_name, value=token, path=self.config.cookie_path,
                        secure=self.config.cookie_secure, httponly=self.config.cookie_httponly,
                        samesite=self.config.cookie_samesite, domain=self.config.cookie_domain, max_age=self.max_age)
        headers.add("set-cookie", cookie.to_header(header=""))

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
