"""What a merge's survivor takes from the other record's profile: the fields it has none of.

``profile_fills`` decides, over plain values, which of the loser's profile fields fill the survivor's
blanks (``profile_take`` reads the two records and who else holds a FEIN or website for it); the merge
writes them (``merge.merge_employers``, logged, so undo gives the blanks back) and the pages say them
before (review queue, confirm page) and after (the merge's summary). Its rules:

- a value the survivor has is never overwritten, and fields that belong together move together
  (website with its domain, NAICS code with its sector);
- the address block (street, city, ZIP) is taken only when the survivor has no part of it (never one
  street with another city), and only where the survivor is: a survivor with a county takes an address
  in that same county; one without takes the address's county with it, if it lies in the survivor's
  region (a survivor with no region takes the address's region too);
- a FEIN or website another (not merged) employer has too is not taken: which of them it belongs to is
  for a person to decide, not a merge; a DBA that is the survivor's legal name is not taken either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.employers.models import Employer, EmployerStatus

# (what a person calls it, the columns that move together), in the order pages list them.
PROFILE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("DBA", ("dba",)),
    ("website", ("website", "domain")),
    ("FEIN", ("fein",)),
    ("phone", ("phone",)),
    ("NAICS code", ("naics_code", "sector_code")),
    ("size band", ("size_band",)),
    ("address", ("address_line", "city", "zip")),  # with its county and region: see profile_fills
)
GROUP_OF = {column: label for label, columns in PROFILE_GROUPS for column in columns} | {
    "county_id": "address", "region_id": "address"}
# Held by one employer only, as far as a merge can tell: the column another employer's value is looked up by.
_ONE_HOLDER = {"website": "domain", "FEIN": "fein"}


@dataclass(frozen=True)
class ProfileTake:
    """The survivor's blanks the loser fills (label -> column values) and what it does not take (label -> why)."""

    fills: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return list(self.fills)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def profile_fills(survivor: Mapping[str, Any], loser: Mapping[str, Any], *, place_region: int | None,
                  held_elsewhere: Mapping[str, int] | None = None) -> ProfileTake:
    """What the survivor takes from the loser (both as column -> value). ``place_region``: the region of the
    loser's address (its county's, else its own); ``held_elsewhere``: column (``fein``, ``domain``) -> the id
    of another employer holding the loser's value."""
    held = held_elsewhere or {}
    take = ProfileTake()
    for label, columns in PROFILE_GROUPS:
        if not all(_blank(survivor.get(c)) for c in columns) or all(_blank(loser.get(c)) for c in columns):
            continue
        values = {c: loser.get(c) for c in columns}
        one = _ONE_HOLDER.get(label)
        if one is not None and one in held:
            take.refused[label] = f"employer #{held[one]} has the same {label} too"
            continue
        if label == "DBA" and " ".join(str(loser["dba"]).casefold().split()) == " ".join(
                str(survivor.get("legal_name") or "").casefold().split()):
            continue
        if label == "address":
            county, region = survivor.get("county_id"), survivor.get("region_id")
            if county is not None:
                if loser.get("county_id") != county:
                    take.refused[label] = "it lies in another county, or its county is not known"
                    continue
            elif region is not None and place_region is not None and region != place_region:
                take.refused[label] = "it lies in another region"
                continue
            else:
                values["county_id"] = loser.get("county_id")
                if region is None and place_region is not None:
                    values["region_id"] = place_region
        take.fills[label] = values
    return take


def profile_of(employer: Employer) -> dict[str, Any]:
    columns = set(GROUP_OF) | {"legal_name"}
    return {c: getattr(employer, c) for c in columns}


async def profile_takes(db: AsyncSession, pairs: Sequence[tuple[Employer, Employer]]) -> list[ProfileTake]:
    """What each survivor would take from its loser's profile (``pairs``: (loser, survivor)) if merged now. Who
    else holds a FEIN or website the survivor lacks is read in one statement per column for all the pairs (the
    review queue asks for two per pair shown)."""
    profiles = [(profile_of(loser), profile_of(survivor)) for loser, survivor in pairs]
    # Only what a survivor lacks is looked up elsewhere.
    columns_of = dict(PROFILE_GROUPS)
    wanted = [[one for label, one in _ONE_HOLDER.items()
               if all(_blank(mine.get(c)) for c in columns_of[label]) and not _blank(theirs.get(one))]
              for theirs, mine in profiles]
    holders: dict[str, dict[Any, list[int]]] = {}
    for column in {one for ones in wanted for one in ones}:
        values = {theirs[column] for (theirs, _), ones in zip(profiles, wanted, strict=True) if column in ones}
        found = holders.setdefault(column, {})
        for value, employer_id in await db.execute(
                select(getattr(Employer, column), Employer.id).where(
                    getattr(Employer, column).in_(values), Employer.status != EmployerStatus.merged.value)
                .order_by(Employer.id)):
            found.setdefault(value, []).append(employer_id)
    takes = []
    for (loser, survivor), (theirs, mine), ones in zip(pairs, profiles, wanted, strict=True):
        held = {column: other for column in ones
                if (other := next((i for i in holders[column].get(theirs[column], ())
                                   if i not in (loser.id, survivor.id)), None)) is not None}
        place_region = loser.county.region_id if loser.county is not None else loser.region_id
        takes.append(profile_fills(mine, theirs, place_region=place_region, held_elsewhere=held))
    return takes


async def profile_take(db: AsyncSession, loser: Employer, survivor: Employer) -> ProfileTake:
    """What ``survivor`` would take from ``loser``'s profile if the one were merged into the other now."""
    return (await profile_takes(db, [(loser, survivor)]))[0]


def said(labels: list[str]) -> str:
    """"phone, FEIN and address" ("" for none)."""
    return ", ".join(labels[:-1]) + " and " + labels[-1] if len(labels) > 1 else "".join(labels)


def filled_said(summary: Mapping[str, Any] | None) -> str:
    """What a done merge's survivor took from the other record, in words ("" for nothing)."""
    labels = list((summary or {}).get("filled") or [])
    return f"it took the other record's {said(labels)}, which it lacked" if labels else ""
