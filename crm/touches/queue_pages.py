"""The SPOC queue (`/queue`), its inline workflow actions, logging a touch, and hand-off answers.

Every action posts a plain form (works without JavaScript: 303 back to the queue) and htmx swaps
the touch's row (`touches/_touch.html`, the partial the full page includes too). A refused action
answers 422/409 with the same row showing the errors in place; nothing is written.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import func, select

from crm.auth.guards import requires_crm_user, requires_staff
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.deps import Db, Me, PathId
from crm.directory.models import Organization, Region
from crm.employers import service as employers
from crm.employers.models import Employer
from crm.errors import FieldError
from crm.home.pages import staff_overview
from crm.touches import workflow
from crm.touches.handoff_api import list_hand_offs
from crm.touches.models import Touch
from crm.touches.routing import Channel, Outcome, TouchStatus
from crm.touches.touch_schemas import (
    CancelIn,
    CompleteIn,
    LogTouchIn,
    ReassignIn,
    ScheduleIn,
)
from crm.web import flash, form_data, redirect, render

S = TypeVar("S", bound=msgspec.Struct)
QUEUE_PAGE = 200
Query = Annotated[str | None, Parameter(max_length=200)]


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def group_by_urgency(touches: list[Touch], today: dt.date) -> dict[str, list[Touch]]:
    """Overdue (planned before today), due this week (next 7 days), later."""
    week_end = today + dt.timedelta(days=7)
    groups: dict[str, list[Touch]] = {"overdue": [], "week": [], "later": []}
    for t in touches:
        key = "overdue" if t.planned_on < today else "week" if t.planned_on < week_end else "later"
        groups[key].append(t)
    return groups


async def _choices(db: Db, principal: Principal, touches: list[Touch]) -> dict[str, Any]:
    """What the inline forms offer: SPOCs per region for reassigning, channels and outcomes."""
    regions = {t.region_id for t in touches}
    candidates = {r: await employers.spoc_candidates(db, r) for r in regions if principal.can_in_region(r, Role.lead)}
    return {"candidates": candidates, "channels": [c.value for c in Channel],
            "outcomes": [o.value for o in Outcome], "today": _today()}


def _staff_regions(principal: Principal) -> frozenset[int] | None:
    return None if principal.is_admin else principal.regions_for(Role.lead, Role.spoc)


async def _row(request: Request[Any, Any, Any], db: Db, principal: Principal, touch_id: int,
               errors: dict[str, str] | None = None, form: str | None = None, values: dict[str, str] | None = None,
               status_code: int = 200) -> Template:
    touch = await workflow.get_touch(db, principal, touch_id)
    ctx = await _choices(db, principal, [touch])
    return render(request, "touches/_touch.html", status_code=status_code, touch=touch,
                  touch_errors={touch.id: {"form": form, "errors": errors or {}, "values": values or {}}}, **ctx)


class QueuePages(Controller):
    path = "/queue"
    guards = [requires_staff]
    include_in_schema = False

    @get("/")
    async def queue(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                    status: Annotated[str | None, Parameter(max_length=16)] = None, q: Query = None,
                    region: Annotated[str | None, Parameter(max_length=32)] = None) -> Template:
        return await self._page(request, db, principal, status=status, q=q, region=region)

    async def _page(self, request: Request[Any, Any, Any], db: Db, principal: Principal, *,
                    status: str | None = None, q: str | None = None, region: str | None = None,
                    touch_errors: dict[int, dict[str, Any]] | None = None, status_code: int = 200) -> Template:
        filter_errors: dict[str, str] = {}
        try:
            touches, total = await workflow.list_queue(db, principal, limit=QUEUE_PAGE, offset=0, status=status,
                                                       q=q, region=region or None)
        except FieldError as exc:
            filter_errors, (touches, total) = dict(exc.fields), ([], 0)
        today = _today()
        assigned = [t for t in touches if t.spoc_id is not None]
        unassigned = [t for t in touches if t.spoc_id is None]
        lead_regions = principal.regions_for(Role.lead)
        regions = list(await db.scalars(select(Region).order_by(Region.code)))
        return render(
            request, "touches/queue.html", partial="touches/_touches.html", status_code=status_code,
            groups=group_by_urgency(assigned, today), unassigned=unassigned, total=total, limit=QUEUE_PAGE,
            held=await workflow.held_requests(db, _staff_regions(principal)),
            filters={"status": status or "", "q": q or "", "region": region or ""}, filter_errors=filter_errors,
            statuses=["open", *[s.value for s in TouchStatus]],
            region_choices=[r for r in regions if principal.is_admin or r.id in lead_regions],
            # One datalist per page (not a select per row): hand-off targets by organization name.
            orgs=list(await db.scalars(select(Organization.name).order_by(Organization.name).limit(2000))),
            touch_errors=touch_errors or {}, **await _choices(db, principal, touches))

    async def _refused(self, request: Request[Any, Any, Any], db: Db, principal: Principal, touch_id: int,
                       exc: HTTPException, form: str, values: dict[str, str]) -> Template:
        if exc.status_code not in (409, 422):
            raise exc
        await db.rollback()
        errors = dict(exc.fields) if isinstance(exc, FieldError) else {"form": exc.detail}
        if request.headers.get("hx-request"):
            return await _row(request, db, principal, touch_id, errors, form, values, status_code=exc.status_code)
        return await self._page(request, db, principal, status_code=exc.status_code,
                                touch_errors={touch_id: {"form": form, "errors": errors, "values": values}})

    async def _done(self, request: Request[Any, Any, Any], db: Db, principal: Principal, touch_id: int,
                    message: str) -> Template | Redirect:
        if request.headers.get("hx-request"):
            return await _row(request, db, principal, touch_id)
        flash(request, message)
        return redirect(request, "/queue")

    @post("/touches/{touch_id:int}/schedule")
    async def schedule(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       touch_id: PathId) -> Template | Redirect:
        raw = await request.form()
        form = await form_data(request)
        try:
            data = _struct(ScheduleIn, scheduled_at=_when(form.get("scheduled_on", ""), form.get("scheduled_time", "")),
                           channel=form.get("channel", ""), override_reason=form.get("override_reason") or None,
                           contact_ids=_ints(raw.getall("contact_ids", []), "contact_ids"))
            touch = await workflow.schedule(db, principal, touch_id, data, dt.datetime.now(dt.UTC))
        except HTTPException as exc:
            return await self._refused(request, db, principal, touch_id, exc, "schedule", form)
        return await self._done(request, db, principal, touch_id,
                                f"Touch #{touch_id} scheduled for {touch.planned_on:%-d %b %Y}")

    @post("/touches/{touch_id:int}/complete")
    async def complete(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       touch_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            outcomes = [{"request_id": int(k[8:]), "outcome": v, "note": form.get(f"note_{k[8:]}", "")}
                        for k, v in form.items() if k.startswith("outcome_") and k[8:].isdigit() and v]
            hand_offs = []
            if org_name := form.get("handoff_org", "").strip():
                org_id = await db.scalar(select(Organization.id).where(
                    func.lower(Organization.name) == org_name.lower()))
                if org_id is None:
                    raise FieldError("hand_offs[0].to_org_id", f"no partner organization is named {org_name!r}")
                hand_offs.append({"to_org_id": org_id, "need": form.get("handoff_need", "")})
            data = _struct(CompleteIn, outcomes=outcomes, notes=form.get("notes", ""), hand_offs=hand_offs,
                           channel=form.get("channel") or None)
            await workflow.complete(db, principal, touch_id, data, dt.datetime.now(dt.UTC))
        except HTTPException as exc:
            return await self._refused(request, db, principal, touch_id, exc, "complete", form)
        return await self._done(request, db, principal, touch_id, f"Touch #{touch_id} completed")

    @post("/touches/{touch_id:int}/cancel")
    async def cancel(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                     touch_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            reason = form.get("reason", "").strip()
            if not reason:
                raise FieldError("reason", "say why, the requesters are told")
            await workflow.cancel(db, principal, touch_id, _struct(CancelIn, reason=reason), dt.datetime.now(dt.UTC))
        except HTTPException as exc:
            return await self._refused(request, db, principal, touch_id, exc, "cancel", form)
        return await self._done(request, db, principal, touch_id, f"Touch #{touch_id} cancelled")

    @post("/touches/{touch_id:int}/reassign")
    async def reassign(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       touch_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            data = _struct(ReassignIn, spoc_id=_ints([form.get("spoc_id", "")], "spoc_id")[0],
                           reason=form.get("reason") or None)
            touch = await workflow.reassign(db, principal, touch_id, data, dt.datetime.now(dt.UTC))
        except HTTPException as exc:
            return await self._refused(request, db, principal, touch_id, exc, "reassign", form)
        return await self._done(request, db, principal, touch_id,
                                f"Touch #{touch_id} is now {touch.spoc.name if touch.spoc else 'unassigned'}'s")

    @get("/log")
    async def log_form(self, request: Request[Any, Any, Any], db: Db,
                       employer_id: Annotated[int | None, Parameter(ge=1)] = None) -> Template:
        return await self._log_form(request, db, {"employer_id": str(employer_id or ""),
                                                  "occurred_on": _today().isoformat()}, {})

    async def _log_form(self, request: Request[Any, Any, Any], db: Db, values: dict[str, str],
                        errors: dict[str, str], status_code: int = 200) -> Template:
        employer = None
        if values.get("employer_id", "").isdigit():
            employer = await db.get(Employer, int(values["employer_id"]))
        return render(request, "touches/queue_log.html", status_code=status_code, values=values, errors=errors,
                      employer=employer, channels=[c.value for c in Channel])

    @post("/log")
    async def log_touch(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template | Redirect:
        form = await form_data(request)
        try:
            data = _struct(LogTouchIn, employer_id=_ints([form.get("employer_id", "")], "employer_id")[0],
                           channel=form.get("channel", ""), notes=form.get("notes", ""),
                           occurred_on=_day(form.get("occurred_on", ""), "occurred_on"))
            touch = await workflow.log_touch(db, principal, data, dt.datetime.now(dt.UTC))
        except HTTPException as exc:
            if exc.status_code not in (409, 422):
                raise
            await db.rollback()
            errors = dict(exc.fields) if isinstance(exc, FieldError) else {"form": exc.detail}
            return await self._log_form(request, db, form, errors, status_code=exc.status_code)
        flash(request, f"Logged a {touch.channel} with {touch.employer.legal_name}: it counts toward the budget")
        return redirect(request, f"/employers/{touch.employer_id}")

    @get("/overview")
    async def overview(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template:
        """My employers, and for leads: employers without a SPOC and SPOC load (the former staff home)."""
        return render(request, "touches/queue_overview.html", **await staff_overview(db, principal))


class HandOffPages(Controller):
    """Accept/decline buttons of `touches/_handoffs.html` (included on the partner's My requests page)."""

    path = "/hand-offs"
    guards = [requires_crm_user]
    include_in_schema = False

    async def _answer(self, request: Request[Any, Any, Any], db: Db, principal: Principal, hand_off_id: int,
                      accept: bool) -> Template | Redirect:
        form = await form_data(request)
        errors: dict[int, str] = {}
        status_code = 200
        try:
            h = await workflow.respond_hand_off(db, principal, hand_off_id, accept, form.get("note", "")[:2000],
                                                dt.datetime.now(dt.UTC))
            message = f"Hand-off #{h.id} {h.status}"
        except HTTPException as exc:
            if exc.status_code not in (409, 422):
                raise
            await db.rollback()
            errors[hand_off_id] = exc.fields[0][1] if isinstance(exc, FieldError) else exc.detail
            status_code, message = exc.status_code, errors[hand_off_id]
        if request.headers.get("hx-request"):
            rows, _ = await list_hand_offs(db, principal, received_only=not principal.is_admin, limit=100)
            return render(request, "touches/_handoffs.html", status_code=status_code, hand_offs=rows,
                          hand_off_errors=errors)
        flash(request, message, "ok" if not errors else "error")
        target = form.get("next", "")
        return redirect(request, target if target.startswith("/") and not target.startswith("//") else "/requests")

    @post("/{hand_off_id:int}/accept")
    async def accept(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                     hand_off_id: PathId) -> Template | Redirect:
        return await self._answer(request, db, principal, hand_off_id, True)

    @post("/{hand_off_id:int}/decline")
    async def decline(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                      hand_off_id: PathId) -> Template | Redirect:
        return await self._answer(request, db, principal, hand_off_id, False)


# ---------------------------------------------------------------- form values


def _struct(struct: type[S], **data: Any) -> S:
    """Build an API Struct from form values with the same constraints (lengths, types) the API enforces."""
    try:
        return msgspec.convert(data, struct, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = text.rsplit("$.", 1)[1].split(" ")[0].rstrip("`") if "$." in text else "form"
        raise FieldError(field, text.split(" - at ")[0].replace("`", "")) from None


def _ints(values: list[Any], field: str) -> list[int]:
    out = []
    for v in values:
        if not isinstance(v, str) or not v.strip().isdigit() or len(v.strip()) > 12:
            raise FieldError(field, "choose from the list")
        out.append(int(v))
    return out


def _day(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise FieldError(field, "is not a date (YYYY-MM-DD)") from None


def _when(day: str, time: str) -> dt.datetime:
    on = _day(day, "scheduled_on")
    try:
        at = dt.time.fromisoformat(time.strip()) if time.strip() else dt.time(10, 0)
    except ValueError:
        raise FieldError("scheduled_time", "is not a time (HH:MM)") from None
    return dt.datetime.combine(on, at, dt.UTC)
