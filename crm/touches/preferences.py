"""An employer's own contact preferences (SPEC §2 Employer, §3.4): stricter pacing, a preferred
channel and blackout dates, set by the SPOCs and leads of its region (admins anywhere).

Routing already obeys them (``budget.load_policy`` tightens the region's policy with them and
blocks blackout days); this is where people say them. A preference can only make pacing stricter:
a value looser than the region's is kept but has no effect, and ``effective`` says what applies.
Saving replaces the whole set, under the employer's row lock like every pacing decision; a form (or
API client) that says what it ``seen`` is refused with 409 when someone saved meanwhile (``crm.seen``):
replacing the whole set from a stale page would silently drop their blackout days. Touches
already queued or scheduled stay where they are; new requests and held releases follow the new
preferences.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import JSONBody
from litestar.response import Redirect, Template
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock, seen
from crm.audit import service as audit
from crm.auth.guards import requires_crm_user, requires_staff
from crm.auth.principal import Principal
from crm.db import begin_write
from crm.deps import Db, Me, PathId
from crm.directory.models import Region
from crm.employers.models import Employer
from crm.employers.pages import employer_page
from crm.employers.panels import employer_panel
from crm.employers.service import can_edit, lock_employer
from crm.errors import Conflict, FieldError, validation_path
from crm.templating import days, fmt_date
from crm.touches.budget import counted_dates, load_policy
from crm.touches.models import OPEN_TOUCH_VALUES, EmployerBlackout, EmployerPacing, Touch, TouchRequest
from crm.touches.pacing import MAX_PERIOD_DAYS, most_touches_per_period
from crm.touches.release import recheck_held, share_held_regions
from crm.touches.routing import Channel, blackout_of, earliest_allowed_date
from crm.touches.timeline import timeline_panel
from crm.touches.touch_schemas import ChannelStr, HeldRecheck
from crm.web import field_message, flash, form_data, is_htmx, redirect, refused, render

# How far from today a blackout may lie: a typo like 2062 is refused instead of stored.
BLACKOUT_YEARS = 3
BLANK_ROWS = 2  # empty blackout rows the form offers for new dates


class BlackoutIn(msgspec.Struct, forbid_unknown_fields=True):
    starts_on: dt.date
    ends_on: dt.date
    reason: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    """The whole set; a number left out (null) means "as the region's policy"."""

    max_touches: Annotated[int, msgspec.Meta(ge=1, le=MAX_PERIOD_DAYS)] | None = None
    period_days: Annotated[int, msgspec.Meta(ge=1, le=MAX_PERIOD_DAYS)] | None = None
    min_gap_days: Annotated[int, msgspec.Meta(ge=0, le=MAX_PERIOD_DAYS)] | None = None
    preferred_channel: ChannelStr | None = None
    blackouts: Annotated[list[BlackoutIn], msgspec.Meta(max_length=50)] = []
    seen: seen.Seen | None = None  # what the form or client read (crm.seen); optional


class EffectiveOut(msgspec.Struct):
    region: str
    max_touches: int
    period_days: int
    min_gap_days: int


class MovedTouch(msgspec.Struct):
    id: int
    planned_on: dt.date


class PreferencesOut(msgspec.Struct):
    employer_id: int
    max_touches: int | None
    period_days: int | None
    min_gap_days: int | None
    preferred_channel: str | None
    blackouts: list[BlackoutIn]
    do_not_contact: bool
    effective: EffectiveOut | None  # in the employer's own region; None while it has none
    # Open touches planned on a blackout day: a scheduled one (an appointment) is its SPOC's to move;
    # a queued one whose window has an allowed day was moved there by this save (``moved``).
    touches_in_blackouts: list[int] = []
    moved: list[MovedTouch] = []
    held: HeldRecheck | None = None  # after a PUT that changed the pacing: its held requests decided again
    seen: str = ""  # send it back with the next PUT to be refused rather than overwrite someone's change


def _seen(own: EmployerPacing | None, channel: str | None, blackouts: list[EmployerBlackout]) -> str:
    """The digest of everything a save replaces (``crm.seen``)."""
    return seen.digest([own.max_touches if own else None, own.period_days if own else None,
                        own.min_gap_days if own else None, channel,
                        [[b.starts_on, b.ends_on, b.reason] for b in blackouts]])


async def _employer(db: AsyncSession, principal: Principal, employer_id: int) -> Employer:
    employer = await db.get(Employer, employer_id)
    if employer is None or employer.status == "merged":
        raise NotFoundException(f"Employer #{employer_id} not found")
    if not can_edit(principal, employer):
        raise PermissionDeniedException("Only SPOCs and leads of the employer's region set its contact preferences")
    return employer


async def get_preferences(db: AsyncSession, employer: Employer) -> PreferencesOut:
    own = await db.scalar(select(EmployerPacing).where(EmployerPacing.employer_id == employer.id))
    blackouts = list(await db.scalars(select(EmployerBlackout).where(EmployerBlackout.employer_id == employer.id)
                                      .order_by(EmployerBlackout.starts_on, EmployerBlackout.id)))
    effective = None
    if employer.region_id is not None:
        policy = await load_policy(db, employer.id, employer.region_id)
        code = await db.scalar(select(Region.code).where(Region.id == employer.region_id))
        effective = EffectiveOut(region=code or "", max_touches=policy.max_touches,
                                 period_days=policy.period_days, min_gap_days=policy.min_gap_days)
    open_touches = (await db.execute(select(Touch.id, Touch.planned_on).where(
        Touch.employer_id == employer.id, Touch.status.in_(OPEN_TOUCH_VALUES)).order_by(Touch.planned_on))).all()
    clashing = [t.id for t in open_touches if any(b.starts_on <= t.planned_on <= b.ends_on for b in blackouts)]
    return PreferencesOut(
        touches_in_blackouts=clashing, employer_id=employer.id, max_touches=own.max_touches if own else None,
        period_days=own.period_days if own else None, min_gap_days=own.min_gap_days if own else None,
        preferred_channel=employer.preferred_channel,
        blackouts=[BlackoutIn(b.starts_on, b.ends_on, b.reason) for b in blackouts],
        do_not_contact=employer.do_not_contact, effective=effective,
        seen=_seen(own, employer.preferred_channel, blackouts))


def _problems(data: PreferencesIn, today: dt.date) -> list[tuple[str, str]]:
    """Every problem of the set at once, each naming its field."""
    wrong: list[tuple[str, str]] = []
    if data.preferred_channel is not None and data.preferred_channel not in {c.value for c in Channel}:
        wrong.append(("preferred_channel", f"must be one of {', '.join(c.value for c in Channel)}"))
    if None not in (data.max_touches, data.period_days, data.min_gap_days):
        assert data.max_touches is not None and data.period_days is not None and data.min_gap_days is not None
        most = most_touches_per_period(data.period_days, data.min_gap_days)
        if data.max_touches > most:
            wrong.append(("max_touches", f"only {most} {'touch fits' if most == 1 else 'touches fit'} in "
                                         f"{data.period_days} days {days(data.min_gap_days)} apart: allow fewer "
                                         "touches, or change the days or the gap"))
    sound: list[BlackoutIn] = []  # the periods so far with no problem of their own
    for i, b in enumerate(data.blackouts):
        overlapped = next((a for a in sound if b.starts_on <= a.ends_on and a.starts_on <= b.ends_on), None)
        if problem := _blackout_problem(b.starts_on, b.ends_on, today):
            wrong.append((f"blackouts[{i}].{problem[0]}", problem[1]))
        elif (a := overlapped) is not None:
            # Two periods sharing days are one period entered twice (or a typo): say so, keep neither guess.
            wrong.append((f"blackouts[{i}].starts_on", f"overlaps the period {fmt_date(a.starts_on)} – "
                                                       f"{fmt_date(a.ends_on)}: make them one period"))
        else:
            sound.append(b)
    return wrong


def _blackout_problem(starts_on: dt.date, ends_on: dt.date, today: dt.date) -> tuple[str, str] | None:
    """What is wrong with one blackout period, as (its field, the message), or None."""
    reach = dt.timedelta(days=366 * BLACKOUT_YEARS)  # not date.replace(year=...): 29 February has no twin
    earliest, latest = today - reach, today + reach
    if not earliest <= starts_on <= latest:
        return "starts_on", f"must be within {BLACKOUT_YEARS} years of today"
    if not earliest <= ends_on <= latest:
        return "ends_on", f"must be within {BLACKOUT_YEARS} years of today"
    if ends_on < starts_on:
        return "ends_on", "must be on or after the first day"
    if (ends_on - starts_on).days >= MAX_PERIOD_DAYS:
        return "ends_on", "a blackout of a year or more: mark the employer do-not-contact instead"
    return None


def _said(p: PreferencesOut) -> dict[str, Any]:
    return {"max_touches": p.max_touches, "period_days": p.period_days, "min_gap_days": p.min_gap_days,
            "preferred_channel": p.preferred_channel,
            "blackouts": [f"{b.starts_on.isoformat()} – {b.ends_on.isoformat()}" for b in p.blackouts]}


async def set_preferences(db: AsyncSession, actor: Principal, employer_id: int, data: PreferencesIn) -> PreferencesOut:
    await begin_write(db)
    employer = await _employer(db, actor, employer_id)
    wrong = _problems(data, clock.today())
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    # The settings of the regions its held requests wait in, shared before the employer's lock (as intake):
    # the recheck below may open touches there, and a lead's change of those settings must not decide past it.
    held_in = await share_held_regions(db, TouchRequest.employer_id == employer.id)
    await lock_employer(db, employer.id)  # pacing decisions read these under the same lock
    # Read again under the lock: the employer row was read before it (its preferred channel), and a merge
    # committed meanwhile moved its preferences to the survivor (they would stay on the tombstone).
    await db.refresh(employer)
    if employer.status == "merged":
        raise Conflict(f"{employer.legal_name} was merged into employer #{employer.merged_into_id} meanwhile: "
                       "set the preferences there")
    before = await get_preferences(db, employer)
    if data.seen and data.seen != before.seen:
        who = (await seen.last_change(db, "employer", employer.id, ("employer.preferences",))).by
        raise seen.Changed(f"{employer.legal_name}'s contact preferences were changed meanwhile by {who}: "
                           "nothing was saved. What is saved now is shown; your entries are kept below — "
                           "check them against it and save again.")
    own = await db.scalar(select(EmployerPacing).where(EmployerPacing.employer_id == employer.id))
    numbers = (data.max_touches, data.period_days, data.min_gap_days)
    if all(n is None for n in numbers):
        if own is not None:
            await db.delete(own)
    else:
        if own is None:
            own = EmployerPacing(employer_id=employer.id)
            db.add(own)
        own.max_touches, own.period_days, own.min_gap_days = numbers
    await db.execute(delete(EmployerBlackout).where(EmployerBlackout.employer_id == employer.id))
    db.add_all(EmployerBlackout(employer_id=employer.id, starts_on=b.starts_on, ends_on=b.ends_on,
                                reason=(b.reason or "").strip() or None)
               for b in sorted(data.blackouts, key=lambda b: (b.starts_on, b.ends_on)))
    employer.preferred_channel = data.preferred_channel
    await db.flush()
    moved = await replan_out_of_blackouts(db, actor, employer)
    after = await get_preferences(db, employer)
    after.moved = moved
    was, now = _said(before), _said(after)
    changed = [k for k in now if now[k] != was[k]]
    if set(changed) - {"preferred_channel"}:
        # The requests held by the old limits or blackout days wait for the new ones' days.
        after.held = await recheck_held(db, clock.now(), f"{employer.legal_name}'s contact preferences changed",
                                        employer_id=employer.id, regions=held_in)
    if changed:
        audit.record(db, actor, "employer.preferences", "employer", employer.id, employer_id=employer.id,
                     before={k: was[k] for k in changed}, after={k: now[k] for k in changed})
    return after


async def replan_out_of_blackouts(db: AsyncSession, actor: Principal, employer: Employer) -> list[MovedTouch]:
    """Queued touches (no appointment yet: their day is only a plan) planned on a blackout day move to
    the first day their window and the budget allow, never into the past; audited as ``touch.replan``."""
    today = clock.today()
    queued = list(await db.scalars(select(Touch).where(
        Touch.employer_id == employer.id, Touch.status == "queued").order_by(Touch.planned_on, Touch.id)))
    if not queued:
        return []
    dates = await counted_dates(db, employer.id)
    moved = []
    policies: dict[int, Any] = {}
    for touch in queued:
        policy = policies.get(touch.region_id) or await load_policy(db, employer.id, touch.region_id)
        policies[touch.region_id] = policy
        if blackout_of(policy, touch.planned_on) is None:
            continue
        others = list(dates)
        others.remove(touch.planned_on)
        day = earliest_allowed_date(policy, others, max(touch.window_start, today), touch.window_end)
        if day is None:
            continue  # no allowed day in its window: pointed out, the SPOC decides
        audit.record(db, actor, "touch.replan", "touch", touch.id, employer_id=employer.id,
                     before={"planned_on": touch.planned_on.isoformat()}, after={"planned_on": day.isoformat()},
                     note="out of the employer's blackout dates")
        dates = [*others, day]
        touch.planned_on = day
        moved.append(MovedTouch(touch.id, day))
    await db.flush()
    return moved


# ---------------------------------------------------------------- API


class PreferencesApi(Controller):
    path = "/api/employers/{employer_id:int}/preferences"
    tags = ["employers"]
    guards = [requires_staff]

    @get()
    async def read(self, db: Db, principal: Me, employer_id: PathId) -> PreferencesOut:
        """The employer's own contact preferences and what pacing applies in its region."""
        return await get_preferences(db, await _employer(db, principal, employer_id))

    @put()
    async def replace(self, db: Db, principal: Me, employer_id: PathId,
                      data: JSONBody[PreferencesIn]) -> PreferencesOut:
        """Replace the whole set (numbers left out follow the region; blackouts not sent are removed)."""
        return await set_preferences(db, principal, employer_id, data)


# ---------------------------------------------------------------- page


@employer_panel(order=15)
async def preferences_panel(db: AsyncSession, viewer: Principal, employer: Employer) -> dict[str, Any] | None:
    """The employer page's contact preferences, for those who may set them."""
    if employer.status == "merged" or not can_edit(viewer, employer):
        return None
    return await _panel(db, employer)


async def _panel(db: AsyncSession, employer: Employer, errors: dict[str, str] | None = None,
                 values: dict[str, Any] | None = None, saved: PreferencesOut | None = None,
                 stale: bool = False) -> dict[str, Any]:
    prefs = saved or await get_preferences(db, employer)  # what was just saved is read already
    rows = values["blackouts"] if values else [
        {"starts_on": b.starts_on.isoformat(), "ends_on": b.ends_on.isoformat(), "reason": b.reason or ""}
        for b in prefs.blackouts]
    blank = {"starts_on": "", "ends_on": "", "reason": ""}
    return {"template": "touches/_preferences.html", "prefs": prefs, "pref_employer": employer,
            "pref_errors": errors or {}, "pref_values": values, "pref_saved": saved is not None,
            "pref_stale": stale,
            "blackout_rows": [*rows, *([blank] * BLANK_ROWS)], "channels": [c.value for c in Channel]}


NUMBER_LOW = {"max_touches": 1, "period_days": 1, "min_gap_days": 0}


def _form_number(value: str, field: str, wrong: list[tuple[str, str]]) -> int | None:
    value = value.strip()
    if not value:
        return None
    low = NUMBER_LOW[field]
    if not (value.isascii() and value.isdigit() and len(value) <= 4) or not low <= int(value) <= MAX_PERIOD_DAYS:
        wrong.append((field, f"must be a whole number from {low} to {MAX_PERIOD_DAYS} (or blank: as the region)"))
        return None
    return int(value)


class PreferencesPages(Controller):
    path = "/employers"
    include_in_schema = False
    guards = [requires_crm_user]

    @post("/{employer_id:int}/preferences")
    async def save(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                   employer_id: PathId) -> Template | Redirect:
        raw = await request.form()
        form = await form_data(request)
        starts, ends, reasons = (list(raw.getall(k, [])) for k in ("starts_on", "ends_on", "reason"))
        rows = [{"starts_on": str(s).strip(), "ends_on": str(e).strip(), "reason": str(r).strip()}
                for s, e, r in zip(starts, ends, reasons + [""] * (len(starts) - len(reasons)), strict=False)]
        rows = [r for r in rows if r["starts_on"] or r["ends_on"] or r["reason"]]
        values: dict[str, Any] = {k: form.get(k, "") for k in ("max_touches", "period_days", "min_gap_days",
                                                               "preferred_channel")}
        values["blackouts"] = rows
        try:
            employer = await _employer(db, principal, employer_id)
            # Every mistake of the form at once: numbers, channel and pacing together, then each row.
            wrong: list[tuple[str, str]] = []
            numbers = {k: _form_number(values[k], k, wrong) for k in ("max_touches", "period_days", "min_gap_days")}
            channel = values["preferred_channel"] or None
            wrong += _problems(PreferencesIn(max_touches=numbers["max_touches"], period_days=numbers["period_days"],
                                             min_gap_days=numbers["min_gap_days"], preferred_channel=channel),
                               clock.today())
            blackouts = []
            for i, r in enumerate(rows):
                if not r["starts_on"] and not r["ends_on"]:
                    wrong.append((f"blackouts[{i}].starts_on", "give the first and last day, or clear the reason"))
                    continue
                days = {}
                for k in ("starts_on", "ends_on"):
                    try:
                        days[k] = dt.date.fromisoformat(r[k])
                    except ValueError:
                        wrong.append((f"blackouts[{i}].{k}", "choose a day" if not r[k] else "is not a date"))
                if len(days) == 2:
                    if problem := _blackout_problem(days["starts_on"], days["ends_on"], clock.today()):
                        wrong.append((f"blackouts[{i}].{problem[0]}", problem[1]))
                    blackouts.append({**days, "reason": r["reason"][:200] or None})
            if wrong:
                raise FieldError(*wrong[0], *wrong[1:])
            try:
                data = msgspec.convert({**numbers, "preferred_channel": values["preferred_channel"] or None,
                                        "blackouts": blackouts, "seen": form.get("seen") or None}, PreferencesIn)
            except msgspec.ValidationError as exc:
                raise FieldError(validation_path(exc) or "form", field_message(str(exc))) from None
            saved = await set_preferences(db, principal, employer_id, data)
        except HTTPException as exc:
            errors = await refused(db, exc)  # rolled back; anything but 409/422 is raised again
            employer = await _employer(db, principal, employer_id)
            panel = await _panel(db, employer, errors, values, stale=isinstance(exc, seen.Changed))
            if not is_htmx(request):  # posted without JavaScript: the whole page, this panel as it was sent
                return await employer_page(request, db, principal, employer_id, status_code=exc.status_code,
                                           panel=panel)
            return render(request, "touches/_preferences.html", status_code=exc.status_code, panel=panel)
        if not is_htmx(request):
            flash(request, f"Contact preferences of {employer.legal_name} saved")
            return redirect(request, f"/employers/{employer_id}#preferences")
        # The timeline and budget beside the panel show the touches it moved and the new pacing at once.
        return render(request, "touches/_preferences_saved.html", panel=await _panel(db, employer, saved=saved),
                      timeline=await timeline_panel(db, principal, employer))
