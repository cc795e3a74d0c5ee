"""Editing users after they exist: profile, role grants, activation, password. Admins only (the pages check).

Every change is audited with before/after and drops the user's cached principal when it commits
(``forget_on_commit``), so a removed role stops working at once in this process. A change that decides on
the user's roles or activation reads them again under the user's row lock (``auth.service.lock_user``):
two admins at once, or an admin and a lead giving the user an employer (``touches.assign.eligible_spoc``
waits for that lock), take turns, each deciding on what the other left. A change that makes a SPOC no longer
routable in a region (their role there removed, the account deactivated) first holds that region's settings
alone (``touches.budget.region_key``), which every writer that routes touches there holds shared while it
decides (intake, the held-request job, a match): a touch routed to the user meanwhile has committed and is in
the caseload counted, or the routing reads the change -- routing takes no lock on the user's row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from litestar.exceptions import NotFoundException
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.audit import service as audit
from crm.auth import service as auth_service
from crm.auth.models import REGION_SCOPED, LoginFailure, Role, RoleGrant, User, grant_words
from crm.auth.passwords import hash_password
from crm.auth.principal import Principal, forget_on_commit
from crm.db import begin_write, lock_keys
from crm.directory.models import Region
from crm.directory.service import organization_named
from crm.errors import Conflict, FieldError
from crm.touches.budget import region_key
from crm.touches.transfer import caseload_of

MIN_PASSWORD = 10
PROFILE_FIELDS = ("name", "organization_id", "title", "phone")
_PHONE = re.compile(r"[0-9+().\- ]{0,32}")


async def user_with_grants(db: AsyncSession, user_id: int) -> User | None:
    return await db.scalar(select(User).where(User.id == user_id)
                           .options(selectinload(User.grants).joinedload(RoleGrant.region))
                           .execution_options(populate_existing=True))


async def locked_user(db: AsyncSession, user_id: int, *, unroutable_in: Iterable[int] = ()) -> User:
    """The user with their grants, read again under their row lock (``auth.service.lock_user``); 404.
    ``unroutable_in``: regions where routing may no longer give them touches once this commits; their settings
    are held alone first (lock order: region settings, users, employers), so every routing there that read
    the user as eligible has committed before this counts their caseload, and later ones read the change."""
    await begin_write(db)
    await lock_keys(db, *(region_key(r) for r in unroutable_in))
    user = await auth_service.lock_user(db, user_id, begin=False)
    if user is None:
        raise NotFoundException(f"User #{user_id} not found")
    return user


_ROUTABLE = {Role.spoc.value, Role.lead.value}


def _routable_in(grants: Iterable[tuple[str, int | None]]) -> set[int]:
    """The regions where routing may give the holder of ``grants`` (role, region id) touches
    (``touches.assign.eligible_user``)."""
    return {region_id for role, region_id in grants if region_id is not None and role in _ROUTABLE}


def grant_label(grant: RoleGrant) -> str:
    return grant_words(grant.role, grant.region.code if grant.region is not None else None)


async def update_profile(db: AsyncSession, actor: Principal, user: User, *, name: str, organization: str,
                         title: str, phone: str) -> None:
    """Name, organization (by name; blank: none), title and phone; a 422 names every field that is wrong."""
    user = await locked_user(db, user.id)  # a partner role added meanwhile needs the organization
    name, title, phone, organization = name.strip(), title.strip(), phone.strip(), organization.strip()
    wrong: list[tuple[str, str]] = []
    if not name or len(name) > 120:
        wrong.append(("name", "is required (at most 120 characters)"))
    if len(title) > 120:
        wrong.append(("title", "must be at most 120 characters"))
    if not _PHONE.fullmatch(phone):
        wrong.append(("phone", "digits, spaces and + ( ) . - only, at most 32"))
    org_id = None
    if organization:
        org = await organization_named(db, organization)
        org_id = org.id if org is not None else None
        if org_id is None:
            wrong.append(("organization", f"unknown organization {organization!r}"))
    elif any(g.role == Role.partner.value for g in user.grants):
        wrong.append(("organization", "a partner must belong to an organization"))
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    before = audit.snapshot(user, PROFILE_FIELDS)
    user.name, user.organization_id, user.title, user.phone = name, org_id, title or None, phone or None
    changed_before, changed_after = audit.diff(before, audit.snapshot(user, PROFILE_FIELDS))
    if changed_after:
        audit.record(db, actor, "user.update", "user", user.id, before=changed_before, after=changed_after)
        forget_on_commit(db.sync_session, user.id)
    await db.flush()


async def add_grant(db: AsyncSession, actor: Principal, user: User, role: str, region_code: str | None) -> RoleGrant:
    """Give ``user`` a role (in a region for SPOCs and leads); 409 when they hold it already."""
    user = await locked_user(db, user.id)
    grant = await auth_service.make_grant(db, role, region_code or None,
                                          organization_set=user.organization_id is not None)
    already = f"{user.name} is {grant.role}{' in ' + region_code.upper() if region_code else ''} already"
    if any(g.role == grant.role and g.region_id == grant.region_id for g in user.grants):
        raise Conflict(already)
    user.grants.append(grant)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        # uq_role_grant_user_role_region(less): the same grant written meanwhile by a path that does not take
        # the user's lock (the lock above keeps two admins from it).
        raise Conflict(already) from None
    await db.refresh(grant, ["region"])
    audit.record(db, actor, "user.grant", "user", user.id, after={"role": grant.role, "region": region_code or None})
    forget_on_commit(db.sync_session, user.id)
    return grant


async def remove_grant(db: AsyncSession, actor: Principal, user: User, grant_id: int) -> str:
    """Take one role away. Refused (409) for a user's last role, an admin's own admin role, and the
    last SPOC/lead role in a region where the user still holds a caseload (transfer it first)."""
    # Under the lock: another admin's removal of the user's other role, or a lead's assignment of an employer
    # to them, has committed (or waits for this one), so the count and the caseload below are as they stay.
    # A grant's role and region never change, so its region read before the lock is the one removed.
    region = await db.scalar(select(RoleGrant.region_id).where(RoleGrant.id == grant_id, RoleGrant.user_id == user.id,
                                                               RoleGrant.role.in_(_ROUTABLE)))
    user = await locked_user(db, user.id, unroutable_in=() if region is None else (region,))
    grant = next((g for g in user.grants if g.id == grant_id), None)
    if grant is None:
        raise FieldError("grant", f"{user.name} has no role #{grant_id} (removed meanwhile?)")
    label = grant_label(grant)
    if len(user.grants) == 1:
        raise Conflict(f"{label} is {user.name}'s only role; deactivate the account instead")
    if user.id == actor.id and grant.role == Role.admin.value:
        raise Conflict("You cannot remove your own admin role")
    if Role(grant.role) in REGION_SCOPED and grant.region_id is not None:
        still_staff = any(g.id != grant.id and g.region_id == grant.region_id and Role(g.role) in REGION_SCOPED
                          for g in user.grants)
        held = await caseload_of(db, grant.region_id, user.id)
        if not still_staff and not held.empty:
            code = await db.scalar(select(Region.code).where(Region.id == grant.region_id))
            raise Conflict(f"{user.name} still holds {held.said} in {code}: transfer the caseload first")
    user.grants.remove(grant)
    await db.flush()
    audit.record(db, actor, "user.revoke", "user", user.id,
                 before={"role": grant.role, "region_id": grant.region_id}, note=label)
    forget_on_commit(db.sync_session, user.id)
    return label


async def set_active(db: AsyncSession, actor: Principal, user_id: int, active: bool) -> tuple[User, bool]:
    """Activate or deactivate an account, as the admin asked (a second "Deactivate" of a double submit
    leaves it deactivated). Deactivating revokes the user's API tokens and ends their browser sessions;
    reactivating revives neither. Returns the user and whether anything changed (audited only then). The
    caller refuses one's own account."""
    # Deactivated, they are routed nothing in the regions where they are staff: those regions' settings first.
    staff_in = set() if active else _routable_in((await db.execute(
        select(RoleGrant.role, RoleGrant.region_id).where(RoleGrant.user_id == user_id))).tuples())
    user = await locked_user(db, user_id, unroutable_in=staff_in)  # an employer given to them meanwhile is counted
    if user.is_active == active:
        return user, False
    if not active and _routable_in((g.role, g.region_id) for g in user.grants) - staff_in:
        # A role in another region was given to them after its settings were taken: taking them now, under the
        # user's lock, could deadlock with a lead changing them.
        raise Conflict(f"{user.name} was given a role in another region just now: deactivate the account again")
    user.is_active = active
    if not active:
        await auth_service.revoke_tokens(db, user.id)
        auth_service.end_sessions(db, user)
    audit.record(db, actor, "user.activate" if active else "user.deactivate", "user", user.id,
                 after={"is_active": active})
    forget_on_commit(db.sync_session, user.id)
    await db.flush()
    return user, True


async def set_password(db: AsyncSession, actor: Principal | None, user: User, password: str, *,
                       note: str = "set by an admin") -> None:
    """A new password chosen by an admin, or on the command line (``actor`` None): the user's API tokens
    stay, their browser sessions end, sign-in throttling is reset."""
    if len(password) < MIN_PASSWORD:
        raise FieldError("password", f"must be at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise FieldError("password", "must be at most 1024 characters")
    user.password_hash = hash_password(password)
    auth_service.end_sessions(db, user)  # whoever knew the old password is signed out
    await db.execute(delete(LoginFailure).where(LoginFailure.email == user.email))
    audit.record(db, actor, "user.password", "user", user.id, note=note)
    await db.flush()
