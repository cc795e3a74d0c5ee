"""A region's pacing policy and routing rules: service and `/api/regions/{code}/...` (leads of the region).

The pacing core (``crm.touches.pacing.PacingPolicy``) is the single source of the valid ranges; this
shell turns its RoutingError into a 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, delete, get, patch, post, put
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, JSONBody
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock, seen
from crm.audit import service as audit
from crm.auth.guards import requires_crm_user, requires_staff
from crm.auth.models import Role, User
from crm.auth.principal import Principal
from crm.db import begin_write, lock_keys
from crm.deps import Db, Me, PathId
from crm.directory.models import County, Region
from crm.directory.service import region_by_code
from crm.employers.models import Employer, RoutingRule
from crm.employers.naics import naics_prefix_problem
from crm.errors import Conflict, FieldError
from crm.touches.assign import eligible_spoc, route
from crm.touches.budget import region_key
from crm.touches.models import OPEN_TOUCH_VALUES, RegionPolicy, Touch
from crm.touches.pacing import PacingPolicy, RoutingError, most_touches_per_period
from crm.touches.release import recheck_held
from crm.touches.touch_schemas import (
    PersonRef,
    PolicyIn,
    PolicyOut,
    RoutingRuleEdit,
    RoutingRuleIn,
    RoutingRuleOut,
    RoutingRulePage,
)
from crm.touches.workflow import notify

RegionCode = Annotated[str, FromPath]


def require_lead(actor: Principal, region: Region) -> None:
    if not actor.can_in_region(region.id, Role.lead):
        raise PermissionDeniedException(f"Only a lead of {region.code} may change its settings")


# ---------------------------------------------------------------- pacing policy


async def get_policy(db: AsyncSession, region: Region) -> PolicyOut:
    row = await db.scalar(select(RegionPolicy).where(RegionPolicy.region_id == region.id))
    if row is None:
        d = PacingPolicy()
        return PolicyOut(region=region.code, max_touches=d.max_touches, period_days=d.period_days,
                         min_gap_days=d.min_gap_days, is_default=True)
    return PolicyOut(region=region.code, max_touches=row.max_touches, period_days=row.period_days,
                     min_gap_days=row.min_gap_days, is_default=False)


async def _lock_region(db: AsyncSession, region: Region) -> None:
    """A lead's change to the region's policy or rules is decided one at a time: the region's row lock
    (``FOR NO KEY UPDATE``, which does not hold up touches and requests referring to the region) on
    PostgreSQL, the write lock on SQLite. Two first-time policies, or two identical rules, at once
    would otherwise both be inserted (or fail with "database is locked" on SQLite)."""
    await begin_write(db)
    await db.execute(select(Region.id).where(Region.id == region.id).with_for_update(key_share=True))
    # And every intake of the region waits, or finishes first (it holds ``region_key`` shared before it
    # locks its employer: crm.touches.intake): one that read the old policy or rules while this changes
    # them would hold a request the new policy allows, or leave a touch unassigned a new rule routes,
    # after this change's recheck (of held requests, of the unassigned queue) had looked.
    await lock_keys(db, region_key(region.id))


POLICY_FIELDS = ("max_touches", "period_days", "min_gap_days")


def range_problems(numbers: dict[str, int]) -> list[tuple[str, str]]:
    """Every given number out of its range at once, each checked by the pacing core alone (the form
    passes the fields it could read, so a number out of range is said beside one that is not a number)."""
    wrong: list[tuple[str, str]] = []
    for field in POLICY_FIELDS:
        if field not in numbers:
            continue
        value: Any = numbers[field]  # checked by the core, which says what is wrong with it
        try:
            PacingPolicy(**{field: value})
        except RoutingError as exc:
            wrong.append((exc.field, exc.message))
    return wrong


async def set_policy(db: AsyncSession, actor: Principal, region: Region, data: PolicyIn) -> PolicyOut:
    """Validate with the pacing core, then write the region's policy (audited)."""
    require_lead(actor, region)
    wrong = range_problems({field: getattr(data, field) for field in POLICY_FIELDS})
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    most = most_touches_per_period(data.period_days, data.min_gap_days)
    if data.max_touches > most:
        fit = f"only {most} touch fits" if most == 1 else f"only {most} touches fit"
        apart = f" when they are at least {data.min_gap_days} days apart" if data.min_gap_days > 1 else ""
        raise FieldError("max_touches", f"{fit} in {data.period_days} days{apart}: allow fewer touches, "
                                        "or change the days or the gap")
    await _lock_region(db, region)
    before = await get_policy(db, region)
    row = await db.scalar(select(RegionPolicy).where(RegionPolicy.region_id == region.id))
    if row is None:
        row = RegionPolicy(region_id=region.id)
        db.add(row)
    row.max_touches, row.period_days, row.min_gap_days = data.max_touches, data.period_days, data.min_gap_days
    row.updated_by_id = actor.id
    await db.flush()
    audit.record(db, actor, "region_policy.update", "region_policy", row.id,
                 before={f: getattr(before, f) for f in POLICY_FIELDS},
                 after={f: getattr(row, f) for f in POLICY_FIELDS},
                 note=region.code)
    out = await get_policy(db, region)
    if any(getattr(before, f) != getattr(row, f) for f in POLICY_FIELDS):
        # The requests held by the old policy wait for the new one's days: sooner, or later.
        out.held = await recheck_held(db, clock.now(), f"{region.code}'s pacing policy changed",
                                      region_id=region.id)
    return out


# ---------------------------------------------------------------- routing rules


def rule_out(rule: RoutingRule) -> RoutingRuleOut:
    return RoutingRuleOut(id=rule.id, naics_prefix=rule.naics_prefix, county=rule.county.name if rule.county else None,
                          priority=rule.priority, pool=[PersonRef(u.id, u.name) for u in rule.pool],
                          seen=rule_seen(rule))


def rule_seen(rule: RoutingRule) -> str:
    """What a rule's edit form (or API client) read: its pool and priority (crm.seen)."""
    return seen.digest({"pool": sorted(u.id for u in rule.pool), "priority": rule.priority})


async def list_rules(db: AsyncSession, region: Region) -> list[RoutingRule]:
    return list(await db.scalars(select(RoutingRule).where(RoutingRule.region_id == region.id,
                                                           RoutingRule.active.is_(True))
                                 .order_by(RoutingRule.priority, RoutingRule.id)))


async def add_rule(db: AsyncSession, actor: Principal, region: Region, data: RoutingRuleIn) -> RoutingRule:
    require_lead(actor, region)
    prefix = (data.naics_prefix or "").strip() or None
    if prefix is not None and (problem := naics_prefix_problem(prefix)):
        raise FieldError("naics_prefix", problem)
    county = None
    if data.county and data.county.strip():
        name = data.county.strip().lower().removesuffix(" county")
        county = await db.scalar(select(County).where(func.lower(County.name) == name))
        if county is None or county.region_id != region.id:
            raise FieldError("county", f"{data.county!r} is not a county of {region.code}")
    await _lock_region(db, region)
    target = f"{'NAICS ' + prefix if prefix else 'any sector'} in {county.name + ' county' if county else 'any county'}"
    same = await db.scalar(select(RoutingRule.id).where(
        RoutingRule.region_id == region.id, RoutingRule.active.is_(True),
        RoutingRule.naics_prefix.is_(None) if prefix is None else RoutingRule.naics_prefix == prefix,
        RoutingRule.county_id.is_(None) if county is None else RoutingRule.county_id == county.id))
    if same is not None:
        # Two rules for the same employers: one of them would never route anyone.
        raise Conflict(f"Rule #{same} already routes {target}: edit its pool or priority instead")
    pool: list[User] = []
    for user_id in dict.fromkeys(data.pool):
        pool.append(await eligible_spoc(db, user_id, region.id, field="pool"))
    rule = RoutingRule(region_id=region.id, naics_prefix=prefix, county_id=county.id if county else None,
                       priority=data.priority, pool=pool)
    db.add(rule)
    try:
        await db.flush()
    except IntegrityError as exc:  # uq_routing_rule_active_target: the same rule added at this very moment
        raise Conflict(f"Another rule for {target} was added just now: reload the rules, and remove that one "
                       "first to replace it") from exc
    await db.refresh(rule, ["county", "pool"])
    audit.record(db, actor, "routing_rule.create", "routing_rule", rule.id, note=region.code,
                 after={"naics_prefix": prefix, "county": county.name if county else None,
                        "priority": data.priority, "pool": [u.id for u in pool]})
    return rule


CHANGED_RULE = "a changed routing rule"


async def update_rule(db: AsyncSession, actor: Principal, region: Region, rule_id: int,
                      data: RoutingRuleEdit) -> RoutingRule:
    """Change an active rule's pool or priority (a SPOC joins or leaves the pool), audited. The employers a
    rule already gave a SPOC keep theirs (sticky, SPEC §3.5): the pool decides the next ones."""
    require_lead(actor, region)
    await _lock_region(db, region)  # against a removal or another edit of the rule at this moment
    rule = await db.get(RoutingRule, rule_id, populate_existing=True)
    if rule is None or rule.region_id != region.id or not rule.active:
        raise NotFoundException(f"Routing rule #{rule_id} not found in {region.code}")
    if data.seen and data.seen != rule_seen(rule):
        who = (await seen.last_change(db, "routing_rule", rule.id, ("routing_rule.update",))).by
        raise seen.Changed(f"Routing rule #{rule.id} was changed meanwhile by {who}: nothing was saved. Its pool "
                           "and priority as saved now are shown; change them again if you still want to.")
    was_pool, was_priority = sorted(u.id for u in rule.pool), rule.priority
    if data.pool is not None:
        rule.pool = [await eligible_spoc(db, user_id, region.id, field="pool") for user_id in dict.fromkeys(data.pool)]
    if data.priority is not None:
        rule.priority = data.priority
    pool = sorted(u.id for u in rule.pool)
    if pool != was_pool or rule.priority != was_priority:
        audit.record(db, actor, "routing_rule.update", "routing_rule", rule.id, note=region.code,
                     before={"priority": was_priority, "pool": was_pool},
                     after={"priority": rule.priority, "pool": pool})
        await db.flush()
        await db.refresh(rule, ["pool"])  # ordered by name, as read
    return rule


async def route_waiting_touches(db: AsyncSession, actor: Principal, region: Region,
                                cause: str = "a new routing rule") -> list[int]:
    """Touches waiting in the region's unassigned queue that the rules now route (a rule just added or its
    pool changed, ``cause``): each
    goes to the SPOC routing picks -- which becomes its employer's SPOC, sticky (SPEC §3.5) -- audited,
    and each SPOC is told once. Runs in the rule's transaction, under the region's lock."""
    now = clock.now()
    # Their employers first, in id order, as other writers of their touches lock them (a SPOC assigning one).
    unassigned = (Touch.region_id == region.id) & Touch.spoc_id.is_(None) & Touch.status.in_(OPEN_TOUCH_VALUES)
    await db.execute(select(Employer.id).where(Employer.id.in_(select(Touch.employer_id).where(unassigned)))
                     .order_by(Employer.id).with_for_update())
    waiting = (await db.execute(
        select(Touch.id, Touch.employer_id, Employer.county_id, Employer.naics_code, Employer.legal_name)
        .join(Employer, Employer.id == Touch.employer_id)
        .where(Touch.region_id == region.id, Touch.spoc_id.is_(None), Touch.status.in_(OPEN_TOUCH_VALUES))
        .order_by(Touch.planned_on, Touch.id))).all()
    routed: dict[int, list[str]] = {}  # SPOC id -> "#12 (Acme)" of the touches now theirs
    emails: dict[int, str] = {}
    ids: list[int] = []
    for touch_id, employer_id, county_id, naics_code, name in waiting:
        spoc = await route(db, employer_id, county_id, naics_code, region.id, actor, now=now)
        if spoc.user_id is None:
            continue
        await db.execute(update(Touch).where(Touch.id == touch_id, Touch.spoc_id.is_(None))
                         .values(spoc_id=spoc.user_id, updated_at=now))
        audit.record(db, actor, "touch.reassign", "touch", touch_id, employer_id=employer_id,
                     before={"spoc_id": None}, after={"spoc_id": spoc.user_id, "spoc": spoc.name},
                     note=f"routed from the unassigned queue by {cause}")
        routed.setdefault(spoc.user_id, []).append(f"#{touch_id} ({name})")
        if spoc.email:
            emails[spoc.user_id] = spoc.email
        ids.append(touch_id)
    for user_id, touches in routed.items():
        if user_id in emails and user_id != actor.id:
            notify(db, emails[user_id], f"{len(touches)} waiting touch(es) routed to you",
                   f"{cause[0].upper()}{cause[1:]} in {region.code} gave you touches that were waiting in the "
                   f"unassigned queue: {', '.join(touches)}.", now)
    return ids


async def remove_rule(db: AsyncSession, actor: Principal, region: Region, rule_id: int) -> None:
    """Deactivate a rule; the row stays so sticky assignments can still say which rule made them."""
    require_lead(actor, region)
    await _lock_region(db, region)  # two removals at once: one removes it, the other finds it gone
    rule = await db.get(RoutingRule, rule_id, populate_existing=True)
    if rule is None or rule.region_id != region.id or not rule.active:
        raise NotFoundException(f"Routing rule #{rule_id} not found in {region.code}")
    rule.active = False
    audit.record(db, actor, "routing_rule.remove", "routing_rule", rule.id, note=region.code,
                 before={"active": True}, after={"active": False})
    await db.flush()


# ---------------------------------------------------------------- API


class RegionPolicyApi(Controller):
    path = "/api/regions/{code:str}"
    tags = ["regions"]
    guards = [requires_crm_user]

    @get("/policy")
    async def get_policy(self, db: Db, code: RegionCode) -> PolicyOut:
        """The region's pacing budget (SPEC §3.4 defaults until a lead sets one)."""
        return await get_policy(db, await region_by_code(db, code))

    @put("/policy", guards=[requires_staff])
    async def put_policy(self, db: Db, principal: Me, code: RegionCode, data: JSONBody[PolicyIn]) -> PolicyOut:
        return await set_policy(db, principal, await region_by_code(db, code), data)

    @get("/routing-rules", guards=[requires_staff])
    async def list_rules(self, db: Db, principal: Me, code: RegionCode) -> RoutingRulePage:
        region = await region_by_code(db, code)
        if not principal.can_in_region(region.id, Role.lead, Role.spoc):
            raise PermissionDeniedException(f"Only staff of {region.code} may see its routing rules")
        rules = await list_rules(db, region)
        return RoutingRulePage(items=[rule_out(r) for r in rules], total=len(rules))

    @post("/routing-rules", guards=[requires_staff])
    async def add_rule(self, db: Db, principal: Me, code: RegionCode, data: JSONBody[RoutingRuleIn]) -> RoutingRuleOut:
        region = await region_by_code(db, code)
        rule = await add_rule(db, principal, region, data)
        out = rule_out(rule)
        out.routed_touches = await route_waiting_touches(db, principal, region)
        return out

    @patch("/routing-rules/{rule_id:int}", guards=[requires_staff])
    async def update_rule(self, db: Db, principal: Me, code: RegionCode, rule_id: PathId,
                          data: JSONBody[RoutingRuleEdit]) -> RoutingRuleOut:
        """Change a rule's SPOC pool or priority; a pool with someone back from away or new routes the
        region's unassigned touches it covers (``routed_touches``)."""
        region = await region_by_code(db, code)
        rule = await update_rule(db, principal, region, rule_id, data)
        out = rule_out(rule)
        out.routed_touches = await route_waiting_touches(db, principal, region, CHANGED_RULE)
        return out

    @delete("/routing-rules/{rule_id:int}", guards=[requires_staff])
    async def remove_rule(self, db: Db, principal: Me, code: RegionCode, rule_id: PathId) -> None:
        await remove_rule(db, principal, await region_by_code(db, code), rule_id)
