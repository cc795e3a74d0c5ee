"""Authentication: credentials, throttling, users and API tokens."""

from __future__ import annotations

import datetime as dt

from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.audit import service as audit
from crm.auth.models import REGION_SCOPED, ApiToken, LoginFailure, Role, RoleGrant, User
from crm.auth.passwords import hash_password, new_token, verify_password
from crm.auth.principal import Principal, forget_on_commit
from crm.db import begin_write, lock_keys
from crm.directory.service import organization_named, region_id_for
from crm.emails import checked_email
from crm.errors import Conflict, FieldError
from crm.settings import Settings

MAX_FAILURES_PER_ADDR = 30


def normalize_email(email: str) -> str:
    """An address typed to sign in, as ``crm.emails.checked_email`` keeps addresses: trimmed, lower-cased."""
    return email.strip().lower()


async def authenticate(db: AsyncSession, settings: Settings, email: str, password: str, remote_addr: str) -> User:
    """The active user with these credentials, or 401; 429 after too many recent failures."""
    email = normalize_email(email)
    # Reads then writes (failure rows): on SQLite hold the write lock from the start, unless the
    # caller already runs its own transaction (CLI, tests), which then owns the locking.
    if not db.in_transaction():
        await begin_write(db)
    # Count, then record a failure: without a lock, concurrent guesses all read the count below the limit
    # (PostgreSQL; SQLite's write lock already makes them take turns).
    await lock_keys(db, f"sign-in:{email}", f"sign-in-from:{remote_addr}")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.login_window_seconds)
    by_email, by_addr = (
        await db.execute(
            select(
                func.count().filter(LoginFailure.email == email),
                func.count().filter(LoginFailure.remote_addr == remote_addr),
            ).where(
                LoginFailure.created_at >= since,
                or_(LoginFailure.email == email, LoginFailure.remote_addr == remote_addr),
            )
        )
    ).one()
    if by_email >= settings.login_max_failures or by_addr >= MAX_FAILURES_PER_ADDR:
        raise TooManyRequestsException(
            "Too many failed sign-in attempts; try again in a few minutes",
            headers={"Retry-After": str(settings.login_window_seconds)},
        )
    user = await db.scalar(
        select(User).where(User.email == email).options(selectinload(User.grants))
    )
    # The hash is checked even for an unknown e-mail (against a dummy): answering at once told which exist.
    right = verify_password(user.password_hash if user is not None else None, password)
    if user is None or not user.is_active or not right:
        db.add(LoginFailure(email=email, remote_addr=remote_addr))
        await db.commit()
        raise NotAuthorizedException("Wrong e-mail or password")
    await db.execute(delete(LoginFailure).where(LoginFailure.email == email))
    return user


async def seat_user(db: AsyncSession, user_id: int | None, email: str | None) -> int | None:
    """The sign-in a roster seat (council or partnership) links, which lets it read that body: an industry
    chair's, given by id or found by the seat's e-mail. Any other user (a partner of another organization)
    would be handed the roster this way, and an unknown id says nothing different (ids are not probed)."""
    chair = select(User.id).join(RoleGrant).where(RoleGrant.role == Role.chair.value)
    if user_id is not None:
        if await db.scalar(chair.where(User.id == user_id)) is None:
            raise FieldError("user_id", f"#{user_id} is not an industry chair's sign-in")
        return user_id
    return await db.scalar(chair.where(User.email == email)) if email else None


async def issue_token(db: AsyncSession, user: User, label: str = "api") -> str:
    token, digest = new_token()
    db.add(ApiToken(user_id=user.id, token_hash=digest, label=label))
    await db.flush()
    return token


async def lock_user(db: AsyncSession, user_id: int, *, begin: bool = True) -> User | None:
    """The user and their grants read again under the user's row lock, in a transaction begun with
    ``begin_write`` (None for an unknown id): the serialization point of every change that decides on a
    user's roles or activation (grants, deactivation, away), and what ``touches.assign.eligible_spoc``
    waits for with its share lock, so a role removed or an account deactivated is never given an
    employer or a touch at the same moment.

    PostgreSQL: ``FOR NO KEY UPDATE`` of the id alone (FOR UPDATE may not reach the outer join the
    user's organization is loaded by). It waits for and blocks ``FOR SHARE`` but not the key-share
    locks that inserting a row naming the user takes (a touch for them, an audit event by them): those
    are taken under employer locks, which a holder of this lock may go on to wait for (away's take-back).
    User rows are locked before employer rows, never after. SQLite: ``begin_write`` holds the
    database's one write lock. ``begin=False``: the caller began the transaction with ``begin_write`` and
    took locks that come before the user's (a region's settings: ``admin.service.locked_user``), which
    beginning again would commit and so let go."""
    if begin:
        await begin_write(db)
    if await db.scalar(select(User.id).where(User.id == user_id).with_for_update(key_share=True)) is None:
        return None
    return await db.scalar(select(User).where(User.id == user_id)
                           .options(selectinload(User.grants).joinedload(RoleGrant.region))
                           .execution_options(populate_existing=True))


def end_sessions(db: AsyncSession, user: User) -> None:
    """Sign the user out of every browser: sessions carry the epoch they were signed in under."""
    user.session_epoch += 1
    forget_on_commit(db.sync_session, user.id)


async def revoke_tokens(db: AsyncSession, user_id: int, token_id: int | None = None) -> int:
    """Revoke the user's tokens (or one); this process's cached principals of the user go at commit."""
    forget_on_commit(db.sync_session, user_id)
    stmt = update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        stmt = stmt.where(ApiToken.id == token_id)
    result = await db.execute(stmt.values(revoked_at=dt.datetime.now(dt.UTC)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def create_user(
    db: AsyncSession,
    *,
    email: str,
    name: str,
    roles: list[tuple[str, str | None]],
    organization: str | None = None,
    password: str | None = None,
    actor: Principal | None = None,
) -> User:
    """Create a user with role grants ``[(role, region_code|None)]``; a 422 names every field that is
    wrong at once (a 409 when the e-mail is taken and nothing else is wrong); nothing is written then."""
    wrong: list[tuple[str, str]] = []
    email_n = ""
    try:
        email_n = checked_email(email)
    except ValueError as exc:
        wrong.append(("email", str(exc)))
    name = name.strip()
    if not name or len(name) > 120:
        wrong.append(("name", "is required (at most 120 characters)"))
    if password is not None and not 10 <= len(password) <= 1024:
        wrong.append(("password", "must be at least 10 characters" if len(password) < 10
                      else "must be at most 1024 characters"))
    if not roles:
        wrong.append(("role", "at least one role is required"))
    org_id = None
    organization = (organization or "").strip()
    if organization:
        org = await organization_named(db, organization)
        org_id = org.id if org is not None else None
        if org_id is None:
            wrong.append(("organization", f"unknown organization {organization!r}"))
    region_ids: list[int | None] = []
    for role, region_code in roles:
        code = (region_code or "").strip() or None
        # An organization named but unknown is said once, as unknown, not again as missing for a partner.
        problems = grant_problems(role, code, organization_set=bool(organization))
        wrong += problems
        region_id = None
        if code and not problems:
            try:
                region_id = await region_id_for(db, code)
            except FieldError as exc:
                wrong += exc.fields
        region_ids.append(region_id)
    taken = bool(email_n) and await db.scalar(select(User.id).where(User.email == email_n)) is not None
    if wrong:
        if taken:
            wrong.append(("email", f"a user with e-mail {email_n} already exists"))
        wrong = list(dict.fromkeys(wrong))  # several roles may share one problem (the CLI's one --region)
        raise FieldError(*wrong[0], *wrong[1:])
    if taken:
        raise Conflict(f"A user with e-mail {email_n} already exists")
    user = User(email=email_n, name=name, organization_id=org_id,
                password_hash=hash_password(password) if password else None)
    # A role given twice (``--role partner --role partner``) is one grant: a second would break the unique keys.
    for role_v, region_id in dict.fromkeys((Role(role).value, region_id)
                                           for (role, _), region_id in zip(roles, region_ids, strict=True)):
        user.grants.append(RoleGrant(role=role_v, region_id=region_id))
    db.add(user)
    await db.flush()
    audit.record(db, actor, "user.create", "user", user.id,
                 after={"email": email_n, "name": user.name, "roles": [list(r) for r in roles]})
    return user


# Why a role takes no region, said when one is given (the form's region list, the API, the CLI).
_REGIONLESS = {
    Role.admin: "an admin works in every region: leave the region empty",
    Role.partner: "a partner is scoped by their organization, not by a region: leave the region empty",
    Role.chair: "a chair sees the councils and partnerships they sit on, not a region: leave the region empty",
}


def grant_problems(role: str, region_code: str | None, *, organization_set: bool) -> list[tuple[str, str]]:
    """Every problem of granting ``role`` in ``region_code`` (or none), each naming its field."""
    try:
        role_v = Role(role)
    except ValueError:
        return [("role", f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}" if role
                 else "choose a role")]
    wrong = []
    if role_v in REGION_SCOPED and not region_code:
        wrong.append(("region", f"a {role_v.value} must be given a region"))
    if role_v not in REGION_SCOPED and region_code:
        wrong.append(("region", _REGIONLESS[role_v]))
    if role_v is Role.partner and not organization_set:
        wrong.append(("organization", "a partner must belong to an organization"))
    return wrong


async def make_grant(db: AsyncSession, role: str, region_code: str | None, *, organization_set: bool) -> RoleGrant:
    """A role grant, region-scoped for SPOCs and leads only; 422 naming every field that is wrong."""
    region_code = (region_code or "").strip() or None
    wrong = grant_problems(role, region_code, organization_set=organization_set)
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    region_id = await region_id_for(db, region_code) if region_code else None
    return RoleGrant(role=Role(role).value, region_id=region_id)


# ---------------------------------------------------------------- away (SPEC §3.5: an absent SPOC's queue
# goes to the backup)


def may_set_away(actor: Principal, user_id: int, spoc_regions: frozenset[int]) -> bool:
    """Whether ``actor`` may mark the user (a SPOC in ``spoc_regions``) away or back: the SPOC themselves,
    a lead of a region where they are a SPOC, an admin."""
    if actor.is_admin:
        return True
    if actor.id == user_id:
        return bool(spoc_regions)
    return bool(spoc_regions & actor.regions_for(Role.lead))


async def set_away(db: AsyncSession, actor: Principal, user_id: int, away: bool,
                   now: dt.datetime | None = None) -> tuple[User, int]:
    """Mark a SPOC away (their backups get their queue and new touches) or back, audited with
    before/after; 404 for an unknown user, 403 for someone who may not, 422 (``away``) for marking
    a user away who holds no SPOC role (an admin may still clear a flag left from a removed role).
    Back, the touches routed to a backup meanwhile and not scheduled yet return to them
    (``crm.touches.away``); returns the user and how many returned."""
    now = now or dt.datetime.now(dt.UTC)
    user = await lock_user(db, user_id)  # two toggles at once: each audits what it replaced
    if user is None:
        raise NotFoundException(f"User #{user_id} not found")
    spoc_regions = frozenset(g.region_id for g in user.grants if g.role == Role.spoc.value and g.region_id)
    if not may_set_away(actor, user.id, spoc_regions):
        raise PermissionDeniedException(
            "Only the SPOC themselves, a lead of their region or an admin may mark a SPOC away")
    if away and not spoc_regions:
        raise FieldError("away", f"{user.name} holds no SPOC role: only a SPOC's queue has a backup to go to")
    returned = 0
    if user.away != away:
        audit.record(db, actor, "user.away", "user", user.id, before={"away": user.away}, after={"away": away},
                     note="marked away" if away else "back")
        since, user.away, user.away_since = user.away_since, away, now if away else None
        await db.flush()
        if not away and since is not None:
            from crm.touches.away import take_back  # the touch domain builds on this one

            returned = await take_back(db, actor, user, since, now)
    return user, returned
