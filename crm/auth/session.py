"""Server-side sessions that write to the store only when the session actually changed.

Litestar's backend writes (or deletes) the store entry on every response, even for bearer-token
API calls that never had a session: an extra database write per request, and on SQLite a second
writer racing the request's own transaction.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession

_LOADED = "_onedoor_session_loaded"


class QuietServerSideSessionBackend(ServerSideSessionBackend):
    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope[_LOADED] = dict(data)  # type: ignore[typeddict-unknown-key]
        return data

    async def store_in_message(self, scope_session: ScopeSession, message: Message,
                               connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        had_cookie = self.config.key in connection.cookies
        loaded = connection.scope.get(_LOADED)  # type: ignore[misc]
        if scope_session is Empty or not scope_session:
            if not had_cookie:
                return
        elif had_cookie and loaded == scope_session:
            return
        await super().store_in_message(scope_session, message, connection)


class SessionConfig(ServerSideSessionConfig):
    _backend_class = QuietServerSideSessionBackend
