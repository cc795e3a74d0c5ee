"""`/api/auth/token` and `/api/users/me`."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import JSONBody
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.auth import service
from crm.auth.guards import requires_user
from crm.auth.middleware import client_addr
from crm.auth.models import User
from crm.auth.schemas import GrantOut, TokenOut, TokenRequest, UserOut
from crm.deps import Conf, Db, Me
from crm.directory.models import Region

HOME = {"admin": "/admin", "lead": "/queue", "spoc": "/queue", "partner": "/requests", "chair": "/chair"}


class AuthApi(Controller):
    path = "/api"
    tags = ["auth"]

    @post("/auth/token", status_code=201, exclude_from_auth=True,
          raises=[NotAuthorizedException, TooManyRequestsException])
    async def create_token(self, request: Request, db: Db, settings: Conf,
                           data: JSONBody[TokenRequest]) -> TokenOut:
        """Exchange e-mail and password for a bearer token (stored hashed, revocable)."""
        user = await service.authenticate(db, settings, data.email, data.password, client_addr(request.scope))
        return TokenOut(token=await service.issue_token(db, user, data.label))

    @delete("/auth/token", guards=[requires_user], status_code=204)
    async def revoke_token(self, db: Db, principal: Me) -> None:
        """Revoke every token of the calling user."""
        await service.revoke_tokens(db, principal.id)

    @get("/users/me", guards=[requires_user])
    async def me(self, db: Db, principal: Me) -> UserOut:
        user = await db.get_one(User, principal.id, options=[selectinload(User.grants)], populate_existing=True)
        codes = {rid: code for rid, code in await db.execute(select(Region.id, Region.code))}
        return UserOut(
            id=user.id, email=user.email, name=user.name,
            organization=principal.organization_name,
            roles=[GrantOut(role=g.role, region=codes.get(g.region_id) if g.region_id else None)
                   for g in user.grants],
            home=HOME.get(principal.primary_role, "/"),
        )
