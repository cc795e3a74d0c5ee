"""Pacing rules (SPEC §3 rule 4): budget per rolling period, minimum gap, blackout, do-not-contact."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.touches.pacing import (
    PacingPolicy,
    PacingPreference,
    RoutingError,
    blocking_limits,
    earliest_allowed_date,
    effective_policy,
    is_allowed,
    most_touches_per_period,
    remaining_budget,
)

BASE = date(2025, 3, 3)


def d(n: int) -> date:
    """Day `n` relative to a fixed base date, so examples read as day numbers."""
    return BASE + timedelta(days=n)


def policy(**kwargs: object) -> PacingPolicy:
    """A policy with no minimum gap unless asked, so budget examples test the budget only."""
    values: dict[str, object] = {"min_gap_days": 0, **kwargs}
    return PacingPolicy(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------ reference model


def brute_allows(p: PacingPolicy, history: list[date], day: date) -> bool:
    """Obviously-correct, slow statement of the rule that the fast code must match."""
    if p.do_not_contact or any(s <= day <= e for s, e in p.blackout):
        return False
    if any(abs((t - day).days) < p.min_gap_days for t in history):
        return False
    for k in range(p.period_days):
        first = day - timedelta(days=k)
        last = first + timedelta(days=p.period_days - 1)
        if sum(first <= t <= last for t in history) + 1 > p.max_touches:
            return False
    return True


def brute_remaining(p: PacingPolicy, history: list[date], day: date) -> int:
    if p.do_not_contact:
        return 0
    peaks = []
    for k in range(p.period_days):
        first = day - timedelta(days=k)
        last = first + timedelta(days=p.period_days - 1)
        peaks.append(sum(first <= t <= last for t in history))
    return max(0, p.max_touches - max(peaks))


days = st.integers(min_value=-60, max_value=120).map(d)
histories = st.lists(days, max_size=8)


@st.composite
def blackouts(draw: st.DrawFn) -> tuple[tuple[date, date], ...]:
    periods = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(-30, 100))
        periods.append((d(start), d(start + draw(st.integers(0, 20)))))
    return tuple(periods)


policies = st.builds(
    PacingPolicy,
    max_touches=st.integers(1, 4),
    period_days=st.integers(1, 45),
    min_gap_days=st.integers(0, 15),
    blackout=blackouts(),
    do_not_contact=st.sampled_from([False, False, False, True]),
)
preferences = st.builds(
    PacingPreference,
    max_touches=st.none() | st.integers(1, 4),
    period_days=st.none() | st.integers(1, 45),
    min_gap_days=st.none() | st.integers(0, 15),
    blackout=blackouts(),
    do_not_contact=st.booleans(),
)


# ------------------------------------------------------------------ policy values


def test_default_policy_is_two_touches_per_rolling_30_days_seven_days_apart() -> None:
    p = PacingPolicy()
    assert (p.max_touches, p.period_days, p.min_gap_days, p.blackout, p.do_not_contact) == (
        2,
        30,
        7,
        (),
        False,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_touches", 0),
        ("max_touches", -1),
        ("max_touches", True),
        ("max_touches", 2.5),
        ("period_days", 0),
        ("period_days", 367),
        ("min_gap_days", -1),
        ("min_gap_days", "7"),
        ("do_not_contact", 1),
    ],
)
def test_invalid_policy_value_is_rejected_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(RoutingError) as err:
        PacingPolicy(**{field: value})  # type: ignore[arg-type]
    assert err.value.field == field
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    "blackout",
    [((d(5), d(4)),), ((d(1),),), ((d(1), "2025-01-01"),), ((d(1), d(2)).__iter__(),)],
)
def test_malformed_blackout_is_rejected_naming_the_field(blackout: object) -> None:
    with pytest.raises(RoutingError) as err:
        PacingPolicy(blackout=blackout)  # type: ignore[arg-type]
    assert err.value.field == "blackout"


def test_invalid_preference_value_is_rejected_naming_the_field() -> None:
    with pytest.raises(RoutingError) as err:
        PacingPreference(period_days=0)
    assert err.value.field == "period_days"


def test_blackout_order_and_duplicates_do_not_change_the_policy() -> None:
    a = PacingPolicy(blackout=((d(10), d(12)), (d(1), d(2)), (d(10), d(12))))
    b = PacingPolicy(blackout=((d(1), d(2)), (d(10), d(12))))
    assert a == b


# ------------------------------------------------------------------ effective policy


def test_employer_preference_tightens_every_field() -> None:
    region = PacingPolicy(max_touches=3, period_days=30, min_gap_days=7, blackout=((d(1), d(2)),))
    pref = PacingPreference(
        max_touches=1, period_days=60, min_gap_days=14, blackout=((d(40), d(45)),), do_not_contact=True
    )
    assert effective_policy(region, pref) == PacingPolicy(
        max_touches=1,
        period_days=60,
        min_gap_days=14,
        blackout=((d(1), d(2)), (d(40), d(45))),
        do_not_contact=True,
    )


def test_looser_employer_preference_never_loosens_the_region_policy() -> None:
    region = PacingPolicy(max_touches=2, period_days=30, min_gap_days=7, do_not_contact=True)
    pref = PacingPreference(max_touches=5, period_days=7, min_gap_days=0, do_not_contact=False)
    assert effective_policy(region, pref) == region


def test_preference_fields_left_empty_keep_the_region_value() -> None:
    region = PacingPolicy(max_touches=3, period_days=20, min_gap_days=5)
    assert effective_policy(region, PacingPreference(min_gap_days=10)) == PacingPolicy(
        max_touches=3, period_days=20, min_gap_days=10
    )


def test_no_employer_preference_means_the_region_policy() -> None:
    region = PacingPolicy(max_touches=3)
    assert effective_policy(region, None) is region


def test_a_full_policy_can_serve_as_employer_preference() -> None:
    region = PacingPolicy(max_touches=3, period_days=30, min_gap_days=7)
    pref = PacingPolicy(max_touches=2, period_days=14, min_gap_days=10)
    assert effective_policy(region, pref) == PacingPolicy(max_touches=2, period_days=30, min_gap_days=10)


@settings(max_examples=50)
@given(policies, preferences, histories, days)
def test_effective_policy_is_never_looser_than_region_or_preference(
    region: PacingPolicy, pref: PacingPreference, history: list[date], day: date
) -> None:
    eff = effective_policy(region, pref)
    assert eff.max_touches <= region.max_touches
    assert eff.period_days >= region.period_days
    assert eff.min_gap_days >= region.min_gap_days
    assert set(region.blackout) | set(pref.blackout) == set(eff.blackout)
    assert eff.do_not_contact == (region.do_not_contact or pref.do_not_contact)
    if is_allowed(eff, history, day):
        assert is_allowed(region, history, day)
    assert remaining_budget(eff, history, day) <= remaining_budget(region, history, day)


# ------------------------------------------------------------------ remaining budget


def test_full_budget_without_touches() -> None:
    assert remaining_budget(policy(), [], d(0)) == 2


def test_touch_29_days_earlier_is_in_the_same_30_day_period() -> None:
    assert remaining_budget(policy(), [d(-29)], d(0)) == 1


def test_touch_30_days_earlier_has_left_the_30_day_period() -> None:
    assert remaining_budget(policy(), [d(-30)], d(0)) == 2


def test_later_planned_touches_use_up_the_budget_of_earlier_days() -> None:
    # The period [0, 29] already holds two planned touches.
    assert remaining_budget(policy(), [d(10), d(29)], d(0)) == 0
    assert remaining_budget(policy(), [d(10), d(30)], d(0)) == 1


def test_budget_counts_touches_on_both_sides_separately_per_period() -> None:
    # No single 30-day period holds both d(-20) and d(+20).
    assert remaining_budget(policy(), [d(-20), d(20)], d(0)) == 1


def test_over_budget_history_reports_zero_not_negative() -> None:
    assert remaining_budget(policy(), [d(1), d(1), d(2)], d(0)) == 0


def test_do_not_contact_leaves_no_budget() -> None:
    assert remaining_budget(policy(do_not_contact=True), [], d(0)) == 0


@settings(max_examples=60)
@given(policies, histories, days)
def test_remaining_budget_matches_the_rolling_period_definition(
    p: PacingPolicy, history: list[date], day: date
) -> None:
    assert remaining_budget(p, history, day) == brute_remaining(p, history, day)


# ------------------------------------------------------------------ is_allowed


def test_touch_exactly_min_gap_days_after_the_last_is_allowed() -> None:
    assert is_allowed(PacingPolicy(), [d(0)], d(7))


def test_touch_one_day_short_of_min_gap_is_refused() -> None:
    assert not is_allowed(PacingPolicy(), [d(0)], d(6))


def test_min_gap_applies_to_a_later_planned_touch_too() -> None:
    assert not is_allowed(PacingPolicy(), [d(10)], d(4))
    assert is_allowed(PacingPolicy(), [d(10)], d(3))


def test_zero_min_gap_allows_a_second_touch_the_same_day() -> None:
    assert is_allowed(policy(), [d(0)], d(0))
    assert not is_allowed(policy(), [d(0), d(0)], d(0))


def test_blackout_bounds_are_inclusive() -> None:
    p = policy(blackout=((d(5), d(9)),))
    assert [is_allowed(p, [], d(n)) for n in range(4, 11)] == [True, False, False, False, False, False, True]


def test_do_not_contact_allows_nothing() -> None:
    assert not is_allowed(policy(do_not_contact=True), [], d(0))


@settings(max_examples=60)
@given(policies, histories, days)
def test_is_allowed_matches_the_rolling_period_definition(p: PacingPolicy, history: list[date], day: date) -> None:
    assert is_allowed(p, history, day) == brute_allows(p, history, day)


# ------------------------------------------------------------------ earliest allowed date


def test_earliest_date_is_the_start_when_it_is_free() -> None:
    assert earliest_allowed_date(PacingPolicy(), [], d(3), d(10)) == d(3)


def test_earliest_date_may_be_the_last_day_of_the_range() -> None:
    assert earliest_allowed_date(PacingPolicy(), [d(0)], d(1), d(7)) == d(7)


def test_no_date_when_the_range_ends_one_day_too_early() -> None:
    assert earliest_allowed_date(PacingPolicy(), [d(0)], d(1), d(6)) is None


def test_touches_planned_later_push_the_earliest_date_past_them() -> None:
    # Any 30-day period holding a day before d(40) and d(20) also holds d(10).
    assert earliest_allowed_date(policy(), [d(10), d(20)], d(1), d(60)) == d(40)


def test_earliest_date_skips_a_blackout() -> None:
    p = policy(blackout=((d(0), d(4)),))
    assert earliest_allowed_date(p, [], d(0), d(10)) == d(5)


def test_blackout_covering_the_whole_range_gives_no_date() -> None:
    p = policy(blackout=((d(0), d(4)),))
    assert earliest_allowed_date(p, [], d(0), d(4)) is None


def test_empty_range_gives_no_date() -> None:
    assert earliest_allowed_date(PacingPolicy(), [], d(5), d(4)) is None


def test_do_not_contact_gives_no_date() -> None:
    assert earliest_allowed_date(policy(do_not_contact=True), [], d(0), d(100)) is None


@settings(max_examples=60)
@given(policies, histories, days, st.integers(0, 60))
def test_earliest_date_is_the_first_allowed_day(p: PacingPolicy, history: list[date], start: date, length: int) -> None:
    end = start + timedelta(days=length)
    expected = next(
        (start + timedelta(days=k) for k in range(length + 1) if brute_allows(p, history, start + timedelta(days=k))),
        None,
    )
    assert earliest_allowed_date(p, history, start, end) == expected


@settings(max_examples=50)
@given(policies, histories, days)
def test_input_order_of_touch_dates_does_not_matter(p: PacingPolicy, history: list[date], day: date) -> None:
    shuffled = list(reversed(history))
    assert is_allowed(p, history, day) == is_allowed(p, shuffled, day)
    assert remaining_budget(p, history, day) == remaining_budget(p, shuffled, day)


@given(st.integers(1, 90), st.integers(0, 90))
def test_most_touches_per_period_is_what_greedy_booking_fits_in_one_period(period: int, gap: int) -> None:
    p = policy(max_touches=period, period_days=period, min_gap_days=gap)
    booked: list[date] = []
    for n in range(period):
        if is_allowed(p, booked, d(n)):
            booked.append(d(n))
    assert len(booked) == most_touches_per_period(period, gap)


def test_a_gap_longer_than_the_period_allows_one_touch_per_period() -> None:
    assert most_touches_per_period(30, 45) == 1 and most_touches_per_period(30, 14) == 3
    assert most_touches_per_period(30, 15) == 2 and most_touches_per_period(30, 0) == 30


# ------------------------------------------------------------------ which limit blocks


def test_blocking_limits_names_the_gap_when_the_budget_has_room() -> None:
    p = PacingPolicy(max_touches=2, period_days=30, min_gap_days=7)
    assert blocking_limits(p, [d(0)], d(3), d(5)) == {"min_gap"}
    assert blocking_limits(p, [d(0), d(10)], d(12), d(14)) == {"budget"}  # full period: the budget, gap or not
    assert blocking_limits(p, [d(0)], d(20), d(25)) == frozenset()
    assert blocking_limits(PacingPolicy(blackout=((d(1), d(2)),)), [d(-5)], d(0), d(2)) == {"min_gap", "blackout"}
    assert blocking_limits(PacingPolicy(do_not_contact=True), [], d(0), d(1)) == {"do_not_contact"}


@settings(max_examples=150, deadline=None)
@given(policies, histories, days, st.integers(min_value=0, max_value=20))
def test_blocking_limits_are_empty_exactly_when_every_day_is_allowed(
        p: PacingPolicy, history: list[date], start: date, length: int) -> None:
    end = start + timedelta(days=length)
    every_day = all(is_allowed(p, history, start + timedelta(days=n)) for n in range(length + 1))
    assert (blocking_limits(p, history, start, end) == frozenset()) == every_day
    # A day the budget would allow but the gap does not is named by the gap alone.
    if blocking_limits(p, history, start, start) == {"min_gap"}:
        assert remaining_budget(p, history, start) > 0 and not is_allowed(p, history, start)
