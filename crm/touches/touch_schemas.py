"""API bodies for the SPOC side: touches, their workflow actions, hand-offs, timeline, region policy."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from crm.employers.schemas import ContactOut, SpocOut
from crm.ids import Id
from crm.openapi import choice
from crm.seen import Seen
from crm.touches.pacing import MAX_PERIOD_DAYS
from crm.touches.routing import Channel, Outcome

Note = Annotated[str, msgspec.Meta(max_length=4000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
ChannelStr = Annotated[str, choice(Channel, max_length=16)]
Ids = Annotated[list[Id], msgspec.Meta(max_length=20)]


# ---------------------------------------------------------------- workflow bodies


class ScheduleIn(msgspec.Struct, forbid_unknown_fields=True):
    """Schedule (or reschedule) a touch; a lead may override the pacing budget with a reason."""

    scheduled_at: dt.datetime
    channel: ChannelStr
    contact_ids: Ids = []
    override_reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    outside_window: Annotated[bool, msgspec.Meta(description=(
        "Confirm a day outside a bundled request's dates (without it that is a 422 naming scheduled_at); "
        "those requesters are told it is outside what they asked for"))] = False
    seen: Seen | None = None  # the touch's ``seen`` as read (crm.seen): refused if scheduled or reassigned since


class OutcomeIn(msgspec.Struct, forbid_unknown_fields=True):
    request_id: Id
    outcome: Annotated[str, choice(Outcome, max_length=16)]
    note: Note = ""


class HandOffIn(msgspec.Struct, forbid_unknown_fields=True):
    """A warm referral made when completing a touch or logging one."""

    to_org_id: Id
    need: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    to_user_id: Id | None = None


class PassOnIn(msgspec.Struct, forbid_unknown_fields=True):
    """A declined hand-off's need handed to another partner organization."""

    to_org_id: Id
    need: Annotated[str, msgspec.Meta(max_length=2000, description=(
        "The need as the partner reads it; default: the declined hand-off's"))] | None = None
    to_user_id: Id | None = None


class CompleteIn(msgspec.Struct, forbid_unknown_fields=True):
    """One outcome per bundled request; the notes are the SPOC's own (requesters see their outcome note)."""

    outcomes: Annotated[list[OutcomeIn], msgspec.Meta(max_length=200)] = []
    notes: Note = ""
    channel: ChannelStr | None = None
    contact_ids: Annotated[Ids | None, msgspec.Meta(description=(
        "The employer's people the SPOC spoke with (its contacts, as when scheduling): they replace the "
        "touch's contacts, and a hand-off's partner reaches them once it accepts. Left out, the touch keeps "
        "the contacts it has"))] = None
    hand_offs: Annotated[list[HandOffIn], msgspec.Meta(max_length=20)] = []


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason
    hold_until: Annotated[dt.date | None, msgspec.Meta(description=(
        "The bundled requests wait at least until this date (after today, within a year); default: a "
        "week from today. Later still if the employer's pacing budget allows no touch that day."))] = None
    decline_requests: Annotated[bool, msgspec.Meta(description=(
        "Decline the bundled requests instead of holding them (the employer wants none of it); the "
        "requesters are told the reason."))] = False
    pause_employer: Annotated[bool, msgspec.Meta(description=(
        "The employer asked not to be contacted for now: record today until the day before "
        "``hold_until`` (default: a week) as its blackout dates, so new requests wait as well and "
        "queued touches move out of those days."))] = False


class ReassignIn(msgspec.Struct, forbid_unknown_fields=True):
    spoc_id: Id
    reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    seen: Seen | None = None  # the touch's ``seen`` as read (crm.seen): refused if scheduled or reassigned since


class CaseloadTransferIn(msgspec.Struct, forbid_unknown_fields=True):
    """Move everything ``from_spoc_id`` holds in the region (employers as SPOC and as backup, open
    touches) to ``to_spoc_id``, an active SPOC or lead of the region."""

    from_spoc_id: Id
    to_spoc_id: Id
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class CaseloadOut(msgspec.Struct):
    """What one person holds in a region; ``can_work`` is false for former staff (deactivated, or no
    longer SPOC or lead there), whose caseload should be transferred."""

    user: PersonRef
    can_work: bool
    employers: int
    backups: int
    open_touches: int


class CaseloadPage(msgspec.Struct):
    items: list[CaseloadOut]
    total: int


class CaseloadTransferOut(msgspec.Struct):
    region: str
    from_spoc: PersonRef
    to_spoc: PersonRef
    employers: int
    backups: int
    open_touches: int


class LogTouchIn(msgspec.Struct, forbid_unknown_fields=True):
    """An unsolicited touch (the employer called in): already happened, counts toward the budget."""

    employer_id: Id
    channel: ChannelStr
    occurred_on: dt.date
    notes: Note = ""
    region: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    contact_ids: Ids = []
    hand_offs: Annotated[list[HandOffIn], msgspec.Meta(max_length=20, description=(
        "The employer's needs handed to partner organizations, as when completing a touch: each partner is "
        "told and accepts or declines it; the people in ``contact_ids`` are whom it reaches once accepted"))] = []


class HandOffResponseIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


# ---------------------------------------------------------------- outputs


class PersonRef(msgspec.Struct):
    id: int
    name: str


class BundledRequestOut(msgspec.Struct):
    id: int
    status: str
    purpose: str
    priority: str
    requester_org: str
    requester: str
    summary: str
    window_start: dt.date
    window_end: dt.date
    outcome: str | None
    outcome_note: str | None


class TouchOut(msgspec.Struct):
    id: int
    status: str
    source: str
    employer_id: int
    employer_name: str
    region: str
    spoc: PersonRef | None
    channel: str | None
    window_start: dt.date
    window_end: dt.date
    planned_on: dt.date
    scheduled_at: dt.datetime | None
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    notes: str | None
    override_reason: str | None
    contacts: list[PersonRef]
    requests: list[BundledRequestOut]
    hand_offs: list[int] = []
    seen: str = ""  # send it back with a schedule to be refused if someone scheduled or reassigned it since


class ReassignedOut(TouchOut):
    """A reassigned touch; ``assignment_id``: the employer's SPOC assignment the reassignment made (an
    unassigned touch of an employer without a SPOC in the region), else None (a one-off)."""

    message: str = ""
    assignment_id: int | None = None


class TouchPage(msgspec.Struct):
    items: list[TouchOut]
    total: int
    limit: int
    offset: int


class HandOffOut(msgspec.Struct):
    id: int
    status: str
    touch_id: int | None
    employer_id: int
    employer_name: str
    from_user: PersonRef
    to_org: PersonRef
    to_user: PersonRef | None
    need: str
    response_note: str | None
    responded_at: dt.datetime | None
    created_at: dt.datetime
    # Once accepted, for the organization that accepted it: the employer's people met on the touch.
    reach: list[ContactOut] = []
    # Once accepted with no one in ``reach`` (no contact was noted on the touch): whom to ask for the
    # introduction, the person who handed it off, with their e-mail (as a partner reads an employer's SPOC).
    introducer: SpocOut | None = None
    # The declined hand-off whose need this one passes on; and for a declined one, when the SPOC settled it
    # (passed its need on, or let it go).
    previous_id: int | None = None
    settled_at: dt.datetime | None = None
    # When its partner was reminded of it, left unanswered for a week (once).
    reminded_at: dt.datetime | None = None


class HandOffPage(msgspec.Struct):
    items: list[HandOffOut]
    total: int
    limit: int
    offset: int


class TimelineEntryOut(msgspec.Struct, omit_defaults=True):
    """One request or touch; fields a viewer may not see are left out (never blanked in place)."""

    kind: str  # "request" | "touch"
    id: int
    on: dt.date
    status: str
    purposes: list[str]
    at: dt.datetime | None = None
    region: str | None = None
    requester_org: str | None = None
    summary: str | None = None
    outcome: str | None = None
    outcome_note: str | None = None
    touch_id: int | None = None
    release_on: dt.date | None = None
    channel: str | None = None
    source: str | None = None
    spoc: str | None = None
    notes: str | None = None
    cancel_reason: str | None = None


class BudgetOut(msgspec.Struct):
    region: str
    remaining: int
    next_allowed: dt.date | None
    max_touches: int
    period_days: int
    min_gap_days: int
    do_not_contact: bool


class TimelineOut(msgspec.Struct):
    employer_id: int
    budget: list[BudgetOut]
    items: list[TimelineEntryOut]
    total: int
    limit: int
    offset: int


def _documented_range(low: int, high: int) -> msgspec.Meta:
    """A number's range as the schema documents it; the pacing core checks it, naming every field out of
    range at once (msgspec would stop at the first)."""
    return msgspec.Meta(extra_json_schema={"minimum": low, "maximum": high})


class PolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    max_touches: Annotated[int, _documented_range(1, MAX_PERIOD_DAYS)]
    period_days: Annotated[int, _documented_range(1, MAX_PERIOD_DAYS)]
    min_gap_days: Annotated[int, _documented_range(0, MAX_PERIOD_DAYS)]


class HeldRecheck(msgspec.Struct):
    """What a change of the pacing rules did to the requests they held (``release.recheck_held``)."""

    released: int = 0  # now on a touch
    moved: int = 0  # still held, to another day
    declined: int = 0  # no day left to hold them to


class PolicyOut(msgspec.Struct):
    region: str
    max_touches: int
    period_days: int
    min_gap_days: int
    is_default: bool
    held: HeldRecheck | None = None  # after a PUT: the held requests decided again under the new policy


class RoutingRuleIn(msgspec.Struct, forbid_unknown_fields=True):
    """Employers of the region matching sector prefix and/or county go to the least-loaded of ``pool``."""

    pool: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=50)]
    naics_prefix: Annotated[str, msgspec.Meta(max_length=6)] | None = None
    county: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    priority: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 100


class RoutingRuleEdit(msgspec.Struct, forbid_unknown_fields=True):
    """A rule's pool and priority, changed in place (what it routes, sector and county, is the rule itself:
    to route other employers, add a rule). Fields left out keep their value."""

    pool: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=50)] | None = None
    priority: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | None = None
    seen: Seen | None = None  # the rule's ``seen`` as read (crm.seen): refused if someone changed it since


class RoutingRuleOut(msgspec.Struct):
    id: int
    naics_prefix: str | None
    county: str | None
    priority: int
    pool: list[PersonRef]
    # Adding a rule, or changing its pool: the touches it took out of the region's unassigned queue (each to
    # the SPOC it picked).
    routed_touches: list[int] = []
    seen: str = ""  # send it back with a change to be refused rather than overwrite someone else's


class RoutingRulePage(msgspec.Struct):
    items: list[RoutingRuleOut]
    total: int
