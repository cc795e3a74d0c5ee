"""Advisory-council compliance badges (SPEC §2 AdvisoryCouncil)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.councils.compliance import (
    BADGE_KEYS,
    Badge,
    ComplianceInputError,
    CouncilView,
    MeetingView,
    MemberRole,
    MemberType,
    MemberView,
    council_badges,
    current_members,
    is_current,
    last_met,
    one_year_before,
    validate_member_term,
    validate_roster,
)

TODAY = date(2026, 6, 15)
OWNER = 1
OTHER_ORG = 2


def member(
    name: str = "Pat Doe",
    member_type: MemberType = MemberType.INDUSTRY,
    role: MemberRole = MemberRole.MEMBER,
    organization_id: int | None = None,
    employer_id: int | None = 100,
    term_start: date | None = date(2025, 1, 1),
    term_end: date | None = None,
) -> MemberView:
    return MemberView(
        member_type=member_type,
        role=role,
        organization_id=organization_id,
        employer_id=employer_id,
        term_start=term_start,
        term_end=term_end,
        name=name,
    )


def chair(
    name: str = "Chris Chair",
    member_type: MemberType = MemberType.INDUSTRY,
    term_start: date | None = date(2025, 1, 1),
    term_end: date | None = None,
) -> MemberView:
    return member(name, member_type, MemberRole.CHAIR, term_start=term_start, term_end=term_end)


def staff(name: str = "Owen Owner", role: MemberRole = MemberRole.MEMBER) -> MemberView:
    """A member from the owner organization itself."""
    return member(name, MemberType.EDUCATION, role, organization_id=OWNER, employer_id=None)


def council(
    members: list[MemberView] | None = None,
    meetings: list[date | MeetingView] | None = None,
) -> CouncilView:
    """A council; a meeting given as a date had someone present."""
    return CouncilView(
        owner_organization_id=OWNER,
        members=members or [],
        meetings=[m if isinstance(m, MeetingView) else MeetingView(held_on=m, present=3) for m in meetings or []],
    )


def badges_by_key(view: CouncilView, today: date = TODAY) -> dict[str, Badge]:
    return {b.key: b for b in council_badges(view, today)}


def badge(view: CouncilView, key: str, today: date = TODAY) -> Badge:
    return badges_by_key(view, today)[key]


# --- current members -------------------------------------------------------


def test_term_ending_today_is_current() -> None:
    assert is_current(member(term_end=TODAY), TODAY)


def test_term_ended_yesterday_is_not_current() -> None:
    assert not is_current(member(term_end=TODAY - timedelta(days=1)), TODAY)


def test_term_starting_today_is_current_and_tomorrow_is_not() -> None:
    assert is_current(member(term_start=TODAY), TODAY)
    assert not is_current(member(term_start=TODAY + timedelta(days=1)), TODAY)


def test_open_ended_term_is_current() -> None:
    assert is_current(member(term_start=None, term_end=None), TODAY)


def test_current_members_order_does_not_depend_on_input_order() -> None:
    roster = [member("Zed"), member("Amy"), member("Gone", term_end=date(2020, 1, 1)), member("Mo")]
    assert [m.name for m in current_members(roster, TODAY)] == ["Amy", "Mo", "Zed"]
    assert current_members(roster, TODAY) == current_members(list(reversed(roster)), TODAY)


# --- badge list --------------------------------------------------------------


def test_badges_come_in_fixed_order_with_labels() -> None:
    badges = council_badges(council([chair()], [TODAY]), TODAY)
    assert [b.key for b in badges] == list(BADGE_KEYS)
    assert BADGE_KEYS == (
        "industry_chaired",
        "chair_set",
        "beyond_owner",
        "industry_majority",
        "met_last_12_months",
        "terms_expiring",
    )
    assert all(b.label for b in badges)


def test_council_without_members_has_roster_badges_not_applicable() -> None:
    badges = badges_by_key(council([], [TODAY]))
    for key in ("industry_chaired", "chair_set", "beyond_owner", "industry_majority", "terms_expiring"):
        assert badges[key].ok is None, key
        assert badges[key].explanation == "no current members"
    assert badges["met_last_12_months"].ok is True


def test_council_with_only_past_members_has_no_current_members() -> None:
    roster = [chair(term_end=TODAY - timedelta(days=1)), member(term_end=date(2025, 12, 31))]
    assert badge(council(roster), "industry_majority").ok is None


def test_fully_compliant_council() -> None:
    roster = [chair("Ana Industry"), member("Bo Industry"), staff("Cy Faculty")]
    badges = council_badges(council(roster, [TODAY - timedelta(days=30)]), TODAY)
    assert [b.ok for b in badges] == [True, True, True, True, True, True]


# --- chair_set / industry_chaired ----------------------------------------------


def test_industry_chair_makes_council_industry_chaired() -> None:
    b = badge(council([chair("Ana Ruiz"), staff()]), "industry_chaired")
    assert b.ok is True
    assert b.explanation == "chair Ana Ruiz is industry"


def test_education_chair_is_not_industry_chaired() -> None:
    roster = [chair("Ed Ucator", member_type=MemberType.EDUCATION), member()]
    badges = badges_by_key(council(roster))
    assert badges["industry_chaired"].ok is False
    assert badges["industry_chaired"].explanation == "chair Ed Ucator is education"
    assert badges["chair_set"].ok is True
    assert badges["chair_set"].explanation == "Ed Ucator is chair"


def test_no_chair_fails_both_chair_badges() -> None:
    roster = [member(role=MemberRole.VICE_CHAIR), member()]
    badges = badges_by_key(council(roster))
    assert badges["chair_set"].ok is False
    assert badges["chair_set"].explanation == "no current chair"
    assert badges["industry_chaired"].ok is False
    assert badges["industry_chaired"].explanation == "no current chair"


def test_chair_whose_term_ended_is_not_the_chair() -> None:
    roster = [chair("Old Chair", term_end=TODAY - timedelta(days=1)), member()]
    badges = badges_by_key(council(roster))
    assert badges["chair_set"].ok is False
    assert badges["industry_chaired"].ok is False


def test_chair_whose_term_ends_today_still_chairs() -> None:
    badges = badges_by_key(council([chair(term_end=TODAY)]))
    assert badges["chair_set"].ok is True
    assert badges["industry_chaired"].ok is True


def test_chair_not_yet_started_is_not_the_chair() -> None:
    roster = [chair(term_start=TODAY + timedelta(days=1)), member()]
    assert badge(council(roster), "chair_set").ok is False


def test_industry_vice_chair_does_not_make_council_industry_chaired() -> None:
    roster = [chair(member_type=MemberType.LABOR), member(role=MemberRole.VICE_CHAIR)]
    assert badge(council(roster), "industry_chaired").ok is False


def test_two_current_chairs_are_reported_rather_than_hidden() -> None:
    # validate_roster keeps this out of the database; the badges still must not crash on legacy data.
    roster = [chair("Zoe"), chair("Abe", member_type=MemberType.PUBLIC)]
    badges = badges_by_key(council(roster))
    assert badges["chair_set"].ok is True
    assert badges["chair_set"].explanation == "2 current chairs (Abe, Zoe); a council has one chair"
    assert badges["industry_chaired"].ok is False


# --- beyond_owner --------------------------------------------------------------


def test_only_owner_staff_is_not_beyond_owner() -> None:
    b = badge(council([staff("A"), staff("B", role=MemberRole.CHAIR)]), "beyond_owner")
    assert b.ok is False
    assert b.explanation == "all 2 current members are from the owner"


def test_single_owner_staff_member_explanation() -> None:
    b = badge(council([staff()]), "beyond_owner")
    assert (b.ok, b.explanation) == (False, "the only current member is from the owner")


@pytest.mark.parametrize(
    ("organization_id", "employer_id"),
    [
        pytest.param(OTHER_ORG, None, id="other organization"),
        pytest.param(None, 100, id="employer"),
        pytest.param(None, None, id="public individual"),
    ],
)
def test_member_not_from_owner_is_beyond_owner(organization_id: int | None, employer_id: int | None) -> None:
    outsider = member("Out Sider", organization_id=organization_id, employer_id=employer_id)
    b = badge(council([staff(), outsider]), "beyond_owner")
    assert b.ok is True
    assert b.explanation == "1 of 2 current members is from outside the owner"


def test_former_outside_member_does_not_count_beyond_owner() -> None:
    roster = [staff(), member("Gone", organization_id=OTHER_ORG, term_end=TODAY - timedelta(days=1))]
    assert badge(council(roster), "beyond_owner").ok is False


# --- industry_majority -------------------------------------------------------


def test_industry_majority_explanation_counts_current_members() -> None:
    roster = [member(str(i)) for i in range(3)] + [staff(f"s{i}") for i in range(4)]
    b = badge(council(roster), "industry_majority")
    assert b.ok is False
    assert b.explanation == "3 of 7 current members are industry (a majority needs more than half)"


def test_exactly_half_industry_is_not_a_majority() -> None:
    roster = [member("a"), member("b"), staff("c"), staff("d")]
    assert badge(council(roster), "industry_majority").ok is False


def test_one_more_than_half_industry_is_a_majority() -> None:
    roster = [member("a"), member("b"), member("c"), staff("d"), staff("e")]
    b = badge(council(roster), "industry_majority")
    assert b.ok is True
    assert b.explanation == "3 of 5 current members are industry"


def test_lone_industry_member_is_a_majority() -> None:
    b = badge(council([member()]), "industry_majority")
    assert (b.ok, b.explanation) == (True, "1 of 1 current member is industry")


def test_expired_industry_members_do_not_count_toward_majority() -> None:
    roster = [member("a"), member("b", term_end=TODAY - timedelta(days=1)), staff("c")]
    assert badge(council(roster), "industry_majority").ok is False


def test_labor_is_not_industry() -> None:
    roster = [member("a", member_type=MemberType.LABOR), member("b", member_type=MemberType.LABOR)]
    assert badge(council(roster), "industry_majority").ok is False


# --- met_last_12_months --------------------------------------------------------


def test_no_meetings_recorded() -> None:
    b = badge(council([member()], []), "met_last_12_months")
    assert (b.ok, b.explanation) == (False, "no meetings recorded")


def test_meeting_exactly_twelve_months_ago_counts() -> None:
    b = badge(council(meetings=[date(2025, 6, 15)]), "met_last_12_months")
    assert (b.ok, b.explanation) == (True, "last met on 15 Jun 2025")


def test_meeting_twelve_months_and_one_day_ago_does_not_count() -> None:
    b = badge(council(meetings=[date(2025, 6, 14)]), "met_last_12_months")
    assert (b.ok, b.explanation) == (False, "last met on 14 Jun 2025, more than 12 months ago")


def test_meeting_today_counts() -> None:
    assert badge(council(meetings=[TODAY]), "met_last_12_months").ok is True


def test_future_meeting_is_ignored() -> None:
    b = badge(council(meetings=[TODAY + timedelta(days=1)]), "met_last_12_months")
    assert (b.ok, b.explanation) == (False, "no meetings recorded")


def test_future_meeting_does_not_hide_an_old_one() -> None:
    view = council(meetings=[date(2026, 9, 1), date(2024, 3, 1)])
    b = badge(view, "met_last_12_months")
    assert (b.ok, b.explanation) == (False, "last met on 1 Mar 2024, more than 12 months ago")


def test_explanation_names_the_latest_meeting_whatever_the_order() -> None:
    view = council(meetings=[date(2026, 1, 10), date(2026, 5, 2), date(2025, 11, 30)])
    assert badge(view, "met_last_12_months").explanation == "last met on 2 May 2026"


def test_met_last_12_months_does_not_need_members() -> None:
    assert badge(council([], [TODAY]), "met_last_12_months").ok is True


def test_a_meeting_with_nobody_ticked_present_is_not_a_meeting_held() -> None:
    b = badge(council(meetings=[MeetingView(date(2026, 5, 2), present=0)]), "met_last_12_months")
    assert (b.ok, b.explanation) == (
        False, "no meeting with anyone present (nobody is ticked present at the meeting of 2 May 2026)")


def test_an_empty_meeting_after_the_last_one_with_people_is_pointed_out() -> None:
    view = council(meetings=[date(2026, 3, 10), MeetingView(date(2026, 5, 2), present=0)])
    b = badge(view, "met_last_12_months")
    assert (b.ok, b.explanation) == (
        True, "last met on 10 Mar 2026; nobody is ticked present at the meeting of 2 May 2026")


def test_an_empty_recent_meeting_does_not_make_an_old_council_met() -> None:
    view = council(meetings=[date(2024, 3, 1), MeetingView(date(2026, 5, 2), present=0)])
    b = badge(view, "met_last_12_months")
    assert (b.ok, b.explanation) == (False, "last met on 1 Mar 2024, more than 12 months ago; nobody is ticked "
                                            "present at the meeting of 2 May 2026")


def test_last_met_is_the_latest_held_meeting_with_someone_present() -> None:
    meetings = [MeetingView(date(2026, 1, 10), 2), MeetingView(date(2026, 5, 2), 0), MeetingView(TODAY, 1),
                MeetingView(TODAY + timedelta(days=1), 5)]
    assert last_met(meetings, TODAY) == TODAY
    assert last_met(meetings, TODAY - timedelta(days=1)) == date(2026, 1, 10)
    assert last_met([MeetingView(date(2026, 5, 2), 0)], TODAY) is None


def test_one_year_before_leap_day_is_feb_28() -> None:
    assert one_year_before(date(2028, 2, 29)) == date(2027, 2, 28)
    assert one_year_before(date(2027, 3, 1)) == date(2026, 3, 1)
    assert one_year_before(date(2029, 2, 28)) == date(2028, 2, 28)


def test_today_feb_29_counts_meeting_on_feb_28_last_year() -> None:
    today = date(2028, 2, 29)
    assert badge(council(meetings=[date(2027, 2, 28)]), "met_last_12_months", today).ok is True
    assert badge(council(meetings=[date(2027, 2, 27)]), "met_last_12_months", today).ok is False


# --- terms_expiring ------------------------------------------------------------


def test_no_terms_expiring() -> None:
    roster = [member(term_end=TODAY + timedelta(days=61)), member("b")]
    b = badge(council(roster), "terms_expiring")
    assert (b.ok, b.explanation) == (True, "no terms end within 60 days")


def test_terms_expiring_names_the_next_one() -> None:
    roster = [
        member("Later Person", term_end=date(2026, 8, 1)),
        member("Maria Lopez", term_end=date(2026, 7, 5)),
        member("Far Off", term_end=date(2027, 1, 1)),
    ]
    b = badge(council(roster), "terms_expiring")
    assert b.ok is False
    assert b.explanation == "2 terms end within 60 days (next: Maria Lopez on 5 Jul 2026)"
    assert b.label == "2 terms end within 60 days"  # not "✗ No terms expiring…", a double negative


def test_term_ending_today_counts_as_expiring() -> None:
    b = badge(council([member("Tess Today", term_end=TODAY)]), "terms_expiring")
    assert b.ok is False
    assert b.explanation == "1 term ends within 60 days (next: Tess Today on 15 Jun 2026)"


def test_term_ending_on_day_60_is_expiring_and_day_61_is_not() -> None:
    assert badge(council([member(term_end=TODAY + timedelta(days=60))]), "terms_expiring").ok is False
    assert badge(council([member(term_end=TODAY + timedelta(days=61))]), "terms_expiring").ok is True


def test_term_ended_yesterday_is_not_expiring() -> None:
    roster = [member("a", term_end=TODAY - timedelta(days=1)), member("b")]
    assert badge(council(roster), "terms_expiring").ok is True


def test_future_member_whose_term_ends_soon_is_not_current_so_not_expiring() -> None:
    roster = [
        member("a", term_start=TODAY + timedelta(days=5), term_end=TODAY + timedelta(days=10)),
        member(),
    ]
    assert badge(council(roster), "terms_expiring").ok is True


def test_same_end_date_tie_is_broken_by_name() -> None:
    end = TODAY + timedelta(days=3)
    roster = [member("Zara", term_end=end), member("Adam", term_end=end)]
    assert "next: Adam on" in badge(council(roster), "terms_expiring").explanation


# --- validation ----------------------------------------------------------------


def test_term_ending_before_it_starts_is_rejected() -> None:
    with pytest.raises(ComplianceInputError) as info:
        validate_member_term(date(2026, 2, 1), date(2026, 1, 31))
    assert info.value.field == "term_end"
    assert info.value.message == "term end 2026-01-31 is before term start 2026-02-01"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 1, 1), date(2026, 1, 1)),
        (date(2026, 1, 1), date(2027, 1, 1)),
        (None, date(2026, 1, 1)),
        (date(2026, 1, 1), None),
        (None, None),
    ],
)
def test_valid_terms_pass(start: date | None, end: date | None) -> None:
    validate_member_term(start, end)


def test_two_current_chairs_are_rejected() -> None:
    with pytest.raises(ComplianceInputError) as info:
        validate_roster(
            [chair("Zoe", term_start=date(2026, 1, 1)), chair("Abe", term_start=date(2025, 1, 1))]
        )
    assert info.value.field == "role"
    assert info.value.message.startswith("Abe and Zoe would both be current chair from 2026-01-01")


def test_two_open_ended_chairs_are_rejected() -> None:
    with pytest.raises(ComplianceInputError, match="open-ended"):
        validate_roster([chair("A", term_start=None), chair("B", term_start=None)])


def test_future_chair_overlapping_the_sitting_chair_is_rejected() -> None:
    sitting = chair("Sitting", term_start=date(2025, 1, 1), term_end=None)
    incoming = chair("Incoming", term_start=date(2026, 9, 1))
    with pytest.raises(ComplianceInputError, match="from 2026-09-01"):
        validate_roster([sitting, incoming])


def test_handover_on_the_same_day_is_rejected_because_the_end_day_is_inclusive() -> None:
    outgoing = chair("Out", term_start=date(2025, 1, 1), term_end=date(2026, 6, 30))
    incoming = chair("In", term_start=date(2026, 6, 30))
    with pytest.raises(ComplianceInputError):
        validate_roster([outgoing, incoming])


def test_successive_chairs_are_accepted() -> None:
    validate_roster(
        [
            chair("First", term_start=date(2020, 1, 1), term_end=date(2022, 12, 31)),
            chair("Second", term_start=date(2023, 1, 1), term_end=date(2026, 6, 30)),
            chair("Third", term_start=date(2026, 7, 1), term_end=None),
        ]
    )


def test_vice_chairs_are_unlimited() -> None:
    validate_roster([chair()] + [member(f"v{i}", role=MemberRole.VICE_CHAIR) for i in range(5)])


def test_roster_with_a_backwards_term_is_rejected() -> None:
    with pytest.raises(ComplianceInputError) as info:
        validate_roster([member(term_start=date(2026, 2, 1), term_end=date(2026, 1, 1))])
    assert info.value.field == "term_end"


def test_input_error_is_a_value_error_with_field_in_message() -> None:
    error = ComplianceInputError("role", "bad")
    assert isinstance(error, ValueError)
    assert str(error) == "role: bad"


def test_enums_are_strings_with_the_spec_values() -> None:
    assert [t.value for t in MemberType] == [
        "industry",
        "education",
        "workforce",
        "labor",
        "community",
        "student",
        "public",
    ]
    assert [r.value for r in MemberRole] == ["chair", "vice_chair", "member"]
    assert f"{MemberType.INDUSTRY}" == "industry"  # StrEnum: renders as its value in templates


# --- properties ----------------------------------------------------------------

_BASE = date(2024, 1, 1)
# None (open-ended) or a day in 2024..2028; an integer draw is much cheaper than st.dates().
_term_dates = st.integers(-1, 5 * 365).map(lambda n: None if n < 0 else _BASE + timedelta(days=n))
# Every (type, role, organization, employer, name) combination as one draw keeps the suite fast.
_PROFILES = list(
    itertools.product(
        MemberType, MemberRole, [None, OWNER, OTHER_ORG], [None, 100], ["Ana", "Bo", "Cy", "Di"]
    )
)


def _member_from(
    profile: tuple[MemberType, MemberRole, int | None, int | None, str], a: date | None, b: date | None
) -> MemberView:
    member_type, role, organization_id, employer_id, name = profile
    if a is not None and b is not None and b < a:
        a, b = b, a
    return MemberView(member_type, role, organization_id, employer_id, a, b, name)


_rosters = st.lists(st.builds(_member_from, st.sampled_from(_PROFILES), _term_dates, _term_dates), max_size=8)
_todays = st.integers(0, 5 * 365).map(lambda n: _BASE + timedelta(days=n))
_meetings = st.lists(
    st.builds(MeetingView, st.integers(-400, 6 * 365).map(lambda n: _BASE + timedelta(days=n)),
              st.integers(0, 2)),
    max_size=5,
)
# 50 examples keep this file well under a second; raise locally when changing a rule.
_fast = settings(max_examples=50, deadline=None, database=None)


@_fast
@given(roster=_rosters, today=_todays)
def test_industry_majority_ok_iff_more_than_half_of_current_members_are_industry(
    roster: list[MemberView], today: date
) -> None:
    current = [m for m in roster if is_current(m, today)]
    industry = sum(1 for m in current if m.member_type is MemberType.INDUSTRY)
    ok = badge(council(roster), "industry_majority", today).ok
    if not current:
        assert ok is None
    else:
        assert ok is (2 * industry > len(current))


@_fast
@given(roster=_rosters, meetings=_meetings, today=_todays, data=st.data())
def test_badges_do_not_depend_on_roster_or_meeting_order(
    roster: list[MemberView], meetings: list[MeetingView], today: date, data: st.DataObject
) -> None:
    shuffled_roster = data.draw(st.permutations(roster))
    shuffled_meetings = data.draw(st.permutations(meetings))
    original = council_badges(CouncilView(OWNER, roster, meetings), today)
    reordered = council_badges(CouncilView(OWNER, shuffled_roster, shuffled_meetings), today)
    assert original == reordered


@_fast
@given(roster=_rosters, meetings=_meetings, today=_todays)
def test_badges_are_total_and_well_formed(
    roster: list[MemberView], meetings: list[MeetingView], today: date
) -> None:
    badges = council_badges(CouncilView(OWNER, roster, meetings), today)
    assert [b.key for b in badges] == list(BADGE_KEYS)
    assert all(b.explanation for b in badges)
    has_current = any(is_current(m, today) for m in roster)
    assert all((b.ok is None) == (not has_current) for b in badges if b.key != "met_last_12_months")
    assert badges[BADGE_KEYS.index("met_last_12_months")].ok is not None


@_fast
@given(roster=_rosters, today=_todays)
def test_a_roster_that_validates_never_has_two_current_chairs(roster: list[MemberView], today: date) -> None:
    try:
        validate_roster(roster)
    except ComplianceInputError:
        return
    assert sum(1 for m in roster if m.role is MemberRole.CHAIR and is_current(m, today)) <= 1


@_fast
@given(today=st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)))
def test_one_year_before_is_365_or_366_days_back(today: date) -> None:
    back = (today - one_year_before(today)).days
    assert back in (365, 366)


@_fast
@given(meetings=_meetings, today=_todays)
def test_met_last_12_months_ok_iff_a_meeting_with_someone_present_falls_in_the_window(
    meetings: list[MeetingView], today: date
) -> None:
    in_window = any(one_year_before(today) <= m.held_on <= today and m.present > 0 for m in meetings)
    view = CouncilView(OWNER, [], meetings)
    assert badge(view, "met_last_12_months", today).ok is in_window
