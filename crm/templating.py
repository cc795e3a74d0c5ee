"""Jinja environment: filters and globals shared by every page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import phonenumbers
from litestar.plugins.jinja import JinjaTemplateEngine

from crm import clock
from crm.audit.names import changes
from crm.auth.models import grant_words
from crm.auth.principal import Principal
from crm.directory.models import KIND_LABELS
from crm.employers.naics import sector_title
from crm.touches.routing import Outcome


def fmt_date(value: dt.date | dt.datetime | None, fmt: str = "%-d %b %Y") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = clock.local(value)
    return value.strftime(fmt)


def fmt_datetime(value: dt.datetime | None) -> str:
    """An instant in California time ("3 Mar 2027 10:00 PST")."""
    if value is None:
        return ""
    return clock.local(value).strftime("%-d %b %Y %H:%M %Z")


def nav_for(principal: Principal | None) -> list[tuple[str, str]]:
    """Navigation entries for the signed-in user's roles."""
    if principal is None:
        return []
    items: list[tuple[str, str]] = []
    if principal.has("lead", "spoc", "admin"):
        items.append(("/queue", "Touch queue"))
    if principal.has("partner"):
        items.append(("/requests/new", "Request contact"))
        items.append(("/requests", "My requests"))
    if principal.is_crm_user:
        items.append(("/employers", "Employers"))
        items.append(("/councils", "Councils"))
        items.append(("/partnerships", "Partnerships"))
        items.append(("/crosswalk", "Crosswalk"))
    if principal.has("lead", "admin"):
        items.append(("/employers/review", "Duplicates"))
        items.append(("/employers/import", "Import"))
        items.append(("/region", "Region settings"))
        items.append(("/reports", "Reports"))
    if principal.has("chair") and not principal.is_crm_user:
        items.append(("/chair", "My councils & partnerships"))
    if principal.is_admin:
        items.append(("/admin", "Admin"))
    return items


def active_nav(items: list[tuple[str, str]], path: str) -> str | None:
    """The entry the current page belongs to: the longest href that is the path or a parent of it."""
    matches = [href for href, _ in items if path == href or path.startswith(href.rstrip("/") + "/")]
    return max(matches, key=len) if matches else None


# Codes whose plain spelling out reads wrong ("labor market info", "reentry fair chance").
CODE_WORDS = {
    "work_based_learning": "work-based learning", "training_upskilling": "training and upskilling",
    "advisory_recruitment": "advisory board recruitment", "reentry_fair_chance": "reentry and fair-chance hiring",
    "labor_market_info": "labor market information", "time_sensitive": "time-sensitive",
    "follow_up": "follow-up",
}


def words(value: str | None) -> str:
    """A stored code as words: ``not_interested`` -> ``not interested``, ``labor_market_info`` -> ``labor
    market information``."""
    return CODE_WORDS.get(value or "") or (value or "").replace("_", " ")


# A request's outcome badge reads by what it means for the requester: a lead (good), a promise to come
# back (needs watching), a no (bad); no response yet says nothing either way.
OUTCOME_BADGES: dict[str, str] = {Outcome.INTERESTED: "ok", Outcome.REFERRED: "ok", Outcome.FOLLOW_UP: "warn",
                  Outcome.NOT_INTERESTED: "bad", Outcome.NO_RESPONSE: ""}


def outcome_badge(outcome: str | None) -> str:
    """The badge class of a request's outcome (``ok``, ``warn``, ``bad``, or none for a neutral one)."""
    return OUTCOME_BADGES.get(outcome, "") if outcome else ""


def sentence(text: str) -> str:
    """``text`` ending with one full stop: a name that ends a sentence with its own ("Acme Group Inc.")
    gets no second."""
    return text if text.endswith((".", "!", "?")) else f"{text}."


def back_words(returned: int) -> str:
    """What coming back from away returned, as the end of the sentence saying so ("" for nothing)."""
    if not returned:
        return ""
    return (f"; {returned} touch{'es' if returned != 1 else ''} routed to the backup meanwhile and not scheduled "
            f"yet {'are' if returned != 1 else 'is'} back in the queue")


ROLE_LABELS = {"admin": "Admin", "lead": "Lead (regional coordinator)", "spoc": "SPOC (business services)",
               "partner": "Partner", "chair": "Industry chair"}


def role_label(role: str) -> str:
    """A role as the admin's forms offer it ("lead" -> "Lead (regional coordinator)")."""
    return ROLE_LABELS.get(role, role)


def number(value: float | None, places: int = 0) -> str:
    """``12345.6`` -> ``12,346``; nothing -> an em dash (a report cell with nothing to show)."""
    if value is None:
        return "—"
    return f"{value:,.{places}f}"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """A number of things as said: "1 request", "3 requests", "2 touches" (``plural`` when not +s)."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def days(n: int) -> str:
    """A number of days as said: "1 day", "7 days"."""
    return count(n, "day")


def percent(value: float | None) -> str:
    """A share (0..1) as ``23.3%``; nothing to divide by -> an em dash. A share too small for one decimal
    keeps two significant digits ("0.0068%": a few employers of a region's 250,000 are not "0.0%")."""
    if value is None:
        return "—"
    if 0 < value < 0.0005:
        return f"{value * 100:.2g}%"
    return f"{value * 100:.1f}%"


def phone(value: str | None) -> str:
    """A stored E.164 number as people write it: "(310) 555-0142" in North America, else
    "+44 20 7946 0958"; what does not parse is shown as stored."""
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return value
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, style)


def org_kind(kind: str | None) -> str:
    """An organization kind as it reads on a page ("cbo" -> "Community-based organization (CBO)")."""
    return KIND_LABELS.get(kind or "", words(kind))


# What an employer's audit trail says for each action (other actions read as their code in words).
AUDIT_ACTIONS = {
    "employer.create": "Employer created", "employer.update": "Employer details changed",
    "employer.verify": "Verified as a real employer",
    "employer.preferences": "Contact preferences changed",
    "employer.alias_add": "Other name added", "employer.contact_add": "Contact added",
    "employer.contact_update": "Contact details changed", "employer.contact_remove": "Contact removed",
    "employer.merge": "Merged with another record", "employer.merge_undo": "Merge undone",
    "employer.merged_into": "Merged into another record", "employer.not_duplicate": "Marked not a duplicate",
    "spoc.assign": "SPOC assigned", "spoc.reassign": "SPOC changed", "spoc.transfer": "Caseload transferred",
    "touch.create": "Touch opened", "touch.bundle": "Request bundled into a touch", "touch.schedule": "Touch scheduled",
    "touch.complete": "Touch completed", "touch.cancel": "Touch cancelled", "touch.reassign": "Touch reassigned",
    "touch.log": "Touch logged by the SPOC", "touch.override": "Pacing budget overridden",
    "touch.window": "Touch dates changed",
    "touch.replan": "Touch moved out of blackout dates", "touch.meeting_attended": "Attended a meeting",
    "touch.meeting_attendance_removed": "Meeting attendance removed",
    "touch_request.create": "Contact requested", "touch_request.hold": "Request held",
    "touch_request.release": "Held request released", "touch_request.match": "Employer confirmed for a request",
    "touch_request.decline": "Request declined", "touch_request.withdraw": "Request withdrawn",
    "hand_off.create": "Hand-off made", "hand_off.accept": "Hand-off accepted", "hand_off.decline": "Hand-off declined",
    "council.attendance": "Council attendance", "partnership.attendance": "Partnership attendance",
}


def audit_action(action: str) -> str:
    return AUDIT_ACTIONS.get(action) or words(action.replace(".", ": ")).capitalize()


def audit_value(value: Any) -> str:
    """A value of an audit change as a person reads it: dates and instants in California's calendar,
    nothing as a dash, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(audit_value(v) for v in value) or "—"
    if isinstance(value, str) and len(value) == 23 and value[10:13] == " – ":  # a period: "2026-12-01 – 2026-12-05"
        return f"{audit_value(value[:10])} – {audit_value(value[13:])}"
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            if len(value) == 10:
                return fmt_date(dt.date.fromisoformat(value))
            return fmt_datetime(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def namesakes(people: Iterable[Any]) -> frozenset[str]:
    """The names more than one of ``people`` bear: a list to choose from shows their e-mail with them
    (``_macros.html`` ``person``)."""
    seen: set[str] = set()
    twice: set[str] = set()
    for someone in people:
        (twice if someone.name in seen else seen).add(someone.name)
    return frozenset(twice)


def held_words(held: Any) -> str:
    """What a change of the pacing rules did to the requests they held (``touch_schemas.HeldRecheck``, or
    None), as the end of a sentence: "; 2 held requests released onto a touch"."""
    if held is None:
        return ""
    said = [f"{n} held request{'s' if n != 1 else ''} {what}" for n, what in (
        (held.released, "released onto a touch"), (held.moved, "now held to another day"),
        (held.declined, "declined: no day is left for them"))
        if n]
    return f"; {', '.join(said)}" if said else ""


def configure_jinja(engine: JinjaTemplateEngine) -> None:
    env: Any = engine.engine
    env.filters["date"] = fmt_date
    env.filters["words"] = words
    env.filters["role_label"] = role_label
    env.filters["datetime"] = fmt_datetime
    env.filters["number"] = number
    env.filters["outcome_badge"] = outcome_badge
    env.filters["percent"] = percent
    env.filters["days"] = days
    env.filters["phone"] = phone
    env.filters["org_kind"] = org_kind
    env.filters["audit_action"] = audit_action
    env.filters["audit_value"] = audit_value
    env.filters["audit_changes"] = changes
    env.filters["sector"] = sector_title
    env.filters["namesakes"] = namesakes
    env.globals["grant_words"] = grant_words
    env.globals["nav_for"] = nav_for
    env.globals["held_words"] = held_words
    env.globals["active_nav"] = active_nav
    env.trim_blocks = True
    env.lstrip_blocks = True
