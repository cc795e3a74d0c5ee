"""Which SPOC gets a touch (SPEC §3 rule 5): the shell around ``routing.choose_spoc``.

Loads the active assignment, the candidate SPOCs (availability and open-touch load) and the
region's routing rules, lets the pure core decide, and makes a rule's pick sticky by creating
the SpocAssignment in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import service as audit
from crm.auth.models import Role, RoleGrant, User
from crm.auth.principal import Principal
from crm.employers.models import Employer, RoutingRule, SpocAssignment, routing_rule_pool
from crm.errors import FieldError
from crm.touches.models import Touch
from crm.touches.routing import (
    OPEN_TOUCH_STATUSES,
    AssignmentView,
    RoutingRuleView,
    SpocChoice,
    SpocView,
    choose_spoc,
)

_OPEN = [s.value for s in OPEN_TOUCH_STATUSES]


async def region_rules(db: AsyncSession, region_id: int) -> list[RoutingRuleView]:
    """The region's active routing rules with their pools, as the pure core sees them."""
    rules = list(await db.scalars(select(RoutingRule).where(RoutingRule.region_id == region_id,
                                                            RoutingRule.active.is_(True))))
    pools: dict[int, list[int]] = {r.id: [] for r in rules}
    if rules:
        rows = await db.execute(select(routing_rule_pool.c.routing_rule_id, routing_rule_pool.c.user_id)
                                .where(routing_rule_pool.c.routing_rule_id.in_(pools)))
        for rule_id, user_id in rows:
            pools[rule_id].append(user_id)
    # Counties are compared by id (as text): the core only needs equality, and ids avoid
    # loading names for both sides.
    return [RoutingRuleView(id=r.id, priority=r.priority, naics_prefix=r.naics_prefix,
                            county=str(r.county_id) if r.county_id is not None else None,
                            pool=tuple(sorted(pools[r.id])))
            for r in rules]


@dataclass(frozen=True, slots=True)
class RoutedSpoc:
    """The SPOC a touch goes to (None: the region's unassigned queue), with what notices need."""

    user_id: int | None
    name: str | None = None
    email: str | None = None


def eligible_user(user: Any, region_id: int) -> ColumnElement[bool]:
    """Active, and holding a SPOC or lead grant in the region."""
    return and_(user.is_active.is_(True), exists().where(
        RoleGrant.user_id == user.id, RoleGrant.region_id == region_id,
        RoleGrant.role.in_([Role.spoc.value, Role.lead.value])))


async def hold_user(db: AsyncSession, user_id: int) -> None:
    """Share-lock the user's row until the transaction ends (PostgreSQL ``FOR SHARE``): an admin's removal
    of their role or deactivation (``auth.service.lock_user``) waits for the transaction, or it waits for
    the admin's to commit. User rows are locked before employer rows (away's take-back holds the user and
    then locks employers), so a caller that will lock an employer holds its user first. SQLite: nothing,
    the write transaction holds the database's write lock."""
    await db.execute(select(User.id).where(User.id == user_id).with_for_update(read=True))


async def eligible_spoc(db: AsyncSession, user_id: int, region_id: int, field: str = "spoc_id") -> User:
    """An active user holding a SPOC or lead grant in the region, or a 422 naming ``field``; they stay so
    until the caller's transaction ends (``hold_user``)."""
    await hold_user(db, user_id)
    # Read after the lock, by a statement of its own: under READ COMMITTED it sees a removal that committed
    # while the lock waited (one statement would check the grants as they were when it began).
    user = await db.scalar(select(User).where(User.id == user_id, eligible_user(User, region_id)))
    if user is None:
        raise FieldError(field, f"user #{user_id} is not an active SPOC or lead in this region")
    return user


async def _people(db: AsyncSession, region_id: int, user_ids: set[int]
                  ) -> dict[int, tuple[bool, str, str]]:
    """user id → (away, name, e-mail) of those ``user_ids`` who may work the region."""
    if not user_ids:
        return {}
    rows = await db.execute(select(User.id, User.away, User.name, User.email)
                            .where(User.id.in_(user_ids), eligible_user(User, region_id)))
    return {uid: (bool(away), name, email) for uid, away, name, email in rows}


async def _loads(db: AsyncSession, region_id: int, user_ids: Iterable[int]) -> dict[int, int]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = await db.execute(
        select(Touch.spoc_id, func.count(Touch.id))
        .where(Touch.spoc_id.in_(ids), Touch.region_id == region_id, Touch.status.in_(_OPEN))
        .group_by(Touch.spoc_id))
    return {spoc_id: int(count) for spoc_id, count in rows if spoc_id is not None}


async def spoc_views(db: AsyncSession, region_id: int, user_ids: set[int]) -> dict[int, SpocView]:
    """Availability and open-touch load of those ``user_ids`` who may work the region.

    Users who are inactive or hold no SPOC/lead grant there are left out, which the core
    treats as unavailable.
    """
    found = await _people(db, region_id, user_ids)
    loads = await _loads(db, region_id, found)
    return {uid: SpocView(away=away, open_load=loads.get(uid, 0)) for uid, (away, _, _) in found.items()}


@cache
def _assignment_stmt() -> Select[*tuple[Any, ...]]:
    """The active assignment of (employer, region) with its SPOC and backup where eligible, and whether
    the region has active routing rules: one or two rows, always at least one."""
    a, u, g = SpocAssignment.__table__.c, User.__table__.c, RoleGrant.__table__.c
    rule = RoutingRule.__table__.c
    eligible = and_(u.is_active.is_(True), exists().where(
        g.user_id == u.id, g.region_id == bindparam("region_id"), g.role.in_([Role.spoc.value, Role.lead.value])))
    one = select(literal(1).label("one")).subquery()
    has_rules = exists().where(rule.region_id == bindparam("region_id"), rule.active.is_(True))
    return (select(a.spoc_id, a.backup_spoc_id, u.id, u.away, u.name, u.email, has_rules.label("has_rules"))
            .select_from(one.outerjoin(SpocAssignment.__table__, and_(
                a.employer_id == bindparam("employer_id"), a.region_id == bindparam("region_id"),
                a.ended_at.is_(None)))
                .outerjoin(User.__table__, and_(or_(u.id == a.spoc_id, u.id == a.backup_spoc_id), eligible))))


async def route_spoc(db: AsyncSession, employer: Employer, region_id: int, actor: Principal | None, *,
                     now: dt.datetime | None = None) -> int | None:
    """The SPOC who gets a touch for (employer, region), or None for the region's unassigned queue.

    Active assignment → its backup while the SPOC is away → the region's routing rules (least
    loaded of the pool; the pick becomes the employer's SpocAssignment, audited) → None.
    Runs inside the caller's transaction; a concurrent sticky assignment that wins the
    partial unique index is adopted instead of failing. The caller holds the region's settings
    (``budget.region_key``: shared, or alone for a lead's change) from before it read anything it decides
    on: a lead's change of the rules, and an admin's removal of a SPOC's role or deactivation
    (``admin.service.locked_user``), wait for it or it for them -- no lock on the chosen user's row.
    """
    return (await route(db, employer.id, employer.county_id, employer.naics_code, region_id, actor,
                        now=now)).user_id


async def route(db: AsyncSession, employer_id: int, county_id: int | None, naics_code: str | None, region_id: int,
                actor: Principal | None, *, now: dt.datetime | None = None) -> RoutedSpoc:
    """``route_spoc`` with the chosen SPOC's name and e-mail.

    The usual case costs one statement: the active assignment with its SPOC and backup joined,
    and whether the region has rules. The rules (and the pool's loads) are read only when neither
    can take it and there are some -- ``choose_spoc`` never looks at rules while the assigned
    SPOC or the backup is available.
    """
    choice, people = await _choose(db, employer_id, county_id, naics_code, region_id)
    if choice.user_id is None:
        return RoutedSpoc(None)
    routed = RoutedSpoc(choice.user_id, *people[choice.user_id][1:])
    if not choice.sticky:
        return routed
    assignment = SpocAssignment(
        employer_id=employer_id, region_id=region_id, spoc_id=choice.user_id,
        started_at=now or dt.datetime.now(dt.UTC), reason=f"routing rule #{choice.rule_id}",
        assigned_by_id=actor.id if actor else None)
    try:
        async with db.begin_nested():
            db.add(assignment)
            await db.flush()
    except IntegrityError:
        # Another transaction assigned this employer meanwhile: its SPOC is the sticky one.
        winner = await db.scalar(select(SpocAssignment.spoc_id).where(
            SpocAssignment.employer_id == employer_id, SpocAssignment.region_id == region_id,
            SpocAssignment.ended_at.is_(None)))
        if winner is None:
            return RoutedSpoc(None)
        name, email = await _person(db, winner)
        return RoutedSpoc(winner, name, email)
    audit.record(db, actor, "spoc.assign", "spoc_assignment", assignment.id, employer_id=employer_id,
                 after={"assignment_id": assignment.id, "spoc_id": choice.user_id, "region_id": region_id,
                        "rule_id": choice.rule_id},
                 note=assignment.reason)
    await db.flush()  # the event in order, before the caller's Core inserts (which do not autoflush)
    return routed


_UNASSIGNED = SpocChoice("unassigned", None, None, sticky=False)


async def _choose(db: AsyncSession, employer_id: int, county_id: int | None, naics_code: str | None,
                  region_id: int) -> tuple[SpocChoice, dict[int, tuple[bool, str, str]]]:
    """What ``choose_spoc`` picks for (employer, region), with the people it looked at (away, name, e-mail)."""
    rows = (await (await db.connection()).execute(
        _assignment_stmt(), {"employer_id": employer_id, "region_id": region_id})).all()
    view = AssignmentView(rows[0].spoc_id, rows[0].backup_spoc_id) if rows[0].spoc_id is not None else None
    people = {r.id: (bool(r.away), r.name, r.email) for r in rows if r.id is not None}
    county = str(county_id) if county_id is not None else None
    if view is not None:
        spocs = {uid: SpocView(away=away, open_load=0) for uid, (away, _, _) in people.items()}
        choice = choose_spoc(view, spocs, [], naics_code, county)
        if choice.user_id is not None:
            return choice, people
    if not rows[0].has_rules:
        return _UNASSIGNED, people
    rules = await region_rules(db, region_id)
    if not rules:
        return _UNASSIGNED, people
    pool = {u for r in rules for u in r.pool} - set(people)
    people |= await _people(db, region_id, pool)
    loads = await _loads(db, region_id, people)
    spocs = {uid: SpocView(away=away, open_load=loads.get(uid, 0)) for uid, (away, _, _) in people.items()}
    return choose_spoc(view, spocs, rules, naics_code, county), people


async def next_spoc(db: AsyncSession, employer: Employer, region_id: int) -> RoutedSpoc:
    """Whom the employer's next touch in the region would go to now (None: the unassigned queue), changing
    nothing: what ``route`` would pick, without the assignment a routing rule's pick makes."""
    choice, people = await _choose(db, employer.id, employer.county_id, employer.naics_code, region_id)
    return RoutedSpoc(choice.user_id, *people[choice.user_id][1:]) if choice.user_id is not None else RoutedSpoc(None)


async def _person(db: AsyncSession, user_id: int) -> tuple[str | None, str | None]:
    row = (await db.execute(select(User.name, User.email).where(User.id == user_id))).first()
    return (row.name, row.email) if row is not None else (None, None)
