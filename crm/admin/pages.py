"""Admin pages: users (with role grants) and organizations."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.audit import service as audit
from crm.auth import service as auth_service
from crm.auth.guards import requires_admin
from crm.auth.models import Role, User
from crm.deps import Db, Me, PathId
from crm.directory import service as directory
from crm.directory.models import Organization, OrganizationKind, Region
from crm.employers.models import Employer
from crm.errors import FieldError
from crm.web import flash, form_data, redirect, render


class AdminPages(Controller):
    path = "/admin"
    guards = [requires_admin]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], db: Db) -> Template:
        counts = {
            "users": await db.scalar(select(func.count(User.id))),
            "organizations": await db.scalar(select(func.count(Organization.id))),
            "regions": await db.scalar(select(func.count(Region.id))),
            "employers": await db.scalar(select(func.count(Employer.id))),
        }
        return render(request, "admin/index.html", counts=counts)

    @get("/users")
    async def users(self, request: Request[Any, Any, Any], db: Db,
                    q: Annotated[str | None, Parameter(max_length=200)] = None) -> Template:
        return await self._users(request, db, q, {}, {})

    async def _users(self, request: Request[Any, Any, Any], db: Db, q: str | None,
                     values: dict[str, str], errors: dict[str, str], status_code: int = 200) -> Template:
        stmt = select(User).order_by(User.name).limit(200).options(selectinload(User.grants))
        if q:
            stmt = stmt.where(func.lower(User.name).contains(q.lower()) | User.email.contains(q.lower()))
        return render(request, "admin/users.html", status_code=status_code,
                      users=list(await db.scalars(stmt)), q=q or "", values=values, errors=errors,
                      roles=[r.value for r in Role],
                      regions=list(await db.scalars(select(Region).order_by(Region.code))),
                      organizations=list(await db.scalars(select(Organization).order_by(Organization.name)
                                                          .options(selectinload(Organization.regions)))))

    @post("/users")
    async def create_user(self, request: Request[Any, Any, Any], db: Db,
                          principal: Me) -> Template | Redirect:
        form = await form_data(request)
        try:
            user = await auth_service.create_user(
                db, email=form.get("email", ""), name=form.get("name", ""),
                roles=[(form.get("role", ""), form.get("region") or None)],
                organization=form.get("organization") or None, password=form.get("password") or None,
                actor=principal)
        except HTTPException as exc:
            if exc.status_code not in (409, 422):
                raise
            await db.rollback()
            errors = dict(exc.fields) if isinstance(exc, FieldError) else {"email": exc.detail}
            return await self._users(request, db, None, form, errors, status_code=exc.status_code)
        flash(request, f"Created user {user.email}")
        return redirect(request, "/admin/users")

    @post("/users/{user_id:int}/active")
    async def toggle_active(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                            user_id: PathId) -> Redirect:
        user = await db.get(User, user_id)
        if user is None:
            raise NotFoundException(f"User #{user_id} not found")
        if user.id == principal.id:
            raise FieldError("user", "you cannot deactivate yourself")
        user.is_active = not user.is_active
        if not user.is_active:
            await auth_service.revoke_tokens(db, user.id)
        audit.record(db, principal, "user.activate" if user.is_active else "user.deactivate", "user", user.id,
                     after={"is_active": user.is_active})
        flash(request, f"{user.email} is now {'active' if user.is_active else 'deactivated'}")
        return redirect(request, "/admin/users")

    @get("/organizations")
    async def organizations(self, request: Request[Any, Any, Any], db: Db,
                            q: Annotated[str | None, Parameter(max_length=200)] = None) -> Template:
        return await self._orgs(request, db, q, {}, {})

    async def _orgs(self, request: Request[Any, Any, Any], db: Db, q: str | None,
                    values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Template:
        rows, total = await directory.organizations(db, q=q, limit=500)
        return render(request, "admin/organizations.html", status_code=status_code, organizations=rows,
                      total=total, q=q or "", values=values, errors=errors,
                      kinds=[k.value for k in OrganizationKind],
                      regions=list(await db.scalars(select(Region).order_by(Region.code))))

    @post("/organizations")
    async def create_organization(self, request: Request[Any, Any, Any], db: Db,
                                  principal: Me) -> Template | Redirect:
        form = await request.form()
        values = {"name": form.get("name", ""), "kind": form.get("kind", ""),
                  "regions": form.getall("regions", [])}
        try:
            org = await directory.create_organization(db, principal, str(values["name"]), str(values["kind"]),
                                                      [str(r) for r in values["regions"]])
        except HTTPException as exc:
            if exc.status_code not in (409, 422):
                raise
            await db.rollback()
            errors = dict(exc.fields) if isinstance(exc, FieldError) else {"name": exc.detail}
            return await self._orgs(request, db, None, values, errors, status_code=exc.status_code)
        flash(request, f"Created organization {org.name}")
        return redirect(request, "/admin/organizations")
