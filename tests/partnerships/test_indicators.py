"""Sector-partnership indicators (SPEC §2 SectorPartnership)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.councils.compliance import Badge
from crm.partnerships.indicators import (
    INDICATOR_KEYS,
    MeetingAttendance,
    MeetingAttendanceView,
    PartnershipInputError,
    Stage,
    SupportRole,
    business_outnumber_public,
    next_stages,
    partnership_indicators,
    validate_attendance,
    validate_stage,
)

TODAY = date(2026, 6, 15)


def meeting(held_on: date, business: int, public: int) -> MeetingAttendanceView:
    return MeetingAttendanceView(held_on=held_on, business_count=business, public_count=public)


def indicator(meetings: list[MeetingAttendanceView], key: str, today: date = TODAY) -> Badge:
    return {b.key: b for b in partnership_indicators(meetings, today)}[key]


# --- business_outnumber_public ---------------------------------------------------


def test_more_business_than_public_outnumbers() -> None:
    b = business_outnumber_public(MeetingAttendance(business=7, public=4))
    assert (b.key, b.ok, b.explanation) == ("business_outnumber_public", True, "7 business vs 4 public")
    assert b.label == "Business outnumbered public partners at the latest meeting"  # says which meetings it counts


def test_a_tie_does_not_outnumber() -> None:
    assert business_outnumber_public(MeetingAttendance(business=5, public=5)).ok is False


def test_fewer_business_than_public_does_not_outnumber() -> None:
    assert business_outnumber_public(MeetingAttendance(business=2, public=9)).ok is False


def test_business_only_outnumbers() -> None:
    assert business_outnumber_public(MeetingAttendance(business=1, public=0)).ok is True


def test_public_only_does_not_outnumber() -> None:
    assert business_outnumber_public(MeetingAttendance(business=0, public=3)).ok is False


def test_no_attendance_recorded_is_not_applicable() -> None:
    b = business_outnumber_public(MeetingAttendance(business=0, public=0))
    assert (b.ok, b.explanation) == (None, "no attendance recorded")


@pytest.mark.parametrize(
    ("field", "business", "public"), [("business_count", -1, 0), ("public_count", 3, -2)]
)
def test_negative_head_count_is_rejected(field: str, business: int, public: int) -> None:
    with pytest.raises(PartnershipInputError) as info:
        validate_attendance(business, public)
    assert info.value.field == field


def test_valid_head_counts_become_attendance() -> None:
    assert validate_attendance(0, 4) == MeetingAttendance(business=0, public=4)


# --- partnership_indicators ------------------------------------------------------------


def test_indicators_come_in_fixed_order() -> None:
    badges = partnership_indicators([meeting(TODAY, 3, 1)], TODAY)
    assert [b.key for b in badges] == list(INDICATOR_KEYS)
    assert INDICATOR_KEYS == (
        "business_outnumber_public",
        "business_outnumber_public_share",
        "met_last_12_months",
    )


def test_no_meetings() -> None:
    badges = {b.key: b for b in partnership_indicators([], TODAY)}
    assert (badges["business_outnumber_public"].ok, badges["business_outnumber_public"].explanation) == (
        None,
        "no meetings recorded",
    )
    assert badges["business_outnumber_public_share"].ok is None
    assert badges["business_outnumber_public_share"].explanation == "no meetings in the last 12 months"
    assert (badges["met_last_12_months"].ok, badges["met_last_12_months"].explanation) == (
        False,
        "no meetings recorded",
    )


def test_latest_meeting_decides_the_ratio_badge_whatever_the_order() -> None:
    meetings = [meeting(date(2026, 5, 1), 2, 6), meeting(date(2026, 3, 1), 9, 1)]
    b = indicator(meetings, "business_outnumber_public")
    assert b.ok is False
    assert b.explanation == "latest meeting (1 May 2026): 2 business vs 6 public"
    assert indicator(list(reversed(meetings)), "business_outnumber_public") == b


def test_latest_meeting_ignores_future_meetings() -> None:
    meetings = [meeting(date(2026, 5, 1), 8, 2), meeting(TODAY + timedelta(days=1), 0, 5)]
    b = indicator(meetings, "business_outnumber_public")
    assert b.ok is True
    assert b.explanation == "latest meeting (1 May 2026): 8 business vs 2 public"


def test_latest_meeting_without_attendance_is_not_applicable() -> None:
    b = indicator(
        [meeting(date(2026, 1, 1), 9, 1), meeting(date(2026, 5, 1), 0, 0)], "business_outnumber_public"
    )
    assert (b.ok, b.explanation) == (None, "latest meeting (1 May 2026): no attendance recorded")


def test_two_meetings_on_the_latest_day_use_the_weaker_one() -> None:
    meetings = [meeting(TODAY, 9, 1), meeting(TODAY, 3, 3)]
    assert indicator(meetings, "business_outnumber_public").ok is False
    assert indicator(list(reversed(meetings)), "business_outnumber_public").ok is False


def test_share_counts_meetings_in_the_last_12_months() -> None:
    meetings = [
        meeting(date(2026, 5, 1), 5, 2),  # win
        meeting(date(2026, 2, 1), 4, 4),  # tie: not a win
        meeting(date(2025, 9, 1), 6, 1),  # win
        meeting(date(2025, 6, 15), 8, 1),  # exactly 12 months ago: counts, win
        meeting(date(2025, 6, 14), 0, 9),  # 12 months and a day: left out
        meeting(TODAY + timedelta(days=3), 0, 9),  # future: left out
    ]
    b = indicator(meetings, "business_outnumber_public_share")
    assert b.ok is True
    assert b.explanation == "business outnumbered public at 3 of 4 meetings in the last 12 months (75%)"


def test_share_of_exactly_half_is_not_ok() -> None:
    meetings = [meeting(date(2026, 5, 1), 5, 2), meeting(date(2026, 4, 1), 1, 2)]
    b = indicator(meetings, "business_outnumber_public_share")
    assert b.ok is False
    assert b.explanation == "business outnumbered public at 1 of 2 meetings in the last 12 months (50%)"


def test_share_leaves_out_meetings_without_attendance() -> None:
    meetings = [meeting(date(2026, 5, 1), 5, 2), meeting(date(2026, 4, 1), 0, 0)]
    b = indicator(meetings, "business_outnumber_public_share")
    assert b.ok is True
    assert b.explanation == (
        "business outnumbered public at 1 of 1 meeting in the last 12 months (100%); "
        "1 without attendance not counted"
    )


def test_share_with_only_unrecorded_attendance_is_not_applicable() -> None:
    b = indicator([meeting(date(2026, 5, 1), 0, 0)], "business_outnumber_public_share")
    assert (b.ok, b.explanation) == (None, "no attendance recorded in the last 12 months")


def test_share_with_only_old_meetings_is_not_applicable() -> None:
    b = indicator([meeting(date(2024, 5, 1), 5, 0)], "business_outnumber_public_share")
    assert (b.ok, b.explanation) == (None, "no meetings in the last 12 months")


def test_met_in_last_12_months_boundary() -> None:
    assert indicator([meeting(date(2025, 6, 15), 1, 0)], "met_last_12_months").ok is True
    old = indicator([meeting(date(2025, 6, 14), 1, 0)], "met_last_12_months")
    assert (old.ok, old.explanation) == (False, "last met on 14 Jun 2025, more than 12 months ago")


def test_met_in_last_12_months_needs_someone_present_as_a_councils_does() -> None:
    """A date with nobody ticked present is a meeting planned or not recorded, not one held."""
    b = indicator([meeting(date(2026, 5, 1), 0, 0)], "met_last_12_months")
    assert (b.ok, b.explanation) == (False, "no meeting with anyone present (nobody is ticked present at 1 May 2026)")
    b = indicator([meeting(date(2026, 3, 1), 2, 1), meeting(date(2026, 5, 1), 0, 0)], "met_last_12_months")
    assert (b.ok, b.explanation) == (True, "last met on 1 Mar 2026")


def test_future_meeting_alone_is_not_a_meeting_held() -> None:
    b = indicator([meeting(TODAY + timedelta(days=1), 4, 1)], "met_last_12_months")
    assert (b.ok, b.explanation) == (False, "no meetings recorded")


def test_met_in_last_12_months_on_feb_29() -> None:
    today = date(2028, 2, 29)
    assert indicator([meeting(date(2027, 2, 28), 1, 0)], "met_last_12_months", today).ok is True
    assert indicator([meeting(date(2027, 2, 27), 1, 0)], "met_last_12_months", today).ok is False


# --- stages --------------------------------------------------------------------------


def test_known_stage_is_parsed() -> None:
    assert validate_stage("action_teams") is Stage.ACTION_TEAMS


@pytest.mark.parametrize("value", ["launching", "", "Scoping", " scoping"])
def test_unknown_stage_is_rejected_naming_the_field(value: str) -> None:
    with pytest.raises(PartnershipInputError) as info:
        validate_stage(value)
    assert info.value.field == "stage"
    assert repr(value) in info.value.message
    assert "support_team, scoping, preparing_launch" in info.value.message


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (Stage.SUPPORT_TEAM, (Stage.SCOPING, Stage.DORMANT)),
        (Stage.SCOPING, (Stage.PREPARING_LAUNCH, Stage.DORMANT)),
        (Stage.PREPARING_LAUNCH, (Stage.LAUNCHED, Stage.DORMANT)),
        (Stage.LAUNCHED, (Stage.ACTION_TEAMS, Stage.DORMANT)),
        (Stage.ACTION_TEAMS, (Stage.SUSTAINING, Stage.DORMANT)),
        (Stage.SUSTAINING, (Stage.DORMANT,)),
        (Stage.DORMANT, (Stage.SCOPING,)),
    ],
)
def test_next_stages_follow_the_next_gen_path(stage: Stage, expected: tuple[Stage, ...]) -> None:
    assert next_stages(stage) == expected


def test_enums_have_the_spec_values() -> None:
    assert [s.value for s in Stage] == [
        "support_team",
        "scoping",
        "preparing_launch",
        "launched",
        "action_teams",
        "sustaining",
        "dormant",
    ]
    assert [r.value for r in SupportRole] == ["convener", "core", "network"]


# --- properties ------------------------------------------------------------------------

_BASE = date(2024, 1, 1)
_days = st.integers(0, 5 * 365).map(lambda n: _BASE + timedelta(days=n))
_counts = st.integers(0, 6)
_meetings = st.lists(st.builds(MeetingAttendanceView, _days, _counts, _counts), max_size=8)
# 50 examples keep this file well under a second; raise locally when changing a rule.
_fast = settings(max_examples=50, deadline=None, database=None)


@_fast
@given(business=st.integers(0, 50), public=st.integers(0, 50))
def test_business_outnumber_public_iff_strictly_more(business: int, public: int) -> None:
    ok = business_outnumber_public(MeetingAttendance(business, public)).ok
    assert ok is (None if business == public == 0 else business > public)


@_fast
@given(meetings=_meetings, today=_days, data=st.data())
def test_indicators_do_not_depend_on_meeting_order(
    meetings: list[MeetingAttendanceView], today: date, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(meetings))
    assert partnership_indicators(meetings, today) == partnership_indicators(shuffled, today)
