"""Commit the request's database session before any other middleware writes.

advanced-alchemy commits in a ``before_send`` hook, which runs after every middleware's send
wrapper; the session middleware writes its store in such a wrapper. Ending the transaction
here, innermost, means the request's writes are committed (2xx/3xx, redirects included) or
rolled back (4xx/5xx) before anything else touches the database.

A request that may write (any method but GET, HEAD and OPTIONS) begins its SQLite transactions as
a writer (``crm.db.writing_request``): a read that later wants to write cannot be refused then.
"""

from __future__ import annotations

from typing import cast

from advanced_alchemy.extensions.litestar._utils import delete_aa_scope_state, get_aa_scope_state
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db import end_writing_request, writing_request

_READ_ONLY = frozenset(("GET", "HEAD", "OPTIONS"))


class TransactionMiddleware:
    def __init__(self, app: ASGIApp, session_scope_key: str) -> None:
        self.app = app
        self.key = session_scope_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def end_transaction(message: Message) -> None:
            if message["type"] == "http.response.start":
                session: AsyncSession | None = get_aa_scope_state(scope, self.key)
                if session is not None:
                    try:
                        if 200 <= message["status"] < 400:
                            await session.commit()
                        else:
                            await session.rollback()
                    finally:
                        await session.close()
                        delete_aa_scope_state(scope, self.key)
                end_writing_request()
            await send(message)

        with writing_request(cast("HTTPScope", scope)["method"] not in _READ_ONLY):
            await self.app(scope, receive, end_transaction)
