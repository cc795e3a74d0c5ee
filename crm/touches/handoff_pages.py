"""The hand-offs staff made (`/queue/hand-offs`): which partner picked a need up and who, which is still
waiting and for how long, what became of a declined one (passed on, let go, or still to settle); and the
people of a partner organization a hand-off may name (`/queue/hand-offs/people`, the person select of the
complete and pass-on forms)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.auth.guards import requires_staff
from crm.auth.models import Role, RoleGrant, User
from crm.deps import Db, Me
from crm.directory.service import organization_named
from crm.touches.handoff_api import STATUSES, hand_offs_query, list_hand_offs
from crm.touches.models import HandOff
from crm.touches.reminders import REMIND_AFTER_DAYS
from crm.web import render

PAGE = 50


async def org_people(db: AsyncSession, typed: str | None) -> dict[str, Any]:
    """A hand-off form's person select for the organization typed in its box (as typed, any case): that
    organization's name ("" if none is named so) and the people a hand-off to it may name, its active
    partners (they answer hand-offs on their My requests page), by name."""
    org = await organization_named(db, typed)
    if org is None:
        return {"org_name": "", "people": []}
    people = await db.scalars(
        select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(User.organization_id == org.id, User.is_active.is_(True), RoleGrant.role == Role.partner.value)
        .distinct().order_by(User.name, User.id).limit(200))
    return {"org_name": org.name, "people": list(people)}


async def _what_became(db: AsyncSession, rows: Sequence[HandOff]) -> dict[str, Any]:
    """For one page of hand-offs, in two statements: who answered each, and the hand-off each declined one
    was passed on as."""
    answerers = {h.responded_by_id for h in rows if h.responded_by_id is not None}
    names = dict((await db.execute(select(User.id, User.name).where(User.id.in_(answerers)))).tuples().all()) \
        if answerers else {}
    settled = [h.id for h in rows if h.settled_at is not None]
    passed = {h.previous_id: h for h in await db.scalars(select(HandOff).where(HandOff.previous_id.in_(settled)))} \
        if settled else {}
    return {"answered_by": names, "passed_on_as": passed}


class MadeHandOffPages(Controller):
    path = "/queue/hand-offs"
    guards = [requires_staff]
    include_in_schema = False

    @get("/")
    async def made(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                   status: Annotated[str | None, Parameter(max_length=16)] = None,
                   page: Annotated[int, Parameter(ge=1, le=100_000)] = 1) -> Template:
        """A SPOC's own hand-offs; a lead's, every one of their regions' touches; an admin's, all. Waiting
        ones first, then the newest."""
        status_error = None
        if status and status not in STATUSES:
            status_error, status = f"must be one of {', '.join(STATUSES)}", None
        rows, total = await list_hand_offs(db, principal, status=status or None, limit=PAGE,
                                           offset=(page - 1) * PAGE)
        counted = hand_offs_query(principal).subquery()
        by_status = await db.execute(select(counted.c.status, func.count()).group_by(counted.c.status))
        counts: dict[str, int] = dict(by_status.tuples().all())
        today = clock.today()
        return render(request, "touches/hand_offs_made.html", partial="touches/_hand_offs_made.html",
                      items=rows, total=total, page=page, pages=max(1, -(-total // PAGE)), status=status or "",
                      status_error=status_error, counts=counts, statuses=STATUSES, today=today,
                      waiting_days={h.id: (today - clock.local_date(h.created_at)).days for h in rows},
                      too_long=REMIND_AFTER_DAYS, **await _what_became(db, rows))

    @get("/people")
    async def people(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                     handoff_org: Annotated[str | None, Parameter(max_length=200)] = None,
                     to_org: Annotated[str | None, Parameter(max_length=200)] = None) -> Template:
        """The options of a hand-off form's person select for the organization typed in its box (the
        complete or log form's ``handoff_org`` (``handoff_org_1``… for its further ones), the pass-on form's
        ``to_org``)."""
        typed = handoff_org if handoff_org is not None else to_org
        if typed is None:  # a further hand-off of a complete or log form: handoff_org_1, handoff_org_2, …
            typed = next((v[:200] for k, v in request.query_params.items() if k.startswith("handoff_org_")), None)
        return render(request, "touches/_person_options.html", selected="", **await org_people(db, typed))
