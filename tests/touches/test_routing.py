"""Touch routing rules (SPEC §3): idempotency, bundle, pace, hold, release, SPOC choice, lifecycle."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from crm.touches.routing import (
    AssignmentView,
    Bundle,
    Decision,
    HeldRequestView,
    Hold,
    NewRequest,
    NewTouch,
    OpenRequestView,
    OpenTouchView,
    Outcome,
    PacingPolicy,
    Priority,
    Purpose,
    Refuse,
    RefuseReason,
    RequestStatus,
    ReturnExisting,
    RoutingError,
    RoutingRuleView,
    SpocChoice,
    SpocView,
    TouchStatus,
    choose_spoc,
    decide_request,
    default_window,
    missing_outcome,
    release_held,
    resolve_window,
    transition_request,
    transition_touch,
    validate_outcomes,
)

TODAY = date(2025, 3, 3)
EMPLOYER, REGION, ORG = 7, 1, 100


def d(n: int) -> date:
    """Day `n` relative to TODAY."""
    return TODAY + timedelta(days=n)


def request(
    *,
    start: int | None = None,
    end: int | None = None,
    org: int = ORG,
    purpose: Purpose = Purpose.HIRING,
    region: int = REGION,
    employer: int = EMPLOYER,
) -> NewRequest:
    return NewRequest(
        requester_org_id=org,
        employer_id=employer,
        region_id=region,
        purpose=purpose,
        window_start=None if start is None else d(start),
        window_end=None if end is None else d(end),
    )


def touch(
    id: int,
    planned: int,
    *,
    window: tuple[int, int] | None = None,
    status: TouchStatus = TouchStatus.QUEUED,
    region: int = REGION,
    employer: int = EMPLOYER,
) -> OpenTouchView:
    start, end = window if window is not None else (planned, planned)
    return OpenTouchView(id, employer, region, status, d(start), d(end), d(planned))


def decide(
    req: NewRequest,
    *,
    touches: Sequence[OpenTouchView] = (),
    requests: Sequence[OpenRequestView] = (),
    dates: Sequence[date] | None = None,
    policy: PacingPolicy | None = None,
    today: date = TODAY,
) -> Decision:
    """decide_request where the counted dates default to the open touches' dates, as the shell passes them."""
    counted = [t.planned_date for t in touches] if dates is None else dates
    return decide_request(req, requests, touches, counted, policy or PacingPolicy(), today)


# ------------------------------------------------------------------ windows


def test_default_window_is_today_to_30_days_out() -> None:
    assert default_window(TODAY) == (d(0), d(30))
    assert resolve_window(None, None, TODAY) == (d(0), d(30))


def test_window_start_in_the_past_is_clipped_to_today() -> None:
    assert resolve_window(d(-5), d(10), TODAY) == (d(0), d(10))


def test_window_ending_today_is_still_valid() -> None:
    assert resolve_window(d(-5), d(0), TODAY) == (d(0), d(0))


def test_missing_end_defaults_to_30_days_after_start() -> None:
    assert resolve_window(d(10), None, TODAY) == (d(10), d(40))


def test_missing_start_defaults_to_today() -> None:
    assert resolve_window(None, d(10), TODAY) == (d(0), d(10))


@pytest.mark.parametrize(
    ("start", "end", "field_name"),
    [
        (d(10), d(9), "window_end"),  # ends before it starts
        (d(-10), d(-1), "window_end"),  # entirely in the past
        (d(0), d(400), "window_end"),  # longer than a year
        (d(800), d(810), "window_start"),  # years ahead
        (date(9999, 12, 31), None, "window_start"),  # the default end would overflow the calendar
        ("2025-03-03", d(10), "window_start"),  # not a date
    ],
)
def test_invalid_window_is_rejected_naming_the_field(start: object, end: object, field_name: str) -> None:
    with pytest.raises(RoutingError) as err:
        resolve_window(start, end, TODAY)  # type: ignore[arg-type]
    assert err.value.field == field_name


def test_decide_request_validates_the_window_before_anything_else() -> None:
    with pytest.raises(RoutingError, match="window_end"):
        decide(request(start=5, end=4))


def test_unknown_purpose_is_rejected_naming_the_field() -> None:
    with pytest.raises(RoutingError) as err:
        NewRequest(ORG, EMPLOYER, REGION, "coffee")  # type: ignore[arg-type]
    assert err.value.field == "purpose"


def test_purpose_and_priority_strings_are_coerced_to_enums() -> None:
    req = NewRequest(ORG, EMPLOYER, REGION, "apprenticeship", "time_sensitive")  # type: ignore[arg-type]
    assert (req.purpose, req.priority) == (Purpose.APPRENTICESHIP, Priority.TIME_SENSITIVE)


def test_enum_values_match_the_spec() -> None:
    assert [p.value for p in Purpose][:3] == ["hiring", "work_based_learning", "apprenticeship"]
    assert len(Purpose) == 12
    assert {s.value for s in RequestStatus} == {
        "needs_match", "queued", "held", "scheduled", "completed", "declined", "withdrawn",
    }  # fmt: skip
    assert {s.value for s in TouchStatus} == {"queued", "scheduled", "completed", "cancelled"}


# ------------------------------------------------------------------ idempotency


def open_request(id: int, status: RequestStatus = RequestStatus.QUEUED, **kw: Any) -> OpenRequestView:
    values: dict[str, object] = {
        "requester_org_id": ORG,
        "employer_id": EMPLOYER,
        "purpose": Purpose.HIRING,
        **kw,
    }
    return OpenRequestView(id=id, status=status, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "status",
    [RequestStatus.NEEDS_MATCH, RequestStatus.QUEUED, RequestStatus.HELD, RequestStatus.SCHEDULED],
)
def test_same_org_employer_and_purpose_while_open_returns_the_existing_request(status: RequestStatus) -> None:
    assert decide(request(), requests=[open_request(41, status)]) == ReturnExisting(41)


@pytest.mark.parametrize("status", [RequestStatus.COMPLETED, RequestStatus.DECLINED, RequestStatus.WITHDRAWN])
def test_closed_earlier_request_does_not_block_a_new_one(status: RequestStatus) -> None:
    assert isinstance(decide(request(), requests=[open_request(41, status)]), NewTouch)


@pytest.mark.parametrize(
    "other",
    [{"requester_org_id": ORG + 1}, {"employer_id": EMPLOYER + 1}, {"purpose": Purpose.APPRENTICESHIP}],
)
def test_request_differing_in_org_employer_or_purpose_is_not_a_duplicate(other: dict[str, Any]) -> None:
    assert isinstance(decide(request(), requests=[open_request(41, **other)]), NewTouch)


def test_duplicate_returns_the_oldest_open_request() -> None:
    assert decide(request(), requests=[open_request(52), open_request(41)]) == ReturnExisting(41)


def test_duplicate_is_returned_even_under_do_not_contact() -> None:
    p = PacingPolicy(do_not_contact=True)
    assert decide(request(), requests=[open_request(41)], policy=p) == ReturnExisting(41)


# ------------------------------------------------------------------ refusal


def test_do_not_contact_refuses() -> None:
    assert decide(request(), policy=PacingPolicy(do_not_contact=True)) == Refuse(RefuseReason.DO_NOT_CONTACT)


def test_do_not_contact_refuses_even_with_an_open_touch_to_bundle_into() -> None:
    decision = decide(request(), touches=[touch(1, 5)], policy=PacingPolicy(do_not_contact=True))
    assert decision == Refuse(RefuseReason.DO_NOT_CONTACT)


def test_blackout_covering_window_and_horizon_refuses() -> None:
    p = PacingPolicy(blackout=((d(0), d(500)),))
    assert decide(request(start=0, end=30), policy=p) == Refuse(RefuseReason.NO_ALLOWED_DATE)


# ------------------------------------------------------------------ bundle


def test_second_partner_request_bundles_into_open_queued_touch() -> None:
    decision = decide(request(start=0, end=20), touches=[touch(9, 3, window=(0, 30))])
    assert decision == Bundle(9, (d(0), d(20)), d(3))


def test_bundling_narrows_the_touch_window_to_the_intersection() -> None:
    decision = decide(request(start=10, end=40), touches=[touch(9, 12, window=(0, 30))])
    assert decision == Bundle(9, (d(10), d(30)), d(12))


def test_windows_touching_on_one_day_still_bundle() -> None:
    decision = decide(request(start=30, end=40), touches=[touch(9, 30, window=(0, 30))])
    assert decision == Bundle(9, (d(30), d(30)), d(30))


def test_queued_touch_outside_the_narrowed_window_moves_to_its_earliest_allowed_day() -> None:
    # Touch planned on day 2; the request needs day 10..20; another touch sits on day 5.
    touches = [touch(9, 2, window=(0, 30))]
    decision = decide(request(start=10, end=20), touches=touches, dates=[d(2), d(5)])
    assert decision == Bundle(9, (d(10), d(20)), d(12))  # 7 days after day 5; day 2 no longer counts


def test_queued_touch_is_not_bundled_when_the_narrowed_window_has_no_allowed_day() -> None:
    # The intersection is day 10..11, but a logged touch on day 8 blocks it (min gap).
    touches = [touch(9, 2, window=(0, 11))]
    decision = decide(request(start=10, end=40), touches=touches, dates=[d(2), d(8)])
    # A new touch must wait until no 30-day period holds it together with both day 2 and day 8.
    assert decision == NewTouch((d(10), d(40)), d(32))


def test_disjoint_windows_do_not_bundle() -> None:
    decision = decide(request(start=20, end=40), touches=[touch(9, 3, window=(0, 10))])
    assert decision == NewTouch((d(20), d(40)), d(20))


@pytest.mark.parametrize("scheduled", [10, 20])
def test_scheduled_touch_on_either_window_boundary_serves_the_request(scheduled: int) -> None:
    t = touch(9, scheduled, window=(0, 30), status=TouchStatus.SCHEDULED)
    assert decide(request(start=10, end=20), touches=[t]) == Bundle(9, (d(10), d(20)), d(scheduled))


@pytest.mark.parametrize("scheduled", [9, 21])
def test_scheduled_touch_outside_the_window_does_not_serve_the_request(scheduled: int) -> None:
    t = touch(9, scheduled, window=(0, 30), status=TouchStatus.SCHEDULED)
    assert not isinstance(decide(request(start=10, end=20), touches=[t], policy=_lenient()), Bundle)


def _lenient() -> PacingPolicy:
    return PacingPolicy(max_touches=5, min_gap_days=0)


def test_scheduled_touch_outside_its_own_window_narrows_to_its_date() -> None:
    t = touch(9, 15, window=(0, 5), status=TouchStatus.SCHEDULED)
    assert decide(request(start=10, end=20), touches=[t]) == Bundle(9, (d(15), d(15)), d(15))


@pytest.mark.parametrize(
    "other",
    [
        touch(9, 3, window=(0, 30), region=REGION + 1),
        touch(9, 3, window=(0, 30), employer=EMPLOYER + 1),
        touch(9, 3, window=(0, 30), status=TouchStatus.COMPLETED),
        touch(9, 3, window=(0, 30), status=TouchStatus.CANCELLED),
    ],
)
def test_only_open_touches_of_the_same_employer_and_region_are_bundled(other: OpenTouchView) -> None:
    assert isinstance(decide(request(), touches=[other], dates=[], policy=_lenient()), NewTouch)


def test_among_candidates_the_earliest_planned_touch_wins() -> None:
    touches = [touch(1, 20, window=(0, 30)), touch(2, 3, window=(0, 30))]
    assert decide(request(), touches=touches, policy=_lenient()) == Bundle(2, (d(0), d(30)), d(3))


def test_among_candidates_on_the_same_day_the_lowest_id_wins() -> None:
    touches = [touch(8, 5, window=(0, 30)), touch(2, 5, window=(0, 30))]
    assert decide(request(), touches=touches, policy=_lenient()) == Bundle(2, (d(0), d(30)), d(5))


def test_bundle_ranking_uses_the_planned_date_after_narrowing() -> None:
    # Touch 1 is planned on day 2 but would have to move to day 15 (7 days after touch 2).
    touches = [touch(1, 2, window=(0, 30)), touch(2, 8, window=(0, 30))]
    decision = decide(request(start=8, end=30), touches=touches)
    assert decision == Bundle(2, (d(8), d(30)), d(8))


def test_overdue_queued_touch_is_replanned_into_the_request_window() -> None:
    decision = decide(request(start=0, end=10), touches=[touch(9, -3, window=(-10, 10))])
    assert decision == Bundle(9, (d(0), d(10)), d(0))  # its own old date does not count against it


# ------------------------------------------------------------------ pace: new touch or hold


def test_new_touch_is_planned_on_the_first_allowed_day_of_the_window() -> None:
    assert decide(request(start=3, end=20), dates=[d(-2)]) == NewTouch((d(3), d(20)), d(5))


def test_new_touch_exactly_min_gap_after_last_touch() -> None:
    assert decide(request(start=0, end=20), dates=[d(-7)]) == NewTouch((d(0), d(20)), d(0))


def test_new_touch_respects_a_touch_planned_later_in_the_window() -> None:
    # Another region's touch on day 10: days 4..16 are too close to it.
    other_region = touch(9, 10, region=REGION + 1)
    decision = decide(request(start=5, end=20), touches=[other_region])
    assert decision == NewTouch((d(5), d(20)), d(17))


def test_later_touches_count_against_every_period_containing_the_new_day() -> None:
    # Days 10 and 20 are already used (2 per 30 days): no day before 40 keeps every period within budget.
    decision = decide(request(start=0, end=60), dates=[d(10), d(20)])
    assert decision == NewTouch((d(0), d(60)), d(40))


def test_budget_exhausted_for_the_whole_window_holds_until_the_first_allowed_day() -> None:
    decision = decide(request(start=0, end=10), dates=[d(-5), d(-15)])
    assert decision == Hold(d(15))  # period [-15, 14] is full until day 15


def test_window_ending_one_day_before_the_budget_frees_is_held() -> None:
    assert decide(request(start=0, end=14), dates=[d(-5), d(-15)]) == Hold(d(15))
    assert decide(request(start=0, end=15), dates=[d(-5), d(-15)]) == NewTouch((d(0), d(15)), d(15))


def test_blackout_covering_the_window_holds_until_after_the_blackout() -> None:
    p = PacingPolicy(blackout=((d(-3), d(40)),))
    assert decide(request(start=0, end=30), policy=p) == Hold(d(41))


def test_blackout_covering_part_of_the_window_plans_after_it() -> None:
    p = PacingPolicy(blackout=((d(0), d(9)),))
    assert decide(request(start=0, end=30), policy=p) == NewTouch((d(0), d(30)), d(10))


def test_stricter_employer_preference_holds_what_the_region_would_allow() -> None:
    strict = PacingPolicy(max_touches=1, period_days=60)
    assert decide(request(start=0, end=10), dates=[d(-20)]) == NewTouch((d(0), d(10)), d(0))
    assert decide(request(start=0, end=10), dates=[d(-20)], policy=strict) == Hold(d(40))


# ------------------------------------------------------------------ release of held requests


def held(id: int, release: int, *, region: int = REGION, priority: Priority = Priority.NORMAL,
         window: tuple[int, int] | None = None) -> HeldRequestView:
    start, end = (d(window[0]), d(window[1])) if window is not None else (None, None)
    return HeldRequestView(id, EMPLOYER, region, d(release), priority, start, end)


def test_a_held_request_whose_dates_are_still_to_come_is_released_into_them() -> None:
    """Its touch was cancelled weeks before the days the partner asked for: the new touch is planned in them,
    not on the release day (a week after the cancel)."""
    out = release_held([held(1, 0, window=(40, 60))], [], [], PacingPolicy(), TODAY)
    assert out[0].decision == NewTouch((d(40), d(60)), d(40))
    # A touch already planned before those days does not take it.
    out = release_held([held(1, 0, window=(40, 60))], [touch(9, 5, window=(0, 30))], [d(5)], PacingPolicy(), TODAY)
    assert out[0].decision == NewTouch((d(40), d(60)), d(40))


def test_held_requests_released_together_keep_to_the_days_all_still_ask_for() -> None:
    group = [held(1, 0, window=(-10, 20)), held(2, -1, window=(5, 45)), held(3, -3, window=(-40, -20))]
    # 3's days are over (it was told so when held): 1 and 2 share days 5 to 20.
    assert release_held(group, [], [], PacingPolicy(), TODAY)[0].decision == NewTouch((d(5), d(20)), d(5))
    # No day in common, or none left: as soon as the budget allows, in the default window.
    apart = [held(1, 0, window=(0, 3)), held(2, 0, window=(10, 20))]
    assert release_held(apart, [], [], PacingPolicy(), TODAY)[0].decision == NewTouch((d(0), d(30)), d(0))
    over = [held(1, 0, window=(-30, -1))]
    assert release_held(over, [], [], PacingPolicy(), TODAY)[0].decision == NewTouch((d(0), d(30)), d(0))


def test_an_appointment_whose_time_has_passed_takes_no_new_request() -> None:
    """Scheduled for 09:00 today and not completed yet at 15:00: that contact never raised the new purpose."""
    past = replace(touch(9, 0, window=(0, 10), status=TouchStatus.SCHEDULED), appointment_passed=True)
    assert isinstance(decide(request(start=0, end=20), touches=[past]), NewTouch)
    assert release_held([held(1, 0)], [past], [d(0)], PacingPolicy(), TODAY)[0].decision != Bundle(
        9, (d(0), d(10)), d(0))
    later = touch(9, 0, window=(0, 10), status=TouchStatus.SCHEDULED)  # the same appointment, still to come
    assert decide(request(start=0, end=20), touches=[later]) == Bundle(9, (d(0), d(10)), d(0))


def test_held_requests_not_yet_due_stay_untouched() -> None:
    assert release_held([held(1, 1)], [], [], PacingPolicy(), TODAY) == []


def test_due_held_requests_of_one_region_join_one_new_touch() -> None:
    out = release_held([held(3, 0), held(1, -2)], [], [d(-20)], PacingPolicy(), TODAY)
    assert len(out) == 1
    assert out[0].request_ids == (1, 3)
    assert out[0].decision == NewTouch((d(0), d(30)), d(0))


def test_due_held_requests_join_an_open_touch_made_meanwhile() -> None:
    out = release_held([held(1, 0)], [touch(9, 4, window=(2, 10))], [d(4)], PacingPolicy(), TODAY)
    assert [(r.request_ids, r.decision) for r in out] == [((1,), Bundle(9, (d(2), d(10)), d(4)))]


def test_due_held_requests_stay_held_if_the_budget_was_used_meanwhile() -> None:
    # Two touches of another region used the budget; the next allowed day is 28.
    dates = [d(-1), d(-2)]
    out = release_held([held(1, 0)], [], dates, PacingPolicy(min_gap_days=0), d(0))
    assert out[0].decision == NewTouch((d(0), d(30)), d(28))
    out = release_held([held(1, 0)], [], dates, PacingPolicy(min_gap_days=0, period_days=60), d(0))
    assert out[0].decision == Hold(d(58))


def test_two_regions_released_the_same_day_share_the_employer_budget() -> None:
    out = release_held(
        [held(1, 0, region=1), held(2, 0, region=2, priority=Priority.TIME_SENSITIVE)],
        [],
        [],
        PacingPolicy(),
        TODAY,
    )
    assert [(r.region_id, r.decision) for r in out] == [
        (2, NewTouch((d(0), d(30)), d(0))),  # time-sensitive group goes first
        (1, NewTouch((d(0), d(30)), d(7))),
    ]


def test_released_requests_of_a_do_not_contact_employer_are_refused() -> None:
    out = release_held([held(1, 0)], [], [], PacingPolicy(do_not_contact=True), TODAY)
    assert out[0].decision == Refuse(RefuseReason.DO_NOT_CONTACT)


def test_release_handles_one_employer_per_call() -> None:
    other = HeldRequestView(2, EMPLOYER + 1, REGION, d(0))
    with pytest.raises(RoutingError) as err:
        release_held([held(1, 0), other], [], [], PacingPolicy(), TODAY)
    assert err.value.field == "employer_id"


# ------------------------------------------------------------------ SPOC choice


def spocs(**loads: tuple[bool, int]) -> dict[int, SpocView]:
    """spocs(u1=(away, load), ...) keyed by user id."""
    return {int(k[1:]): SpocView(away, load) for k, (away, load) in loads.items()}


def rule(
    id: int, pool: tuple[int, ...], naics: str | None = None, county: str | None = None, priority: int = 100
) -> RoutingRuleView:
    return RoutingRuleView(id, priority, naics, county, pool)


def test_active_spoc_gets_the_touch() -> None:
    choice = choose_spoc(AssignmentView(1, 2), spocs(u1=(False, 9), u2=(False, 0)), [], None, None)
    assert choice == SpocChoice("assigned", 1, None, sticky=False)


def test_away_spoc_hands_to_the_backup() -> None:
    choice = choose_spoc(AssignmentView(1, 2), spocs(u1=(True, 0), u2=(False, 0)), [], None, None)
    assert choice == SpocChoice("backup", 2, None, sticky=False)


def test_away_spoc_and_away_backup_fall_to_a_rule_without_replacing_the_assignment() -> None:
    choice = choose_spoc(
        AssignmentView(1, 2), spocs(u1=(True, 0), u2=(True, 0), u3=(False, 0)), [rule(5, (3,))], None, None
    )
    assert choice == SpocChoice("rule", 3, 5, sticky=False)


def test_unknown_assigned_spoc_is_treated_as_unavailable() -> None:
    choice = choose_spoc(AssignmentView(1), spocs(u3=(False, 0)), [rule(5, (3,))], None, None)
    assert choice == SpocChoice("rule", 3, 5, sticky=False)


def test_unassigned_employer_gets_the_least_loaded_spoc_of_the_rule_pool_sticky() -> None:
    choice = choose_spoc(None, spocs(u1=(False, 5), u2=(False, 2), u3=(False, 4)), [rule(5, (1, 2, 3))], "5415", "Kern")
    assert choice == SpocChoice("rule", 2, 5, sticky=True)


def test_load_ties_go_to_the_lowest_user_id() -> None:
    choice = choose_spoc(None, spocs(u4=(False, 1), u3=(False, 1)), [rule(5, (4, 3))], None, None)
    assert choice.user_id == 3


def test_away_pool_members_are_skipped() -> None:
    choice = choose_spoc(None, spocs(u1=(True, 0), u2=(False, 9)), [rule(5, (1, 2))], None, None)
    assert choice.user_id == 2


def test_rule_matching_sector_and_county_beats_either_alone() -> None:
    rules = [
        rule(1, (1,), naics="54"),
        rule(2, (2,), county="Kern"),
        rule(3, (3,), naics="5", county="kern "),
    ]
    choice = choose_spoc(None, spocs(u1=(False, 0), u2=(False, 0), u3=(False, 0)), rules, "5415", "Kern")
    assert (choice.rule_id, choice.user_id) == (3, 3)


def test_longer_naics_prefix_is_more_specific() -> None:
    rules = [rule(1, (1,), naics="54", priority=1), rule(2, (2,), naics="5415", priority=9)]
    choice = choose_spoc(None, spocs(u1=(False, 0), u2=(False, 0)), rules, "541512", None)
    assert choice.rule_id == 2


def test_rule_priority_breaks_ties_in_specificity_lower_number_first() -> None:
    rules = [rule(1, (1,), county="Kern", priority=20), rule(2, (2,), county="Kern", priority=10)]
    choice = choose_spoc(None, spocs(u1=(False, 0), u2=(False, 0)), rules, None, "Kern")
    assert choice.rule_id == 2


def test_catch_all_rule_applies_when_nothing_more_specific_matches() -> None:
    rules = [rule(1, (1,), naics="62"), rule(2, (2,), county="Kern"), rule(3, (3,))]
    choice = choose_spoc(None, spocs(u1=(False, 0), u2=(False, 0), u3=(False, 0)), rules, "5415", "Fresno")
    assert choice.rule_id == 3


def test_sector_rule_does_not_match_employer_without_naics() -> None:
    choice = choose_spoc(None, spocs(u1=(False, 0)), [rule(1, (1,), naics="54")], None, "Kern")
    assert choice == SpocChoice("unassigned", None, None, sticky=False)


def test_rule_whose_pool_is_all_away_falls_to_the_next_rule() -> None:
    rules = [rule(1, (1,), naics="54"), rule(2, (2,))]
    choice = choose_spoc(None, spocs(u1=(True, 0), u2=(False, 3)), rules, "5415", None)
    assert (choice.rule_id, choice.user_id) == (2, 2)


def test_no_matching_rule_goes_to_the_unassigned_queue() -> None:
    assert choose_spoc(None, {}, [], "5415", "Kern") == SpocChoice("unassigned", None, None, sticky=False)


# ------------------------------------------------------------------ outcomes and transitions


def test_outcomes_for_exactly_the_bundled_requests_are_accepted() -> None:
    validate_outcomes([1, 2], [(1, Outcome.INTERESTED), (2, Outcome.NO_RESPONSE)])
    validate_outcomes([], [])


def test_missing_and_unknown_outcomes_are_named_in_words_for_people() -> None:
    with pytest.raises(RoutingError) as err:
        validate_outcomes([1, 2], [(1, Outcome.INTERESTED), (3, Outcome.REFERRED)], form=True)
    assert err.value.field == "outcomes"
    assert err.value.message == (
        "missing an outcome for request #2, added after you opened this form; "
        "request #3 is not on this touch (withdrawn or moved since you opened this form)")


def test_missing_and_unknown_outcomes_said_to_an_api_client_speak_of_no_form() -> None:
    with pytest.raises(RoutingError) as err:
        validate_outcomes([1, 2], [(1, Outcome.INTERESTED), (3, Outcome.REFERRED)])
    assert err.value.message == (
        "missing an outcome for request #2: every request on the touch needs one; "
        "request #3 is not on this touch (withdrawn or moved to another touch)")


def test_each_missing_outcome_is_said_on_its_own_as_the_form_shows_it_at_its_request() -> None:
    with pytest.raises(RoutingError) as err:
        validate_outcomes([62, 5, 9], [(5, Outcome.INTERESTED)], form=True)
    assert err.value.message.split("; ") == [missing_outcome(9, form=True), missing_outcome(62, form=True)]
    assert missing_outcome(62, form=True) == "missing an outcome for request #62, added after you opened this form"
    with pytest.raises(RoutingError) as err:
        validate_outcomes([], [(4, Outcome.INTERESTED), (7, Outcome.REFERRED), (8, Outcome.REFERRED)])
    assert err.value.message.startswith("requests #4, #7 and #8 are not on this touch")


def test_unknown_outcome_value_is_named_by_its_place_in_the_list_not_its_request_id() -> None:
    with pytest.raises(RoutingError) as err:
        validate_outcomes([7, 8], [(8, Outcome.INTERESTED), (7, "thrilled")])
    assert err.value.field == "outcomes[1].outcome"


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (TouchStatus.QUEUED, "schedule", TouchStatus.SCHEDULED),
        (TouchStatus.SCHEDULED, "schedule", TouchStatus.SCHEDULED),
        (TouchStatus.SCHEDULED, "complete", TouchStatus.COMPLETED),
        (TouchStatus.QUEUED, "complete", TouchStatus.COMPLETED),
        (TouchStatus.QUEUED, "cancel", TouchStatus.CANCELLED),
        (TouchStatus.SCHEDULED, "cancel", TouchStatus.CANCELLED),
        (TouchStatus.SCHEDULED, "reassign", TouchStatus.SCHEDULED),
        (TouchStatus.QUEUED, "reassign", TouchStatus.QUEUED),
    ],
)
def test_legal_touch_transitions(current: TouchStatus, action: str, expected: TouchStatus) -> None:
    assert transition_touch(current, action) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("current", [TouchStatus.COMPLETED, TouchStatus.CANCELLED])
@pytest.mark.parametrize("action", ["schedule", "complete", "cancel", "reassign"])
def test_closed_touch_cannot_change(current: TouchStatus, action: str) -> None:
    with pytest.raises(RoutingError) as err:
        transition_touch(current, action)  # type: ignore[arg-type]
    assert err.value.field == "status"


def test_unknown_touch_action_is_rejected() -> None:
    with pytest.raises(RoutingError):
        transition_touch(TouchStatus.QUEUED, "teleport")  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ["withdraw", "decline"])
@pytest.mark.parametrize(
    "current", [RequestStatus.NEEDS_MATCH, RequestStatus.QUEUED, RequestStatus.HELD, RequestStatus.SCHEDULED]
)
def test_open_request_can_be_withdrawn_or_declined(current: RequestStatus, action: str) -> None:
    expected = RequestStatus.WITHDRAWN if action == "withdraw" else RequestStatus.DECLINED
    assert transition_request(current, action) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("current", [RequestStatus.COMPLETED, RequestStatus.DECLINED, RequestStatus.WITHDRAWN])
@pytest.mark.parametrize("action", ["queue", "hold", "schedule", "complete", "decline", "withdraw"])
def test_closed_request_cannot_change(current: RequestStatus, action: str) -> None:
    with pytest.raises(RoutingError):
        transition_request(current, action)  # type: ignore[arg-type]


def test_held_request_is_queued_on_release_but_cannot_be_completed_directly() -> None:
    assert transition_request(RequestStatus.HELD, "queue") == RequestStatus.QUEUED
    with pytest.raises(RoutingError):
        transition_request(RequestStatus.HELD, "complete")
    with pytest.raises(RoutingError):
        transition_request(RequestStatus.NEEDS_MATCH, "schedule")


# ------------------------------------------------------------------ properties


def within_policy(p: PacingPolicy, history: Sequence[date]) -> bool:
    """Every rolling period holds at most max_touches and consecutive touches keep the minimum gap."""
    ordered = sorted(history)
    gaps_ok = all((b - a).days >= p.min_gap_days for a, b in zip(ordered, ordered[1:], strict=False))
    span = timedelta(days=p.period_days - 1)
    # The fullest period can always be slid to start on a touch.
    budget_ok = all(sum(s <= t <= s + span for t in ordered) <= p.max_touches for s in ordered)
    return gaps_ok and budget_ok


pacing_policies = st.builds(
    PacingPolicy,
    max_touches=st.integers(1, 3),
    period_days=st.integers(1, 40),
    min_gap_days=st.integers(0, 10),
    blackout=st.lists(
        st.tuples(st.integers(-20, 80), st.integers(0, 15)).map(lambda s: (d(s[0]), d(s[0] + s[1]))),
        max_size=2,
    ).map(tuple),
)
purposes = st.sampled_from([Purpose.HIRING, Purpose.APPRENTICESHIP, Purpose.EVENT])


@st.composite
def new_requests(draw: st.DrawFn) -> NewRequest:
    start = draw(st.integers(-5, 40))
    return NewRequest(
        requester_org_id=draw(st.integers(1, 3)),
        employer_id=EMPLOYER,
        region_id=draw(st.integers(1, 2)),
        purpose=draw(purposes),
        window_start=d(start),
        window_end=d(start + draw(st.integers(max(0, -start), 45))),  # never entirely before TODAY
    )


@dataclass
class World:
    """The rows the shell would hold for one employer, updated the way the shell applies decisions."""

    policy: PacingPolicy
    dates: list[date]  # completed touches (initial history) + open touches' planned dates
    touches: dict[int, OpenTouchView] = field(default_factory=dict)
    requests: list[OpenRequestView] = field(default_factory=list)
    held: list[HeldRequestView] = field(default_factory=list)
    next_id: int = 1000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_touch(self, region: int, window: tuple[date, date], planned: date) -> None:
        t = OpenTouchView(self.new_id(), EMPLOYER, region, TouchStatus.QUEUED, *window, planned)
        self.touches[t.id] = t
        self.dates.append(planned)

    def apply_bundle(self, b: Bundle) -> None:
        old = self.touches[b.touch_id]
        self.dates.remove(old.planned_date)  # Bundle keeps the count: the date moves, never multiplies
        self.dates.append(b.planned_date)
        self.touches[b.touch_id] = replace(
            old, window_start=b.new_window[0], window_end=b.new_window[1], planned_date=b.planned_date
        )


@st.composite
def valid_histories(draw: st.DrawFn, p: PacingPolicy) -> list[date]:
    """Any history that itself respects the policy (touches logged before routing existed do too)."""
    history: list[date] = []
    for n in draw(st.lists(st.integers(-60, 40), max_size=6)):
        if within_policy(p, [*history, d(n)]):
            history.append(d(n))
    return history


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_sequence_of_requests_and_releases_never_exceeds_the_budget_or_breaks_the_gap(
    data: st.DataObject,
) -> None:
    p = data.draw(pacing_policies)
    world = World(p, data.draw(valid_histories(p)))
    today = TODAY
    for step in data.draw(st.lists(st.one_of(new_requests(), st.integers(1, 40)), min_size=1, max_size=15)):
        if isinstance(step, int):  # time passes and the scheduler releases due held requests
            today += timedelta(days=step)
            for release in release_held(world.held, list(world.touches.values()), world.dates, p, today):
                event(f"release:{release.decision.kind}")
                released = set(release.request_ids)
                world.held = [h for h in world.held if h.id not in released]
                if isinstance(release.decision, NewTouch):
                    world.add_touch(release.region_id, release.decision.window, release.decision.planned_date)
                elif isinstance(release.decision, Bundle):
                    world.apply_bundle(release.decision)
                elif isinstance(release.decision, Hold):
                    assert release.decision.release_on > today
                    world.held += [
                        HeldRequestView(i, EMPLOYER, release.region_id, release.decision.release_on) for i in released
                    ]
            assert within_policy(p, world.dates)
            continue
        req = step
        if req.window_end is not None and req.window_end < today:
            continue
        window = resolve_window(req.window_start, req.window_end, today)
        decision = decide_request(req, world.requests, list(world.touches.values()), world.dates, p, today)
        event(decision.kind)
        status = RequestStatus.QUEUED
        if isinstance(decision, NewTouch):
            assert window[0] <= decision.planned_date <= window[1] and decision.window == window
            world.add_touch(req.region_id, decision.window, decision.planned_date)
        elif isinstance(decision, Bundle):
            # A bundled request is served within its own window, by a touch of its own employer and region.
            t = world.touches[decision.touch_id]
            assert (t.employer_id, t.region_id) == (req.employer_id, req.region_id)
            assert window[0] <= decision.new_window[0] <= decision.planned_date <= decision.new_window[1] <= window[1]
            if t.status == TouchStatus.QUEUED:
                assert t.window_start <= decision.new_window[0] and decision.new_window[1] <= t.window_end
            world.apply_bundle(decision)
        elif isinstance(decision, Hold):
            assert decision.release_on > window[1]
            status = RequestStatus.HELD
        elif isinstance(decision, ReturnExisting):
            same = [r for r in world.requests if (r.requester_org_id, r.purpose) == (req.requester_org_id, req.purpose)]
            assert decision.request_id == min(r.id for r in same)
            continue
        else:
            continue
        request_id = world.new_id()
        world.requests.append(OpenRequestView(request_id, req.requester_org_id, EMPLOYER, req.purpose, status))
        if isinstance(decision, Hold):
            world.held.append(HeldRequestView(request_id, EMPLOYER, req.region_id, decision.release_on))
        assert within_policy(p, world.dates)


@st.composite
def open_touch_views(draw: st.DrawFn) -> OpenTouchView:
    start = draw(st.integers(-10, 60))
    end = start + draw(st.integers(0, 40))
    status = draw(st.sampled_from(list(TouchStatus)))
    planned = draw(st.integers(start - 5, end + 5))
    return OpenTouchView(
        draw(st.integers(1, 30)), EMPLOYER, draw(st.integers(1, 2)), status, d(start), d(end), d(planned)
    )


@settings(max_examples=50, deadline=None)
@given(
    pacing_policies,
    new_requests(),
    st.lists(open_touch_views(), max_size=5, unique_by=lambda t: t.id),
    st.lists(
        st.builds(
            OpenRequestView,
            id=st.integers(1, 50),
            requester_org_id=st.integers(1, 3),
            employer_id=st.just(EMPLOYER),
            purpose=purposes,
            status=st.sampled_from(list(RequestStatus)),
        ),
        max_size=5,
    ),
    st.lists(st.integers(-60, 60).map(d), max_size=6),
    st.randoms(use_true_random=False),
)
def test_decisions_are_deterministic_whatever_the_input_order(
    p: PacingPolicy,
    req: NewRequest,
    touches: list[OpenTouchView],
    requests: list[OpenRequestView],
    extra: list[date],
    rnd: random.Random,
) -> None:
    dates = [t.planned_date for t in touches] + extra
    first = decide_request(req, requests, touches, dates, p, TODAY)
    event(first.kind)
    for seq in (touches, requests, dates):
        rnd.shuffle(seq)
    assert decide_request(req, requests, touches, dates, p, TODAY) == first
    held_views = [HeldRequestView(r.id, EMPLOYER, 1 + r.id % 2, d(r.id % 5 - 2)) for r in requests]
    first_release = release_held(held_views, touches, dates, p, TODAY)
    rnd.shuffle(held_views)
    rnd.shuffle(touches)
    assert release_held(held_views, touches, dates, p, TODAY) == first_release
