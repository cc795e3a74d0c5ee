"""Which SPOC gets a touch (SPEC §3 rule 5): the shell around ``routing.choose_spoc``.

Loads the active assignment, the candidate SPOCs (availability and open-touch load) and the
region's routing rules, lets the pure core decide, and makes a rule's pick sticky by creating
the SpocAssignment in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit import service as audit
from crm.auth.models import Role, RoleGrant, User
from crm.auth.principal import Principal
from crm.employers.models import Employer, RoutingRule, SpocAssignment, routing_rule_pool
from crm.touches.models import Touch
from crm.touches.routing import (
    OPEN_TOUCH_STATUSES,
    AssignmentView,
    RoutingRuleView,
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


async def spoc_views(db: AsyncSession, region_id: int, user_ids: set[int]) -> dict[int, SpocView]:
    """Availability and open-touch load of those ``user_ids`` who may work the region.

    Users who are inactive or hold no SPOC/lead grant there are left out, which the core
    treats as unavailable.
    """
    if not user_ids:
        return {}
    eligible = select(User.id, User.away).join(RoleGrant, RoleGrant.user_id == User.id).where(
        User.id.in_(user_ids), User.is_active.is_(True), RoleGrant.region_id == region_id,
        RoleGrant.role.in_([Role.spoc.value, Role.lead.value])).distinct()
    found = {uid: away for uid, away in await db.execute(eligible)}
    loads: dict[int | None, int] = {}
    if found:
        rows = await db.execute(
            select(Touch.spoc_id, func.count(Touch.id))
            .where(Touch.spoc_id.in_(found), Touch.region_id == region_id, Touch.status.in_(_OPEN))
            .group_by(Touch.spoc_id))
        loads = {spoc_id: count for spoc_id, count in rows}
    return {uid: SpocView(away=bool(away), open_load=int(loads.get(uid, 0))) for uid, away in found.items()}


async def route_spoc(db: AsyncSession, employer: Employer, region_id: int, actor: Principal | None, *,
                     now: dt.datetime | None = None) -> int | None:
    """The SPOC who gets a touch for (employer, region), or None for the region's unassigned queue.

    Active assignment → its backup while the SPOC is away → the region's routing rules (least
    loaded of the pool; the pick becomes the employer's SpocAssignment, audited) → None.
    Runs inside the caller's transaction; a concurrent sticky assignment that wins the
    partial unique index is adopted instead of failing.
    """
    current = await db.scalar(select(SpocAssignment).where(
        SpocAssignment.employer_id == employer.id, SpocAssignment.region_id == region_id,
        SpocAssignment.ended_at.is_(None)))
    view = AssignmentView(current.spoc_id, current.backup_spoc_id) if current is not None else None
    rules = await region_rules(db, region_id)
    candidates = {u for r in rules for u in r.pool}
    if current is not None:
        candidates |= {current.spoc_id} | ({current.backup_spoc_id} if current.backup_spoc_id else set())
    spocs = await spoc_views(db, region_id, candidates)
    county = str(employer.county_id) if employer.county_id is not None else None
    choice = choose_spoc(view, spocs, rules, employer.naics_code, county)
    if not choice.sticky or choice.user_id is None:
        return choice.user_id
    assignment = SpocAssignment(
        employer_id=employer.id, region_id=region_id, spoc_id=choice.user_id,
        started_at=now or dt.datetime.now(dt.UTC), reason=f"routing rule #{choice.rule_id}",
        assigned_by_id=actor.id if actor else None)
    try:
        async with db.begin_nested():
            db.add(assignment)
            await db.flush()
    except IntegrityError:
        # Another transaction assigned this employer meanwhile: its SPOC is the sticky one.
        winner = await db.scalar(select(SpocAssignment.spoc_id).where(
            SpocAssignment.employer_id == employer.id, SpocAssignment.region_id == region_id,
            SpocAssignment.ended_at.is_(None)))
        return winner
    audit.record(db, actor, "spoc.assign", "spoc_assignment", assignment.id, employer_id=employer.id,
                 after={"assignment_id": assignment.id, "spoc_id": choice.user_id, "region_id": region_id,
                        "rule_id": choice.rule_id},
                 note=assignment.reason)
    return choice.user_id
