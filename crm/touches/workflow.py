"""The SPOC workflow (SPEC §3, issue 3): schedule, complete, cancel, reassign, log, hand-offs.

Each public function is one transaction's worth of work in the caller's session: it takes the
write lock (SQLite) or the employer row lock (PostgreSQL, the same row intake serializes on), checks
role and region scope, asks the pure core whether the transition is legal, writes the change, an
audit event carrying ``employer_id`` (so it shows on the employer's timeline) and an outbox
message for every requester concerned. Refusals raise before anything is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import clock
from crm.audit import service as audit
from crm.auth.models import Role, RoleGrant, User
from crm.auth.principal import Principal
from crm.db import begin_write, lock_row
from crm.directory.models import Organization
from crm.directory.service import region_id_for
from crm.employers.models import Employer, EmployerContact, EmployerStatus, SpocAssignment
from crm.employers.schemas import AssignIn
from crm.employers.service import active_assignment, assign_spoc, lock_employer, lock_employer_of
from crm.errors import Conflict, FieldConflict, FieldError
from crm.notify.models import OutboxMessage
from crm.notify.service import page_link
from crm.seen import Changed, digest, instant, last_change
from crm.templating import sentence, words
from crm.touches import budget
from crm.touches.assign import eligible_spoc, hold_user
from crm.touches.models import EmployerBlackout, HandOff, Touch, TouchRequest
from crm.touches.requests import cancelled_hold, human_date
from crm.touches.routing import (
    HOLD_HORIZON_DAYS,
    Channel,
    Outcome,
    RoutingError,
    TouchAction,
    TouchStatus,
    blackout_of,
    earliest_allowed_date,
    is_allowed,
    transition_request,
    transition_touch,
    validate_outcomes,
)
from crm.touches.touch_schemas import CancelIn, CompleteIn, HandOffIn, LogTouchIn, PassOnIn, ReassignIn, ScheduleIn

# Requests still riding on a touch (held ones have left it, closed ones are done).
_ON_TOUCH = ("queued", "scheduled")
# A cancelled touch's requests wait this long by default before the release job may put them on a
# new touch: released the next night, the touch would repeat the one just called off.
CANCEL_HOLD_DAYS = 7
# How far in the past a scheduled time may be: the minutes a SPOC spends filling in the form.
SCHEDULE_GRACE = dt.timedelta(minutes=15)


# ---------------------------------------------------------------- shared steps


def require_region_staff(actor: Principal, region_id: int) -> None:
    """SPOCs and leads work only their own region's touches; admins any."""
    if not actor.can_in_region(region_id, Role.lead, Role.spoc):
        raise PermissionDeniedException("Only SPOCs and leads of this touch's region may work it")


async def _touch_for_update(db: AsyncSession, actor: Principal, touch_id: int, *,
                            giving_to: int | None = None) -> Touch:
    """The touch under its row lock and its employer's. ``giving_to``: the user the touch is about to be given,
    whose row is share-locked first (``assign.hold_user``: user rows before employer rows)."""
    await begin_write(db)
    found = (await db.execute(select(Touch.region_id).where(Touch.id == touch_id))).first()
    if found is None:
        raise NotFoundException(f"Touch #{touch_id} not found")
    require_region_staff(actor, found.region_id)
    if giving_to is not None:
        await hold_user(db, giving_to)
    await lock_employer_of(db, lambda: db.scalar(select(Touch.employer_id).where(Touch.id == touch_id)))
    touch = await db.scalar(select(Touch).where(Touch.id == touch_id).with_for_update(of=Touch)
                            .execution_options(populate_existing=True))
    assert touch is not None
    return touch


async def _riding(db: AsyncSession, touch: Touch) -> list[TouchRequest]:
    rows = await db.scalars(select(TouchRequest).where(TouchRequest.touch_id == touch.id,
                                                       TouchRequest.status.in_(_ON_TOUCH))
                            .order_by(TouchRequest.id).execution_options(populate_existing=True))
    return list(rows)


def _transition(touch: Touch, action: TouchAction) -> str:
    try:
        return transition_touch(TouchStatus(touch.status), action).value
    except RoutingError as exc:
        raise Conflict(f"Touch #{touch.id}: {exc.message}") from None


def _channel(value: str | None, field: str = "channel") -> str | None:
    if value is None:
        return None
    if value not in {c.value for c in Channel}:
        raise FieldError(field, f"must be one of {', '.join(c.value for c in Channel)}")
    return value


async def _contacts(db: AsyncSession, employer_id: int, ids: Sequence[int]) -> list[EmployerContact]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = list(await db.scalars(select(EmployerContact).where(EmployerContact.id.in_(wanted),
                                                                EmployerContact.employer_id == employer_id)))
    if missing := sorted(set(wanted) - {c.id for c in found}):
        raise FieldError("contact_ids", f"contact(s) {missing} are not people at this employer")
    return found


def notify(db: AsyncSession, to_email: str, subject: str, body: str, now: dt.datetime) -> None:
    """Queue one notification e-mail; the outbox job delivers it with retry."""
    db.add(OutboxMessage(to_email=to_email, subject=subject[:250], body=body, next_attempt_at=now))


def _by_requester(requests: Iterable[TouchRequest]) -> dict[str, list[TouchRequest]]:
    """Requests by their requester's e-mail address, in order: one e-mail each."""
    out: dict[str, list[TouchRequest]] = {}
    for r in requests:
        out.setdefault(r.requester.email, []).append(r)
    return out


def tell_requesters(db: AsyncSession, requests: Iterable[TouchRequest], subject: str, body: str,
                     now: dt.datetime) -> None:
    """One e-mail per requester, naming each of their requests ``body`` is about."""
    for email, theirs in _by_requester(requests).items():
        named = ", ".join(f"#{r.id} ({words(r.purpose)})" for r in theirs)
        notify(db, email, subject, f"Your request{'s' if len(theirs) > 1 else ''} {named}: {body}"
               + page_link(f"/requests/{theirs[0].id}"), now)


def _move_requests(db: AsyncSession, actor: Principal, requests: Iterable[TouchRequest], action: str,
                   employer_id: int, touch_id: int | None = None, note: str | None = None) -> None:
    for r in requests:
        before = r.status
        r.status = transition_request(r.status, action).value  # type: ignore[arg-type]
        audit.record(db, actor, f"touch_request.{action}", "touch_request", r.id, employer_id=employer_id,
                     before={"status": before}, after={"status": r.status, "touch_id": touch_id}, note=note)


def _spoc_name(touch: Touch) -> str:
    return touch.spoc.name if touch.spoc else "the region's SPOC team"


# ---------------------------------------------------------------- schedule


def schedule_seen(touch: Touch) -> str:
    """The digest of what a schedule form shows of the touch (``crm.seen``): its appointment and its owner."""
    return digest([touch.status, touch.spoc_id, instant(touch.scheduled_at), touch.channel,
                   sorted(c.id for c in touch.contacts)])


# The hour a new appointment's form suggests; later today, the next quarter hour from now.
DEFAULT_SCHEDULE_TIME = dt.time(10, 0)
END_OF_WORKING_DAY = dt.time(17, 0)


def schedule_default(touch: Touch, now: dt.datetime) -> tuple[dt.date, dt.time]:
    """The California day and time a schedule form starts from: the appointment as it is (a default hour
    silently moved every appointment rescheduled to another day), else the planned day at 10:00; never a
    moment already past, which ``schedule`` would refuse. Today past 10:00, the next quarter hour; from
    the end of the working day, the next weekday's 10:00 (a form opened in the evening offered 18:15, which
    stayed when the SPOC picked another day)."""
    local_now = clock.local(now)
    if touch.status == TouchStatus.SCHEDULED and touch.scheduled_at is not None:
        appointment = clock.local(touch.scheduled_at)
        day, at = appointment.date(), appointment.time().replace(second=0, microsecond=0)
    else:
        day, at = touch.planned_on, DEFAULT_SCHEDULE_TIME
    if day < local_now.date():
        day = local_now.date()
    if day == local_now.date() and at <= local_now.time():
        minutes = (local_now.hour * 60 + local_now.minute) // 15 * 15 + 15
        if minutes >= END_OF_WORKING_DAY.hour * 60:
            day += dt.timedelta(days=1)
            while day.weekday() >= 5:  # Saturday, Sunday
                day += dt.timedelta(days=1)
            return day, DEFAULT_SCHEDULE_TIME
        at = dt.time(minutes // 60, minutes % 60)
    return day, at


async def _changed_since_seen(db: AsyncSession, touch: Touch,
                              again: str = "schedule again only to replace that") -> Changed:
    """The refusal of a schedule or reassign form older than the touch's last schedule or reassignment,
    saying which (``again``: what sending the refreshed form does)."""
    change = await last_change(db, "touch", touch.id, ("touch.schedule", "touch.reassign"))
    owner = touch.spoc.name if touch.spoc else "no one (it is unassigned)"
    if change.action == "touch.reassign":
        what = f"Touch #{touch.id} now belongs to {owner} (reassigned by {change.by})"
    elif touch.status == TouchStatus.SCHEDULED.value and touch.scheduled_at is not None:
        what = (f"Touch #{touch.id} was scheduled meanwhile by {change.by}: {touch.channel} on "
                f"{clock.local(touch.scheduled_at):%-d %b %Y %H:%M %Z} with {owner}")
    else:
        what = f"Touch #{touch.id} changed since this form was shown (last by {change.by})"
    return Changed(f"{what}. Nothing was changed; the form now shows the touch as it is: {again}.")


async def schedule(db: AsyncSession, actor: Principal, touch_id: int, data: ScheduleIn,
                   now: dt.datetime) -> Touch:
    """Queued/scheduled → scheduled on a date the pacing budget allows (a lead may override with a reason)."""
    touch = await _touch_for_update(db, actor, touch_id)
    new_status = _transition(touch, "schedule")
    # A form from before someone else's schedule or reassignment would silently replace their appointment.
    if data.seen and data.seen != schedule_seen(touch):
        raise await _changed_since_seen(db, touch)
    channel = _channel(data.channel)
    today = clock.local_date(now)
    # Bounded before any date arithmetic (a year-9999 time would overflow it): a touch is planned
    # within the pacing horizon, a year and a day past today's.
    if abs((data.scheduled_at.date() - today).days) > 2 * HOLD_HORIZON_DAYS:
        raise FieldError("scheduled_at", "must be within the next year")
    if clock.skipped_hour(data.scheduled_at):
        raise FieldError("scheduled_at", clock.SKIPPED_HOUR)
    when = clock.as_instant(data.scheduled_at)  # a naive time is California wall time
    day = clock.local_date(when)
    # Today's earlier hours are past too; a few minutes' grace for a form filled in slowly.
    if day < today or when < now - SCHEDULE_GRACE:
        raise FieldError("scheduled_at", f"must not be in the past (it is {clock.local(now):%H:%M %Z} now)"
                         if day == today else "must not be in the past")
    if day > today + dt.timedelta(days=HOLD_HORIZON_DAYS):
        raise FieldError("scheduled_at", "must be within the next year")
    contacts = await _contacts(db, touch.employer_id, data.contact_ids)
    override = (data.override_reason or "").strip() or None
    if touch.employer.do_not_contact:
        raise Conflict(f"{touch.employer.legal_name} asked not to be contacted")
    policy = await budget.load_policy(db, touch.employer_id, touch.region_id)
    dates = await budget.counted_dates(db, touch.employer_id)
    if touch.planned_on in dates:  # moving this touch must not count against itself
        dates.remove(touch.planned_on)
    overridden = False
    # A lead's override the touch already carries approved its planned day: a time on that day keeps it.
    standing = touch.override_reason is not None and day == touch.planned_on
    if not standing and not is_allowed(policy, dates, day):
        blackout = blackout_of(policy, day)
        if override is None or not actor.can_in_region(touch.region_id, Role.lead):
            nxt = earliest_allowed_date(policy, dates, today, today + dt.timedelta(days=HOLD_HORIZON_DAYS))
            hint = f"; the next allowed date is {human_date(nxt)}" if nxt else ""
            if touch.override_reason is not None:
                hint += f"; the lead's override approved {human_date(touch.planned_on)} only"
            who = "" if actor.can_in_region(touch.region_id, Role.lead) else " (a region lead may override)"
            why = (f"falls in {touch.employer.legal_name}'s blackout dates ({human_date(blackout[0])} – "
                   f"{human_date(blackout[1])}: they asked not to be contacted then)" if blackout
                   else "breaks the employer's pacing budget")
            raise FieldConflict("scheduled_at", f"{human_date(day)} {why}{hint}{who}")
        if blackout:  # said on the touch and in the audit: the override of an employer's own wish stands out
            override = f"{override} (inside the employer's blackout dates)"
        touch.override_reason, overridden = override, True
    requests = await _riding(db, touch)
    outside = [r for r in requests if not r.window_start <= day <= r.window_end]
    if outside and not data.outside_window:
        spans = ", ".join(f"#{r.id} {human_date(r.window_start)} – {human_date(r.window_end)}" for r in outside)
        raise FieldError("scheduled_at", f"{human_date(day)} is outside the dates requesters asked for ({spans}); "
                                         "confirm to schedule it anyway, they are told")
    before = audit.snapshot(touch, ("status", "planned_on", "scheduled_at", "channel"))
    touch.status, touch.channel, touch.scheduled_at, touch.planned_on = new_status, channel, when, day
    touch.contacts = contacts
    # The request's history says the appointment (a reschedule read as a second bare "scheduled").
    appointment = f"{human_date(day)} at {clock.local(when):%H:%M %Z}, by {channel}"
    _move_requests(db, actor, requests, "schedule", touch.employer_id, touch.id,
                   note=f"moved to {appointment}" if before["status"] == TouchStatus.SCHEDULED.value else appointment)
    notes = [f"pacing override: {override}" if overridden else "",
             f"outside the dates of request(s) {', '.join(f'#{r.id}' for r in outside)}" if outside else ""]
    audit.record(db, actor, "touch.schedule", "touch", touch.id, employer_id=touch.employer_id, before=before,
                 after={**audit.snapshot(touch, ("status", "planned_on", "scheduled_at", "channel")),
                        "contact_ids": [c.id for c in contacts]},
                 note="; ".join(n for n in notes if n) or None)
    subject = f"Touch #{touch.id} with {touch.employer.legal_name} scheduled"
    said = (f"{_spoc_name(touch)} will contact {touch.employer.legal_name} by {channel} on {human_date(day)} "
            f"at {clock.local(when):%H:%M %Z}.")
    tell_requesters(db, [r for r in requests if r not in outside], subject, said, now)
    for r in outside:
        tell_requesters(db, [r], subject, f"{said} That is outside the dates you asked for "
                                           f"({human_date(r.window_start)} – {human_date(r.window_end)}).", now)
    if touch.spoc is not None and touch.spoc_id != actor.id:
        # A lead (or admin, or a colleague) booked it in the owner's name: the owner keeps the appointment.
        notify(db, touch.spoc.email, f"{actor.name} scheduled your touch #{touch.id} with {touch.employer.legal_name}",
               f"{actor.name} scheduled touch #{touch.id}, which is yours: you will contact "
               f"{touch.employer.legal_name} by {channel} on {human_date(day)} "
               f"({clock.local(when):%H:%M %Z}).", now)
    await db.flush()
    return touch


# ---------------------------------------------------------------- complete


CHANNEL_NEEDED = "say how the contact happened: this touch was never scheduled"


async def complete(db: AsyncSession, actor: Principal, touch_id: int, data: CompleteIn,
                   now: dt.datetime, *, form: bool = False) -> Touch:
    """→ completed with one outcome per bundled request; optional hand-offs to partner organizations;
    ``contact_ids``, when given, the employer's people the SPOC spoke with, in place of those the schedule
    noted (a touch completed without scheduling has none, and its hand-off's partner would have no one to
    reach). ``form``: the page's complete form sent it, and its refusals speak of that form."""
    touch = await _touch_for_update(db, actor, touch_id)
    new_status = _transition(touch, "complete")
    channel = _channel(data.channel)
    requests = await _riding(db, touch)
    wrong: list[tuple[str, str]] = []  # every problem at once
    if channel is None and touch.channel is None:
        # Never scheduled (reached before any appointment): nothing says yet how; the reports count channels.
        wrong.append(("channel", CHANNEL_NEEDED))
    given = {o.request_id: o for o in data.outcomes}
    if len(given) != len(data.outcomes):
        wrong.append(("outcomes", "one outcome per request, each request once"))
    else:
        try:
            validate_outcomes([r.id for r in requests], [(o.request_id, o.outcome) for o in data.outcomes],
                              form=form)
        except RoutingError as exc:
            wrong.append((exc.field, exc.message))
    # Left out, whom the schedule noted stands.
    contacts = await _checked_contacts(db, touch.employer_id, data.contact_ids, wrong) \
        if data.contact_ids is not None else None
    hand_offs = await _wanted_hand_offs(db, actor, touch.employer_id, data.hand_offs, wrong)
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    before = {**audit.snapshot(touch, ("status", "planned_on")), "contact_ids": sorted(c.id for c in touch.contacts)}
    touch.status, touch.completed_at = new_status, now
    # The budget counts the day the contact happened: the appointment day if it has passed,
    # otherwise (queued, or reached before the appointment) today.
    if touch.scheduled_at is None or touch.planned_on > clock.local_date(now):
        touch.planned_on = clock.local_date(now)
    touch.channel = channel or touch.channel
    touch.notes = data.notes.strip() or touch.notes
    if contacts is not None:
        touch.contacts = contacts
    for r in requests:
        o = given[r.id]
        r.outcome, r.outcome_note, r.closed_at = Outcome(o.outcome).value, o.note.strip() or None, now
    _move_requests(db, actor, requests, "complete", touch.employer_id, touch.id)
    audit.record(db, actor, "touch.complete", "touch", touch.id, employer_id=touch.employer_id, before=before,
                 after={"status": touch.status, "planned_on": touch.planned_on.isoformat(),
                        "contact_ids": sorted(c.id for c in touch.contacts),
                        "outcomes": {str(k): v.outcome for k, v in given.items()}})
    # One e-mail per requester: a partner whose several requests rode this touch reads their outcomes together.
    for email, theirs in _by_requester(requests).items():
        lines = [f"Your request #{r.id} ({words(r.purpose)}) was completed on touch #{touch.id}: {words(r.outcome)}."
                 + (f" Note from {actor.name}: {r.outcome_note}" if r.outcome_note else "") for r in theirs]
        notify(db, email, f"Outcome of your request{'s' if len(theirs) > 1 else ''} for {touch.employer.legal_name}",
               "\n\n".join(lines) + page_link(f"/requests/{theirs[0].id}"), now)
    await _add_hand_offs(db, actor, touch, hand_offs, now)
    return touch


async def _checked_contacts(db: AsyncSession, employer_id: int, contact_ids: Sequence[int],
                            wrong: list[tuple[str, str]]) -> list[EmployerContact]:
    """``_contacts``, its problem added to ``wrong`` (to be said with the body's others) instead of raised."""
    try:
        return await _contacts(db, employer_id, contact_ids)
    except FieldError as exc:
        wrong.extend(exc.fields)
        return []


async def _wanted_hand_offs(db: AsyncSession, actor: Principal, employer_id: int, wanted: Sequence[HandOffIn],
                            wrong: list[tuple[str, str]]) -> list[HandOff]:
    """The hand-offs a completed or a logged touch makes (its body's ``hand_offs``), checked: each problem is
    added to ``wrong`` under its field ("hand_offs[0].to_org_id"), to be said with the body's others. Not in
    the session yet: ``_add_hand_offs`` adds them to their touch once nothing was wrong."""
    out: list[HandOff] = []
    for i, w in enumerate(wanted):
        try:
            out.append(await _new_hand_off(db, actor, employer_id, f"hand_offs[{i}].", w.to_org_id, w.to_user_id,
                                           w.need))
        except FieldError as exc:
            wrong.extend(exc.fields)
    return out


async def _add_hand_offs(db: AsyncSession, actor: Principal, touch: Touch, hand_offs: Sequence[HandOff],
                         now: dt.datetime) -> None:
    """Write ``touch``'s new hand-offs (``_wanted_hand_offs``), audit each and tell its partner."""
    for h in hand_offs:
        h.touch_id = touch.id
    db.add_all(hand_offs)
    await db.flush()
    for h in hand_offs:
        await _hand_off_made(db, actor, touch, h, now)


async def _hand_off_made(db: AsyncSession, actor: Principal, touch: Touch, h: HandOff, now: dt.datetime) -> None:
    """Audit a new hand-off and tell its organization."""
    audit.record(db, actor, "hand_off.create", "hand_off", h.id, employer_id=touch.employer_id,
                 after={"touch_id": touch.id, "to_org_id": h.to_org_id, "to_user_id": h.to_user_id, "need": h.need,
                        **({"previous_id": h.previous_id} if h.previous_id is not None else {})})
    await tell_org(db, h, f"Hand-off from {actor.name}: {touch.employer.legal_name}",
                    f"{actor.name} handed you a need of {touch.employer.legal_name}: {h.need}\n"
                    "Accept or decline it on your My requests page.", now)


async def _new_hand_off(db: AsyncSession, actor: Principal, employer_id: int, prefix: str, to_org_id: int,
                        to_user_id: int | None, need: str) -> HandOff:
    """A hand-off of the employer's need, checked; its touch is for the caller to set. ``prefix`` of the
    fields an error names ("hand_offs[0]." in a complete or a logged touch, "" on its own)."""
    if await db.get(Organization, to_org_id) is None:
        raise FieldError(f"{prefix}to_org_id", f"organization #{to_org_id} does not exist")
    if to_user_id is not None:
        user = await db.get(User, to_user_id)
        if user is None or user.organization_id != to_org_id or not user.is_active:
            raise FieldError(f"{prefix}to_user_id", "must be an active person of that organization")
    if not need.strip():
        raise FieldError(f"{prefix}need", "is required")
    return HandOff(employer_id=employer_id, from_user_id=actor.id, to_org_id=to_org_id, to_user_id=to_user_id,
                   need=need.strip())


async def tell_org(db: AsyncSession, hand_off: HandOff, subject: str, body: str, now: dt.datetime) -> None:
    """Tell the hand-off's partner: the person it names, while active; else its organization's partners."""
    emails: list[str | None] = []
    if hand_off.to_user_id is not None:
        emails = [await db.scalar(select(User.email).where(User.id == hand_off.to_user_id, User.is_active.is_(True)))]
    if not any(emails):
        emails = list(await db.scalars(
            select(User.email).join(RoleGrant, RoleGrant.user_id == User.id)
            .where(User.organization_id == hand_off.to_org_id, User.is_active.is_(True),
                   RoleGrant.role == Role.partner.value).distinct().limit(20)))
    for email in emails:
        if email:
            notify(db, email, subject, body + page_link("/requests/#hand-offs"), now)


# ---------------------------------------------------------------- cancel


async def cancel(db: AsyncSession, actor: Principal, touch_id: int, data: CancelIn, now: dt.datetime) -> Touch:
    """→ cancelled. Its bundled requests are held (default: a week; ``hold_until``) or, when the SPOC
    says so (``decline_requests``), declined.

    A cancelled appointment does not make the partners' needs go away; holding them lets the
    held-release job bundle them into the next touch without anyone resubmitting. They wait at
    least until ``hold_until`` (a week by default), or a touch released the next night would
    repeat the one just called off. Declined when the SPOC says so, or when no date is allowed at
    all (do-not-contact, blackout over the whole horizon).
    """
    reason = data.reason.strip()
    if not reason:
        raise FieldError("reason", "is required")
    today = clock.local_date(now)
    if data.hold_until is not None:
        if data.decline_requests:
            raise FieldError("hold_until", "either hold the requests until a date or decline them, not both")
        if not today < data.hold_until <= today + dt.timedelta(days=HOLD_HORIZON_DAYS):
            raise FieldError("hold_until", "must be after today and within a year")
    touch = await _touch_for_update(db, actor, touch_id)
    touch.status = _transition(touch, "cancel")
    touch.cancelled_at, touch.cancel_reason = now, reason
    await db.flush()  # the cancelled touch gives its slot back before the release date is computed
    if data.pause_employer:
        await _pause_employer(db, actor, touch, reason, pause_until(data, today), today)
    requests = await _riding(db, touch)
    release = None
    if not data.decline_requests:
        policy = await budget.load_policy(db, touch.employer_id, touch.region_id)
        dates = await budget.counted_dates(db, touch.employer_id)
        start = data.hold_until or today + dt.timedelta(days=CANCEL_HOLD_DAYS)
        release = earliest_allowed_date(policy, dates, start, start + dt.timedelta(days=HOLD_HORIZON_DAYS))
    if release is not None:
        for r in requests:
            r.touch_id, r.release_on = None, release
            r.hold_reason = cancelled_hold(touch.id, reason)
        _move_requests(db, actor, requests, "hold", touch.employer_id,
                       note=f"touch #{touch.id} cancelled ({reason}); held until {human_date(release)}")
        told = (f"touch #{touch.id} with {touch.employer.legal_name} was cancelled ({reason}). "
                f"Your request is held and joins the next touch from {human_date(release)}.")
    else:
        for r in requests:
            r.decline_reason, r.closed_at = f"Touch cancelled: {reason}", now
        _move_requests(db, actor, requests, "decline", touch.employer_id, touch.id,
                       note=f"touch #{touch.id} cancelled ({reason})")
        why = "" if data.decline_requests else " and the employer cannot be contacted again for now"
        told = (f"touch #{touch.id} with {touch.employer.legal_name} was cancelled ({reason}){why}, so your "
                "request was declined.")
    audit.record(db, actor, "touch.cancel", "touch", touch.id, employer_id=touch.employer_id,
                 after={"status": touch.status, "held_until": release.isoformat() if release else None,
                        "request_ids": [r.id for r in requests]}, note=reason)
    tell_requesters(db, requests, f"Touch #{touch.id} with {touch.employer.legal_name} cancelled", told, now)
    await db.flush()
    return touch


def pause_until(data: CancelIn, today: dt.date) -> dt.date:
    """The last day of no contact a cancel with ``pause_employer`` adds: the eve of the requests' hold date."""
    return (data.hold_until or today + dt.timedelta(days=CANCEL_HOLD_DAYS)) - dt.timedelta(days=1)


async def _pause_employer(db: AsyncSession, actor: Principal, touch: Touch, reason: str, until: dt.date,
                          today: dt.date) -> None:
    """The employer asked for no contact until ``until`` (a SPOC cancelling says so): blackout dates, which
    intake, scheduling and the release job already respect; queued touches planned then move out. Under
    the employer's row lock the touch was read with."""
    from crm.touches.preferences import replan_out_of_blackouts  # preferences reads this module's helpers

    why = f"touch #{touch.id} cancelled: {reason}"[:200]
    db.add(EmployerBlackout(employer_id=touch.employer_id, starts_on=today, ends_on=until, reason=why))
    audit.record(db, actor, "employer.blackout", "employer", touch.employer_id, employer_id=touch.employer_id,
                 after={"blackout": [today.isoformat(), until.isoformat()]}, note=why)
    await db.flush()
    await replan_out_of_blackouts(db, actor, touch.employer)


# ---------------------------------------------------------------- reassign


@dataclass(frozen=True, slots=True)
class Reassigned:
    """A reassigned touch, and the employer's SPOC assignment the reassignment made (None: a one-off)."""

    touch: Touch
    assignment: SpocAssignment | None

    @property
    def said(self) -> str:
        owner = self.touch.spoc.name if self.touch.spoc else "unassigned"
        done = f"Touch #{self.touch.id} is now {owner}'s"
        if self.touch.spoc is not None and self.touch.spoc.away:  # the form's "(away)" is easy to miss
            done += f" (note: {owner} is marked away)"
        if self.assignment is None:
            return done
        return (f"{done}, and {owner} is now {self.touch.employer.legal_name}'s SPOC in "
                f"{self.assignment.region.code}: its next requests go to them")


async def reassign(db: AsyncSession, actor: Principal, touch_id: int, data: ReassignIn,
                   now: dt.datetime) -> Reassigned:
    """Give an open touch to another SPOC or lead of its region. A touch of an employer with a SPOC there
    is a one-off (the employer's assignment is unchanged); an unassigned touch of an employer without one
    also makes that person the employer's SPOC, in the same transaction (SPEC §3.5: sticky once assigned,
    so the employer's next request does not go back to the unassigned queue).

    Leads only (SPEC §1: assigning and reassigning SPOCs, and the unassigned queue, are the lead's).
    """
    touch = await _touch_for_update(db, actor, touch_id, giving_to=data.spoc_id)
    was_unassigned = touch.spoc_id is None
    if not actor.can_in_region(touch.region_id, Role.lead):
        raise PermissionDeniedException("Only a lead of this touch's region may reassign it")
    _transition(touch, "reassign")
    # A form from before another lead's reassignment (or the owner's appointment) would silently undo it.
    if data.seen and data.seen != schedule_seen(touch):
        raise await _changed_since_seen(db, touch, again="reassign again to hand it over anyway")
    spoc = await eligible_spoc(db, data.spoc_id, touch.region_id)
    if spoc.id == touch.spoc_id:
        raise FieldError("spoc_id", f"{spoc.name} already has this touch")
    before = {"spoc_id": touch.spoc_id}
    touch.spoc_id = spoc.id
    await db.flush()
    await db.refresh(touch, ["spoc"])
    audit.record(db, actor, "touch.reassign", "touch", touch.id, employer_id=touch.employer_id, before=before,
                 after={"spoc_id": spoc.id, "spoc": spoc.name}, note=(data.reason or "").strip() or None)
    notify(db, spoc.email, f"Touch #{touch.id} with {touch.employer.legal_name} is now yours",
           f"{actor.name} reassigned touch #{touch.id} to you.", now)
    tell_requesters(db, await _riding(db, touch), f"New SPOC for touch #{touch.id}",
                     sentence(f"{spoc.name} now handles your touch with {touch.employer.legal_name}"), now)
    assignment = None
    if was_unassigned and await active_assignment(db, touch.employer_id, touch.region_id) is None:
        await db.refresh(touch, ["region"])
        why = (data.reason or "").strip()
        # assign_spoc audits it (spoc.assign) and hands the employer's other unassigned touches here over too.
        assignment = await assign_spoc(db, actor, touch.employer_id, AssignIn(
            region=touch.region.code, spoc_id=spoc.id, replaces_assignment_id=None,
            reason=f"given unassigned touch #{touch.id}" + (f": {why}" if why else "")), now)
    return Reassigned(touch, assignment)


# ---------------------------------------------------------------- log an unsolicited touch


def occurred_on_problems(day: dt.date, today: dt.date) -> list[tuple[str, str]]:
    """What is wrong with the day a logged touch happened (the log form says it with its other mistakes)."""
    if day > today:
        return [("occurred_on", "must be today or earlier (log a touch once it has happened)")]
    if day < today - dt.timedelta(days=366):
        return [("occurred_on", "must be within the last year")]
    return []


async def log_touch(db: AsyncSession, actor: Principal, data: LogTouchIn, now: dt.datetime) -> Touch:
    """Record a contact that already happened (the employer called in); it counts toward the budget. Its
    ``hand_offs`` go to partner organizations in the same transaction, as a completed touch's do."""
    await begin_write(db)
    return await logged_touch(db, actor, data, now)


async def logged_touch(db: AsyncSession, actor: Principal, data: LogTouchIn, now: dt.datetime) -> Touch:
    """``log_touch`` in a write transaction the caller began (``begin_write``), e.g. after checking its key."""
    employer = await db.get(Employer, data.employer_id)
    if employer is None:
        raise FieldError("employer_id", f"employer #{data.employer_id} does not exist")
    if data.region:
        region_id = await region_id_for(db, data.region)
    elif employer.region_id is None:
        raise FieldError("region", "is required for an employer without a region")
    else:
        region_id = employer.region_id
    require_region_staff(actor, region_id)
    # Locked before its status is read: a merge holding the row has then finished, and its tombstone
    # is refused rather than given a touch its survivor's budget would never count.
    await lock_employer(db, employer.id)
    await db.refresh(employer, ["status", "merged_into_id"])
    if employer.status == EmployerStatus.merged:
        raise Conflict(f"Employer #{employer.id} was merged into #{employer.merged_into_id}; log it there")
    wrong = occurred_on_problems(data.occurred_on, clock.local_date(now))  # every problem at once, as complete
    channel = data.channel
    try:
        _channel(channel)
    except FieldError as exc:
        wrong[:0] = exc.fields
    contacts = await _checked_contacts(db, employer.id, data.contact_ids, wrong)
    # The employer's need handed to a partner while the call is fresh, as completing a touch does.
    hand_offs = await _wanted_hand_offs(db, actor, employer.id, data.hand_offs, wrong)
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])
    day = data.occurred_on
    touch = Touch(employer_id=employer.id, region_id=region_id, spoc_id=actor.id, status=TouchStatus.COMPLETED.value,
                  source="logged", channel=channel, window_start=day, window_end=day, planned_on=day,
                  completed_at=now, notes=data.notes.strip() or None, created_by_id=actor.id, contacts=contacts)
    db.add(touch)
    await db.flush()
    audit.record(db, actor, "touch.log", "touch", touch.id, employer_id=employer.id,
                 after={"status": touch.status, "source": "logged", "channel": channel, "planned_on": day.isoformat(),
                        "region_id": region_id})
    await db.refresh(touch, ["employer", "region", "spoc", "requests"])
    await _add_hand_offs(db, actor, touch, hand_offs, now)
    # Someone else reached the employer of a SPOC: its SPOC learns it (the contact counts on their budget).
    owner = await db.scalar(select(User).join(SpocAssignment, SpocAssignment.spoc_id == User.id).where(
        SpocAssignment.employer_id == employer.id, SpocAssignment.region_id == region_id,
        SpocAssignment.ended_at.is_(None)))
    if owner is not None and owner.id != actor.id:
        notify(db, owner.email, f"{actor.name} logged a {channel} with {employer.legal_name}",
               f"{actor.name} logged a {channel} with {employer.legal_name}, whose SPOC you are, on "
               f"{human_date(day)} (touch #{touch.id}). It counts toward the employer's pacing budget."
               + (f"\nNotes: {touch.notes}" if touch.notes else ""), now)
    return touch


# ---------------------------------------------------------------- hand-off responses


async def _answered(db: AsyncSession, hand_off: HandOff) -> str:
    """"Hand-off #1 was already accepted by Ana Ruiz on 3 March 2027" (who and when, as far as known)."""
    by = await db.scalar(select(User.name).where(User.id == hand_off.responded_by_id)) \
        if hand_off.responded_by_id is not None else None
    return (f"Hand-off #{hand_off.id} was already {hand_off.status}" + (f" by {by}" if by else "")
            + (f" on {human_date(clock.local_date(hand_off.responded_at))}" if hand_off.responded_at else ""))


async def respond_hand_off(db: AsyncSession, actor: Principal, hand_off_id: int, accept: bool, note: str,
                           now: dt.datetime) -> HandOff:
    """The receiving organization's partner accepts or declines a pending hand-off."""
    await begin_write(db)
    # Its employer first, as a merge locks it before moving the hand-off (crm.employers.service.lock_employer_of).
    await lock_employer_of(db, lambda: db.scalar(select(HandOff.employer_id).where(HandOff.id == hand_off_id)))
    hand_off = await lock_row(db, HandOff, hand_off_id)
    if hand_off is None:
        raise NotFoundException(f"Hand-off #{hand_off_id} not found")
    receiving = actor.has(Role.partner) and actor.organization_id == hand_off.to_org_id
    if not (receiving or actor.is_admin):
        raise PermissionDeniedException("Only the receiving organization may answer this hand-off")
    if hand_off.status != "pending":
        raise Conflict(await _answered(db, hand_off))
    note = note.strip()
    if not accept and not note:
        raise FieldError("note", "say why you decline, so the SPOC can find someone else")
    hand_off.status = "accepted" if accept else "declined"
    hand_off.response_note, hand_off.responded_by_id, hand_off.responded_at = note or None, actor.id, now
    audit.record(db, actor, "hand_off.accept" if accept else "hand_off.decline", "hand_off", hand_off.id,
                 employer_id=hand_off.employer_id, before={"status": "pending"},
                 after={"status": hand_off.status}, note=note or None)
    notify(db, hand_off.from_user.email, f"Hand-off #{hand_off.id} {hand_off.status}",
           f"{actor.name} ({actor.organization_name or 'admin'}) {hand_off.status} your hand-off for "
           f"{hand_off.employer.legal_name}: {hand_off.need}" + (f"\nNote: {note}" if note else "")
           + page_link("/queue/hand-offs"), now)
    await db.flush()
    return hand_off


# ---------------------------------------------------------------- declined hand-offs


async def _declined_for_update(db: AsyncSession, actor: Principal, hand_off_id: int) -> tuple[HandOff, Touch | None]:
    """A declined hand-off not yet settled, locked, if ``actor`` may settle it: whoever made it (still staff of
    its touch's region), a lead of that region, an admin."""
    await begin_write(db)
    # The employer first, as a merge locks it (then moves the hand-offs): passing on inserts a hand-off
    # naming the employer, which waited for a merge holding the employer while the merge waited for this
    # hand-off, a deadlock.
    await lock_employer_of(db, lambda: db.scalar(select(HandOff.employer_id).where(HandOff.id == hand_off_id)))
    h = await lock_row(db, HandOff, hand_off_id)
    if h is None:
        raise NotFoundException(f"Hand-off #{hand_off_id} not found")
    touch = await db.get(Touch, h.touch_id) if h.touch_id is not None else None
    region_id = touch.region_id if touch is not None else None
    if not (actor.is_admin or (region_id is not None and (
            actor.can_in_region(region_id, Role.lead)
            or (h.from_user_id == actor.id and actor.can_in_region(region_id, Role.spoc))))):
        raise PermissionDeniedException("Only the SPOC who made this hand-off or a lead of its touch's region "
                                        "may pass it on or let it go")
    if h.status != "declined":
        raise Conflict(f"Hand-off #{h.id} is {h.status}: only a declined hand-off is passed on or let go")
    if h.settled_at is not None:
        passed = await db.scalar(select(HandOff).where(HandOff.previous_id == h.id).order_by(HandOff.id.desc()))
        raise Conflict(f"Hand-off #{h.id} was already passed on to {passed.to_org.name} (hand-off #{passed.id})"
                       if passed is not None else f"Hand-off #{h.id} was already let go")
    return h, touch


async def pass_on_hand_off(db: AsyncSession, actor: Principal, hand_off_id: int, data: PassOnIn,
                           now: dt.datetime) -> HandOff:
    """The need of a declined hand-off handed to another partner organization (its need as it was, unless
    reworded): a new hand-off naming the declined one, which is settled."""
    declined, touch = await _declined_for_update(db, actor, hand_off_id)
    if touch is None:
        raise Conflict(f"Hand-off #{declined.id}'s touch was deleted: make a new request of the employer instead")
    if data.to_org_id == declined.to_org_id:
        raise FieldError("to_org_id", f"{declined.to_org.name} declined it: choose another partner organization")
    new = await _new_hand_off(db, actor, touch.employer_id, "", data.to_org_id, data.to_user_id,
                              declined.need if data.need is None else data.need)
    new.touch_id, new.previous_id = touch.id, declined.id
    declined.settled_at = now
    db.add(new)
    await db.flush()
    audit.record(db, actor, "hand_off.pass_on", "hand_off", declined.id, employer_id=declined.employer_id,
                 after={"passed_on_as": new.id, "to_org_id": new.to_org_id})
    await _hand_off_made(db, actor, touch, new, now)
    await db.refresh(new)
    return new


async def let_go_hand_off(db: AsyncSession, actor: Principal, hand_off_id: int, now: dt.datetime) -> HandOff:
    """A declined hand-off the SPOC will not pass on (no partner fits, the employer moved on): settled."""
    declined, _ = await _declined_for_update(db, actor, hand_off_id)
    declined.settled_at = now
    audit.record(db, actor, "hand_off.let_go", "hand_off", declined.id, employer_id=declined.employer_id)
    await db.flush()
    return declined
