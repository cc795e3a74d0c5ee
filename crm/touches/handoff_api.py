"""`/api/hand-offs`: warm referrals — partners see those to their organization and answer them;
SPOCs see those they made, leads those of their region's touches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, Parameter
from sqlalchemy import ColumnElement, Select, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.guards import requires_crm_user
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.deps import Db, Me, PathId
from crm.employers.models import EmployerContact
from crm.employers.schemas import ContactOut, SpocOut
from crm.errors import FieldError
from crm.openapi import choice_parameter
from crm.pagination import Limit, Offset
from crm.touches import workflow
from crm.touches.models import HandOff, Touch, touch_contact
from crm.touches.touch_api import now_utc
from crm.touches.touch_schemas import HandOffOut, HandOffPage, HandOffResponseIn, PassOnIn, PersonRef

STATUSES = ("pending", "accepted", "declined")


def hand_off_out(h: HandOff, reach: Sequence[EmployerContact] | None = None) -> HandOffOut:
    """``reach``: as ``hand_off_reach`` gives it, None for a hand-off whose people the viewer is not shown."""
    return HandOffOut(
        id=h.id, status=h.status, touch_id=h.touch_id, employer_id=h.employer_id, employer_name=h.employer.legal_name,
        from_user=PersonRef(h.from_user.id, h.from_user.name), to_org=PersonRef(h.to_org.id, h.to_org.name),
        to_user=PersonRef(h.to_user.id, h.to_user.name) if h.to_user else None, need=h.need,
        response_note=h.response_note, responded_at=h.responded_at, created_at=h.created_at,
        reach=[ContactOut(c.id, c.name, c.title, c.email, c.phone) for c in reach or ()],
        introducer=SpocOut(h.from_user.id, h.from_user.name, h.from_user.email)
        if reach is not None and not reach else None, previous_id=h.previous_id, settled_at=h.settled_at,
        reminded_at=h.reminded_at)


async def hand_off_reach(db: AsyncSession, actor: Principal,
                         hand_offs: Sequence[HandOff]) -> dict[int, list[EmployerContact]]:
    """Whom an accepted hand-off's partner reaches: the employer's people the SPOC met on its touch (noted
    when scheduling or completing it). A warm hand-off introduces them, so the organization that accepted it
    (and staff) see how to reach them; before it is accepted, and for anyone else, partners reach the
    employer through its SPOC (SPEC §3). Every hand-off shown has a list, empty when no one was noted: then
    its ``introducer`` is whom to ask."""
    shown = {h.id: h.touch_id for h in hand_offs if h.status == "accepted"
             and (actor.is_staff or (actor.organization_id is not None and h.to_org_id == actor.organization_id))}
    touch_ids = {t for t in shown.values() if t is not None}
    by_touch: dict[int, list[EmployerContact]] = {}
    if touch_ids:
        rows = await db.execute(select(touch_contact.c.touch_id, EmployerContact)
                                .join(EmployerContact, EmployerContact.id == touch_contact.c.contact_id)
                                .where(touch_contact.c.touch_id.in_(touch_ids))
                                .order_by(EmployerContact.name, EmployerContact.id))
        for touch_id, contact in rows:
            by_touch.setdefault(touch_id, []).append(contact)
    return {hand_off_id: by_touch.get(touch_id, []) if touch_id is not None else []
            for hand_off_id, touch_id in shown.items()}


def visible_hand_offs(actor: Principal) -> ColumnElement[bool]:
    if actor.is_admin:
        return true()
    conds: list[ColumnElement[bool]] = [HandOff.from_user_id == actor.id]
    if actor.has(Role.partner) and actor.organization_id is not None:
        conds.append(HandOff.to_org_id == actor.organization_id)
    if lead_regions := actor.regions_for(Role.lead):
        conds.append(HandOff.touch_id.in_(select(Touch.id).where(Touch.region_id.in_(lead_regions))))
    return or_(*conds) if conds else false()


def hand_offs_query(actor: Principal, status: str | None = None, received_only: bool = False) -> Select[HandOff]:
    stmt = select(HandOff).where(visible_hand_offs(actor))
    if received_only:
        stmt = stmt.where(HandOff.to_org_id == actor.organization_id)
    if status:
        if status not in STATUSES:
            raise FieldError("status", f"must be one of {', '.join(STATUSES)}")
        stmt = stmt.where(HandOff.status == status)
    return stmt


SETTLE_ORDER = (HandOff.responded_at.desc(), HandOff.id.desc())  # latest declined first


def to_settle_query(actor: Principal) -> Select[HandOff]:
    """Declined hand-offs waiting for ``actor`` to pass their need on or let them go: those a SPOC made on
    their region's touches; for a lead, every one of the region's; for an admin, all."""
    stmt = (select(HandOff).join(Touch, Touch.id == HandOff.touch_id)
            .where(HandOff.status == "declined", HandOff.settled_at.is_(None)))
    if actor.is_admin:
        return stmt
    conds: list[ColumnElement[bool]] = []
    if spoc_regions := actor.regions_for(Role.spoc):
        conds.append((HandOff.from_user_id == actor.id) & Touch.region_id.in_(spoc_regions))
    if lead_regions := actor.regions_for(Role.lead):
        conds.append(Touch.region_id.in_(lead_regions))
    return stmt.where(or_(*conds) if conds else false())


async def hand_offs_to_settle(db: AsyncSession, actor: Principal, limit: int = 50,
                              offset: int = 0) -> tuple[list[HandOff], int]:
    """``to_settle_query``, latest declined first, and how many there are."""
    stmt = to_settle_query(actor)
    total = await db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = await db.scalars(stmt.order_by(*SETTLE_ORDER).limit(limit).offset(offset))
    return list(rows), total


async def list_hand_offs(db: AsyncSession, actor: Principal, *, status: str | None = None,
                         received_only: bool = False, limit: int = 50, offset: int = 0) -> tuple[list[HandOff], int]:
    """Hand-offs the actor may see, pending first then newest; ``received_only`` for a partner's inbox."""
    stmt = hand_offs_query(actor, status, received_only)
    total = await db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = await db.scalars(stmt.order_by((HandOff.status != "pending"), HandOff.created_at.desc(), HandOff.id.desc())
                            .limit(limit).offset(offset))
    return list(rows), total


class HandOffApi(Controller):
    path = "/api/hand-offs"
    tags = ["hand-offs"]
    guards = [requires_crm_user]

    @get("/")
    async def list_hand_offs(
        self, db: Db, principal: Me, limit: Limit = 50, offset: Offset = 0,
        status: Annotated[str | None, choice_parameter(STATUSES, max_length=16)] = None,
        to_settle: Annotated[bool, Parameter(description=(
            "Only declined hand-offs waiting for the caller to pass their need on or let them go"))] = False,
    ) -> HandOffPage:
        find = hand_offs_to_settle(db, principal, limit, offset) if to_settle else \
            list_hand_offs(db, principal, status=status, limit=limit, offset=offset)
        rows, total = await find
        reach = await hand_off_reach(db, principal, rows)
        return HandOffPage(items=[hand_off_out(h, reach.get(h.id)) for h in rows], total=total, limit=limit,
                           offset=offset)

    @post("/{hand_off_id:int}/accept", status_code=200)
    async def accept(self, db: Db, principal: Me, hand_off_id: PathId,
                     data: JSONBody[HandOffResponseIn]) -> HandOffOut:
        h = await workflow.respond_hand_off(db, principal, hand_off_id, True, data.note, now_utc())
        return hand_off_out(h, (await hand_off_reach(db, principal, [h])).get(h.id))

    @post("/{hand_off_id:int}/pass-on", status_code=201)
    async def pass_on(self, db: Db, principal: Me, hand_off_id: PathId, data: JSONBody[PassOnIn]) -> HandOffOut:
        """A declined hand-off's need handed to another partner organization (the SPOC who made it, a lead of
        its touch's region): answers the new hand-off, which names the declined one (``previous_id``)."""
        return hand_off_out(await workflow.pass_on_hand_off(db, principal, hand_off_id, data, now_utc()))

    @post("/{hand_off_id:int}/let-go", status_code=200)
    async def let_go(self, db: Db, principal: Me, hand_off_id: PathId) -> HandOffOut:
        """A declined hand-off the SPOC will not pass on: settled, it leaves their queue's list."""
        return hand_off_out(await workflow.let_go_hand_off(db, principal, hand_off_id, now_utc()))

    @post("/{hand_off_id:int}/decline", status_code=200)
    async def decline(self, db: Db, principal: Me, hand_off_id: PathId,
                      data: JSONBody[HandOffResponseIn]) -> HandOffOut:
        return hand_off_out(await workflow.respond_hand_off(db, principal, hand_off_id, False, data.note, now_utc()))
