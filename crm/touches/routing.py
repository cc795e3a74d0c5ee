"""Touch routing: the pure decisions of SPEC §3 (idempotency, bundle, pace, route).

The shell (intake.py, the scheduler jobs) loads rows, calls these functions
with `today`, and writes the result in one transaction. Nothing here reads the
database or the clock. Pacing arithmetic lives in `crm.touches.pacing` and is
re-exported here so callers import from one place.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, TypeAlias, TypeVar

# Re-exported (`X as X`) so the shell imports the whole routing core from here.
from crm.touches.pacing import MAX_PERIOD_DAYS as MAX_PERIOD_DAYS
from crm.touches.pacing import Blackout as Blackout
from crm.touches.pacing import Limit as Limit
from crm.touches.pacing import PacingPolicy as PacingPolicy
from crm.touches.pacing import PacingPreference as PacingPreference
from crm.touches.pacing import RoutingError as RoutingError
from crm.touches.pacing import blackout_of as blackout_of
from crm.touches.pacing import blocking_limits as blocking_limits
from crm.touches.pacing import earliest_allowed_date as earliest_allowed_date
from crm.touches.pacing import effective_policy as effective_policy
from crm.touches.pacing import is_allowed as is_allowed
from crm.touches.pacing import remaining_budget as remaining_budget

DEFAULT_WINDOW_DAYS = 30  # SPEC §2: desired window defaults to today → +30 days
MAX_WINDOW_DAYS = 366  # longer "windows" are not a plan; also bounds every date search
MAX_LEAD_DAYS = 2 * 366  # a request for a touch more than two years out is a typo
HOLD_HORIZON_DAYS = 366  # how far past a window we look for a held request's release date


class Purpose(enum.StrEnum):
    HIRING = "hiring"
    WORK_BASED_LEARNING = "work_based_learning"
    APPRENTICESHIP = "apprenticeship"
    TRAINING_UPSKILLING = "training_upskilling"
    CURRICULUM_REVIEW = "curriculum_review"
    ADVISORY_RECRUITMENT = "advisory_recruitment"
    SECTOR_PARTNERSHIP = "sector_partnership"
    REENTRY_FAIR_CHANCE = "reentry_fair_chance"
    LAYOFF_AVERSION = "layoff_aversion"
    EVENT = "event"
    LABOR_MARKET_INFO = "labor_market_info"
    OTHER = "other"


class Priority(enum.StrEnum):
    NORMAL = "normal"
    TIME_SENSITIVE = "time_sensitive"


class RequestStatus(enum.StrEnum):
    NEEDS_MATCH = "needs_match"
    QUEUED = "queued"
    HELD = "held"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class TouchStatus(enum.StrEnum):
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Channel(enum.StrEnum):
    VISIT = "visit"
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    EVENT = "event"


class Outcome(enum.StrEnum):
    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    FOLLOW_UP = "follow_up"
    REFERRED = "referred"
    NO_RESPONSE = "no_response"


class RefuseReason(enum.StrEnum):
    DO_NOT_CONTACT = "do_not_contact"
    NO_ALLOWED_DATE = "no_allowed_date"  # blackout/budget block the window and the whole horizon


OPEN_REQUEST_STATUSES = frozenset(
    {RequestStatus.NEEDS_MATCH, RequestStatus.QUEUED, RequestStatus.HELD, RequestStatus.SCHEDULED}
)
OPEN_TOUCH_STATUSES = frozenset({TouchStatus.QUEUED, TouchStatus.SCHEDULED})

Window: TypeAlias = tuple[date, date]
TouchAction: TypeAlias = Literal["schedule", "complete", "cancel", "reassign"]
RequestAction: TypeAlias = Literal["queue", "hold", "schedule", "complete", "decline", "withdraw"]
_E = TypeVar("_E", bound=enum.StrEnum)


def _coerce(enum_type: type[_E], field_name: str, value: object) -> _E:
    # Form/API/CSV values arrive as strings; a bad one must name its field.
    if isinstance(value, str):
        for member in enum_type:
            if member.value == value:
                return member
    raise RoutingError(field_name, f"unknown value {value!r}")


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class NewRequest:
    """A partner's incoming touch request, after employer resolution."""

    requester_org_id: int
    employer_id: int
    region_id: int
    purpose: Purpose
    priority: Priority = Priority.NORMAL
    window_start: date | None = None
    window_end: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "purpose", _coerce(Purpose, "purpose", self.purpose))
        object.__setattr__(self, "priority", _coerce(Priority, "priority", self.priority))


@dataclass(frozen=True, slots=True)
class OpenRequestView:
    """An existing request, as far as idempotency needs to see it."""

    id: int
    requester_org_id: int
    employer_id: int
    purpose: Purpose
    status: RequestStatus


@dataclass(frozen=True, slots=True)
class OpenTouchView:
    """An existing touch; `planned_date` is the scheduled date once it is scheduled. `appointment_passed`:
    it is scheduled for a time already gone (not yet marked completed): it carries no new request, whose
    purpose the contact that took place never raised."""

    id: int
    employer_id: int
    region_id: int
    status: TouchStatus
    window_start: date
    window_end: date
    planned_date: date
    appointment_passed: bool = False


@dataclass(frozen=True, slots=True)
class HeldRequestView:
    """A held request waiting for its release date, and the days its requester asked for."""

    id: int
    employer_id: int
    region_id: int
    release_on: date
    priority: Priority = Priority.NORMAL
    window_start: date | None = None
    window_end: date | None = None


# ---------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class ReturnExisting:
    """The same organization already has this request open: hand it back, create nothing."""

    request_id: int
    kind: Literal["return_existing"] = field(default="return_existing", init=False)


@dataclass(frozen=True, slots=True)
class Bundle:
    """Join open touch `touch_id`; set its window to `new_window` and its date to `planned_date`."""

    touch_id: int
    new_window: Window
    planned_date: date
    kind: Literal["bundle"] = field(default="bundle", init=False)


@dataclass(frozen=True, slots=True)
class NewTouch:
    """Create a queued touch for `window`, planned on `planned_date`."""

    window: Window
    planned_date: date
    kind: Literal["new_touch"] = field(default="new_touch", init=False)


@dataclass(frozen=True, slots=True)
class Hold:
    """No day of the window is allowed (budget, gap or blackout): hold until `release_on`."""

    release_on: date
    kind: Literal["hold"] = field(default="hold", init=False)


@dataclass(frozen=True, slots=True)
class Refuse:
    """The employer may not be contacted (the shell declines the request with this reason)."""

    reason: RefuseReason
    kind: Literal["refuse"] = field(default="refuse", init=False)


Decision: TypeAlias = ReturnExisting | Bundle | NewTouch | Hold | Refuse


@dataclass(frozen=True, slots=True)
class ReleaseDecision:
    """What happens to a group of held requests (one employer + region) released together."""

    request_ids: tuple[int, ...]
    region_id: int
    decision: Bundle | NewTouch | Hold | Refuse


# ---------------------------------------------------------------- windows


def default_window(today: date) -> Window:
    """The window a request gets when the partner gives none: today → today + 30 days."""
    return (today, today + timedelta(days=DEFAULT_WINDOW_DAYS))


def _check_day(field_name: str, value: object) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise RoutingError(field_name, "must be a date")


def resolve_window(start: date | None, end: date | None, today: date) -> Window:
    """Validate a requested window, fill defaults and clip a past start to `today`."""
    if start is None and end is None:
        return default_window(today)
    if start is not None:
        _check_day("window_start", start)
    if end is not None:
        _check_day("window_end", end)
    start = today if start is None else start
    if start > today + timedelta(days=MAX_LEAD_DAYS):  # before adding to it: 9999-12-31 + 30 days overflows
        raise RoutingError("window_start", "must be within two years from today")
    end = start + timedelta(days=DEFAULT_WINDOW_DAYS) if end is None else end
    if end < start:
        raise RoutingError("window_end", "must be on or after window_start")
    if end < today:
        raise RoutingError("window_end", "the window is entirely in the past")
    start = max(start, today)
    if (end - start).days > MAX_WINDOW_DAYS:
        raise RoutingError("window_end", f"the window may span at most {MAX_WINDOW_DAYS} days")
    return (start, end)


def _intersect(a: Window, b: Window) -> Window | None:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start <= end else None


# ---------------------------------------------------------------- intake


def _existing_request(req: NewRequest, open_requests: Iterable[OpenRequestView]) -> int | None:
    ids = [
        r.id
        for r in open_requests
        if r.status in OPEN_REQUEST_STATUSES
        and r.requester_org_id == req.requester_org_id
        and r.employer_id == req.employer_id
        and r.purpose == req.purpose
    ]
    return min(ids, default=None)


def _without_one(dates: list[date], day: date) -> list[date]:
    # The touch's own date must not count against moving that same touch.
    rest = list(dates)
    if day in rest:
        rest.remove(day)
    return rest


def _bundle_into(touch: OpenTouchView, window: Window, dates: list[date], policy: PacingPolicy) -> Bundle | None:
    touch_window = (touch.window_start, touch.window_end)
    planned = touch.planned_date
    if touch.status == TouchStatus.SCHEDULED:
        if not window[0] <= planned <= window[1]:
            return None
        narrowed = _intersect(touch_window, window)
        if narrowed is None or not narrowed[0] <= planned <= narrowed[1]:
            narrowed = (planned, planned)  # the SPOC scheduled outside the old window
        return Bundle(touch.id, narrowed, planned)
    narrowed = _intersect(touch_window, window)
    if narrowed is None:
        return None
    # A planned date already inside the narrowed window stays: joining a touch adds
    # no contact, so there is nothing to re-pace. Moving the touch must be paced.
    if not narrowed[0] <= planned <= narrowed[1]:
        moved = earliest_allowed_date(policy, _without_one(dates, planned), *narrowed)
        if moved is None:
            return None
        planned = moved
    return Bundle(touch.id, narrowed, planned)


def _best_bundle(
    employer_id: int,
    region_id: int,
    window: Window,
    open_touches: Iterable[OpenTouchView],
    dates: list[date],
    policy: PacingPolicy,
) -> Bundle | None:
    candidates = [
        bundle
        for touch in open_touches
        if touch.status in OPEN_TOUCH_STATUSES and touch.employer_id == employer_id and touch.region_id == region_id
        and not touch.appointment_passed
        for bundle in [_bundle_into(touch, window, dates, policy)]
        if bundle is not None
    ]
    return min(candidates, key=lambda b: (b.planned_date, b.touch_id), default=None)


def _pace(window: Window, dates: list[date], policy: PacingPolicy) -> NewTouch | Hold | Refuse:
    planned = earliest_allowed_date(policy, dates, *window)
    if planned is not None:
        return NewTouch(window, planned)
    # Nothing fits in the window, so the earliest allowed date is after its end.
    after = window[1] + timedelta(days=1)
    release = earliest_allowed_date(policy, dates, after, window[1] + timedelta(days=HOLD_HORIZON_DAYS))
    return Refuse(RefuseReason.NO_ALLOWED_DATE) if release is None else Hold(release)


def decide_request(
    req: NewRequest,
    open_requests: Sequence[OpenRequestView],
    open_touches: Sequence[OpenTouchView],
    counted_touch_dates: Sequence[date],
    policy: PacingPolicy,
    today: date,
) -> Decision:
    """Decide what a new touch request becomes: existing request, bundle, new touch, hold or refusal."""
    window = resolve_window(req.window_start, req.window_end, today)
    existing = _existing_request(req, open_requests)
    if existing is not None:
        return ReturnExisting(existing)
    if policy.do_not_contact:
        return Refuse(RefuseReason.DO_NOT_CONTACT)
    dates = sorted(counted_touch_dates)
    bundle = _best_bundle(req.employer_id, req.region_id, window, open_touches, dates, policy)
    return bundle if bundle is not None else _pace(window, dates, policy)


def release_window(group: Sequence[HeldRequestView], today: date) -> Window:
    """The days a released group's touch may take: what every request whose dates are still to come asked
    for (from today on); the default window when none is left, or when they have no day in common -- a
    request held past its last day was told so, and is served as soon as the budget allows."""
    current = [(max(h.window_start, today), h.window_end) for h in group
               if h.window_start is not None and h.window_end is not None and h.window_end >= today]
    window: Window | None = current[0] if current else None
    for other in current[1:]:
        window = _intersect(window, other) if window is not None else None
    return window if window is not None else default_window(today)


def release_held(
    held: Sequence[HeldRequestView],
    open_touches: Sequence[OpenTouchView],
    counted_touch_dates: Sequence[date],
    policy: PacingPolicy,
    today: date,
) -> list[ReleaseDecision]:
    """Release one employer's due held requests: each region's group joins one touch (or stays held)."""
    due = [h for h in held if h.release_on <= today]
    if len({h.employer_id for h in held}) > 1:
        # The budget is per employer: counted_touch_dates only describe one.
        raise RoutingError("employer_id", "held requests of several employers in one call")
    groups: dict[int, list[HeldRequestView]] = {}
    for h in due:
        groups.setdefault(h.region_id, []).append(h)
    # Groups compete for the same employer budget: time-sensitive first, then the
    # longest waiting, then a stable tiebreak.
    order = sorted(
        groups.values(),
        key=lambda g: (
            all(h.priority != Priority.TIME_SENSITIVE for h in g),
            min(h.release_on for h in g),
            min(h.id for h in g),
            g[0].region_id,
        ),
    )
    dates = sorted(counted_touch_dates)
    results: list[ReleaseDecision] = []
    for group in order:
        ids = tuple(sorted(h.id for h in group))
        region_id = group[0].region_id
        window = release_window(group, today)
        decision: Bundle | NewTouch | Hold | Refuse
        if policy.do_not_contact:
            decision = Refuse(RefuseReason.DO_NOT_CONTACT)
        else:
            bundle = _best_bundle(group[0].employer_id, region_id, window, open_touches, dates, policy)
            decision = bundle if bundle is not None else _pace(window, dates, policy)
        if isinstance(decision, Bundle):
            touch = next(t for t in open_touches if t.id == decision.touch_id)
            dates = sorted([*_without_one(dates, touch.planned_date), decision.planned_date])
        elif isinstance(decision, NewTouch):
            dates = sorted([*dates, decision.planned_date])
        results.append(ReleaseDecision(ids, region_id, decision))
    return results


# ---------------------------------------------------------------- SPOC routing


@dataclass(frozen=True, slots=True)
class AssignmentView:
    """The active SpocAssignment for (employer, region)."""

    spoc_id: int
    backup_id: int | None = None


@dataclass(frozen=True, slots=True)
class SpocView:
    """A SPOC's availability and current number of open touches."""

    away: bool
    open_load: int


@dataclass(frozen=True, slots=True)
class RoutingRuleView:
    """A region routing rule: employers matching sector/county go to the least-loaded of `pool`."""

    id: int
    priority: int
    naics_prefix: str | None
    county: str | None
    pool: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SpocChoice:
    """Who gets the touch; `sticky` means the shell must create the SpocAssignment."""

    kind: Literal["assigned", "backup", "rule", "unassigned"]
    user_id: int | None
    rule_id: int | None
    sticky: bool


def _norm(value: str | None) -> str | None:
    value = (value or "").strip().casefold()
    return value or None


def _rule_matches(rule: RoutingRuleView, naics: str | None, county: str | None) -> bool:
    prefix, rule_county = _norm(rule.naics_prefix), _norm(rule.county)
    if prefix is not None and (naics is None or not naics.startswith(prefix)):
        return False
    return rule_county is None or rule_county == county


def _specificity(rule: RoutingRuleView) -> tuple[int, int, int, int]:
    prefix, county = _norm(rule.naics_prefix), _norm(rule.county)
    criteria = (prefix is not None) + (county is not None)
    # Sorted ascending: more criteria, longer prefix, lower priority number, lower id.
    return (-criteria, -len(prefix or ""), rule.priority, rule.id)


def _available(spocs: Mapping[int, SpocView], user_id: int | None) -> bool:
    # A user missing from `spocs` (deactivated, no longer a SPOC) cannot take work.
    return user_id is not None and user_id in spocs and not spocs[user_id].away


def choose_spoc(
    active_assignment: AssignmentView | None,
    spocs: Mapping[int, SpocView],
    rules: Sequence[RoutingRuleView],
    employer_naics: str | None,
    employer_county: str | None,
) -> SpocChoice:
    """Pick the SPOC for a touch: assigned → backup → routing rule → unassigned queue."""
    if active_assignment is not None:
        if _available(spocs, active_assignment.spoc_id):
            return SpocChoice("assigned", active_assignment.spoc_id, None, sticky=False)
        if _available(spocs, active_assignment.backup_id):
            return SpocChoice("backup", active_assignment.backup_id, None, sticky=False)
    naics, county = _norm(employer_naics), _norm(employer_county)
    for rule in sorted((r for r in rules if _rule_matches(r, naics, county)), key=_specificity):
        pool = [u for u in set(rule.pool) if _available(spocs, u)]
        if pool:
            user_id = min(pool, key=lambda u: (spocs[u].open_load, u))
            # Cover for an away owner is temporary: never replace an active assignment.
            return SpocChoice("rule", user_id, rule.id, sticky=active_assignment is None)
    return SpocChoice("unassigned", None, None, sticky=False)


# ---------------------------------------------------------------- outcomes and transitions


def missing_outcome(request_id: int, *, form: bool = False) -> str:
    """What completing a touch is told about a bundled request it gave no outcome for. The complete form
    (``form``) asks every request it shows, so the one missing joined the touch after the form was opened;
    an API client opened no form, and is told only what every request needs."""
    if form:
        return f"missing an outcome for request #{request_id}, added after you opened this form"
    return f"missing an outcome for request #{request_id}: every request on the touch needs one"


def _numbered(ids: Sequence[int]) -> str:
    return " and ".join(filter(None, (", ".join(f"#{i}" for i in ids[:-1]), f"#{ids[-1]}")))


def validate_outcomes(touch_request_ids: Iterable[int], outcomes: Sequence[tuple[int, str]], *,
                      form: bool = False) -> None:
    """Check that completing a touch gives exactly one valid outcome per bundled request; ``outcomes`` are
    (request id, outcome) in the order given, so a bad one is named by its place (``outcomes[0].outcome``);
    ``form``: said to the complete form's user (``missing_outcome``)."""
    expected, given = set(touch_request_ids), {request_id for request_id, _ in outcomes}
    problems = [missing_outcome(request_id, form=form) for request_id in sorted(expected - given)]
    if unknown := sorted(given - expected):
        since = "since you opened this form" if form else "to another touch"
        problems.append(f"request{'s' if len(unknown) > 1 else ''} {_numbered(unknown)} "
                        f"{'are' if len(unknown) > 1 else 'is'} not on this touch (withdrawn or moved {since})")
    if problems:
        raise RoutingError("outcomes", "; ".join(problems))
    for i, (_, outcome) in enumerate(outcomes):
        _coerce(Outcome, f"outcomes[{i}].outcome", outcome)


# A queued touch may be completed directly: a SPOC who reaches the employer
# without an appointment has still made the touch.
_TOUCH_TRANSITIONS: dict[tuple[TouchStatus, str], TouchStatus] = {
    (TouchStatus.QUEUED, "schedule"): TouchStatus.SCHEDULED,
    (TouchStatus.QUEUED, "complete"): TouchStatus.COMPLETED,
    (TouchStatus.QUEUED, "cancel"): TouchStatus.CANCELLED,
    (TouchStatus.QUEUED, "reassign"): TouchStatus.QUEUED,
    (TouchStatus.SCHEDULED, "schedule"): TouchStatus.SCHEDULED,  # reschedule
    (TouchStatus.SCHEDULED, "complete"): TouchStatus.COMPLETED,
    (TouchStatus.SCHEDULED, "cancel"): TouchStatus.CANCELLED,
    (TouchStatus.SCHEDULED, "reassign"): TouchStatus.SCHEDULED,
}

_REQUEST_TRANSITIONS: dict[tuple[RequestStatus, str], RequestStatus] = {
    **{(s, "queue"): RequestStatus.QUEUED for s in OPEN_REQUEST_STATUSES},  # incl. moved to another touch
    **{(s, "hold"): RequestStatus.HELD for s in OPEN_REQUEST_STATUSES},
    **{(s, "decline"): RequestStatus.DECLINED for s in OPEN_REQUEST_STATUSES},
    **{(s, "withdraw"): RequestStatus.WITHDRAWN for s in OPEN_REQUEST_STATUSES},
    (RequestStatus.QUEUED, "schedule"): RequestStatus.SCHEDULED,
    (RequestStatus.SCHEDULED, "schedule"): RequestStatus.SCHEDULED,
    (RequestStatus.QUEUED, "complete"): RequestStatus.COMPLETED,
    (RequestStatus.SCHEDULED, "complete"): RequestStatus.COMPLETED,
}


def transition_touch(current: TouchStatus, action: TouchAction) -> TouchStatus:
    """The touch status after `action`, or RoutingError if the action is illegal from `current`."""
    new = _TOUCH_TRANSITIONS.get((_coerce(TouchStatus, "status", current), action))
    if new is None:
        raise RoutingError("status", f"cannot {action} a {current} touch")
    return new


def transition_request(current: RequestStatus, action: RequestAction) -> RequestStatus:
    """The request status after `action`, or RoutingError if the action is illegal from `current`."""
    new = _REQUEST_TRANSITIONS.get((_coerce(RequestStatus, "status", current), action))
    if new is None:
        raise RoutingError("status", f"cannot {action} a {current} request")
    return new
