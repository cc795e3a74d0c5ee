"""Dependencies shared by every domain's handlers."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.guards import current_principal
from crm.auth.principal import Principal
from crm.ids import MAX_ID
from crm.settings import Settings


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return current_principal(request)


# Explicit dependency and path markers (Litestar 2.25 deprecates inferring them).
Db = NamedDependency[AsyncSession]
Me = NamedDependency[Principal]
Conf = NamedDependency[Settings]
# Bounded like every id (crm.ids): a path or query id past 64 bits is a 422 naming it, not a driver crash.
# schema_extra: Litestar documents ge/le as floats, and float(MAX_ID) is one more than MAX_ID.
PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID, schema_extra={"minimum": 1, "maximum": MAX_ID})]
QueryId = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
