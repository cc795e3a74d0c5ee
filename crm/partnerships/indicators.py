"""Sector-partnership indicators (SPEC §2 SectorPartnership, Next Gen model): a pure core.

No database and no clock: pass `today`. The headline indicator is *business
outnumber public partners at meetings*: strictly more business than public
attendees (a tie is not outnumbering). Meetings with no attendance recorded
(0 and 0) are "unknown", not failures, and are left out of the 12-month share.
The 12-month window is the councils' one (`one_year_before(today)` .. today,
inclusive); meetings dated after today are scheduled, not held, and ignored.
Badges reuse the councils' `Badge` so templates render both the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from crm.councils.compliance import Badge, one_year_before


class Stage(StrEnum):
    """Next Gen sector-partnership stage."""

    SUPPORT_TEAM = "support_team"
    SCOPING = "scoping"
    PREPARING_LAUNCH = "preparing_launch"
    LAUNCHED = "launched"
    ACTION_TEAMS = "action_teams"
    SUSTAINING = "sustaining"
    DORMANT = "dormant"


class SupportRole(StrEnum):
    """Role of an organization or person on the partnership's support team."""

    CONVENER = "convener"
    CORE = "core"
    NETWORK = "network"


@dataclass(frozen=True, slots=True)
class MeetingAttendance:
    """Head counts at one meeting."""

    business: int
    public: int


@dataclass(frozen=True, slots=True)
class MeetingAttendanceView:
    """One partnership meeting with its head counts."""

    held_on: date
    business_count: int
    public_count: int


class PartnershipInputError(ValueError):
    """Invalid partnership input; `field` names the offending field for the API error shape."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


INDICATOR_LABELS: dict[str, str] = {
    # Which meetings each counts is in its label: side by side, a ✓ and a ✗ of one name read as a contradiction.
    "business_outnumber_public": "Business outnumbered public partners at the latest meeting",
    "business_outnumber_public_share": "Business outnumbered public partners at most meetings of the last 12 months",
    "met_last_12_months": "Met in the last 12 months",
}
INDICATOR_KEYS: tuple[str, ...] = tuple(INDICATOR_LABELS)

# The Next Gen path, in order; any stage may go dormant, and a dormant
# partnership restarts by scoping again.
_PROGRESSION: tuple[Stage, ...] = (
    Stage.SUPPORT_TEAM,
    Stage.SCOPING,
    Stage.PREPARING_LAUNCH,
    Stage.LAUNCHED,
    Stage.ACTION_TEAMS,
    Stage.SUSTAINING,
)


def _badge(key: str, ok: bool | None, explanation: str) -> Badge:
    return Badge(key=key, label=INDICATOR_LABELS[key], ok=ok, explanation=explanation)


def _counts(attendance: MeetingAttendance) -> str:
    return f"{attendance.business} business vs {attendance.public} public"


def business_outnumber_public(attendance: MeetingAttendance) -> Badge:
    """Strictly more business than public attendees; 0 vs 0 is not applicable."""
    if attendance.business == 0 and attendance.public == 0:
        return _badge("business_outnumber_public", None, "no attendance recorded")
    ok = attendance.business > attendance.public
    return _badge("business_outnumber_public", ok, _counts(attendance))


def validate_attendance(business_count: int, public_count: int) -> MeetingAttendance:
    """Reject negative head counts and return the attendance."""
    for field, value in (("business_count", business_count), ("public_count", public_count)):
        if value < 0:
            raise PartnershipInputError(field, f"must be 0 or more, got {value}")
    return MeetingAttendance(business=business_count, public=public_count)


def _attendance(meeting: MeetingAttendanceView) -> MeetingAttendance:
    return MeetingAttendance(business=meeting.business_count, public=meeting.public_count)


def _latest_meeting_badge(held: Sequence[MeetingAttendanceView]) -> Badge:
    if not held:
        return _badge("business_outnumber_public", None, "no meetings recorded")
    # Two meetings on the same day: take the one with the lowest business margin,
    # so the result does not depend on the order rows were loaded in.
    latest = min(
        (m for m in held if m.held_on == held[-1].held_on),
        key=lambda m: (m.business_count - m.public_count, m.business_count),
    )
    badge = business_outnumber_public(_attendance(latest))
    return Badge(
        key=badge.key,
        label=badge.label,
        ok=badge.ok,
        explanation=f"latest meeting ({latest.held_on:%-d %b %Y}): {badge.explanation}",
    )


def _share_badge(recent: Sequence[MeetingAttendanceView]) -> Badge:
    key = "business_outnumber_public_share"
    if not recent:
        return _badge(key, None, "no meetings in the last 12 months")
    counted = [m for m in recent if m.business_count or m.public_count]
    if not counted:
        return _badge(key, None, "no attendance recorded in the last 12 months")
    wins = sum(1 for m in counted if m.business_count > m.public_count)
    meetings = "meeting" if len(counted) == 1 else "meetings"
    text = (
        f"business outnumbered public at {wins} of {len(counted)} {meetings} "
        f"in the last 12 months ({round(100 * wins / len(counted))}%)"
    )
    skipped = len(recent) - len(counted)
    if skipped:
        text += f"; {skipped} without attendance not counted"
    # Same rule as the council majority: more than half, so a 50/50 split is not ok.
    return _badge(key, 2 * wins > len(counted), text)


def _met_badge(held: Sequence[MeetingAttendanceView], cutoff: date) -> Badge:
    """As the councils' badge: a convening counts once someone is ticked present (a date alone is no meeting)."""
    if not held:
        return _badge("met_last_12_months", False, "no meetings recorded")
    attended = [m for m in held if m.business_count + m.public_count > 0]
    if not attended:
        return _badge("met_last_12_months", False,
                      f"no meeting with anyone present (nobody is ticked present at {held[-1].held_on:%-d %b %Y})")
    last = attended[-1].held_on
    if last >= cutoff:
        return _badge("met_last_12_months", True, f"last met on {last:%-d %b %Y}")
    return _badge("met_last_12_months", False, f"last met on {last:%-d %b %Y}, more than 12 months ago")


def partnership_indicators(meetings: Sequence[MeetingAttendanceView], today: date) -> list[Badge]:
    """Latest-meeting ratio, 12-month share and met-in-12-months badges, in `INDICATOR_KEYS` order."""
    held = sorted((m for m in meetings if m.held_on <= today), key=lambda m: m.held_on)
    cutoff = one_year_before(today)
    recent = [m for m in held if m.held_on >= cutoff]
    return [_latest_meeting_badge(held), _share_badge(recent), _met_badge(held, cutoff)]


def validate_stage(value: str) -> Stage:
    """Parse a stage value, raising PartnershipInputError on field "stage" when unknown."""
    try:
        return Stage(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Stage)
        raise PartnershipInputError("stage", f"unknown stage {value!r}; expected one of: {allowed}") from None


def next_stages(stage: Stage) -> tuple[Stage, ...]:
    """The stages a partnership naturally moves to next (a UI hint, not a constraint)."""
    if stage is Stage.DORMANT:
        return (Stage.SCOPING,)
    position = _PROGRESSION.index(stage)
    following = _PROGRESSION[position + 1 : position + 2]
    return (*following, Stage.DORMANT)
