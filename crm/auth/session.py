"""Server-side sessions that write to the store only when the session actually changed.

Litestar's backend writes (or deletes) the store entry on every response, even for bearer-token
API calls that never had a session: an extra database write per request, and on SQLite a second
writer racing the request's own transaction.
"""

from __future__ import annotations

from typing import Any, Final

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession

_LOADED: Final = "_onedoor_session_loaded"
_ROTATED_ID: Final = "_onedoor_session_new_id"
ROTATE: Final = "_onedoor_rotate_session"


def rotate_session_id(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Issue a fresh session id on this response (call at sign-in: defeats session fixation)."""
    connection.scope[ROTATE] = True  # type: ignore[typeddict-unknown-key]


class QuietServerSideSessionBackend(ServerSideSessionBackend):
    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope[_LOADED] = dict(data)  # type: ignore[typeddict-unknown-key]
        return data

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        if connection.scope.get(ROTATE):  # type: ignore[misc]
            new_id = connection.scope.get(_ROTATED_ID)  # type: ignore[misc]
            if not new_id:
                new_id = self.generate_session_id()
                connection.scope[_ROTATED_ID] = new_id  # type: ignore[typeddict-unknown-key]
            return str(new_id)
        return super().get_session_id(connection)

    async def store_in_message(self, scope_session: ScopeSession, message: Message,
                               connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        old_id = connection.cookies.get(self.config.key)
        if connection.scope.get(ROTATE) and old_id and old_id != "null":  # type: ignore[misc]
            await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
        had_cookie = self.config.key in connection.cookies
        loaded = connection.scope.get(_LOADED)  # type: ignore[misc]
        if scope_session is Empty or not scope_session:
            if not had_cookie:
                return
        elif had_cookie and loaded == scope_session and not connection.scope.get(ROTATE):  # type: ignore[misc]
            return
        await super().store_in_message(scope_session, message, connection)


class SessionConfig(ServerSideSessionConfig):
    _backend_class = QuietServerSideSessionBackend
