"""Partner pages: the request form with its "is someone already talking to them?" panel, and my requests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from crm import clock
from crm.audit.models import AuditEvent
from crm.auth.guards import requires_crm_user
from crm.auth.models import Role, User
from crm.auth.principal import Principal
from crm.deps import Db, Me, PathId, QueryId
from crm.directory.models import Region
from crm.employers.models import Employer, SpocAssignment
from crm.employers.service import typed_problems
from crm.errors import Conflict, FieldError, validation_path
from crm.ids import parse_id
from crm.templating import days, words
from crm.touches import requests as service
from crm.touches.budget import budget_view
from crm.touches.handoff_api import hand_off_reach, hand_offs_query, list_hand_offs
from crm.touches.intake import employer_state, submit_request, write_turn
from crm.touches.models import HandOff, TouchRequest
from crm.touches.release import held_by_pacing
from crm.touches.request_schemas import TouchRequestIn
from crm.touches.routing import (
    DEFAULT_WINDOW_DAYS,
    OPEN_REQUEST_STATUSES,
    Limit,
    Priority,
    Purpose,
    RequestStatus,
    RoutingError,
    blocking_limits,
    resolve_window,
)
from crm.web import field_message, flash, form_data, redirect, render

PAGE = 25
# Field names of the API body (and of resolve_employer's errors) → the form's input names.
_FORM_FIELD = {"employer": "employer_name", "employer.name": "employer_name", "name": "employer_name",
               "legal_name": "employer_name", "website": "employer_website", "fein": "employer_fein",
               "zip": "employer_zip", "city": "employer_city", "employer.website": "employer_website",
               "employer.fein": "employer_fein", "employer.zip": "employer_zip", "employer.city": "employer_city"}
_FORM_INPUTS = {"employer_name", "employer_website", "employer_fein", "employer_zip", "employer_city", "employer_id",
                "region", "purpose", "summary", "window_start", "window_end", "priority"}
# The API's field names inside messages, as the form labels them.
_FORM_WORDS = {"window_start": "the earliest date", "window_end": "the latest date"}


def _label(value: str) -> str:
    return words(value).capitalize()


PURPOSES = [(p.value, _label(p.value)) for p in Purpose]
PRIORITIES = [(p.value, _label(p.value)) for p in Priority]


def _form_to_body(form: dict[str, str]) -> TouchRequestIn:
    """The form as the API body, so both take the very same validation path."""
    def value(name: str) -> str | None:
        return (form.get(name) or "").strip() or None

    raw: dict[str, Any] = {
        "purpose": value("purpose") or "", "region": value("region"), "summary": form.get("summary") or "",
        "window_start": value("window_start"), "window_end": value("window_end"),
        "priority": value("priority") or "normal",
    }
    wrong: list[tuple[str, str]] = []  # what the form itself can tell is missing or wrong, all at once
    if (chosen := value("employer_id")) is not None:
        if (employer_id := parse_id(chosen)) is None:
            wrong.append(("employer_id", "is not an employer id"))
        raw["employer_id"] = employer_id
    elif any(value(f"employer_{k}") for k in ("name", "website", "fein", "zip")):
        raw["employer"] = {k: value(f"employer_{k}") for k in ("name", "website", "fein", "zip", "city")}
        wrong += [(f"employer_{field}", message) for field, message in typed_problems(
            name=value("employer_name"), website=value("employer_website"), fein=value("employer_fein"),
            zip=value("employer_zip"))]
    else:
        wrong.append(("employer_name", "choose an employer from the list, or type its name, website or FEIN"))
    if not value("purpose"):
        wrong.append(("purpose", "choose a purpose"))
    days: dict[str, dt.date] = {}
    for name in ("window_start", "window_end"):
        if (typed := value(name)) is not None:
            try:
                days[name] = dt.date.fromisoformat(typed)
            except ValueError:
                wrong.append((name, "is not a date"))
    if len(days) == 2 and days["window_end"] < days["window_start"]:
        wrong.append(("window_end", "must be on or after the earliest date"))
    elif not any(name in ("window_start", "window_end") for name, _ in wrong):
        try:  # what intake says of the dates (past, too far ahead, too long), said with the form's other mistakes
            resolve_window(days.get("window_start"), days.get("window_end"), clock.today())
        except RoutingError as exc:
            wrong.append((exc.field, exc.message))
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    try:
        return msgspec.convert(raw, TouchRequestIn, strict=False)
    except msgspec.ValidationError as exc:
        raise FieldError(validation_path(exc).split("[")[0] or "form", field_message(str(exc))) from None


@dataclass(frozen=True, slots=True)
class HeldLine:
    """A held request of the employer as the panel lists it: the viewer's own (or, for the region's staff,
    any) with its reason in full; another organization's only by purpose, dates and the kind of reason."""

    purpose: str
    window_start: dt.date
    window_end: dt.date
    release_on: dt.date | None
    why: str
    request_id: int | None  # shown only when the viewer may open the request


def _limit_words(limits: frozenset[Limit], min_gap_days: int) -> str:
    """The pacing limits that keep a new touch off the days before the next allowed one, in the panel's words."""
    said = [words for limit, words in (
        ("budget", "the contact budget is used up"),
        ("min_gap", f"contacts must be at least {days(min_gap_days)} apart"),
        ("blackout", "the employer asked not to be contacted on some of those days"),
    ) if limit in limits]
    return " and ".join(said)


async def _held_lines(db: Db, viewer: Principal, employer_id: int, region_id: int) -> list[HeldLine]:
    rows = (await db.execute(select(
        TouchRequest.id, TouchRequest.requester_org_id, TouchRequest.purpose, TouchRequest.window_start,
        TouchRequest.window_end, TouchRequest.release_on, TouchRequest.hold_reason)
        .where(TouchRequest.employer_id == employer_id, TouchRequest.region_id == region_id,
               TouchRequest.status == RequestStatus.HELD.value)
        .order_by(TouchRequest.release_on, TouchRequest.id))).all()
    staff = viewer.can_in_region(region_id, Role.lead, Role.spoc)
    lines = []
    for r in rows:
        requester = viewer.organization_id is not None and r.requester_org_id == viewer.organization_id
        full = staff or requester
        # The requester reads "the days you asked for"; staff read the same reason without the "you".
        why = (r.hold_reason or service.BUDGET_USED) if requester \
            else (service.staff_hold_reason(r.hold_reason) or service.BUDGET_USED) if full \
            else service.public_hold_reason(r.hold_reason)
        lines.append(HeldLine(_label(r.purpose), r.window_start, r.window_end, r.release_on, why,
                              r.id if full else None))
    return lines


async def panel_context(db: Db, viewer: Principal, employer_id: int | None, region_code: str | None,
                        now: dt.datetime) -> dict[str, Any]:
    """What any partner may know about an employer before asking (SPEC §1 visibility): its SPOC, the next
    touch a request would join (by intake's own rule), the requests held for it and the pacing budget left
    — no other organization's notes."""
    if employer_id is None:
        return {"employer": None}
    employer = await db.get(Employer, employer_id)
    if employer is None:
        return {"employer": None, "missing": employer_id}
    home = await db.get(Region, employer.region_id) if employer.region_id is not None else None
    region = None
    if region_code:
        region = await db.scalar(select(Region).where(Region.code == region_code.strip().upper()))
    if region is None:
        region = home
    if region is None:
        return {"employer": employer, "region": None}
    today = clock.local_date(now)
    assignment = await db.scalar(select(SpocAssignment).where(
        SpocAssignment.employer_id == employer.id, SpocAssignment.region_id == region.id,
        SpocAssignment.ended_at.is_(None)))
    # Intake's reading of the employer (employer_state): an open touch whose appointment has passed
    # takes no new request (routing._best_bundle), so it is not the touch a request would join.
    state = await employer_state(db, employer.id, now)
    here = sorted((t.view for t in state.open_touches.values() if t.view.region_id == region.id),
                  key=lambda v: (v.planned_date, v.id))
    touch = next((v for v in here if not v.appointment_passed), None)
    purposes: list[str] = []
    if touch is not None:
        purposes = sorted(set(await db.scalars(select(TouchRequest.purpose).where(
            TouchRequest.touch_id == touch.id,
            TouchRequest.status.in_([s.value for s in OPEN_REQUEST_STATUSES])))))
    budget = await budget_view(db, employer.id, region.id, today, state.counted)
    # The next allowed day, whenever it is not today (the budget may have room and the gap still block),
    # and what blocks the days before it.
    later = budget.next_allowed is not None and budget.next_allowed > today
    blocked_by = "" if not later or budget.next_allowed is None else _limit_words(blocking_limits(
        budget.policy, budget.counted, today, budget.next_allowed - dt.timedelta(days=1)), budget.policy.min_gap_days)
    return {"employer": employer, "region": region, "spoc": assignment.spoc if assignment else None,
            "backup": assignment.backup_spoc if assignment else None, "touch": touch,
            "purposes": [_label(p) for p in purposes], "budget": budget, "today": today,
            "passed": [v for v in here if v.appointment_passed],
            "next_allowed_later": later, "blocked_by": blocked_by,
            "held": await _held_lines(db, viewer, employer.id, region.id),
            # A region chosen on the form that is not the employer's own: the panel says so.
            "home": home if home is not None and home.id != region.id else None}


class RequestPages(Controller):
    path = "/requests"
    guards = [requires_crm_user]
    include_in_schema = False

    @get("/")
    async def my_requests(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                          page: Annotated[int, Parameter(ge=1, le=100_000)] = 1,
                          status: Annotated[str | None, Parameter(max_length=16)] = None) -> Template:
        """``status``: one request status, or ``open`` (not closed yet); the filter shows each one's count."""
        status = (status or "").strip() or None
        rows, total = await service.list_requests(db, principal, status=status, limit=PAGE,
                                                  offset=(page - 1) * PAGE)
        # The hand-offs partial and its accept/decline endpoints belong to the SPOC workflow.
        hand_offs, _ = await list_hand_offs(db, principal, received_only=not principal.is_admin, limit=50)
        withdrawable = [r.id for r in rows if service.may_withdraw(principal, r)]
        return render(request, "touches/request_list.html", items=await service.request_outs(db, rows),
                      total=total, page=page, pages=max(1, -(-total // PAGE)), hand_offs=hand_offs,
                      hand_off_reach=await hand_off_reach(db, principal, hand_offs), withdrawable_ids=withdrawable,
                      status=status or "", counts=await service.request_counts(db, principal),
                      statuses=["open", *(s.value for s in RequestStatus)])

    @get("/new")
    async def new_form(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       employer_id: QueryId = None,
                       employer_name: Annotated[str | None, Parameter(max_length=200)] = None,
                       employer_fein: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        """``employer_name``: a name the directory found no employer for, typed in for the partner (the
        typeahead then says whether intake would match it or create it); ``employer_fein``: a FEIN it found
        none for, in the FEIN field (the partner types the name)."""
        today = clock.today()
        # Region blank: the request goes to the employer's own region (intake's default).
        values = {"region": "", "window_start": today.isoformat(),
                  "window_end": (today + dt.timedelta(days=DEFAULT_WINDOW_DAYS)).isoformat(),
                  "priority": "normal", "employer_id": str(employer_id or "")}
        if employer_id is not None and (employer := await db.get(Employer, employer_id)) is not None:
            values["employer_name"] = employer.legal_name
        elif employer_name and employer_name.strip():
            values["employer_name"] = " ".join(employer_name.split())
        if employer_id is None and employer_fein and employer_fein.strip():
            values["employer_fein"] = employer_fein.strip()
        return await self._form(request, db, principal, values, {})

    async def _form(self, request: Request[Any, Any, Any], db: Db, principal: Me, values: dict[str, str],
                    errors: dict[str, str], *, status_code: int = 200) -> Template:
        regions = list(await db.scalars(select(Region).order_by(Region.code)))
        panel = await panel_context(db, principal, parse_id(values.get("employer_id")), values.get("region"),
                                    clock.now())
        return render(request, "touches/request_new.html", status_code=status_code,
                      partial="touches/_request_form.html", values=values, errors=errors,
                      regions=[("", "The employer's own region"),
                               *((r.code, f"{r.code} · {r.name}") for r in regions)], purposes=PURPOSES,
                      priorities=PRIORITIES, panel=panel)

    @post("/new")
    async def submit(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template | Redirect:
        form = await form_data(request)
        today = clock.today()
        try:
            async with write_turn(db):
                result = await submit_request(db, principal, _form_to_body(form), today=today)
        except HTTPException as exc:
            if exc.status_code not in (403, 409, 422):
                raise
            await db.rollback()
            if isinstance(exc, FieldError):
                errors = {}
                for name, message in exc.fields:
                    name = _FORM_FIELD.get(name, name)
                    for api_name, words in _FORM_WORDS.items():
                        message = message.replace(api_name, words)
                    # An error about something the form has no input for is shown on top.
                    errors[name if name in _FORM_INPUTS else "form"] = message if name in _FORM_INPUTS \
                        else f"{name}: {message}"
            else:
                errors = {"form": exc.detail}
            return await self._form(request, db, principal, form, errors, status_code=exc.status_code)
        assert result.body is not None
        if request.headers.get("hx-request"):
            # The request's own address: a refresh shows its decision, not an empty form again.
            return render(request, "touches/request_detail.html", partial="touches/_decision.html",
                          out=result.body, created=result.created, requester=True,
                          push_url=f"/requests/{result.body.id}")
        flash(request, result.body.decision if result.created else
              f"Your organization already asked for this: request #{result.body.id}. Nothing new was sent; "
              "what you typed this time was not added.")
        return redirect(request, f"/requests/{result.body.id}")

    @get("/panel")
    async def panel(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                    employer_id: Annotated[str | None, Parameter(max_length=20)] = None,
                    region: Annotated[str | None, Parameter(max_length=32)] = None,
                    resolved_employer_id: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        """The "is someone already talking to this employer?" panel, loaded as the partner picks one, or for
        the employer intake will choose for what they typed (``resolved_employer_id``) while none is picked."""
        picked = parse_id(employer_id)
        context = await panel_context(db, principal, picked or parse_id(resolved_employer_id), region, clock.now())
        context["resolved"] = picked is None and context.get("employer") is not None
        # htmx swaps the contents into the panel's section (a live region, kept); a plain GET gets the section.
        return render(request, "touches/_panel.html", partial="touches/_panel_body.html", panel=context)

    @get("/{request_id:int}")
    async def detail(self, request: Request[Any, Any, Any], db: Db, principal: Me, request_id: PathId) -> Template:
        return await request_page(request, db, principal, request_id)

    @post("/{request_id:int}/withdraw")
    async def withdraw(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       request_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            async with write_turn(db):
                req = await service.withdraw_request(db, principal, request_id, clock.now(),
                                                     reason=form.get("reason"))
                out = await service.request_out_of(db, req)
        except Conflict as exc:
            if not request.headers.get("hx-request"):
                raise
            # The request moved on meanwhile (the SPOC completed its touch): the row shows where it is now,
            # with the reason, instead of the stale "queued" and a Withdraw button that can only fail again.
            req = await service.get_request(db, principal, request_id)
            return render(request, "touches/_request_row.html", status_code=exc.status_code,
                          r=await service.request_out_of(db, req), withdrawable=service.may_withdraw(principal, req),
                          row_error=exc.detail)
        if request.headers.get("hx-request"):
            return render(request, "touches/_request_row.html", partial="touches/_request_row.html", r=out,
                          withdrawable=False)
        flash(request, f"Request #{req.id} withdrawn")
        return redirect(request, "/requests")


async def request_page(request: Request[Any, Any, Any], db: Db, principal: Principal, request_id: int, *,
                       release: dict[str, str] | None = None, status_code: int = 200) -> Template:
    """A touch request's page; ``release``: a lead's refused "Release now" form, its problems under each
    field's name (``reason``, or ``form`` for the whole) and what was typed (``typed``), shown at the form."""
    req = await service.get_request(db, principal, request_id)
    history = (await db.execute(
        select(AuditEvent.created_at, AuditEvent.action, AuditEvent.note, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.entity_type == "touch_request", AuditEvent.entity_id == req.id)
        .order_by(AuditEvent.created_at, AuditEvent.id))).all()
    # The requesting organization reads "your dates" and what it may do; anyone else (staff, an admin)
    # reads the same facts about the requester.
    requester = service.acts_for_requester(principal, req.requester_org_id)
    # What its touch handed on that the viewer may see (the requesting organization's own hand-offs).
    hand_offs = list(await db.scalars(hand_offs_query(principal).where(HandOff.touch_id == req.touch_id)
                                      .order_by(HandOff.id))) if req.touch_id is not None else []
    out = await service.request_out_of(db, req, requester)
    # Not on a touch with a SPOC yet (held, needing a match, waiting unassigned): the employer's SPOC in the
    # request's region, whom any partner may know (SPEC §3 visibility; the form's panel names them too).
    assignment = await db.scalar(select(SpocAssignment).where(
        SpocAssignment.employer_id == req.employer_id, SpocAssignment.region_id == req.region_id,
        SpocAssignment.ended_at.is_(None))) if out.spoc is None and req.employer_id is not None else None
    return render(request, "touches/request_detail.html", status_code=status_code, out=out,
                  employer_spoc=assignment, release=release or {}, held_by_pacing=held_by_pacing(req.hold_reason),
                  requester=requester, hand_offs=hand_offs, created=True, detail=True, history=history,
                  can_withdraw=service.may_withdraw(principal, req),
                  can_release=(req.status == RequestStatus.HELD
                               and principal.can_in_region(req.region_id, Role.lead)))

