"""Audit changes as people read them: the ids an event stored (``spoc_id: 7``) named by what they
point at (``SPOC: Maria Lopez``), looked up once for a whole trail.

Events keep ids, not names, on purpose: a name changes, the id does not. The names are what the
rows say now; an id whose row is gone reads ``#7``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit.models import AuditEvent
from crm.auth.models import User
from crm.councils.models import CouncilMember
from crm.directory.models import County, Organization, Region
from crm.employers.models import Employer, EmployerContact
from crm.partnerships.models import PartnershipMember

# What an id-valued key of ``before``/``after`` points at, and how the key reads.
KEY_KINDS: dict[str, tuple[str, str]] = {
    "spoc_id": ("user", "SPOC"),
    "backup_spoc_id": ("user", "backup SPOC"),
    "from_spoc_id": ("user", "from SPOC"),
    "to_spoc_id": ("user", "to SPOC"),
    "to_user_id": ("user", "to person"),
    "user_id": ("user", "person"),
    "requester_id": ("user", "requester"),
    "assigned_by_id": ("user", "assigned by"),
    "pool": ("user", "pool"),
    "to_org_id": ("organization", "to organization"),
    "requester_org_id": ("organization", "requesting organization"),
    "owner_organization_id": ("organization", "owner"),
    "organization_id": ("organization", "organization"),
    "employer_id": ("employer", "employer"),
    "merged_into_id": ("employer", "merged into"),
    "loser_id": ("employer", "merged employer"),
    "survivor_id": ("employer", "kept employer"),
    "other_employer_id": ("employer", "other employer"),
    "region_id": ("region", "region"),
    "county_id": ("county", "county"),
    "contact_ids": ("contact", "contacts"),
    "contact_id": ("contact", "contact"),
}

# Keys whose kind depends on what the event is about.
ENTITY_KEY_KINDS: dict[tuple[str, str], tuple[str, str]] = {
    ("council_meeting", "member_id"): ("council_member", "member"),
    ("partnership_meeting", "member_id"): ("partnership_member", "member"),
}

_SOURCES: dict[str, tuple[Any, Any]] = {
    "council_member": (CouncilMember.id, CouncilMember.name),
    "partnership_member": (PartnershipMember.id, PartnershipMember.name),
    "user": (User.id, User.name),
    "organization": (Organization.id, Organization.name),
    "employer": (Employer.id, Employer.legal_name),
    "region": (Region.id, Region.code),
    "county": (County.id, County.name),
    "contact": (EmployerContact.id, EmployerContact.name),
}

Names = Mapping[tuple[str, int], str]


def _ids(value: Any) -> Iterable[int]:
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, int) and not isinstance(v, bool):
            yield v


async def id_names(db: AsyncSession, events: Iterable[AuditEvent]) -> dict[tuple[str, int], str]:
    """(kind, id) -> name for every id the events' changes hold, one query per kind."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for ev in events:
        for change in (ev.before, ev.after):
            for key, value in (change or {}).items():
                if found := _kind(ev.entity_type, key):
                    wanted[found[0]].update(_ids(value))
    names: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        id_col, name_col = _SOURCES[kind]
        for row_id, name in await db.execute(select(id_col, name_col).where(id_col.in_(sorted(ids)))):
            names[(kind, row_id)] = name
    return names


def _kind(entity_type: str | None, key: str) -> tuple[str, str] | None:
    return ENTITY_KEY_KINDS.get((entity_type or "", key)) or KEY_KINDS.get(key)


def _is_ref(key: str) -> bool:
    return key.endswith(("_id", "_ids"))


def change_key(key: str, entity_type: str | None = None) -> str:
    """``spoc_id`` -> ``SPOC``, ``touch_id`` -> ``touch``; other keys as words."""
    if found := _kind(entity_type, key):
        return found[1]
    return (key.rsplit("_", 1)[0] if _is_ref(key) else key).replace("_", " ")


# A merge's ``moved`` counts are keyed by table; they read as the things moved ("1 contact, 0 aliases").
TABLE_NOUNS: dict[str, tuple[str, str]] = {
    "employer_contact": ("contact", "contacts"), "employer_alias": ("alias", "aliases"),
    "touch": ("touch", "touches"), "touch_request": ("request", "requests"),
    "spoc_assignment": ("SPOC assignment", "SPOC assignments"), "hand_off": ("hand-off", "hand-offs"),
}


def _table_noun(table: str, n: int) -> str:
    plain = table.removeprefix("employer_").replace("_", " ")  # (crm.templating.words imports this module)
    one, many = TABLE_NOUNS.get(table) or (plain, f"{plain}s")
    return one if n == 1 else many


def moved_words(moved: Mapping[str, Any]) -> str | None:
    """A merge's ``moved`` counts: ``{"employer_contact": 1, "employer_alias": 0}`` -> ``1 contact, 0 aliases``."""
    return ", ".join(f"{n} {_table_noun(table, n)}" if isinstance(n, int) else f"{table.replace('_', ' ')}: {n}"
                     for table, n in moved.items()) or None


def named(key: str, value: Any, names: Names, entity_type: str | None = None) -> Any:
    """The value with the ids of an id-valued key replaced by names (``#7`` when the row is gone, or
    for ids of things without a name: touches, requests, assignments). A mapping of request ids
    (``outcomes``) reads ``#12: interested``; a merge's ``moved`` counts read ``1 contact, 0 aliases``."""
    if isinstance(value, dict) and key == "moved":
        return moved_words(value)
    if isinstance(value, dict):
        return ", ".join(f"#{k}: {str(v).replace('_', ' ')}" for k, v in value.items()) or None
    found = _kind(entity_type, key)
    if value is None or not (found or _is_ref(key)):
        return value
    if isinstance(value, list):
        return [named(key, v, names, entity_type) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return names.get((found[0], value), f"#{value}") if found else f"#{value}"
    return value


def changes(ev: AuditEvent, names: Names) -> list[tuple[str, Any, Any, bool]]:
    """(key as words, before, after, whether to show the before) per key of the event, ``after``'s keys
    first; ids named. A key only ``before`` has was removed (its after is None); one empty before and
    after is left out; one equal before and after is shown once."""
    before, after = ev.before or {}, ev.after or {}
    keys = [*after, *(k for k in before if k not in after)]
    # "spoc" beside "spoc_id" is the name as it was then; the id is named already.
    keys = [k for k in keys if f"{k}_id" not in keys or f"{k}_id" not in KEY_KINDS]
    # A field that was empty and still is says nothing ("outcome: —" on every new request).
    keys = [k for k in keys if before.get(k) not in (None, "", []) or after.get(k) not in (None, "", [])]
    out = []
    for k in keys:
        was, now = named(k, before.get(k), names, ev.entity_type), named(k, after.get(k), names, ev.entity_type)
        # The same before and after is what the change is about (which member), not a change: said once.
        out.append((change_key(k, ev.entity_type), was, now, k in before and k in after and was != now
                    or k in before and k not in after))
    return out
