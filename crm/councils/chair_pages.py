"""`/chair`: the industry chair's read-only view of exactly the councils and partnerships they sit on.

Chairs reach nothing else: every CRM page refuses them (``requires_crm_user``), these routes admit only
the chair role (and admins), and each body is checked for the chair's own current membership. There
are only GET routes here, so a chair has nothing to write with.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.response import Template

from crm.auth.guards import requires_role
from crm.auth.models import Role
from crm.councils import service
from crm.councils.pages import council_context, roster_csv, roster_print
from crm.deps import Db, Me, PathId
from crm.partnerships import service as partnerships
from crm.partnerships.pages import members_csv, partnership_context
from crm.web import render

CHAIR_LIMIT = 200  # a chair sits on a handful of bodies; no pager needed below this


class ChairPages(Controller):
    path = "/chair"
    guards = [requires_role(Role.chair)]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template:
        councils, _ = await service.list_councils(db, principal, limit=CHAIR_LIMIT, only_member=True)
        bodies, _ = await partnerships.list_partnerships(db, principal, limit=CHAIR_LIMIT, only_member=True)
        return render(request, "chair/index.html", councils=councils,
                      badges={c.id: await service.badges(db, c) for c in councils}, partnerships=bodies,
                      indicators={p.id: await partnerships.indicators(db, p) for p in bodies})

    @get("/councils/{council_id:int}")
    async def council(self, request: Request[Any, Any, Any], db: Db, principal: Me, council_id: PathId) -> Template:
        council = await service.council_for_chair(db, principal, council_id)
        context = await council_context(db, principal, council, base=f"/chair/councils/{council.id}", manage=False)
        return render(request, "chair/council.html", errors={}, values={}, **context)

    @get("/councils/{council_id:int}/roster")
    async def roster(self, request: Request[Any, Any, Any], db: Db, principal: Me, council_id: PathId) -> Template:
        council = await service.council_for_chair(db, principal, council_id)
        return await roster_print(request, db, council, back=f"/chair/councils/{council.id}")

    @get("/councils/{council_id:int}/roster.csv")
    async def roster_download(self, db: Db, principal: Me, council_id: PathId) -> Response[bytes]:
        council = await service.council_for_chair(db, principal, council_id)
        return roster_csv(council, await service.members(db, council.id))

    @get("/partnerships/{partnership_id:int}/members.csv")
    async def partnership_members_download(self, db: Db, principal: Me, partnership_id: PathId) -> Response[bytes]:
        p = await partnerships.partnership_for_chair(db, principal, partnership_id)
        return members_csv(p, await partnerships.members(db, p.id))

    @get("/partnerships/{partnership_id:int}")
    async def partnership(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                          partnership_id: PathId) -> Template:
        p = await partnerships.partnership_for_chair(db, principal, partnership_id)
        context = await partnership_context(db, p, base=f"/chair/partnerships/{p.id}", manage=False)
        return render(request, "chair/partnership.html", errors={}, values={}, **context)
