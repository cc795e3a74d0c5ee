"""The SPOC queue (`/queue`), its inline workflow actions, logging a touch, and hand-off answers.

Every action posts a plain form (works without JavaScript: 303 back to the queue) and htmx swaps
the touch's row (`touches/_touch.html`, the macro the full page renders for each row). A refused
action answers 409 with the same row showing the errors in place, and a form with field errors (422)
only itself (`touches/_touch_form.html`, retargeted), so the row's other open forms keep what was typed
in them; nothing is written.

A row's action forms are fetched when first opened (`/queue/touches/{id}/forms/{form}`), so the
queue page stays small at hundreds of touches; `/queue/touches/{id}` shows one touch with every
form (the link a row offers without JavaScript).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Annotated, Any, TypeVar, cast

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template
from sqlalchemy import Row as SqlRow
from sqlalchemy import select
from sqlalchemy.orm import joinedload, raiseload

from crm import clock
from crm.auth import service as auth_service
from crm.auth.guards import requires_crm_user, requires_staff
from crm.auth.models import Role, RoleGrant, User
from crm.auth.principal import Principal
from crm.db import reads_inline
from crm.deps import Db, Me, PathId, QueryId
from crm.directory.models import Organization
from crm.directory.service import led_regions, organization_named
from crm.employers.candidates import Candidate, match_candidates
from crm.employers.candidates import Query as EmployerQuery
from crm.employers.models import Employer, EmployerContact
from crm.errors import FieldError, validation_path
from crm.home.pages import staff_overview
from crm.ids import parse_id
from crm.templating import back_words, days, fmt_datetime
from crm.touches import budget, match, queue, workflow
from crm.touches.handoff_api import SETTLE_ORDER, hand_off_reach, list_hand_offs, to_settle_query
from crm.touches.handoff_pages import org_people
from crm.touches.models import OPEN_TOUCH_VALUES, Touch, TouchRequest
from crm.touches.pacing import is_allowed
from crm.touches.queue import QueueRow
from crm.touches.release import release_now
from crm.touches.request_pages import request_page
from crm.touches.requests import human_date, request_out_by_id, request_out_of
from crm.touches.routing import HOLD_HORIZON_DAYS, Channel, Outcome, TouchStatus, missing_outcome
from crm.touches.touch_api import log_touch_once
from crm.touches.touch_schemas import (
    CancelIn,
    CompleteIn,
    LogTouchIn,
    PassOnIn,
    ReassignIn,
    ScheduleIn,
)
from crm.web import current_page_query, field_message, flash, form_data, redirect, refused, render

S = TypeVar("S", bound=msgspec.Struct)
T = TypeVar("T")
CHANNELS = frozenset(c.value for c in Channel)
Row = QueueRow | Touch  # a queue row: read for the page, or the entity an action or its form works on
OrgRow = SqlRow[int, str]  # an organization's id and name
QUEUE_PAGE = 200
FORMS = ("schedule", "complete", "cancel", "reassign")
# The partners a complete or log form hands needs to: the first, and two more behind "+ another partner"
# (the API takes up to 20; a call rarely yields more than a couple).
HAND_OFF_SLOTS = 3
# A row's schedule form offers the employer's contacts.
FORM_LOAD = (joinedload(Touch.employer).selectinload(Employer.contacts),)
Query = Annotated[str | None, Parameter(max_length=200)]


def _today() -> dt.date:
    return clock.today()


def group_by_urgency(touches: Sequence[Row], today: dt.date) -> dict[str, list[Row]]:
    """Overdue (planned before today), due this week (next 7 days), later."""
    week_end = today + dt.timedelta(days=7)
    groups: dict[str, list[Row]] = {"overdue": [], "week": [], "later": []}
    for t in touches:
        key = "overdue" if t.planned_on < today else "week" if t.planned_on < week_end else "later"
        groups[key].append(t)
    return groups


async def _choices(db: Db, principal: Principal, touches: Sequence[Row], forms: bool = True,
                   typed: dict[str, str] | None = None) -> dict[str, Any]:
    """What the rows and their forms offer: SPOCs per region for (re)assigning, channels, outcomes and,
    when a form is shown (``forms``), the partner organizations a hand-off may go to, and the people of
    those a form sent back had typed (``typed``: its values)."""
    candidates = await _spoc_candidates(
        db, sorted({t.region_id for t in touches if principal.can_in_region(t.region_id, Role.lead)}))
    return {"candidates": candidates, "channels": [c.value for c in Channel],
            "outcomes": [o.value for o in Outcome], "today": _today(), "schedule_seen": workflow.schedule_seen,
            "schedule_default": partial(workflow.schedule_default, now=clock.now()),
            "tomorrow": _today() + dt.timedelta(days=1),
            **(await hand_off_choices(db, typed) if forms else {"hand_off_slots": HAND_OFF_SLOTS})}


async def _spoc_candidates(db: Db, region_ids: list[int]) -> dict[int, list[User]]:
    """Per region, who may own its touches (its active SPOCs and leads, by name), in one statement."""
    if not region_ids:
        return {}
    rows = await db.execute(
        select(RoleGrant.region_id, User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.region_id.in_(region_ids), RoleGrant.role.in_([Role.spoc.value, Role.lead.value]),
               User.is_active.is_(True))
        .order_by(RoleGrant.region_id, User.name, User.id).options(raiseload("*")))
    found: dict[int, list[User]] = {r: [] for r in region_ids}
    for grant_region_id, user in rows:
        region_id = cast(int, grant_region_id)  # region_id IN (...) above: never a global grant's NULL
        if not found[region_id] or found[region_id][-1] is not user:  # a SPOC who is also the lead: once
            found[region_id].append(user)
    return found


def hand_off_field(name: str, slot: int) -> str:
    """A hand-off slot's form field (``touches/_hand_off_fields.html``): "handoff_org", "handoff_org_1", …"""
    return f"{name}_{slot}" if slot else name


async def hand_off_choices(db: Db, typed: dict[str, str] | None) -> dict[str, Any]:
    """What a form's hand-off fields offer: the partner organizations by name (its datalist), and per slot
    the people of the organization a form sent back had typed there."""
    people = []
    for slot in range(HAND_OFF_SLOTS):
        org_name = (typed or {}).get(hand_off_field("handoff_org", slot), "").strip()
        people.append(await org_people(db, org_name) if org_name else {"org_name": "", "people": []})
    return {"orgs": await _org_names(db), "hand_off_people": people, "hand_off_slots": HAND_OFF_SLOTS}


@dataclass
class TypedHandOffs:
    """The hand-offs a form typed, as the API takes them (``hand_offs``); ``slots[i]``: the form slot of
    ``hand_offs[i]``; ``told``: to whom each goes ("Pat Partner at East LA College")."""

    hand_offs: list[dict[str, Any]] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    told: list[str] = field(default_factory=list)

    def said(self) -> str:
        """"; hand-off to East LA College sent" (what the page says after), "" for none."""
        if not self.told:
            return ""
        return f"; hand-off{'s' if len(self.told) > 1 else ''} to {' and '.join(self.told)} sent"

    def at_slots(self, exc: HTTPException) -> HTTPException:
        """``exc`` with the API's ``hand_offs[i].`` fields named by the form slot ``hand_offs[i]`` came from
        (a slot left blank before a filled one shifts them)."""
        if isinstance(exc, FieldError):
            exc.fields = [(_slot_field(f, self.slots), m) for f, m in exc.fields]
        return exc


def _slot_field(name: str, slots: list[int]) -> str:
    if name.startswith("hand_offs[") and "]" in name:
        index = name[len("hand_offs["):name.index("]")]
        if index.isdigit() and int(index) < len(slots):
            return f"hand_offs[{slots[int(index)]}]{name[name.index(']') + 1:]}"
    return name


async def typed_hand_offs(db: Db, form: dict[str, str], wrong: list[tuple[str, str]]) -> TypedHandOffs:
    """The hand-offs a complete or log form typed (``touches/_hand_off_fields.html``), one per slot with
    anything in it; what a slot lacks is added to ``wrong`` under its fields ("hand_offs[1].need")."""
    out = TypedHandOffs()
    for slot in range(HAND_OFF_SLOTS):
        org_name = form.get(hand_off_field("handoff_org", slot), "").strip()
        need = form.get(hand_off_field("handoff_need", slot), "").strip()
        person = form.get(hand_off_field("handoff_person", slot), "")
        if not (org_name or need or person):  # a need typed without a partner used to vanish without a word
            continue
        prefix = f"hand_offs[{slot}]."
        if (org := await _hand_off_to(db, org_name, need, wrong, prefix)) is not None:
            to_user_id = _gather(wrong, _person, person, f"{prefix}to_user_id")
            out.hand_offs.append({"to_org_id": org.id, "to_user_id": to_user_id, "need": need})
            out.slots.append(slot)
            out.told.append(await _whom(db, org, to_user_id))
    return out


def _held_context(principal: Principal, held: list[queue.HeldRow]) -> dict[str, Any]:
    """What the held requests' section (``touches/_held.html``) shows besides its rows: whether the list is
    full (more are held) and whether it is only the SPOC's own employers'."""
    return {"held": held, "held_shown": queue.HELD_SHOWN, "held_own": bool(queue.held_own_regions(principal))}


async def _org_names(db: Db) -> list[str]:
    """The organizations a hand-off form offers (its datalist), by name."""
    return list(await db.scalars(select(Organization.name).order_by(Organization.name).limit(2000)))


async def _hand_off_to(db: Db, org_name: str, need: str, wrong: list[tuple[str, str]],
                       prefix: str = "") -> OrgRow | None:
    """The organization a hand-off form names (as typed, any case), adding to ``wrong`` what the form lacks:
    the need, an organization of that name (``prefix`` of the field names: "hand_offs[0]." on the complete
    form)."""
    if not need.strip():
        wrong.append((f"{prefix}need", "say what the partner should pick up"))
    org = await organization_named(db, org_name)
    if org is None:
        wrong.append((f"{prefix}to_org_id", f"no partner organization is named {org_name!r}"
                      if org_name else "say which partner organization picks this need up"))
    return org


async def _declined(db: Db, principal: Principal, errors: dict[int, dict[str, str]] | None = None,
                    values: dict[int, dict[str, str]] | None = None) -> dict[str, Any]:
    """The queue's declined hand-offs to settle (``touches/_declined.html``), with a refused form's errors
    and what it typed; the organizations to pass them on to, when there are any."""
    declined = list(await db.scalars(to_settle_query(principal).order_by(*SETTLE_ORDER).limit(50)))
    orgs = await _org_names(db) if declined else []
    people = {h_id: await org_people(db, typed.get("to_org")) for h_id, typed in (values or {}).items()}
    return {"declined": declined, "declined_orgs": orgs, "declined_errors": errors or {},
            "declined_values": values or {}, "declined_people": people}


async def _keep_ticked(request: Request[Any, Any, Any], form: dict[str, str]) -> list[str]:
    """The contacts a form ticked (all of them: one ``contact_ids`` value each), kept in ``form`` as
    "1,2" so that a form that comes back shows them ticked."""
    ticked = [v for v in (await request.form()).getall("contact_ids", []) if isinstance(v, str)]
    form["contact_ids"] = ",".join(ticked)
    return ticked


def _staff_regions(principal: Principal) -> frozenset[int] | None:
    return None if principal.is_admin else principal.regions_for(Role.lead, Role.spoc)


async def _card_notes(db: Db, touches: Sequence[Any]) -> dict[str, Any]:
    """What the cards say beyond the touch itself: its hand-offs and the blackout days it falls on, each
    read for every card of the page in one statement."""
    return {"hand_offs_by_touch": await queue.hand_offs_by_touch(db, touches),
            "blackouts_by_touch": await queue.blackout_clashes(db, touches)}


async def _row(request: Request[Any, Any, Any], db: Db, principal: Principal, touch_id: int,
               errors: dict[str, str] | None = None, form: str | None = None, values: dict[str, str] | None = None,
               status_code: int = 200, with_held: bool = False, done_message: str | None = None) -> Template:
    """One queue row; ``with_held`` adds the held requests out of band (an action that held some),
    ``done_message`` what was done, said in the page's status line (which outlives the queue's reload)."""
    touch = await queue.get_touch(db, principal, touch_id, load=FORM_LOAD if form else ())
    ctx = await _choices(db, principal, [touch], forms=form is not None, typed=values)
    if with_held:
        # The page's filters are in its address (hx-replace-url), which htmx sends along.
        shown = current_page_query(request)
        try:
            held = await queue.held_requests(db, principal, q=shown.get("q", [""])[0],
                                             region=shown.get("region", [""])[0])
        except FieldError:
            held = await queue.held_requests(db, principal)
        ctx.update(held_oob=True, filters={"q": shown.get("q", [""])[0]}, **_held_context(principal, held))
    ctx.update(done_message=done_message, **await _card_notes(db, [touch]))
    return render(request, "touches/_touch.html", status_code=status_code, touch=touch,
                  touch_errors={touch.id: {"form": form, "errors": errors or {}, "values": values or {}}}, **ctx)


async def _refused_form(request: Request[Any, Any, Any], db: Db, principal: Principal, touch_id: int, form: str,
                        errors: dict[str, str], values: dict[str, str]) -> Template | None:
    """Only the form sent with field errors, in place of itself (HX-Retarget): swapping the whole row would
    throw away what was typed in its other open forms. None if the touch closed meanwhile (the row says so)."""
    touch = await queue.get_touch(db, principal, touch_id, load=FORM_LOAD)
    if touch.status not in OPEN_TOUCH_VALUES:
        return None
    choices = await _choices(db, principal, [touch], forms=form == "complete", typed=values)
    answer = render(request, "touches/_touch_form.html", status_code=422, touch=touch, form=form,
                    touch_errors={touch.id: {"form": form, "errors": errors, "values": values}}, **choices)
    answer.headers.update({"HX-Retarget": f"#{form}-{touch_id}-form", "HX-Reswap": "outerHTML"})
    return answer


async def _crowded_by(db: Db, logged: Touch) -> str | None:
    """What a logged contact (a fact, always recorded) now crowds: open touches of the employer closer to
    it than the pacing gap, or a budget it used up; None when it fits."""
    counted = await budget.counted_dates(db, logged.employer_id)
    view = await budget.budget_view(db, logged.employer_id, logged.region_id, logged.planned_on, counted)
    policy = view.policy
    gap = dt.timedelta(days=policy.min_gap_days - 1)
    near = [] if policy.min_gap_days <= 0 else list(await db.execute(select(Touch.id, Touch.planned_on).where(
        Touch.employer_id == logged.employer_id, Touch.id != logged.id, Touch.status.in_(OPEN_TOUCH_VALUES),
        Touch.planned_on.between(logged.planned_on - gap, logged.planned_on + gap)).order_by(Touch.planned_on)))
    if near:
        which = ", ".join(f"#{t.id} ({t.planned_on:%-d %b})" for t in near)
        return (f"Touch{'es' if len(near) > 1 else ''} {which} now fall{'' if len(near) > 1 else 's'} within "
                f"{policy.min_gap_days} days of this contact, closer than the employer's pacing allows: "
                "reschedule or cancel if the conversation covered them")
    others = list(counted)
    if logged.planned_on in others:  # the logged contact itself (it counts, unless cancelled since)
        others.remove(logged.planned_on)
    if not is_allowed(replace(policy, do_not_contact=False, blackout=()), others, logged.planned_on):
        after = f" until {human_date(view.next_allowed)}" if view.next_allowed else ""
        return (f"This contact goes beyond the employer's pacing (at most {policy.max_touches} touches in "
                f"{policy.period_days} days, {days(policy.min_gap_days)} apart): new requests will be held{after}")
    if view.remaining <= 0:
        return "This contact used the employer's last pacing budget for the period: new requests will be held"
    return None


async def _outcomes_at_their_requests(db: Db, touch_id: int, asked: set[int],
                                      errors: dict[str, str]) -> dict[str, str]:
    """A request bundled onto the touch after its complete form was opened had no field in that form; the
    form sent back shows it, and the refusal (``routing.missing_outcome``) is said at its select instead of
    above the form."""
    late = await db.scalars(select(TouchRequest.id).where(TouchRequest.touch_id == touch_id,
                                                          TouchRequest.status.in_(("queued", "scheduled")),
                                                          TouchRequest.id.not_in(asked)))
    said = errors["outcomes"].split("; ")
    placed: dict[str, str] = {}
    for request_id in late:
        if (message := missing_outcome(request_id, form=True)) in said:
            placed[f"outcome_{request_id}"] = message
            said.remove(message)
    rest = {k: v for k, v in errors.items() if k != "outcomes"}
    return {**({"outcomes": "; ".join(said)} if said else {}), **rest, **placed}


class QueuePages(Controller):
    path = "/queue"
    guards = [requires_staff]
    include_in_schema = False

    @get("/")
    async def queue(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                    status: Annotated[str | None, Parameter(max_length=16)] = None, q: Query = None,
                    region: Annotated[str | None, Parameter(max_length=32)] = None,
                    who: Annotated[str | None, Parameter(max_length=16)] = None) -> Template:
        return await self._page(request, db, principal, status=status, q=q, region=region, who=who)

    async def _page(self, request: Request[Any, Any, Any], db: Db, principal: Principal, *,
                    status: str | None = None, q: str | None = None, region: str | None = None,
                    who: str | None = None, touch_errors: dict[int, dict[str, Any]] | None = None,
                    status_code: int = 200) -> Template:
        await reads_inline(db)  # a dozen short reads: cheaper in the loop's thread (crm.db.reads_inline)
        filter_errors: dict[str, str] = {}
        touches: list[Row]
        works_unassigned = principal.is_admin or bool(principal.regions_for(Role.lead))
        unassigned_total = 0
        try:
            if who not in (None, "", "unassigned"):
                raise FieldError("who", "must be everyone's or unassigned")
            only_unassigned = who == "unassigned"
            filters: dict[str, Any] = {"status": status, "q": q, "region": region or None}
            rows, total = await queue.queue_rows(db, principal, limit=QUEUE_PAGE, unassigned=only_unassigned,
                                                 **filters)
            touches = list(rows)
            held = await queue.held_requests(db, principal, q=q, region=region)
            if works_unassigned:
                # The page shows the first 200 touches by date; the unassigned among them may be a few
                # of the region's. The true count tells a lead when to look at the unassigned only.
                unassigned_total = total if only_unassigned else await (
                    await queue.queue_query(db, principal, unassigned=True, **filters)).total(db)
        except FieldError as exc:
            filter_errors, touches, total = dict(exc.fields), [], 0
            held = await queue.held_requests(db, principal)
        # Rows show no forms (fetched when opened) except one that comes back with its errors: that
        # row is the touch itself, with what its form shows.
        for i, t in enumerate(touches):
            if t.id in (touch_errors or {}):
                touches[i] = await queue.get_touch(db, principal, t.id, load=FORM_LOAD)
        # A touch acted on from outside this page's rows (a colleague's, or past the first 200) comes
        # back first, or its errors would be shown nowhere.
        shown = {t.id for t in touches}
        touches[:0] = [await queue.get_touch(db, principal, touch_id, load=FORM_LOAD)
                       for touch_id in (touch_errors or {}) if touch_id not in shown]
        today = _today()
        assigned = [t for t in touches if t.spoc_id is not None]
        unassigned = [t for t in touches if t.spoc_id is None]
        region_choices = await led_regions(db, principal)
        matches, matches_total = await match.waiting(db, _staff_regions(principal))
        return render(
            request, "touches/queue.html", partial="touches/_touches.html", status_code=status_code,
            groups=group_by_urgency(assigned, today), unassigned=unassigned, rows=touches, total=total,
            limit=QUEUE_PAGE,
            **_held_context(principal, held),
            matches=matches, matches_total=matches_total,
            filters={"status": status or "", "q": q or "", "region": region or "", "who": who or ""},
            filter_errors=filter_errors, unassigned_total=unassigned_total, works_unassigned=works_unassigned,
            statuses=["open", *[s.value for s in TouchStatus]], region_choices=region_choices,
            touch_errors=touch_errors or {}, **await _card_notes(db, touches),
            away_state=await queue.away_state(db, principal), **await _declined(db, principal),
            **await _choices(db, principal, touches, forms=bool(touch_errors), typed=next(
                (e["values"] for e in (touch_errors or {}).values()), None)))

    async def _settle(self, request: Request[Any, Any, Any], db: Db, principal: Principal, hand_off_id: int,
                      pass_on: bool) -> Template | Redirect:
        form = await form_data(request)
        typed = {"to_org": form.get("to_org", "").strip(), "need": form.get("need", ""),
                 "to_person": form.get("to_person", "")}
        try:
            if pass_on:
                wrong: list[tuple[str, str]] = []
                org = await _hand_off_to(db, typed["to_org"], typed["need"], wrong)
                to_user_id = _gather(wrong, _person, typed["to_person"], "to_user_id")
                if org is None or wrong:
                    raise FieldError(*wrong[0], *wrong[1:])
                data = _struct(PassOnIn, to_org_id=org.id, to_user_id=to_user_id, need=typed["need"])
                h = await workflow.pass_on_hand_off(db, principal, hand_off_id, data, clock.now())
                message = f"Hand-off #{hand_off_id} passed on to {await _whom(db, org, to_user_id)} (hand-off #{h.id})"
            else:
                await workflow.let_go_hand_off(db, principal, hand_off_id, clock.now())
                message = f"Hand-off #{hand_off_id} let go"
        except HTTPException as exc:
            if exc.status_code not in (403, 404, 409, 422):
                raise
            await db.rollback()
            errors = dict(exc.fields) if isinstance(exc, FieldError) else {"form": exc.detail}
            if request.headers.get("hx-request"):
                return render(request, "touches/_declined.html", status_code=exc.status_code,
                              **await _declined(db, principal, errors={hand_off_id: errors},
                                                values={hand_off_id: typed}))
            flash(request, f"Hand-off #{hand_off_id}: {'; '.join(errors.values())}", "error")
            return redirect(request, "/queue")
        if request.headers.get("hx-request"):
            return render(request, "touches/_declined.html", done_message=message, **await _declined(db, principal))
        flash(request, message, "ok")
        return redirect(request, "/queue")

    @post("/hand-offs/{hand_off_id:int}/pass-on")
    async def pass_on(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                      hand_off_id: PathId) -> Template | Redirect:
        return await self._settle(request, db, principal, hand_off_id, True)

    @post("/hand-offs/{hand_off_id:int}/let-go")
    async def let_go(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                     hand_off_id: PathId) -> Template | Redirect:
        return await self._settle(request, db, principal, hand_off_id, False)

    @post("/away")
    async def set_away(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template | Redirect:
        """The SPOC's own away toggle (SPEC §3.5): htmx gets the notice back, a plain post the queue."""
        form = await form_data(request)
        away = form.get("away") == "1"
        errors: dict[str, str] = {}
        returned = 0
        try:
            _, returned = await auth_service.set_away(db, principal, principal.id, away)
        except HTTPException as exc:
            errors = await refused(db, exc, "away")
        state = await queue.away_state(db, principal)
        message = errors.get("away") or (state.marked_words() if away and state else
                                         "Welcome back: your new touches come to you again" + back_words(returned))
        if request.headers.get("hx-request"):
            return render(request, "touches/_away.html", status_code=422 if errors else 200,
                          away_state=state, away_errors=errors, done_message=None if errors else message)
        flash(request, message, "error" if errors else "ok")
        return redirect(request, "/queue")

    @get("/touches/{touch_id:int}")
    async def touch_page(self, request: Request[Any, Any, Any], db: Db, principal: Me, touch_id: PathId) -> Template:
        """One touch with every action's form open (what a queue row links to without JavaScript)."""
        touch = await queue.get_touch(db, principal, touch_id, load=FORM_LOAD)
        return render(request, "touches/touch.html", touch=touch, touch_errors={},
                      **await _card_notes(db, [touch]),
                      **await _choices(db, principal, [touch]))

    @get("/touches/{touch_id:int}/forms/{form:str}")
    async def touch_form(self, request: Request[Any, Any, Any], db: Db, principal: Me, touch_id: PathId,
                         form: FromPath[str]) -> Template:
        """One action's form for a queue row, fetched by htmx when the row's action is first opened."""
        if form not in FORMS:
            raise NotFoundException(f"No {form!r} form; one of {', '.join(FORMS)}")
        touch = await queue.get_touch(db, principal, touch_id,
                                      load=FORM_LOAD if form in ("schedule", "complete") else ())
        choices = await _choices(db, principal, [touch], forms=form == "complete")
        if form == "reassign" and not choices["candidates"].get(touch.region_id):
            raise NotFoundException(f"Touch #{touch.id} offers you no reassign form (leads of its region only)")
        if touch.status not in OPEN_TOUCH_VALUES:
            form = "closed"  # someone else closed it meanwhile: say so instead of a form that would fail
        return render(request, "touches/_touch_form.html", touch=touch, form=form, touch_errors={}, **choices)

    async def _refused(self, request: Request[Any, Any, Any], db: Db, principal: Principal, touch_id: int,
                       exc: HTTPException, form: str, values: dict[str, str],
                       errors: dict[str, str] | None = None) -> Template:
        """The row (htmx) or the page with ``form`` open showing ``errors`` (those of ``exc`` if not given)."""
        if errors is None:
            errors = await refused(db, exc)
        if request.headers.get("hx-request"):
            if exc.status_code == 422 and "form" not in errors:
                alone = await _refused_form(request, db, principal, touch_id, form, errors, values)
                if alone is not None:
                    return alone
            return await _row(request, db, principal, touch_id, errors, form, values, status_code=exc.status_code)
        return await self._page(request, db, principal, status_code=exc.status_code,
                                touch_errors={touch_id: {"form": form, "errors": errors, "values": values}})

    async def _done(self, request: Request[Any, Any, Any], db: Db, principal: Principal, touch_id: int,
                    message: str, *, with_held: bool = False, regroup: bool = False) -> Template | Redirect:
        if request.headers.get("hx-request"):
            row = await _row(request, db, principal, touch_id, with_held=with_held, done_message=message)
            if regroup:
                # Once the row is in, the queue body reloads itself (_touches.html): a scheduled or
                # reassigned touch may now belong to another group. A completed or cancelled row
                # stays as it is, showing what was done, until the next load.
                row.headers["HX-Trigger-After-Settle"] = "queue-changed"
            return row
        flash(request, message)
        return redirect(request, "/queue")

    @post("/requests/{request_id:int}/match")
    async def match_request(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                            request_id: PathId) -> Template | Redirect:
        """Say which employer a ``needs_match`` request meant (a candidate, any employer by number, or a
        new one from what the partner typed); htmx gets the row back saying what became of it."""
        form = await form_data(request)
        try:
            create = form.get("create") == "1"
            employer_id = None if create else parse_id(form.get("employer_id", ""))
            if not create and employer_id is None:
                raise FieldError("employer_id", "give the employer's number (a whole number from 1)")
            req, _ = await match.confirm_match(db, principal, request_id, employer_id, now=clock.now())
            out = await request_out_of(db, req)
        except HTTPException as exc:
            errors = await refused(db, exc)
            if not request.headers.get("hx-request"):
                flash(request, f"Request #{request_id}: {next(iter(errors.values()))}", "error")
                return redirect(request, "/queue")
            rows, _ = await match.waiting(db, _staff_regions(principal), request_id=request_id)
            return render(request, "touches/_match_row.html", status_code=exc.status_code,
                          m=rows[0] if rows else {"id": request_id}, errors=errors,
                          done=None if rows else exc.detail)
        message = f"{out.employer_name}: {out.decision}"
        if not request.headers.get("hx-request"):
            flash(request, f"Request #{request_id} matched — {message}")
            return redirect(request, "/queue")
        row = render(request, "touches/_match_row.html", m={"id": request_id}, errors={},
                     done=f"matched — {message}", touch_id=out.touch_id,
                     done_message=f"Request #{request_id} matched — {message}")
        # The queue reloads around it: the counts, and the touch the request joined or opened.
        row.headers["HX-Trigger-After-Settle"] = "queue-changed"
        return row

    @post("/touches/{touch_id:int}/schedule")
    async def schedule(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       touch_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        ticked = await _keep_ticked(request, form)
        try:
            wrong: list[tuple[str, str]] = []  # every field the form got wrong, said at once
            when = _gather(wrong, _when, form.get("scheduled_on", ""), form.get("scheduled_time", ""))
            if form.get("channel", "") not in CHANNELS:
                wrong.append(("channel", "choose how you will contact them"))
            contact_ids = _gather(wrong, _ints, ticked, "contact_ids")
            if wrong:
                raise FieldError(*wrong[0], *wrong[1:])
            data = _struct(ScheduleIn, scheduled_at=when, channel=form.get("channel", ""),
                           override_reason=form.get("override_reason") or None, contact_ids=contact_ids,
                           outside_window=bool(form.get("outside_window")), seen=form.get("seen") or None)
            touch = await workflow.schedule(db, principal, touch_id, data, clock.now())
        except HTTPException as exc:
            if isinstance(exc, FieldError) and form.get("scheduled_on", "").strip() == _today().isoformat():
                # Today, only the hour can be past: said at the time, not the date.
                exc.fields = [("scheduled_time" if f == "scheduled_at" else f, m) for f, m in exc.fields]
            return await self._refused(request, db, principal, touch_id, exc, "schedule", form)
        return await self._done(request, db, principal, touch_id,
                                f"Touch #{touch_id} scheduled for {fmt_datetime(touch.scheduled_at)}", regroup=True)

    @post("/touches/{touch_id:int}/complete")
    async def complete(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       touch_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        # A form that listed no contacts leaves the touch's contacts as they are.
        listed = bool(form.pop("contacts_listed", ""))
        form.pop("contact_ids", None)
        ticked = await _keep_ticked(request, form) if listed else []
        # Each request's outcome select says itself that it still needs a choice.
        # A field named after something that is not a request id is no outcome (forms carry other fields).
        asked = {k: request_id for k in form if k.startswith("outcome_") and (request_id := parse_id(k[8:]))}
        handed = TypedHandOffs()
        try:
            wrong = [(k, "choose an outcome for this request") for k in asked if not form[k].strip()]
            outcomes = [{"request_id": request_id, "outcome": form[k], "note": form.get(f"note_{k[8:]}", "")}
                        for k, request_id in asked.items()]
            handed = await typed_hand_offs(db, form, wrong)
            if not form.get("channel") and await db.scalar(
                    select(Touch.id).where(Touch.id == touch_id, Touch.channel.is_(None))) is not None:
                # Never scheduled: nothing says yet how the contact happened (the reports count channels).
                wrong.append(("channel", workflow.CHANNEL_NEEDED))
            contact_ids = _gather(wrong, _ints, ticked, "contact_ids") if listed else None
            if wrong:
                raise FieldError(*wrong[0], *wrong[1:])
            data = _struct(CompleteIn, outcomes=outcomes, notes=form.get("notes", ""), hand_offs=handed.hand_offs,
                           channel=form.get("channel") or None, contact_ids=contact_ids)
            planned = await db.scalar(select(Touch.planned_on).where(Touch.id == touch_id))
            touch = await workflow.complete(db, principal, touch_id, data, clock.now(), form=True)
        except HTTPException as exc:
            errors = await refused(db, handed.at_slots(exc))
            if "outcomes" in errors:
                errors = await _outcomes_at_their_requests(db, touch_id, set(asked.values()), errors)
            return await self._refused(request, db, principal, touch_id, exc, "complete", form, errors)
        said = f"Touch #{touch_id} completed{handed.said()}"
        # Reached before its day, the contact counts today (a fact, recorded): say what it now crowds, as
        # logging a contact does -- another appointment of the employer too close to it, or a spent budget.
        if planned is not None and touch.planned_on < planned and (crowded := await _crowded_by(db, touch)):
            said += f". {crowded}"
        return await self._done(request, db, principal, touch_id, said)

    @post("/touches/{touch_id:int}/cancel")
    async def cancel(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                     touch_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            wrong: list[tuple[str, str]] = []  # every mistake at once
            reason = form.get("reason", "").strip()
            if not reason:
                wrong.append(("reason", "say why, the requesters are told"))
            then = form.get("then", "hold")
            if then not in ("hold", "decline"):
                wrong.append(("then", "choose to hold or to decline the requests"))
            hold_until = (form.get("hold_until") or None) if then == "hold" else None
            if hold_until is not None:
                horizon = _today() + dt.timedelta(days=HOLD_HORIZON_DAYS)
                try:
                    if not _today() < dt.date.fromisoformat(hold_until) <= horizon:
                        wrong.append(("hold_until", "must be after today and within a year"))
                except ValueError:
                    wrong.append(("hold_until", "is not a date"))
            if wrong:
                raise FieldError(*wrong[0], *wrong[1:])
            data = _struct(CancelIn, reason=reason, hold_until=hold_until, decline_requests=then == "decline",
                           pause_employer=form.get("pause_employer") == "1")
            touch = await workflow.cancel(db, principal, touch_id, data, clock.now())
        except HTTPException as exc:
            return await self._refused(request, db, principal, touch_id, exc, "cancel", form)
        said = f"Touch #{touch_id} cancelled"
        if data.pause_employer:  # said, or the SPOC would not know the employer's blackout dates grew
            said += (f"; no contact with {touch.employer.legal_name} through "
                     f"{human_date(workflow.pause_until(data, _today()))} (added to its blackout dates)")
        return await self._done(request, db, principal, touch_id, said, with_held=True)

    @post("/touches/{touch_id:int}/reassign")
    async def reassign(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       touch_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            data = _struct(ReassignIn, spoc_id=_ints([form.get("spoc_id", "")], "spoc_id")[0],
                           reason=form.get("reason") or None, seen=form.get("seen") or None)
            done = await workflow.reassign(db, principal, touch_id, data, clock.now())
        except HTTPException as exc:
            return await self._refused(request, db, principal, touch_id, exc, "reassign", form)
        return await self._done(request, db, principal, touch_id, done.said, regroup=True)

    @post("/requests/{request_id:int}/release")
    async def release_request(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                              request_id: PathId) -> Template | Redirect:
        """A lead's "Release now" on a held request (crm.touches.release.release_now); refused, the request's
        page again with the problem at the form and the reason typed kept."""
        form = await form_data(request)
        try:
            req = await release_now(db, principal, request_id, form.get("reason", ""), clock.now())
            out = await request_out_by_id(db, req.id)
        except HTTPException as exc:
            errors = await refused(db, exc)  # rolled back; anything but 409/422 is raised again
            return await request_page(request, db, principal, request_id, status_code=exc.status_code,
                                      release={**errors, "typed": form.get("reason", "")})
        flash(request, f"Request #{request_id} released: {out.decision}")
        return redirect(request, "/queue")

    @get("/log")
    async def log_form(self, request: Request[Any, Any, Any], db: Db,
                       employer_id: QueryId = None) -> Template:
        # The form's one-time key: sending this form again (a double-click, Back and submit) logs nothing new.
        return await self._log_form(request, db, {"employer_id": str(employer_id or ""),
                                                  "occurred_on": _today().isoformat(),
                                                  "form_key": secrets.token_urlsafe(16)}, {})

    async def _log_form(self, request: Request[Any, Any, Any], db: Db, values: dict[str, str],
                        errors: dict[str, str], status_code: int = 200,
                        choices: list[Candidate] | None = None) -> Template:
        employer_id = parse_id(values.get("employer_id"))
        employer = await db.get(Employer, employer_id) if employer_id is not None else None
        if employer is not None and not values.get("employer_name"):
            values = {**values, "employer_name": employer.display_name}
        contacts = list(await db.scalars(select(EmployerContact).where(EmployerContact.employer_id == employer.id)
                                         .order_by(EmployerContact.name))) if employer is not None else []
        return render(request, "touches/queue_log.html", status_code=status_code, values=values, errors=errors,
                      employer=employer, contacts=contacts, channels=[c.value for c in Channel],
                      choices=choices or [], **await hand_off_choices(db, values))

    @post("/log")
    async def log_touch(self, request: Request[Any, Any, Any], db: Db, principal: Me) -> Template | Redirect:
        form = await form_data(request)
        ticked = await _keep_ticked(request, form)
        choices: list[Candidate] = []
        handed = TypedHandOffs()
        try:
            # employer_choice: the list offered when the name was sent without a pick (no JavaScript).
            employer_id = parse_id(form.get("employer_id", "")) or parse_id(form.get("employer_choice", ""))
            missing: list[tuple[str, str]] = []  # every field's problem at once, not one per submit
            typed = form.get("employer_name", "").strip()
            if employer_id is None and typed and not form.get("employer_id", "").strip():
                # Only employers the user may log contacts with: those of their own regions.
                choices = [c for c, _ in await match_candidates(db, EmployerQuery(name=typed), limit=12)
                           if principal.can_in_region(c.region_id, Role.lead, Role.spoc)][:6]
                missing.append(("employer_id", "choose which employer you mean" if choices
                                else "no employer on file matches this name; check its spelling"))
            elif employer_id is None:
                missing.append(("employer_id", "choose from the list" if form.get("employer_id", "").strip()
                                else "is required"))
            if form.get("channel", "") not in CHANNELS:
                missing.append(("channel", "choose how the contact happened"))
            contact_ids = _gather(missing, _ints, ticked, "contact_ids")
            if not form.get("occurred_on", "").strip():
                missing.append(("occurred_on", "is required"))
            elif (day := _gather(missing, _day, form.get("occurred_on", ""), "occurred_on")) is not None:
                missing += workflow.occurred_on_problems(day, _today())
            handed = await typed_hand_offs(db, form, missing)
            if missing:
                raise FieldError(*missing[0], *missing[1:])
            assert employer_id is not None
            data = _struct(LogTouchIn, employer_id=employer_id, channel=form.get("channel", ""),
                           notes=form.get("notes", ""), occurred_on=_day(form.get("occurred_on", ""), "occurred_on"),
                           contact_ids=contact_ids or [], hand_offs=handed.hand_offs)
            logged = await log_touch_once(db, principal, data, clock.now(), form.get("form_key", "")[:200] or None)
        except HTTPException as exc:
            if exc.status_code not in (403, 409, 422):
                raise
            await db.rollback()
            exc = handed.at_slots(exc)
            errors = dict(exc.fields) if isinstance(exc, FieldError) else {"form": exc.detail}
            conflict = exc.status_code == 409
            if "Idempotency-Key" in errors:  # Back, changed, sent again: the first contact is logged already
                errors = {"form": "This form was already sent and its contact is logged. To log another contact, "
                                  "check the form and send it again."}
                form, conflict = {**form, "form_key": secrets.token_urlsafe(16)}, True
            if exc.status_code == 403:  # an employer of a region the user does not work: say so at the field
                errors = {"employer_id": "this employer is in a region you do not work; log it in your own region"}
            if "region" in errors:
                errors["employer_id"] = errors.pop("region")
            return await self._log_form(request, db, form, errors, status_code=409 if conflict else 403
                                        if exc.status_code == 403 else 422, choices=choices)
        out = logged.touch()
        # A repeat answers as the first did: the same message and page, about the one touch logged.
        flash(request, f"Logged a {out.channel} with {out.employer_name}: it counts toward the budget"
                       + (f"{handed.said()} (touch #{out.id})" if out.hand_offs else ""))
        touch = await db.get_one(Touch, out.id)
        if crowded := await _crowded_by(db, touch):
            flash(request, crowded, "warn")
        return redirect(request, f"/employers/{out.employer_id}")

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
        note = form.get("note", "")[:2000]
        errors: dict[int, str] = {}
        status_code = 200
        try:
            h = await workflow.respond_hand_off(db, principal, hand_off_id, accept, note, clock.now())
            message = f"Hand-off from {h.from_user.name} about {h.employer.legal_name} {h.status}"  # as with htmx
        except HTTPException as exc:
            if exc.status_code not in (409, 422):
                raise
            await db.rollback()
            errors[hand_off_id] = exc.fields[0][1] if isinstance(exc, FieldError) else exc.detail
            status_code, message = exc.status_code, errors[hand_off_id]
            if note.strip() and exc.status_code == 409:  # answered in another tab: the note typed here was not sent
                message += f"; your note was not sent: {note.strip()}"
        if request.headers.get("hx-request"):
            rows, _ = await list_hand_offs(db, principal, received_only=not principal.is_admin, limit=100)
            # The row shows the refusal (and the note typed, not sent) whatever its state now is; an answer
            # given is said in the page's live region, and its row gets the focus.
            return render(request, "touches/_handoffs.html", status_code=status_code, hand_offs=rows,
                          hand_off_reach=await hand_off_reach(db, principal, rows),
                          hand_off_errors=errors, hand_off_notes={hand_off_id: note} if errors else {},
                          hand_off_done=None if errors else hand_off_id)
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
        raise FieldError(validation_path(exc) or "form", field_message(str(exc))) from None


def _gather(wrong: list[tuple[str, str]], check: Callable[..., T], *args: Any) -> T | None:
    """``check(*args)``, or None with its field errors added to ``wrong`` (to say them all at once)."""
    try:
        return check(*args)
    except FieldError as exc:
        wrong.extend(exc.fields)
        return None


def _ints(values: list[Any], field: str) -> list[int]:
    out = []
    for v in values:
        if (number := parse_id(v if isinstance(v, str) else None)) is None:
            raise FieldError(field, "choose from the list")
        out.append(number)
    return out


def _person(value: str, field: str) -> int | None:
    """The person a hand-off form's select chose (its id), None for anyone at the organization."""
    if not value.strip():
        return None
    if (number := parse_id(value.strip())) is None:
        raise FieldError(field, "choose from the list")
    return number


async def _whom(db: Db, org: OrgRow, to_user_id: int | None) -> str:
    """"East LA College", or "Pat Partner at East LA College" for a hand-off naming a person."""
    name = await db.scalar(select(User.name).where(User.id == to_user_id)) if to_user_id is not None else None
    return f"{name} at {org.name}" if name else org.name


def _day(value: str, field: str) -> dt.date:
    if not value.strip():
        raise FieldError(field, "is required")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise FieldError(field, "is not a date (YYYY-MM-DD)") from None


def _when(day: str, time: str) -> dt.datetime:
    wrong: list[tuple[str, str]] = []
    on = _gather(wrong, _day, day, "scheduled_on")
    if on is not None and abs((on - _today()).days) > 2 * HOLD_HORIZON_DAYS:  # before date arithmetic overflows
        wrong.append(("scheduled_on", "must not be in the past" if on < _today() else "must be within the next year"))
    at = None
    try:
        at = dt.time.fromisoformat(time.strip()) if time.strip() else None
    except ValueError:
        wrong.append(("scheduled_time", "is not a time (HH:MM)"))
    else:
        if at is None:
            wrong.append(("scheduled_time", "is required"))
    if on is not None and at is not None and not wrong and clock.skipped_hour(dt.datetime.combine(on, at)):
        wrong.append(("scheduled_time", clock.SKIPPED_HOUR))
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    assert on is not None and at is not None
    return clock.local_instant(on, at)
