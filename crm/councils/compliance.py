"""Advisory-council compliance badges (SPEC §2 AdvisoryCouncil): a pure core.

No database and no clock: the shell loads the council into plain views, passes
`today`, and renders the returned badges. Decisions documented here:

- A member is *current* on `today` when the term has started (`term_start` is
  None or <= today) and has not ended (`term_end` is None or >= today); a term
  ending today is still current.
- A member counts as *beyond the owner* unless their `organization_id` is the
  owner organization: members from another organization, from an employer, or
  public individuals with neither are not the owner's staff.
- "Met in the last 12 months" counts meetings from the same calendar date one
  year ago (Feb 29 falls back to Feb 28) up to and including today; meetings
  dated after today are scheduled, not held, and are ignored. A meeting counts
  only when at least one person was ticked present: one recorded with nobody
  present is no evidence that the council met (`last_met`).
- A council has at most one chair on any day. `validate_roster` rejects two
  chairs whose terms overlap, which needs no clock and also stops a future
  chair from being added before the sitting chair's term is ended.
- Badges about the roster are not applicable (`ok=None`) when there are no
  current members; `met_last_12_months` never is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

EXPIRING_WITHIN_DAYS = 60


class MemberType(StrEnum):
    """Which sector a council member represents."""

    INDUSTRY = "industry"
    EDUCATION = "education"
    WORKFORCE = "workforce"
    LABOR = "labor"
    COMMUNITY = "community"
    STUDENT = "student"
    PUBLIC = "public"


class MemberRole(StrEnum):
    """A member's role on the council."""

    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"
    MEMBER = "member"


@dataclass(frozen=True, slots=True)
class MemberView:
    """One roster entry, as the compliance rules need it."""

    member_type: MemberType
    role: MemberRole
    organization_id: int | None
    employer_id: int | None
    term_start: date | None
    term_end: date | None
    name: str


@dataclass(frozen=True, slots=True)
class MeetingView:
    """One council meeting (held or scheduled) and how many people were ticked present at it."""

    held_on: date
    present: int


@dataclass(frozen=True, slots=True)
class CouncilView:
    """A council with its whole roster (past, current, future) and meetings."""

    owner_organization_id: int
    members: Sequence[MemberView]
    meetings: Sequence[MeetingView]


@dataclass(frozen=True, slots=True)
class Badge:
    """One indicator: `ok` is True/False, or None when not applicable or unknown; ``warning``: a False that is
    a heads-up (something to act on soon), not a failure of the council's rules."""

    key: str
    label: str
    ok: bool | None
    explanation: str
    warning: bool = False


class ComplianceInputError(ValueError):
    """Invalid council input; `field` names the offending field for the API error shape."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


BADGE_LABELS: dict[str, str] = {
    "industry_chaired": "Industry-chaired",
    "chair_set": "Chair in place",
    "beyond_owner": "Includes partners beyond the owner",
    "industry_majority": "Industry majority",
    "met_last_12_months": "Met in the last 12 months",
    "terms_expiring": "No terms expiring within 60 days",
}
BADGE_KEYS: tuple[str, ...] = tuple(BADGE_LABELS)

_NO_CURRENT_MEMBERS = "no current members"


def _plural(count: int, singular: str) -> str:
    return f"{count} {singular if count == 1 else singular + 's'}"


def one_year_before(today: date) -> date:
    """The same calendar date one year earlier; Feb 29 maps to Feb 28."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # Feb 29 has no counterpart in the previous (common) year.
        return today.replace(year=today.year - 1, day=28)


def is_current(member: MemberView, today: date) -> bool:
    """Whether the member's term covers `today` (both ends inclusive, None = open)."""
    started = member.term_start is None or member.term_start <= today
    not_ended = member.term_end is None or member.term_end >= today
    return started and not_ended


def current_members(members: Iterable[MemberView], today: date) -> list[MemberView]:
    """Members current on `today`, in a stable order independent of input order."""
    return sorted((m for m in members if is_current(m, today)), key=_member_sort_key)


def _member_sort_key(member: MemberView) -> tuple[str, date, date, str, str, int, int]:
    return (
        member.name,
        member.term_start or date.min,
        member.term_end or date.max,
        member.member_type.value,
        member.role.value,
        member.organization_id if member.organization_id is not None else -1,
        member.employer_id if member.employer_id is not None else -1,
    )


def _part_of(part: int, total: int, what: str) -> str:
    """'3 of 7 current members are <what>', agreeing in number."""
    noun = "current member" if total == 1 else "current members"
    verb = "is" if part == 1 else "are"
    return f"{part} of {total} {noun} {verb} {what}"


def _badge(key: str, ok: bool | None, explanation: str, label: str | None = None) -> Badge:
    return Badge(key=key, label=label or BADGE_LABELS[key], ok=ok, explanation=explanation)


def _current_chairs(current: Sequence[MemberView]) -> list[MemberView]:
    return [m for m in current if m.role is MemberRole.CHAIR]


def _chairs_text(chairs: Sequence[MemberView]) -> str:
    return f"{len(chairs)} current chairs ({', '.join(c.name for c in chairs)}); a council has one chair"


def _chair_set_badge(current: Sequence[MemberView]) -> Badge:
    """A current chair exists."""
    if not current:
        return _badge("chair_set", None, _NO_CURRENT_MEMBERS)
    chairs = _current_chairs(current)
    if not chairs:
        return _badge("chair_set", False, "no current chair")
    if len(chairs) > 1:
        return _badge("chair_set", True, _chairs_text(chairs))
    return _badge("chair_set", True, f"{chairs[0].name} is chair")


def _industry_chaired_badge(current: Sequence[MemberView]) -> Badge:
    """A current chair exists and represents industry."""
    if not current:
        return _badge("industry_chaired", None, _NO_CURRENT_MEMBERS)
    chairs = _current_chairs(current)
    if not chairs:
        return _badge("industry_chaired", False, "no current chair")
    ok = all(c.member_type is MemberType.INDUSTRY for c in chairs)
    if len(chairs) > 1:
        return _badge("industry_chaired", ok, _chairs_text(chairs))
    chair = chairs[0]
    return _badge("industry_chaired", ok, f"chair {chair.name} is {chair.member_type.value}")


def is_beyond_owner(member: MemberView, owner_organization_id: int) -> bool:
    """Whether the member is not the owner organization's own staff."""
    return member.organization_id != owner_organization_id


def _beyond_owner_badge(current: Sequence[MemberView], owner_organization_id: int) -> Badge:
    """Current members include someone from outside the owner organization."""
    if not current:
        return _badge("beyond_owner", None, _NO_CURRENT_MEMBERS)
    outside = sum(1 for m in current if is_beyond_owner(m, owner_organization_id))
    if outside == 0:
        who = "the only current member is" if len(current) == 1 else f"all {len(current)} current members are"
        return _badge("beyond_owner", False, f"{who} from the owner")
    return _badge(
        "beyond_owner",
        True,
        _part_of(outside, len(current), "from outside the owner"),
    )


def _industry_majority_badge(current: Sequence[MemberView]) -> Badge:
    """Industry members are strictly more than half of current members."""
    if not current:
        return _badge("industry_majority", None, _NO_CURRENT_MEMBERS)
    industry = sum(1 for m in current if m.member_type is MemberType.INDUSTRY)
    ok = 2 * industry > len(current)
    text = _part_of(industry, len(current), "industry")
    if not ok:
        text += " (a majority needs more than half)"
    return _badge("industry_majority", ok, text)


def last_met(meetings: Iterable[MeetingView], today: date) -> date | None:
    """The latest day up to `today` on which a meeting had at least one person present, if any."""
    return max((m.held_on for m in meetings if m.held_on <= today and m.present > 0), default=None)


def _met_last_12_months_badge(meetings: Sequence[MeetingView], today: date) -> Badge:
    """A meeting with someone present was held between one year ago and today, inclusive."""
    held = [m for m in meetings if m.held_on <= today]
    if not held:
        return _badge("met_last_12_months", False, "no meetings recorded")
    last = last_met(held, today)
    # The latest meeting held since then with nobody ticked present: its attendance may just be missing.
    empty = max((m.held_on for m in held if m.present == 0 and (last is None or m.held_on > last)), default=None)
    unticked = f"nobody is ticked present at the meeting of {empty:%-d %b %Y}" if empty else ""
    if last is None:
        return _badge("met_last_12_months", False, f"no meeting with anyone present ({unticked})")
    note = f"; {unticked}" if unticked else ""
    if last >= one_year_before(today):
        return _badge("met_last_12_months", True, f"last met on {last:%-d %b %Y}{note}")
    return _badge("met_last_12_months", False, f"last met on {last:%-d %b %Y}, more than 12 months ago{note}")


def _terms_expiring_badge(current: Sequence[MemberView], today: date) -> Badge:
    """Warn (ok False) when a current member's term ends within the next 60 days."""
    if not current:
        return _badge("terms_expiring", None, _NO_CURRENT_MEMBERS)
    horizon = today + timedelta(days=EXPIRING_WITHIN_DAYS)
    expiring = sorted(
        (m for m in current if m.term_end is not None and today <= m.term_end <= horizon),
        key=lambda m: (m.term_end, m.name),
    )
    if not expiring:
        return _badge("terms_expiring", True, f"no terms end within {EXPIRING_WITHIN_DAYS} days")
    first = expiring[0]
    assert first.term_end is not None  # filtered above; narrows the type
    verb = "ends" if len(expiring) == 1 else "end"
    soon = f"{_plural(len(expiring), 'term')} {verb} within {EXPIRING_WITHIN_DAYS} days"
    # The failing badge says what is wrong ("✗ No terms expiring" read as a double negative).
    return replace(_badge("terms_expiring", False, f"{soon} (next: {first.name} on {first.term_end:%-d %b %Y})",
                          label=soon[:1].upper() + soon[1:]), warning=True)


def council_badges(council: CouncilView, today: date) -> list[Badge]:
    """All compliance badges for a council on `today`, in `BADGE_KEYS` order."""
    current = current_members(council.members, today)
    return [
        _industry_chaired_badge(current),
        _chair_set_badge(current),
        _beyond_owner_badge(current, council.owner_organization_id),
        _industry_majority_badge(current),
        _met_last_12_months_badge(council.meetings, today),
        _terms_expiring_badge(current, today),
    ]


# The days a council's or a partnership's records carry (a meeting, a term, a milestone): none before the
# programmes' era, none further ahead than a plan can mean. 0001-01-01 or 9999-12-31 is a slip, and a
# meeting on such a day made a counted touch planned on it when someone was ticked present.
EARLIEST_RECORD_DAY = date(1990, 1, 1)
MEETING_YEARS_AHEAD = 1
TERM_START_YEARS_AHEAD = 1
TERM_END_YEARS_AHEAD = 10
MILESTONE_YEARS_AHEAD = 5


def record_day_problem(day: date | None, today: date, years_ahead: int) -> str | None:
    """What is wrong with a record's day, or None (no day is no problem: optional ones may be left out)."""
    if day is None:
        return None
    if day < EARLIEST_RECORD_DAY:
        return f"must not be before {EARLIEST_RECORD_DAY:%-d %b %Y}"
    # 366 days a year, as every other horizon: date.replace(year=...) has no 29 February in most years.
    if day > today + timedelta(days=366 * years_ahead):
        return "must be within the next year" if years_ahead == 1 else f"must be within the next {years_ahead} years"
    return None


def validate_member_term(term_start: date | None, term_end: date | None) -> None:
    """Reject a term that ends before it starts (a one-day term is fine)."""
    if term_start is not None and term_end is not None and term_end < term_start:
        raise ComplianceInputError(
            "term_end",
            f"term end {term_end.isoformat()} is before term start {term_start.isoformat()}",
        )


def _terms_overlap(a: MemberView, b: MemberView) -> bool:
    a_start, a_end = a.term_start or date.min, a.term_end or date.max
    b_start, b_end = b.term_start or date.min, b.term_end or date.max
    return a_start <= b_end and b_start <= a_end


def validate_roster(members: Sequence[MemberView]) -> None:
    """Reject invalid terms and two chairs current on the same day (vice-chairs are unlimited)."""
    for member in members:
        validate_member_term(member.term_start, member.term_end)
    chairs = sorted((m for m in members if m.role is MemberRole.CHAIR), key=_member_sort_key)
    for i, first in enumerate(chairs):
        for second in chairs[i + 1 :]:
            if not _terms_overlap(first, second):
                continue
            starts = [d for d in (first.term_start, second.term_start) if d is not None]
            when = f"from {max(starts).isoformat()}" if starts else "with open-ended terms"
            raise ComplianceInputError(
                "role",
                f"{first.name} and {second.name} would both be current chair {when}; "
                "a council has one chair at a time (end one term before the other starts)",
            )
