"""Route guards: small named functions checking role. Scope checks live in the services.

They are coroutines although they never wait: Litestar runs a plain-function guard in a worker
thread (``sync_to_thread``), a thread hand-off on every request for a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from crm.auth.models import Role
from crm.auth.principal import Principal

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Coroutine[Any, Any, None]]


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("Sign in required")
    return user


async def requires_user(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    current_principal(connection)


def requires_role(*roles: Role) -> Guard:
    """Allow the listed roles (admins always)."""
    allowed = {*roles, Role.admin}

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = current_principal(connection)
        if not principal.has(*allowed):
            raise PermissionDeniedException("Your role does not allow this")

    guard.__name__ = "requires_" + "_or_".join(sorted(r.value for r in roles))
    return guard


requires_admin = requires_role(Role.admin)
requires_crm_user = requires_role(Role.lead, Role.spoc, Role.partner)
requires_staff = requires_role(Role.lead, Role.spoc)
requires_lead = requires_role(Role.lead)
