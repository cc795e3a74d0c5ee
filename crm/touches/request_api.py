"""`/api/touch-requests`: partners ask for touches and follow them; staff read their regions' requests."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, JSONBody

from crm import clock
from crm.auth.guards import requires_crm_user, requires_staff
from crm.deps import Db, Me, PathId, QueryId
from crm.errors import FieldError
from crm.openapi import choice_parameter
from crm.pagination import Limit, Offset
from crm.touches import requests as service
from crm.touches.intake import result_headers, submit_request, write_turn
from crm.touches.match import confirm_match
from crm.touches.release import release_now
from crm.touches.request_schemas import (
    MatchIn,
    ReleaseIn,
    TouchRequestIn,
    TouchRequestOut,
    TouchRequestPage,
    WithdrawIn,
)
from crm.touches.routing import RequestStatus


class TouchRequestApi(Controller):
    path = "/api/touch-requests"
    tags = ["touch requests"]
    guards = [requires_crm_user]

    @post("/", status_code=201, responses={
        200: ResponseSpec(TouchRequestOut, description="The organization's open request this one repeats")})
    async def submit(
        self, db: Db, principal: Me, data: JSONBody[TouchRequestIn],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", min_length=1,
                                                                max_length=200)] = None,
    ) -> Response[TouchRequestOut]:
        """Ask for a touch: 201 with the decision, or 200 with the open request this repeats.

        With an ``Idempotency-Key`` header, a repeat of the key answers the first response again.
        """
        async with write_turn(db):
            result = await submit_request(db, principal, data, today=clock.today(), idempotency_key=idempotency_key)
        content: Any = result.body if result.replayed_body is None else msgspec.json.decode(result.replayed_body)
        return Response(content, status_code=result.status_code, media_type=MediaType.JSON,
                        headers=result_headers(result))

    @get("/")
    async def list_requests(
        self, db: Db, principal: Me, limit: Limit = 25, offset: Offset = 0,
        status: Annotated[str | None, choice_parameter(RequestStatus, max_length=16)] = None,
        employer_id: QueryId = None,
    ) -> TouchRequestPage:
        """Partners: their organization's requests; SPOCs and leads: their regions'; admins: all."""
        rows, total = await service.list_requests(db, principal, status=status, employer_id=employer_id,
                                                  limit=limit, offset=offset)
        return TouchRequestPage(items=await service.request_outs(db, rows), total=total, limit=limit,
                                offset=offset)

    @get("/{request_id:int}")
    async def get_request(self, db: Db, principal: Me, request_id: PathId) -> TouchRequestOut:
        return await service.request_out_of(db, await service.get_request(db, principal, request_id))

    @post("/{request_id:int}/withdraw", status_code=200)
    async def withdraw(self, db: Db, principal: Me, request_id: PathId,
                       data: JSONBody[WithdrawIn | None] = None) -> TouchRequestOut:
        """The requesting organization withdraws its open request."""
        async with write_turn(db):
            req = await service.withdraw_request(db, principal, request_id, clock.now(),
                                                 reason=data.reason if data else None)
            out = await service.request_out_of(db, req)
        return out

    @post("/{request_id:int}/release", status_code=200, guards=[requires_staff])
    async def release(self, db: Db, principal: Me, request_id: PathId, data: JSONBody[ReleaseIn]) -> TouchRequestOut:
        """A lead of the request's region releases a held request now, overriding the employer's pacing
        budget with a reason (audited): it joins an open touch that can take it, or a new touch (never on
        the employer's blackout days; never for a do-not-contact employer: 409). 409 when it is not held."""
        async with write_turn(db):
            req = await release_now(db, principal, request_id, data.reason, clock.now())
            out = await service.request_out_by_id(db, req.id)  # with the touch it joined
        return out

    @post("/{request_id:int}/match", status_code=200, guards=[requires_staff])
    async def match(self, db: Db, principal: Me, request_id: PathId, data: JSONBody[MatchIn]) -> TouchRequestOut:
        """A SPOC or lead of the request's region says which employer a ``needs_match`` request meant
        (or creates it from what the partner typed); the request is then decided like a new one:
        bundled, a new touch, held, or declined (do-not-contact, or a repeat of the organization's
        open request). 409 when the request no longer needs a match."""
        if (data.employer_id is None) == (not data.create):
            raise FieldError("employer_id", "give the employer's id, or create: true to create it from what "
                                            "the partner typed (one of the two)")
        async with write_turn(db):
            req, _ = await confirm_match(db, principal, request_id, data.employer_id, now=clock.now())
            out = await service.request_out_of(db, req)
        return out
