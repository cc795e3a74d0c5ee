"""Pacing: how often one employer may be contacted (SPEC §3 rule 4).

Pure functions over dates — no database, no clock. A rolling period of
`period_days` is any interval [x, x + period_days - 1]; a touch may be added on
a day only if every such interval containing that day stays within
`max_touches`, it is at least `min_gap_days` from every other touch (before
*and* after it) and the day is not blacked out.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, TypeAlias

__all__ = [
    "MAX_PERIOD_DAYS",
    "Blackout",
    "Limit",
    "PacingPolicy",
    "PacingPreference",
    "RoutingError",
    "blocking_limits",
    "earliest_allowed_date",
    "effective_policy",
    "is_allowed",
    "remaining_budget",
]

# Upper bound for every day count in a policy: a year is the longest period a
# region lead could sensibly mean, and it keeps date searches bounded.
MAX_PERIOD_DAYS = 366

Blackout = tuple[tuple[date, date], ...]
# What keeps a touch off a day: the employer's blackout dates, the budget (the rolling period is full)
# or the minimum gap to another touch (do-not-contact keeps it off every day).
Limit: TypeAlias = Literal["do_not_contact", "blackout", "budget", "min_gap"]


class RoutingError(ValueError):
    """Invalid input to the touch routing core; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _check_int(field: str, value: object, low: int, high: int) -> None:
    # bool is an int subclass; `max_touches=True` is a bug, not a policy.
    if isinstance(value, bool) or not isinstance(value, int):
        raise RoutingError(field, "must be an integer")
    if not low <= value <= high:
        raise RoutingError(field, f"must be between {low} and {high}")


def _is_day(value: object) -> bool:
    # datetime is a date subclass but cannot be compared with date.
    return isinstance(value, date) and not isinstance(value, datetime)


def _normalize_blackout(value: object) -> Blackout:
    if not isinstance(value, Iterable):
        raise RoutingError("blackout", "must be a sequence of (start, end) date pairs")
    periods: set[tuple[date, date]] = set()
    for item in value:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise RoutingError("blackout", "each period must be a (start, end) pair")
        start, end = item
        if not (_is_day(start) and _is_day(end)):
            raise RoutingError("blackout", "period bounds must be dates")
        if end < start:
            raise RoutingError("blackout", f"period ends ({end}) before it starts ({start})")
        periods.add((start, end))
    # Sorted and de-duplicated so equal policies compare equal.
    return tuple(sorted(periods))


@dataclass(frozen=True, slots=True)
class PacingPolicy:
    """A complete pacing policy (a region's, or the effective one for an employer)."""

    max_touches: int = 2
    period_days: int = 30
    min_gap_days: int = 7
    blackout: Blackout = ()
    do_not_contact: bool = False

    def __post_init__(self) -> None:
        _check_int("max_touches", self.max_touches, 1, MAX_PERIOD_DAYS)
        _check_int("period_days", self.period_days, 1, MAX_PERIOD_DAYS)
        _check_int("min_gap_days", self.min_gap_days, 0, MAX_PERIOD_DAYS)
        if not isinstance(self.do_not_contact, bool):
            raise RoutingError("do_not_contact", "must be a boolean")
        object.__setattr__(self, "blackout", _normalize_blackout(self.blackout))


@dataclass(frozen=True, slots=True)
class PacingPreference:
    """An employer's own contact preference; None means "no preference" for that field."""

    max_touches: int | None = None
    period_days: int | None = None
    min_gap_days: int | None = None
    blackout: Blackout = ()
    do_not_contact: bool = False

    def __post_init__(self) -> None:
        if self.max_touches is not None:
            _check_int("max_touches", self.max_touches, 1, MAX_PERIOD_DAYS)
        if self.period_days is not None:
            _check_int("period_days", self.period_days, 1, MAX_PERIOD_DAYS)
        if self.min_gap_days is not None:
            _check_int("min_gap_days", self.min_gap_days, 0, MAX_PERIOD_DAYS)
        if not isinstance(self.do_not_contact, bool):
            raise RoutingError("do_not_contact", "must be a boolean")
        object.__setattr__(self, "blackout", _normalize_blackout(self.blackout))


def effective_policy(
    region_policy: PacingPolicy, employer_pref: PacingPreference | PacingPolicy | None = None
) -> PacingPolicy:
    """Combine the region's policy with the employer's preference; the result is never looser."""
    if employer_pref is None:
        return region_policy
    # Each field is tightened independently, so the result is at least as strict
    # as the region policy and as the employer preference (SPEC §3 rule 4).
    max_touches = region_policy.max_touches
    if employer_pref.max_touches is not None:
        max_touches = min(max_touches, employer_pref.max_touches)
    period_days = region_policy.period_days
    if employer_pref.period_days is not None:
        period_days = max(period_days, employer_pref.period_days)
    min_gap_days = region_policy.min_gap_days
    if employer_pref.min_gap_days is not None:
        min_gap_days = max(min_gap_days, employer_pref.min_gap_days)
    return PacingPolicy(
        max_touches=max_touches,
        period_days=period_days,
        min_gap_days=min_gap_days,
        blackout=region_policy.blackout + employer_pref.blackout,
        do_not_contact=region_policy.do_not_contact or employer_pref.do_not_contact,
    )


def most_touches_per_period(period_days: int, min_gap_days: int) -> int:
    """The most touches that fit in `period_days` days when they are `min_gap_days` apart (at most one a
    day): a region policy allowing more could never use its budget."""
    if min_gap_days <= 1:
        return period_days
    return (period_days - 1) // min_gap_days + 1


def blackout_of(policy: PacingPolicy, day: date) -> tuple[date, date] | None:
    """The blackout period (first day, last day) that `day` falls in, if any."""
    return next(((start, end) for start, end in policy.blackout if start <= day <= end), None)


def _in_blackout(policy: PacingPolicy, day: date) -> bool:
    return blackout_of(policy, day) is not None


def _peak_count(period_days: int, dates: Sequence[date], day: date) -> int:
    """Most touches (of sorted `dates`) in any rolling period that contains `day`."""
    span = timedelta(days=period_days - 1)
    # Sliding a period's end from `day` to `day + span`, its count only rises when
    # the end reaches a touch; so the peak is at end == day or at a later touch.
    later = dates[bisect_right(dates, day) : bisect_right(dates, day + span)]
    return max(bisect_right(dates, end) - bisect_left(dates, end - span) for end in (day, *later))


def _fits(policy: PacingPolicy, dates: Sequence[date], day: date) -> bool:
    """Whether one more touch on `day` keeps sorted `dates` within `policy`."""
    if policy.do_not_contact or _in_blackout(policy, day):
        return False
    if policy.min_gap_days > 0:
        near = timedelta(days=policy.min_gap_days - 1)
        if bisect_right(dates, day + near) > bisect_left(dates, day - near):
            return False
    return _peak_count(policy.period_days, dates, day) < policy.max_touches


def remaining_budget(policy: PacingPolicy, touch_dates: Sequence[date], on: date) -> int:
    """How many more touches every rolling period containing `on` still allows (0 if do-not-contact)."""
    if policy.do_not_contact:
        return 0
    return max(0, policy.max_touches - _peak_count(policy.period_days, sorted(touch_dates), on))


def is_allowed(policy: PacingPolicy, touch_dates: Sequence[date], on: date) -> bool:
    """Whether one more touch on `on` respects budget, minimum gap, blackout and do-not-contact."""
    return _fits(policy, sorted(touch_dates), on)


def earliest_allowed_date(policy: PacingPolicy, touch_dates: Sequence[date], start: date, end: date) -> date | None:
    """First day in [start, end] (inclusive) on which one more touch is allowed, else None."""
    if policy.do_not_contact:
        return None
    dates = sorted(touch_dates)
    day = start
    while day <= end:
        if _fits(policy, dates, day):
            return day
        day += timedelta(days=1)
    return None


def blocking_limits(policy: PacingPolicy, touch_dates: Sequence[date], start: date, end: date) -> frozenset[Limit]:
    """The limits that keep one more touch off the days of [start, end]; each blocked day counts once, by the
    first of blackout, budget, minimum gap that blocks it (empty when every day is allowed)."""
    if policy.do_not_contact:
        return frozenset({"do_not_contact"})
    dates = sorted(touch_dates)
    near = timedelta(days=policy.min_gap_days - 1) if policy.min_gap_days > 0 else None
    found: set[Limit] = set()
    day = start
    while day <= end:
        if _in_blackout(policy, day):
            found.add("blackout")
        elif _peak_count(policy.period_days, dates, day) >= policy.max_touches:
            found.add("budget")
        elif near is not None and bisect_right(dates, day + near) > bisect_left(dates, day - near):
            found.add("min_gap")
        day += timedelta(days=1)
    return frozenset(found)
