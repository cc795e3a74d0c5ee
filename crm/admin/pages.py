"""Admin pages: users (with role grants), organizations and the regions at a glance."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.admin import service as admin_service
from crm.auth import service as auth_service
from crm.auth.guards import requires_admin
from crm.auth.models import Role, RoleGrant, User
from crm.deps import Db, Me, PathId
from crm.directory import service as directory
from crm.directory.models import Organization, OrganizationKind, Region
from crm.employers.models import Employer, EmployerStatus, RoutingRule
from crm.errors import FieldError
from crm.inputs import AT_THE_FIELD, control_problems, without_control
from crm.sqltext import contains_text
from crm.templating import back_words
from crm.touches.models import RegionPolicy
from crm.touches.pacing import PacingPolicy
from crm.touches.transfer import Caseload, caseload_of
from crm.web import flash, form_data, redirect, refused, render

USERS_PAGE = 50
# The fields of the forms that say a control character beside the field (crm.inputs.AT_THE_FIELD).
NEW_USER_FIELDS = ("email", "name", "role", "region", "organization", "password")
PROFILE_FIELDS = ("name", "organization", "title", "phone")
ORGANIZATION_FIELDS = ("name", "kind", "regions")


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    """A refused form's values shown again, without the control characters it was refused for."""
    return {k: [without_control(str(x)) for x in v] if isinstance(v, list) else without_control(str(v))
            for k, v in values.items()}


async def _caseloads(db: Db, user_id: int) -> list[tuple[str, Caseload]]:
    """(region code, caseload) for every region where the user holds a SPOC or lead role."""
    regions = (await db.execute(select(Region.id, Region.code).join(RoleGrant, RoleGrant.region_id == Region.id)
                                .where(RoleGrant.user_id == user_id).distinct().order_by(Region.code))).all()
    return [(code, await caseload_of(db, region_id, user_id)) for region_id, code in regions]


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

    @get("/regions")
    async def regions(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Every region at a glance (SPEC §4, Admin: regions): its counties, leads, SPOCs, employers, pacing
        policy and routing rules, each with the link to its settings. Regions and counties are reference data
        (California's RPUs, loaded by the migrations), not edited here."""
        regions = list(await db.scalars(select(Region).order_by(Region.code).options(selectinload(Region.counties))))
        staff = await db.execute(
            select(RoleGrant.region_id, RoleGrant.role, User.name).join(User, User.id == RoleGrant.user_id)
            .where(User.is_active.is_(True), RoleGrant.role.in_([Role.lead.value, Role.spoc.value]))
            .order_by(User.name))
        leads: dict[int, list[str]] = {}
        spocs: dict[int, set[str]] = {}
        for region_id, role, name in staff:
            if region_id is None:  # a lead or SPOC grant always names its region (ck_role_grant_region_...)
                continue
            if role == Role.lead.value:
                leads.setdefault(region_id, []).append(name)
            else:
                spocs.setdefault(region_id, set()).add(name)
        employers = dict((await db.execute(select(Employer.region_id, func.count()).where(
            Employer.status != EmployerStatus.merged.value).group_by(Employer.region_id))).tuples().all())
        rules = dict((await db.execute(select(RoutingRule.region_id, func.count()).where(
            RoutingRule.active.is_(True)).group_by(RoutingRule.region_id))).tuples().all())
        policies = {p.region_id: p for p in await db.scalars(select(RegionPolicy))}
        return render(request, "admin/regions.html", regions=regions, leads=leads, spocs=spocs,
                      employers=employers, rules=rules, policies=policies, default_policy=PacingPolicy())

    @get("/users")
    async def users(self, request: Request[Any, Any, Any], db: Db,
                    q: Annotated[str | None, Parameter(max_length=200)] = None,
                    role: Annotated[str | None, Parameter(max_length=16)] = None,
                    page: Annotated[int, Parameter(ge=1, le=100_000)] = 1) -> Template:
        return await self._users(request, db, (q or "").strip() or None, {}, {}, role=role, page=page)

    async def _users(self, request: Request[Any, Any, Any], db: Db, q: str | None,
                     values: dict[str, str], errors: dict[str, str], status_code: int = 200, *,
                     role: str | None = None, page: int = 1) -> Template:
        stmt = select(User)
        if q:
            stmt = stmt.where(contains_text(User.name, q) | contains_text(User.email, q))
        if role:
            if role not in {r.value for r in Role}:
                raise FieldError("role", f"unknown role {role!r}")
            stmt = stmt.where(User.id.in_(select(RoleGrant.user_id).where(RoleGrant.role == role)))
        total = await db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = await db.scalars(stmt.order_by(User.name, User.id).limit(USERS_PAGE).offset((page - 1) * USERS_PAGE)
                                .options(selectinload(User.grants)))
        return render(request, "admin/users.html", status_code=status_code,
                      users=list(rows), total=total, page=page, pages=max(1, -(-total // USERS_PAGE)),
                      role=role or "", q=q or "", values=values, errors=errors,
                      roles=[r.value for r in Role],
                      regions=list(await db.scalars(select(Region).order_by(Region.code))),
                      organizations=list(await db.scalars(select(Organization).order_by(Organization.name)
                                                          .options(selectinload(Organization.regions)))))

    @post("/users", opt={AT_THE_FIELD: True})
    async def create_user(self, request: Request[Any, Any, Any], db: Db,
                          principal: Me) -> Template | Redirect:
        form = await form_data(request)
        if wrong := control_problems(form.items(), NEW_USER_FIELDS, "email"):
            return await self._users(request, db, None, _typed(form), wrong, status_code=422)
        try:
            user = await auth_service.create_user(
                db, email=form.get("email", ""), name=form.get("name", ""),
                roles=[(form.get("role", ""), form.get("region") or None)],
                organization=form.get("organization") or None, password=form.get("password") or None,
                actor=principal)
        except HTTPException as exc:
            errors = await refused(db, exc, "email")
            return await self._users(request, db, None, form, errors, status_code=exc.status_code)
        if user.password_hash is None:
            # Without a password no one can sign in: the page to set it, saying so.
            flash(request, f"Created user {user.email}. No password is set: set one below before they sign in",
                  "warn")
            return redirect(request, f"/admin/users/{user.id}#access")
        flash(request, f"Created user {user.email}")
        return redirect(request, "/admin/users")

    @post("/users/{user_id:int}/active")
    async def set_active(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                         user_id: PathId) -> Template | Redirect:
        """Activate or deactivate, as the form's ``active`` (1 or 0) says: not a toggle, so a double-submitted
        Deactivate leaves the account deactivated rather than reactivating it."""
        form = await form_data(request)
        if user_id == principal.id:
            # The page offers no button for one's own account; a forged or stale post is answered on it.
            return await self._user_page(request, db, user_id, status_code=409, errors={"access": {
                "form": "You cannot deactivate your own account: another admin can do it"}})
        wanted = form.get("active")
        if wanted not in ("0", "1"):
            return await self._user_page(request, db, user_id, status_code=422, errors={"access": {
                "form": "Say whether to activate (active=1) or deactivate (active=0) the account"}})
        user, changed = await admin_service.set_active(db, principal, user_id, wanted == "1")
        message = f"{user.email} is {'now ' if changed else 'already '}{'active' if user.is_active else 'deactivated'}"
        if not user.is_active:
            # Routing skips an inactive SPOC, but what they hold stays theirs until a lead moves it.
            held = [(code, c) for code, c in await _caseloads(db, user.id) if not c.empty]
            if held:
                message += "; still holds a caseload in " + ", ".join(
                    f"{code} ({c.said})" for code, c in held) + \
                    ": transfer it from the region's settings"
        flash(request, message)
        return redirect(request, f"/admin/users/{user.id}" if form.get("back") == "user" else "/admin/users")

    # ------------------------------------------------------------ one user

    async def _user(self, db: Db, user_id: int) -> User:
        user = await admin_service.user_with_grants(db, user_id)
        if user is None:
            raise NotFoundException(f"User #{user_id} not found")
        return user

    async def _user_page(self, request: Request[Any, Any, Any], db: Db, user_id: int, *,
                         errors: dict[str, dict[str, str]] | None = None, values: dict[str, str] | None = None,
                         status_code: int = 200) -> Template:
        user = await self._user(db, user_id)
        caseloads = {code: c for code, c in await _caseloads(db, user.id) if not c.empty}
        return render(request, "admin/user.html", status_code=status_code, user=user, errors=errors or {},
                      values=values or {}, roles=[r.value for r in Role], caseloads=caseloads,
                      regions=list(await db.scalars(select(Region).order_by(Region.code))),
                      organizations=list(await db.scalars(select(Organization.name).order_by(Organization.name))))

    @get("/users/{user_id:int}")
    async def user(self, request: Request[Any, Any, Any], db: Db, user_id: PathId) -> Template:
        return await self._user_page(request, db, user_id)

    async def _user_change(self, request: Request[Any, Any, Any], db: Db, user_id: int, form_name: str,
                           change: Callable[[User, dict[str, str]], Awaitable[str]],
                           fields: Collection[str] = ()) -> Template | Redirect:
        """Run one change of the user page's forms: a redirect with a message, or the page again with
        the form's error in place (422/409), nothing written. ``fields``: the form's, for a handler that says
        a control character beside its field (``AT_THE_FIELD``)."""
        form = await form_data(request)
        user = await self._user(db, user_id)
        if fields and (wrong := control_problems(form.items(), fields, "form")):
            return await self._user_page(request, db, user_id, errors={form_name: wrong},
                                         values={k: v for k, v in _typed(form).items() if k != "password"},
                                         status_code=422)
        try:
            message = await change(user, form)
        except HTTPException as exc:
            errors = await refused(db, exc)
            return await self._user_page(request, db, user_id, errors={form_name: errors},
                                         values={k: v for k, v in form.items() if k != "password"},
                                         status_code=exc.status_code)
        flash(request, message)
        return redirect(request, f"/admin/users/{user_id}")

    @post("/users/{user_id:int}", opt={AT_THE_FIELD: True})
    async def update_user(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                          user_id: PathId) -> Template | Redirect:
        async def change(user: User, form: dict[str, str]) -> str:
            await admin_service.update_profile(db, principal, user, name=form.get("name", ""),
                                               organization=form.get("organization", ""),
                                               title=form.get("title", ""), phone=form.get("phone", ""))
            return f"Saved {user.email}"
        return await self._user_change(request, db, user_id, "profile", change, PROFILE_FIELDS)

    @post("/users/{user_id:int}/grants")
    async def add_grant(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                        user_id: PathId) -> Template | Redirect:
        async def change(user: User, form: dict[str, str]) -> str:
            grant = await admin_service.add_grant(db, principal, user, form.get("role", ""), form.get("region"))
            return f"{user.name} is now {admin_service.grant_label(grant)}"
        return await self._user_change(request, db, user_id, "grant", change)

    @post("/users/{user_id:int}/grants/{grant_id:int}/remove")
    async def remove_grant(self, request: Request[Any, Any, Any], db: Db, principal: Me, user_id: PathId,
                           grant_id: PathId) -> Template | Redirect:
        async def change(user: User, form: dict[str, str]) -> str:
            label = await admin_service.remove_grant(db, principal, user, grant_id)
            return f"{user.name} is no longer {label}"
        return await self._user_change(request, db, user_id, "grants", change)

    @post("/users/{user_id:int}/away")
    async def set_away(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       user_id: PathId) -> Template | Redirect:
        async def change(user: User, form: dict[str, str]) -> str:
            away = form.get("away") == "1"
            _, returned = await auth_service.set_away(db, principal, user.id, away)
            return (f"{user.name} is marked away: the backups of their assignments get their new touches" if away
                    else f"{user.name} is back: their new touches come to them again{back_words(returned)}")
        return await self._user_change(request, db, user_id, "away", change)

    @post("/users/{user_id:int}/password")
    async def set_password(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                           user_id: PathId) -> Template | Redirect:
        async def change(user: User, form: dict[str, str]) -> str:
            await admin_service.set_password(db, principal, user, form.get("password", ""))
            revoked = await auth_service.revoke_tokens(db, user.id) if form.get("revoke_tokens") == "1" else 0
            if user.id == principal.id:  # one's own: this browser stays signed in, the others are out
                request.set_session({**request.session, "epoch": user.session_epoch})
            tokens = f" and {revoked} API token{'s' if revoked != 1 else ''} revoked" if revoked else ""
            return f"New password set for {user.email}{tokens}; tell them through another channel"
        return await self._user_change(request, db, user_id, "password", change)

    @get("/organizations")
    async def organizations(self, request: Request[Any, Any, Any], db: Db,
                            q: Annotated[str | None, Parameter(max_length=200)] = None) -> Template:
        return await self._orgs(request, db, (q or "").strip() or None, {}, {})  # all spaces: no search

    async def _orgs(self, request: Request[Any, Any, Any], db: Db, q: str | None,
                    values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Template:
        rows, total = await directory.organizations(db, q=q, limit=500)
        return render(request, "admin/organizations.html", status_code=status_code, organizations=rows,
                      total=total, q=q or "", values=values, errors=errors,
                      kinds=[k.value for k in OrganizationKind],
                      regions=list(await db.scalars(select(Region).order_by(Region.code))))

    @post("/organizations", opt={AT_THE_FIELD: True})
    async def create_organization(self, request: Request[Any, Any, Any], db: Db,
                                  principal: Me) -> Template | Redirect:
        form = await request.form()
        values = {"name": form.get("name", ""), "kind": form.get("kind", ""),
                  "regions": form.getall("regions", [])}
        if wrong := control_problems(form.multi_items(), ORGANIZATION_FIELDS, "name"):
            return await self._orgs(request, db, None, _typed(values), wrong, status_code=422)
        try:
            org = await directory.create_organization(db, principal, str(values["name"]), str(values["kind"]),
                                                      [str(r) for r in values["regions"]])
        except HTTPException as exc:
            errors = await refused(db, exc, "name")
            return await self._orgs(request, db, None, values, errors, status_code=exc.status_code)
        flash(request, f"Created organization {org.name}")
        return redirect(request, "/admin/organizations")

    @get("/organizations/{organization_id:int}")
    async def organization(self, request: Request[Any, Any, Any], db: Db, organization_id: PathId) -> Template:
        return await self._org_page(request, db, organization_id, {}, {})

    async def _org(self, db: Db, organization_id: int) -> Organization:
        org = await db.scalar(select(Organization).where(Organization.id == organization_id)
                              .options(selectinload(Organization.regions))
                              .execution_options(populate_existing=True))
        if org is None:
            raise NotFoundException(f"Organization #{organization_id} not found")
        return org

    async def _org_page(self, request: Request[Any, Any, Any], db: Db, organization_id: int,
                        values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Template:
        org = await self._org(db, organization_id)
        members = await db.scalar(select(func.count(User.id)).where(User.organization_id == org.id))
        return render(request, "admin/organization.html", status_code=status_code, org=org, members=members,
                      values=values or {"name": org.name, "kind": org.kind,
                                        "regions": [r.code for r in org.regions]},
                      errors=errors, kinds=[k.value for k in OrganizationKind],
                      regions=list(await db.scalars(select(Region).order_by(Region.code))))

    @post("/organizations/{organization_id:int}", opt={AT_THE_FIELD: True})
    async def update_organization(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                                  organization_id: PathId) -> Template | Redirect:
        form = await request.form()
        codes = [str(r) for r in form.getall("regions", [])]
        values = {"name": form.get("name", ""), "kind": form.get("kind", ""), "regions": codes}
        org = await self._org(db, organization_id)
        if wrong := control_problems(form.multi_items(), ORGANIZATION_FIELDS, "name"):
            return await self._org_page(request, db, organization_id, _typed(values), wrong, status_code=422)
        try:
            dropped = await directory.update_organization(db, principal, org, str(values["name"]),
                                                          str(values["kind"]), codes)
        except HTTPException as exc:
            errors = await refused(db, exc, "name")
            return await self._org_page(request, db, organization_id, values, errors, status_code=exc.status_code)
        message = f"Saved {org.name}"
        if dropped:
            message += (f"; its crosswalk services in {', '.join(dropped)} were removed with "
                        f"{'that region' if len(dropped) == 1 else 'those regions'}")
        flash(request, message)
        return redirect(request, f"/admin/organizations/{organization_id}")
