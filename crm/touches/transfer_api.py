"""`/api/regions/{code}/caseloads` and `/transfer`: who holds what in a region, and moving a SPOC's
caseload to a colleague (leads of the region and admins)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from crm.auth.guards import requires_lead
from crm.deps import Db, Me
from crm.directory.service import region_by_code
from crm.touches import policy
from crm.touches.touch_api import now_utc
from crm.touches.touch_schemas import (
    CaseloadOut,
    CaseloadPage,
    CaseloadTransferIn,
    CaseloadTransferOut,
    PersonRef,
)
from crm.touches.transfer import holders, transfer_caseload


class CaseloadApi(Controller):
    path = "/api/regions/{code:str}"
    tags = ["regions"]
    guards = [requires_lead]

    @get("/caseloads")
    async def caseloads(self, db: Db, principal: Me, code: policy.RegionCode) -> CaseloadPage:
        """Everyone holding employers, backups or open touches in the region, largest caseload first,
        former staff included (``can_work`` false)."""
        region = await region_by_code(db, code)
        policy.require_lead(principal, region)
        items = [CaseloadOut(user=PersonRef(h.user_id, h.name), can_work=h.can_work, employers=h.caseload.employers,
                             backups=h.caseload.backups, open_touches=h.caseload.open_touches)
                 for h in await holders(db, region.id)]
        return CaseloadPage(items=items, total=len(items))

    @post("/transfer", status_code=200)
    async def transfer(self, db: Db, principal: Me, code: policy.RegionCode,
                       data: JSONBody[CaseloadTransferIn]) -> CaseloadTransferOut:
        """Move everything ``from_spoc_id`` holds in the region to ``to_spoc_id`` in one transaction:
        each employer's assignment is ended and a new one started (history kept), open touches change
        SPOC, requesters on them are told. 422 when there is nothing to move."""
        region = await region_by_code(db, code)
        done = await transfer_caseload(db, principal, region, data.from_spoc_id, data.to_spoc_id,
                                       reason=data.reason, now=now_utc())
        return CaseloadTransferOut(region=done.region, from_spoc=PersonRef(done.from_user.id, done.from_user.name),
                                   to_spoc=PersonRef(done.to_user.id, done.to_user.name),
                                   employers=done.moved.employers, backups=done.moved.backups,
                                   open_touches=done.moved.open_touches)
