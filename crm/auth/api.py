"""`/api/auth/token`, `/api/users/me` and marking a SPOC away (`/api/users/me/away`, `/api/users/{id}/away`)."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import JSONBody
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.auth import service
from crm.auth.guards import requires_lead, requires_user
from crm.auth.middleware import client_addr
from crm.auth.models import User
from crm.auth.principal import Principal
from crm.auth.schemas import AwayIn, GrantOut, TokenOut, TokenRequest, UserOut
from crm.deps import Conf, Db, Me, PathId
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
        return await user_out(db, user)

    @put("/users/me/away", guards=[requires_user])
    async def set_my_away(self, db: Db, principal: Me, data: JSONBody[AwayIn]) -> UserOut:
        """Mark yourself away (your backups cover your queue) or back; SPOCs only."""
        return await user_out(db, (await service.set_away(db, principal, principal.id, data.away))[0])

    @put("/users/{user_id:int}/away", guards=[requires_lead])
    async def set_away(self, db: Db, principal: Me, user_id: PathId, data: JSONBody[AwayIn]) -> UserOut:
        """Mark a SPOC away or back: a lead of a region where they are a SPOC, or an admin."""
        return await user_out(db, (await service.set_away(db, principal, user_id, data.away))[0])


async def user_out(db: Db, user: User) -> UserOut:
    """The user as ``/api/users/me`` shows them (``user.grants`` loaded)."""
    codes = {rid: code for rid, code in await db.execute(select(Region.id, Region.code))}
    principal = Principal.from_user(user)
    return UserOut(
        id=user.id, email=user.email, name=user.name,
        organization=principal.organization_name,
        roles=[GrantOut(role=g.role, region=codes.get(g.region_id) if g.region_id else None)
               for g in user.grants],
        home=HOME.get(principal.primary_role, "/"),
        away=user.away,
    )
