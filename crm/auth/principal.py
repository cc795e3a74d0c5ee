"""The signed-in user as a plain value, with the role/scope questions every guard asks, and the
short-lived in-process cache of principals that spares each API call the statements loading it."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, event, select
from sqlalchemy.orm import Session, SessionTransaction

from crm.auth.models import Role, RoleGrant, User
from crm.directory.models import Organization


@dataclass(frozen=True, slots=True)
class Principal:
    id: int
    email: str
    name: str
    organization_id: int | None
    organization_name: str | None
    # role -> region ids (empty frozenset = not region-limited)
    roles: dict[str, frozenset[int]]
    via_token: bool = False
    session_epoch: int = 0

    @classmethod
    def from_user(cls, user: User, via_token: bool = False) -> Principal:
        roles: dict[str, set[int]] = {}
        for grant in user.grants:
            regions = roles.setdefault(grant.role, set())
            if grant.region_id is not None:
                regions.add(grant.region_id)
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            organization_id=user.organization_id,
            organization_name=user.organization.name if user.organization else None,
            roles={role: frozenset(regions) for role, regions in roles.items()},
            via_token=via_token,
            session_epoch=user.session_epoch,
        )

    @classmethod
    def from_rows(cls, rows: Sequence[Row[Any]], via_token: bool = False) -> Principal | None:
        """The principal from ``principal_select()`` rows (one per role grant); None without rows."""
        if not rows:
            return None
        first = rows[0]
        roles: dict[str, set[int]] = {}
        for row in rows:
            if row.role is not None:
                regions = roles.setdefault(row.role, set())
                if row.region_id is not None:
                    regions.add(row.region_id)
        return cls(id=first.user_id, email=first.email, name=first.name, organization_id=first.organization_id,
                   organization_name=first.organization_name,
                   roles={role: frozenset(regions) for role, regions in roles.items()}, via_token=via_token,
                   session_epoch=first.session_epoch)

    def has(self, *roles: Role | str) -> bool:
        return any(str(role) in self.roles for role in roles)

    @property
    def is_admin(self) -> bool:
        return Role.admin in self.roles

    @property
    def primary_role(self) -> str:
        """The role whose home page this user lands on."""
        for role in (Role.admin, Role.lead, Role.spoc, Role.partner, Role.chair):
            if role in self.roles:
                return role.value
        return "none"

    def regions_for(self, *roles: Role | str) -> frozenset[int]:
        found: set[int] = set()
        for role in roles:
            found |= self.roles.get(str(role), frozenset())
        return frozenset(found)

    def can_in_region(self, region_id: int | None, *roles: Role | str) -> bool:
        """Admins anywhere; region-scoped roles only in their granted regions."""
        if self.is_admin:
            return True
        if region_id is None:
            return False
        return region_id in self.regions_for(*roles)

    @property
    def is_staff(self) -> bool:
        """A region's staff (SPOC, lead) or an admin: who works employers and reads each other's notes."""
        return self.has(Role.admin, Role.lead, Role.spoc)

    @property
    def is_crm_user(self) -> bool:
        """Everyone but chairs-only users may see the CRM side."""
        return self.has(Role.admin, Role.lead, Role.spoc, Role.partner)


def principal_select() -> Select[*tuple[Any, ...]]:
    """An active user with organization and grants in one statement (one row per grant); add the WHERE."""
    return (select(User.id.label("user_id"), User.email, User.name, User.organization_id, User.session_epoch,
                   Organization.name.label("organization_name"), RoleGrant.role, RoleGrant.region_id)
            .select_from(User)
            .outerjoin(Organization, Organization.id == User.organization_id)
            .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
            .where(User.is_active.is_(True)))


@dataclass(slots=True)
class CachedPrincipal:
    principal: Principal
    expires: float
    token_id: int | None = None
    # When this process last recorded the token's use (monotonic clock), for the once-a-minute write.
    recorded: float | None = None


class PrincipalCache:
    """Principals by bearer-token hash or session user id, kept ``ttl`` seconds in this process.

    Staleness bound: a token revoked or a user deactivated through ``crm.auth.service`` is
    forgotten here when that transaction commits (``forget_on_commit``), in this process and
    every cache of this process; another process, or a change written to the database behind the
    app's back, takes effect within ``ttl`` seconds. Only hits are cached: an unknown or revoked
    token is looked up every time. ``ttl`` <= 0 turns the cache off.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._entries: dict[tuple[str, object], CachedPrincipal] = {}
        _caches.add(self)

    def get(self, key: tuple[str, object]) -> CachedPrincipal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self.clock():
            del self._entries[key]
            return None
        return entry

    def put(self, key: tuple[str, object], principal: Principal, token_id: int | None = None,
            recorded: float | None = None) -> CachedPrincipal | None:
        if self.ttl <= 0:
            return None
        now = self.clock()
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries = {k: e for k, e in self._entries.items() if e.expires > now}
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
        entry = self._entries[key] = CachedPrincipal(principal, now + self.ttl, token_id, recorded)
        return entry

    def forget_users(self, user_ids: Iterable[int]) -> None:
        ids = set(user_ids)
        for key in [k for k, e in self._entries.items() if e.principal.id in ids]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()


_caches: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()
_FORGET = "crm_forget_principals"


def forget_principals(user_ids: Iterable[int]) -> None:
    """Drop these users' cached principals from every cache of this process."""
    ids = set(user_ids)
    for cache in list(_caches):
        cache.forget_users(ids)


def forget_on_commit(session: Session, user_id: int) -> None:
    """Forget the user's cached principals now and again when ``session`` commits.

    Again at commit: a request served between now and the commit may have cached the old state.
    """
    forget_principals([user_id])
    session.info.setdefault(_FORGET, set()).add(user_id)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    forget = session.info.get(_FORGET)
    if forget and not session.in_nested_transaction():  # the outermost commit, not a savepoint's
        forget_principals(forget)


@event.listens_for(Session, "after_transaction_end")
def _drop_forgets(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_FORGET, None)
