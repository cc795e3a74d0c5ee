"""Dependencies shared by every domain's handlers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.guards import current_principal
from crm.auth.principal import Principal
from crm.settings import Settings


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return current_principal(request)


# Explicit dependency and path markers (Litestar 2.25 deprecates inferring them).
Db = NamedDependency[AsyncSession]
Me = NamedDependency[Principal]
Conf = NamedDependency[Settings]
PathId = FromPath[int]
