"""A deterministic, realistic demo world for ``crm seed --demo``, and reusable data generators.

Two layers:

* **Generators** (pure, no I/O): :func:`employer_rows` yields plain dicts of ``Employer`` column
  values for any of the 14 RPUs, fast enough for a statewide benchmark (a quarter-million rows), and
  :func:`contact_rows` gives the people at one employer. Both draw only from the ``random.Random``
  they are handed, so the same seed always gives the same rows.
* **The demo world** (:func:`load_demo`): four fully populated regions (LA-BASIN, BAY-PENINSULA,
  SAN-JOAQUIN, INLAND-EMPIRE) with a partner organization of every kind, users of every role,
  employers with contacts, deliberate near-duplicates, aliases and SPOC assignments with history.

Demo passwords exist only here, and this module is only called by ``crm seed --demo``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from stdnum.us import ein

from crm.auth.models import Role, RoleGrant, User
from crm.auth.passwords import hash_password
from crm.councils.demo import load_councils_demo
from crm.demo_data import (
    COUNTY_GEO,
    DEMO_ADMIN_NAME,
    DEMO_CHAIR_NAME,
    DEMO_REGIONS,
    FIRST_NAMES,
    GENERIC_TITLES,
    LEGAL_SUFFIXES,
    MODIFIERS,
    PARTNER_TITLES,
    REGION_PLACES,
    REGION_SECTOR_BOOST,
    SECTORS,
    SERVICES_BY_KIND,
    STREET_NAMES,
    STREET_PREFIXES,
    STREET_TYPES,
    SURNAMES,
    DemoRegionSpec,
)
from crm.directory.models import County, Organization, OrganizationKind, Region, Service, ServiceOffering
from crm.employers.matching import LEGAL_FORMS, name_key, normalize_name
from crm.employers.models import (
    Employer,
    EmployerAlias,
    EmployerContact,
    EmployerStatus,
    SizeBand,
    SpocAssignment,
)
from crm.employers.service import sector_for_naics
from crm.seed import load_reference

__all__ = [
    "DEMO_ADMIN_EMAIL",
    "DEMO_EMAIL_DOMAIN",
    "DEMO_PASSWORD",
    "DEMO_REGION_CODES",
    "DemoReport",
    "UniqueKeys",
    "contact_rows",
    "employer_rows",
    "load_demo",
]

DEMO_PASSWORD = "onedoor-demo"
DEMO_EMAIL_DOMAIN = "demo.onedoor.org"
DEMO_ADMIN_EMAIL = f"admin@{DEMO_EMAIL_DOMAIN}"
DEMO_REGION_CODES: tuple[str, ...] = ("LA-BASIN", "BAY-PENINSULA", "SAN-JOAQUIN", "INLAND-EMPIRE")

# Shares used by the demo world (of each region's employers).
ASSIGNED_SHARE = 0.70  # employers with an active SPOC assignment
HISTORY_SHARE = 0.05  # employers whose current assignment replaced an earlier one
DUPLICATE_SHARE = 0.02  # deliberate near-duplicate records
ALIAS_SHARE = 0.04
DO_NOT_CONTACT_SHARE = 0.01
PREFERRED_CHANNEL_SHARE = 0.08

SIZE_BANDS: tuple[tuple[str, int], ...] = (
    (SizeBand.micro.value, 38), (SizeBand.small.value, 36), (SizeBand.medium.value, 18),
    (SizeBand.large.value, 6), (SizeBand.very_large.value, 2),
)
TLDS: tuple[tuple[str, int], ...] = (("com", 82), ("net", 7), ("us", 4), ("co", 3), ("biz", 2), ("org", 2))

# Every two-digit EIN prefix the IRS has assigned to a campus, as python-stdnum knows them.
EIN_PREFIXES: tuple[str, ...] = tuple(
    p for p in (f"{i:02d}" for i in range(100)) if ein.is_valid(f"{p}-0000001")
)


# --------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------

def slug(text: str, sep: str = "") -> str:
    """ASCII, lower case, only letters and digits (words joined by ``sep``): "Peña's Cafe" -> "penascafe"."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    folded = folded.replace("'", "").replace("&", " and ")
    return sep.join(w for w in re.split(r"[^a-z0-9]+", folded) if w)


def email_local(name: str) -> str:
    """"Michael O'Brien" -> "michael.obrien"; "Hye-jin Park" -> "hye-jin.park"."""
    first, _, last = name.partition(" ")
    parts = [re.sub(r"[^a-z0-9-]", "", slug(p, "-")) for p in (first, last.replace(" ", ""))]
    return ".".join(p for p in parts if p)


def _weighted(items: tuple[tuple[str, int], ...]) -> tuple[tuple[str, ...], list[float]]:
    values = tuple(v for v, _ in items)
    cum: list[float] = []
    total = 0.0
    for _, w in items:
        total += w
        cum.append(total)
    return values, cum


_STRIPPABLE = frozenset(LEGAL_FORMS) | {"and"}


def _strip_tail(norm: str) -> str:
    """What name_key does to the end of a normalized name: drop legal forms and a dangling "and"."""
    tokens = norm.split()
    while len(tokens) > 1 and tokens[-1] in _STRIPPABLE:
        tokens.pop()
    return " ".join(tokens)


class _Part(NamedTuple):
    """A piece of a business name: what is shown, its normalized form, its ASCII slug."""

    text: str
    norm: str
    slug: str


def _part(text: str) -> _Part:
    return _Part(text, normalize_name(text), slug(text))


def _safe(part: _Part) -> bool:
    """Composable without changing name_key: no single letters (they merge into initialisms),
    no leading "the", no "dba"."""
    tokens = part.norm.split()
    return bool(tokens) and all(len(t) > 1 for t in tokens) and "dba" not in tokens and tokens[0] != "the"


# --------------------------------------------------------------------------------------------
# Generator tables (built once per region)
# --------------------------------------------------------------------------------------------

class _Trade(NamedTuple):
    part: _Part
    key_tail: str  # normalized, with trailing legal forms stripped ("packing co" -> "packing")
    last_slug: str  # last word, for short domains
    naics: str
    sector_code: str
    ends_legal: bool  # "Packing Co": takes no further legal suffix


class _Sector(NamedTuple):
    key: str
    trades: tuple[_Trade, ...]
    qualifiers: tuple[_Part, ...]
    possessive: bool
    office: bool


class _Place(NamedTuple):
    county_id: int | None
    city: str
    zips: tuple[str, ...]
    area_codes: tuple[str, ...]


@lru_cache(maxsize=1)
def _sectors() -> tuple[_Sector, ...]:
    out = []
    for key, spec in SECTORS.items():
        trades = []
        for text, naics in spec.trades:
            part = _part(text)
            tail = _strip_tail(part.norm)
            trades.append(_Trade(part, tail, slug(text.split()[-1]), naics,
                                 sector_for_naics(naics) or "", tail != part.norm))
        out.append(_Sector(key, tuple(trades), tuple(_part(q) for q in spec.qualifiers),
                           spec.possessive, spec.office))
    return tuple(out)


@lru_cache(maxsize=1)
def _common_parts() -> tuple[tuple[_Part, ...], tuple[_Part, ...], tuple[_Part, ...]]:
    surnames = tuple(_part(s) for s in SURNAMES)
    possessives = tuple(_part(f"{s}'s") for s in SURNAMES)
    modifiers = tuple(_part(m) for m in MODIFIERS)
    return surnames, possessives, modifiers


class _RegionTables(NamedTuple):
    places: tuple[_Place, ...]
    place_cum: list[float]
    sectors: tuple[_Sector, ...]
    sector_cum: list[float]
    place_names: tuple[_Part, ...]
    composable: bool  # every part passes _safe: name keys can be composed without name_key()


@lru_cache(maxsize=64)
def _region_tables(region_code: str, counties: tuple[tuple[int, str], ...]) -> _RegionTables:
    places: list[_Place] = []
    weights: list[float] = []
    for county_id, county_name in counties:
        geo = COUNTY_GEO.get(county_name)
        if geo is None:  # not expected: every California county is listed; keep going anyway
            places.append(_Place(county_id, county_name, (), ()))
            weights.append(1.0)
            continue
        # The first city (the largest) gets three shares, every other city one.
        shares = [3.0] + [1.0] * (len(geo.cities) - 1)
        for (city, zips, codes), share in zip(geo.cities, shares, strict=True):
            places.append(_Place(county_id, city, tuple(zips.split()), tuple((codes or geo.area_codes).split())))
            weights.append(geo.population_k * share / sum(shares))
    place_cum, total = [], 0.0
    for w in weights:
        total += w
        place_cum.append(total)
    sectors = _sectors()
    boost = REGION_SECTOR_BOOST.get(region_code, {})
    sector_cum, total = [], 0.0
    for s in sectors:
        total += SECTORS[s.key].weight * boost.get(s.key, 1.0)
        sector_cum.append(total)
    place_names = tuple(_part(p) for p in REGION_PLACES.get(region_code, ("California", "Golden State")))
    surnames, possessives, modifiers = _common_parts()
    every = [*surnames, *possessives, *modifiers, *place_names,
             *(t.part for s in sectors for t in s.trades), *(q for s in sectors for q in s.qualifiers)]
    return _RegionTables(tuple(places), place_cum, sectors, sector_cum, place_names,
                         all(_safe(p) for p in every))


_AMP = _part("&")
_AND = _part("and")
_BROTHERS = _part("Brothers")
_SONS = _part("& Sons")
_ACTIVE = EmployerStatus.active.value
_SIZE_VALUES, _SIZE_CUM = _weighted(SIZE_BANDS)
_TLD_VALUES, _TLD_CUM = _weighted(TLDS)
_SUFFIX_VALUES, _SUFFIX_CUM = _weighted(LEGAL_SUFFIXES)


@dataclass
class UniqueKeys:
    """Name keys, domains and FEINs already handed out; share one across calls (e.g. across
    regions) to keep them distinct over a whole data set."""

    names: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    feins: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------

def employer_rows(
    rng: random.Random,
    region_code: str,
    counties: list[tuple[int, str]],
    n: int,
    *,
    region_id: int | None = None,
    unique: UniqueKeys | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` plain dicts of ``Employer`` column values for employers of one region.

    ``counties`` are the region's ``(county_id, county_name)`` pairs; employers spread over them by
    population and over real cities, ZIP codes and area codes of each. ``region_id`` is copied into
    every row. Names, domains and FEINs are kept distinct within ``unique`` (a fresh one per call
    when not given). Keys match what the product computes: ``name_key(legal_name)``, a registrable
    ``domain`` equal to ``normalize_domain(website)``, FEIN as ``normalize_fein`` formats it, phone
    in E.164 as ``normalize_phone`` returns it, ``sector_code == sector_for_naics(naics_code)``.
    Every row has the same keys, so the rows can go straight into one Core executemany,
    ``db.execute(insert(Employer.__table__), rows)`` (ORM inserts with ordered RETURNING go row by
    row on SQLite). Throughput is about 50,000 rows/s on one core.
    """
    tables = _region_tables(region_code, tuple((int(c), str(name)) for c, name in counties))
    if not tables.places:
        raise ValueError(f"no counties given for region {region_code}")
    seen = unique if unique is not None else UniqueKeys()
    surnames, possessives, modifiers = _common_parts()
    places, place_cum = tables.places, tables.place_cum
    sectors, sector_cum = tables.sectors, tables.sector_cum
    place_names = tables.place_names
    rand = rng.random
    bisect_right = bisect.bisect_right

    # rng.choice / rng.randrange cost ~5x a bare rng.random(); these stay deterministic.
    def pick(seq: tuple[Any, ...]) -> Any:
        return seq[int(rand() * len(seq))]

    def below(n: int) -> int:
        return int(rand() * n)

    # Keys are composed from pre-normalized parts (name_key per row would halve the speed); the
    # first rows of every call are checked against name_key itself, and any disagreement (say,
    # the matcher learned a new rule) switches the rest of the call to name_key.
    compose = tables.composable
    to_check = 200

    for _ in range(n):
        sector = sectors[bisect_right(sector_cum, rand() * sector_cum[-1])]
        for _attempt in range(6):
            trade = pick(sector.trades)
            qual = pick(sector.qualifiers) if rand() < 0.3 else None
            r = rand()
            if r < 0.30:
                head: tuple[_Part, ...] = (pick(surnames),)
            elif r < 0.36 and sector.possessive:
                head = (pick(possessives),)
                qual = None
            elif r < 0.50:
                head = (pick(place_names),)
            elif r < 0.68:
                head = (pick(modifiers),)
            elif r < 0.82:
                head = (pick(modifiers), pick(place_names))
                qual = None
            elif r < 0.95:
                head = (pick(surnames), _AMP if rand() < 0.8 else _AND, pick(surnames))
            else:
                head = (pick(surnames), _BROTHERS if rand() < 0.5 else _SONS)
            parts = (*head, qual, trade.part) if qual else (*head, trade.part)
            core = " ".join([p.text for p in parts])
            if compose:
                key = " ".join([p.norm for p in parts[:-1]]) + " " + trade.key_tail
                if to_check > 0:
                    to_check -= 1
                    if key != name_key(core):
                        compose = False
                        key = name_key(core)
            else:
                key = name_key(core)
            if key not in seen.names:
                break
        seen.names.add(key)
        suffix = "" if trade.ends_legal else _SUFFIX_VALUES[bisect_right(_SUFFIX_CUM, rand() * _SUFFIX_CUM[-1])]
        legal = core if not suffix else (core + suffix if suffix[0] == "," else f"{core} {suffix}")

        place = places[bisect_right(place_cum, rand() * place_cum[-1])]
        website = domain = None
        if rand() < 0.85:
            r = rand()
            if r < 0.6:
                label = "".join([p.slug for p in parts])
            elif r < 0.8:
                label = "-".join([p.slug for p in parts])
            else:
                label = "".join([p.slug for p in head]) + trade.last_slug
            tld = _TLD_VALUES[bisect_right(_TLD_CUM, rand() * _TLD_CUM[-1])]
            domain = f"{label[:60]}.{tld}"
            if domain in seen.domains:
                domain = f"{label[:40]}{slug(place.city)}.{tld}"
                while domain in seen.domains:
                    domain = f"{label[:40]}{2 + below(998)}.{tld}"
            seen.domains.add(domain)
            r = rand()
            website = (f"https://www.{domain}" if r < 0.6 else f"https://{domain}" if r < 0.85
                       else f"http://www.{domain}" if r < 0.95 else f"www.{domain}")
        fein = None
        if rand() < 0.6:
            fein = f"{pick(EIN_PREFIXES)}-{below(10_000_000):07d}"
            while fein in seen.feins:
                fein = f"{pick(EIN_PREFIXES)}-{below(10_000_000):07d}"
            seen.feins.add(fein)
        phone = None
        if rand() < 0.7 and place.area_codes:
            phone = f"+1{pick(place.area_codes)}{200 + below(800)}{below(10_000):04d}"
        prefix = pick(STREET_PREFIXES)
        street = f"{100 + below(19_900)} {prefix}{' ' if prefix else ''}{pick(STREET_NAMES)} {pick(STREET_TYPES)}"
        if sector.office and rand() < 0.4:
            street = f"{street}, Suite {100 * (1 + below(8)) + below(50)}"
        yield {
            "legal_name": legal,
            "dba": None,
            "name_key": key,
            "website": website,
            "domain": domain,
            "fein": fein,
            "phone": phone,
            "naics_code": trade.naics,
            "sector_code": trade.sector_code,
            "size_band": _SIZE_VALUES[bisect_right(_SIZE_CUM, rand() * _SIZE_CUM[-1])],
            "address_line": street,
            "city": place.city,
            "zip": pick(place.zips) if place.zips else None,
            "county_id": place.county_id,
            "region_id": region_id,
            "status": _ACTIVE,
            "merged_into_id": None,
            "do_not_contact": False,
            "preferred_channel": None,
            "notes": None,
        }


_TITLES_BY_SECTOR: dict[str, tuple[str, ...]] = {}
for _spec in SECTORS.values():
    for _text, _naics in _spec.trades:
        _TITLES_BY_SECTOR[_naics] = _spec.titles


def contact_rows(rng: random.Random, employer: Mapping[str, Any], n: int | None = None) -> list[dict[str, Any]]:
    """People at one employer (``n`` of them, else 1-2): name, title, e-mail at the employer's
    domain (when it has one), phone (sometimes). ``employer_id`` is left for the caller to add."""
    count = n if n is not None else (2 if rng.random() < 0.45 else 1)
    domain = employer.get("domain")
    sector_titles = _TITLES_BY_SECTOR.get(str(employer.get("naics_code") or ""), ())
    phone = employer.get("phone")
    out = []
    used: set[str] = set()
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        name = f"{first} {last}"
        if i == 0 and sector_titles and rng.random() < 0.5:
            title = rng.choice(sector_titles)
        else:
            title = rng.choice(GENERIC_TITLES)
        email = None
        if domain:
            r = rng.random()
            f, lname = slug(first), slug(last)
            local = f"{f}.{lname}" if r < 0.55 else f"{f[:1]}{lname}" if r < 0.85 else f
            if local in used:
                local = f"{f}.{lname}"
            used.add(local)
            email = f"{local}@{domain}"
        contact_phone = None
        if phone and rng.random() < 0.6:
            contact_phone = f"{phone[:5]}{rng.randrange(200, 1000)}{rng.randrange(10_000):04d}"
        out.append({"name": name, "title": title, "email": email, "phone": contact_phone})
    return out


# --------------------------------------------------------------------------------------------
# The demo world
# --------------------------------------------------------------------------------------------

Login = tuple[str, str, str]  # (role, email, description)


@dataclass
class DemoReport:
    already_loaded: bool = False
    regions: list[str] = field(default_factory=list)
    organizations: int = 0
    users: int = 0
    employers: int = 0
    contacts: int = 0
    aliases: int = 0
    assignments: int = 0  # active SPOC assignments
    ended_assignments: int = 0  # historical (ended) SPOC assignments
    near_duplicates: int = 0
    logins: list[Login] = field(default_factory=list)

    def __str__(self) -> str:
        """One summary line (``crm seed --demo`` prints the sign-ins from ``logins`` after it)."""
        if self.already_loaded:
            return "Demo data is already loaded; nothing changed."
        return (f"Demo data loaded for {', '.join(self.regions)}: {self.organizations} organizations, "
                f"{self.users} users, {self.employers} employers ({self.near_duplicates} deliberate "
                f"near-duplicates, {self.aliases} aliases, {self.contacts} contacts), "
                f"{self.assignments} active SPOC assignments (+{self.ended_assignments} ended).")

    def logins_table(self) -> str:
        """The demo sign-ins as aligned text lines."""
        width = max((len(email) for _, email, _ in self.logins), default=0)
        lines = [f"Demo sign-ins (password for all: {DEMO_PASSWORD}):"]
        lines += [f"  {role:<8} {email:<{width}}  {desc}" for role, email, desc in self.logins]
        return "\n".join(lines)


class _OrgPlan(NamedTuple):
    name: str
    kind: str
    website: str | None


class _Person(NamedTuple):
    role: str
    region: str | None
    name: str
    email: str
    org: str | None
    title: str
    login: str | None  # description, if the person is listed among the demo sign-ins


def _plan_orgs(spec: DemoRegionSpec, boards: list[str]) -> list[_OrgPlan]:
    k = OrganizationKind
    rows: list[tuple[tuple[str, str], OrganizationKind]] = [((b, ""), k.workforce_board) for b in boards]
    rows += [(spec.ajcc, k.ajcc), (spec.colleges[0], k.community_college),
             (spec.colleges[1], k.community_college), (spec.adult_education, k.adult_education),
             (spec.k12, k.k12), (spec.lea, k.lea), (spec.cbos[0], k.cbo), (spec.cbos[1], k.cbo),
             (spec.probation, k.probation), (spec.corrections, k.corrections),
             (spec.economic_development, k.economic_development), (spec.chamber, k.chamber),
             (spec.labor, k.labor), (spec.state_agency, k.state_agency), (spec.other, k.other)]
    return [_OrgPlan(name, kind.value, website or None) for (name, website), kind in rows]


def _board_names(region: Region) -> list[str]:
    boards = [b.strip() for b in (region.local_boards or "").split(";") if b.strip()]
    return boards or [f"{region.name} Workforce Development Board"]


def _plan_people(seed: int, orgs_by_region: dict[str, list[_OrgPlan]]) -> list[_Person]:
    """Every demo user, in a fixed order; depends only on the seed and the organizations."""
    rng = random.Random(f"{seed}/people")
    taken: set[str] = set()
    people: list[_Person] = []

    def add(role: str, region: str | None, name: str, org: str | None, title: str,
            login: str | None = None, email: str | None = None) -> None:
        local = email or email_local(name)
        candidate, n = f"{local}@{DEMO_EMAIL_DOMAIN}", 2
        while candidate in taken:
            candidate, n = f"{local}{n}@{DEMO_EMAIL_DOMAIN}", n + 1
        taken.add(candidate)
        people.append(_Person(role, region, name, candidate, org, title, login))

    add(Role.admin, None, DEMO_ADMIN_NAME, None, "System Administrator", "system administrator, all regions",
        email="admin")
    for code, orgs in orgs_by_region.items():
        spec = DEMO_REGIONS[code]
        boards = [o.name for o in orgs if o.kind == OrganizationKind.workforce_board]
        ajcc = next(o.name for o in orgs if o.kind == OrganizationKind.ajcc)
        add(Role.lead, code, spec.lead, boards[0], "Regional Coordinator", f"regional lead, {code}")
        spoc_orgs = [boards[0], ajcc, boards[1] if len(boards) > 1 else boards[0]]
        for i, (name, org) in enumerate(zip(spec.spocs, spoc_orgs, strict=True)):
            add(Role.spoc, code, name, org, "Business Services Representative",
                f"SPOC, {code} ({org})" if i == 0 else None)
        for plan in orgs:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
            login = None
            if code == "LA-BASIN" and plan.name == orgs[0].name:
                login = f"partner, workforce board ({plan.name})"
            elif code == "LA-BASIN" and plan.name == spec.colleges[0][0]:
                login = f"partner, community college ({plan.name})"
            add(Role.partner, None, name, plan.name, PARTNER_TITLES.get(plan.kind, "Program Manager"), login)
    add(Role.chair, None, DEMO_CHAIR_NAME, None, "Vice President of Operations",
        "industry chair (councils and sector partnerships)")
    return people


def _logins(people: list[_Person], existing: set[str] | None = None) -> list[Login]:
    """The sign-ins worth printing: admin, leads, first SPOCs, a couple of partners, the chair."""
    order = {Role.admin: 0, Role.lead: 1, Role.spoc: 2, Role.partner: 3, Role.chair: 4}
    wanted = [p for p in people if p.login and (existing is None or p.email in existing)]
    wanted.sort(key=lambda p: order[Role(p.role)])  # stable: plan order within a role
    return [(str(p.role), p.email, str(p.login)) for p in wanted]


async def load_demo(db: AsyncSession, *, employers_per_region: int = 750, seed: int = 20261122) -> DemoReport:
    """Load the demo world once; rerunning (the demo admin exists) changes nothing.

    Flushes but does not commit: the caller owns the transaction.
    """
    if await db.scalar(select(func.count()).select_from(Region).where(Region.code.in_(DEMO_REGION_CODES))) \
            != len(DEMO_REGION_CODES):
        await load_reference(db)
    regions = {r.code: r for r in await db.scalars(select(Region).where(Region.code.in_(DEMO_REGION_CODES)))}
    orgs_by_region = {code: _plan_orgs(DEMO_REGIONS[code], _board_names(regions[code]))
                      for code in DEMO_REGION_CODES}
    people = _plan_people(seed, orgs_by_region)

    if await db.scalar(select(User.id).where(User.email == DEMO_ADMIN_EMAIL)) is not None:
        emails = [p.email for p in people if p.login]
        existing = set(await db.scalars(select(User.email).where(User.email.in_(emails))))
        return DemoReport(already_loaded=True, regions=list(DEMO_REGION_CODES),
                          logins=_logins(people, existing))

    report = DemoReport(regions=list(DEMO_REGION_CODES))
    org_ids = await _load_orgs(db, regions, orgs_by_region, report)
    users = await _load_users(db, regions, people, org_ids, report)
    counties_by_region: dict[int, list[tuple[int, str]]] = {}
    for county in await db.scalars(select(County).order_by(County.name)):
        counties_by_region.setdefault(county.region_id, []).append((county.id, county.name))

    unique = UniqueKeys()
    existing_names = await db.scalars(select(Employer.name_key).where(Employer.region_id.in_(
        [r.id for r in regions.values()])))
    unique.names.update(existing_names)
    for code in DEMO_REGION_CODES:
        region = regions[code]
        lead = next(u for p, u in users if p.role == Role.lead and p.region == code)
        spocs = [u for p, u in users if p.role == Role.spoc and p.region == code]
        await _load_employers(db, seed, region, counties_by_region[region.id], employers_per_region,
                              unique, lead, spocs, report)
    await db.flush()
    # Councils and partnerships build on the employers and users above.
    report.contacts += (await load_councils_demo(db)).contacts
    report.logins = _logins(people)
    return report


async def _load_orgs(db: AsyncSession, regions: dict[str, Region], plans: dict[str, list[_OrgPlan]],
                     report: DemoReport) -> dict[str, int]:
    """Create (or reuse, by case-insensitive name) every organization and link it to its region."""
    existing = {o.name.lower(): o for o in await db.scalars(
        select(Organization).options(selectinload(Organization.regions)))}
    ids: dict[str, int] = {}
    for code, orgs in plans.items():
        region = regions[code]
        for plan in orgs:
            org = existing.get(plan.name.lower())
            if org is None:
                org = Organization(name=plan.name, kind=plan.kind, website=plan.website, regions=[region])
                db.add(org)
                existing[plan.name.lower()] = org
                report.organizations += 1
            elif all(r.id != region.id for r in org.regions):
                org.regions.append(region)
    await db.flush()
    for name, org in existing.items():
        ids[name] = org.id
    await _load_offerings(db, regions, plans, ids)
    return ids


async def _load_offerings(db: AsyncSession, regions: dict[str, Region], plans: dict[str, list[_OrgPlan]],
                          org_ids: dict[str, int]) -> None:
    """The crosswalk: each demo organization offers its kind's services in its region (once)."""
    services = {s.code: s.id for s in await db.scalars(select(Service))}
    listed = {(org_id, region_id) for org_id, region_id in await db.execute(
        select(ServiceOffering.organization_id, ServiceOffering.region_id).distinct())}
    for code, orgs in plans.items():
        region_id = regions[code].id
        for plan in orgs:
            org_id = org_ids[plan.name.lower()]
            if (org_id, region_id) in listed:
                continue
            listed.add((org_id, region_id))
            db.add_all(ServiceOffering(organization_id=org_id, region_id=region_id, service_id=services[c])
                       for c in SERVICES_BY_KIND.get(plan.kind, ()) if c in services)
    await db.flush()


async def _load_users(db: AsyncSession, regions: dict[str, Region], people: list[_Person],
                      org_ids: dict[str, int], report: DemoReport) -> list[tuple[_Person, User]]:
    password_hash = hash_password(DEMO_PASSWORD)  # argon2 is slow on purpose: hash once
    taken = set(await db.scalars(select(User.email).where(User.email.in_([p.email for p in people]))))
    out: list[tuple[_Person, User]] = []
    for person in people:
        if person.email in taken:
            user = await db.scalar(select(User).where(User.email == person.email))
            assert user is not None
            out.append((person, user))
            continue
        user = User(email=person.email, name=person.name, password_hash=password_hash, title=person.title,
                    organization_id=org_ids[person.org.lower()] if person.org else None)
        region_id = regions[person.region].id if person.region else None
        user.grants.append(RoleGrant(role=Role(person.role).value, region_id=region_id))
        db.add(user)
        out.append((person, user))
        report.users += 1
    await db.flush()
    return out


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    """A business-hours instant (8:00-17:00 Pacific, as UTC) on ``day``."""
    return dt.datetime(day.year, day.month, day.day, 16, 0, tzinfo=dt.UTC) + dt.timedelta(
        minutes=rng.randrange(0, 9 * 60))


_D0 = dt.date(2025, 1, 6)


def _day(offset: int) -> dt.date:
    return _D0 + dt.timedelta(days=offset)


def _acme_rows(region_id: int, county_id: int) -> list[dict[str, Any]]:
    base = {
        "legal_name": "ACME Corporation", "dba": None, "name_key": name_key("ACME Corporation"),
        "website": "https://www.acme.com", "domain": "acme.com", "fein": "95-4812736",
        "phone": "+12135550100", "naics_code": "339999", "sector_code": sector_for_naics("339999"),
        "size_band": SizeBand.large.value, "address_line": "1200 S Alameda St", "city": "Los Angeles",
        "zip": "90021", "county_id": county_id, "region_id": region_id, "status": EmployerStatus.active.value,
        "merged_into_id": None, "do_not_contact": False, "preferred_channel": "email",
        "notes": "Large multi-line manufacturer; prefers one coordinated agenda per quarter.",
    }
    dup = dict(base, legal_name="Acme Corp.", name_key=name_key("Acme Corp."), website=None, domain=None,
               fein=None, phone=None, size_band=None, status=EmployerStatus.provisional.value,
               preferred_channel=None, notes="Created from a partner request; not yet verified by a SPOC.")
    return [base, dup]


_TYPO = re.compile(r"[A-Za-z]{5,}")
_FILLER = frozenset({"&", "and", "Sons", "Brothers"})


def _near_duplicate(rng: random.Random, row: dict[str, Any]) -> dict[str, Any]:
    """A second record of the same employer as a partner might have typed it in."""
    legal: str = row["legal_name"]
    core = legal
    for suffix, _ in LEGAL_SUFFIXES:
        if suffix and legal.endswith(suffix):
            core = legal[: -len(suffix)].rstrip(" ,")
            break
    kind = rng.choice(("suffix", "and", "typo", "dba", "the"))
    if kind == "and" and (" & " in core or " and " in core):
        name = core.replace(" & ", " and ") if " & " in core else core.replace(" and ", " & ")
    elif kind == "typo" and (matches := list(_TYPO.finditer(core))):
        m = rng.choice(matches)
        w, i = m.group(), rng.randrange(1, len(m.group()) - 2)
        typo = w[:i] + w[i + 1] + w[i] + w[i + 2:] if rng.random() < 0.5 else w[:i] + w[i + 1:]
        name = core[: m.start()] + typo + core[m.end():]
    elif kind == "dba" and len(words := [w for w in core.split() if w not in _FILLER]) >= 2:
        name = f"{legal} dba {words[0]} {words[-1]}"  # "Torres Equipment Repair LLC dba Torres Repair"
    elif kind == "the":
        name = f"The {core}"
    else:
        other = rng.choice([s for s, _ in LEGAL_SUFFIXES if s and not legal.endswith(s)])
        name = core + other if other.startswith(",") else f"{core} {other}"
    provisional = rng.random() < 0.8
    same_domain = row["domain"] is not None and rng.random() < 0.4
    return dict(
        row, legal_name=name, name_key=name_key(name),
        website=f"{row['domain']}/contact" if same_domain else None,
        domain=row["domain"] if same_domain else None,
        fein=None, phone=row["phone"] if rng.random() < 0.5 else None, size_band=None,
        status=EmployerStatus.provisional.value if provisional else EmployerStatus.active.value,
        notes="Created from a partner request; not yet verified by a SPOC." if provisional else None,
    )


def _alias_for(rng: random.Random, row: dict[str, Any]) -> str | None:
    """Another name people use for this employer: its initials or a former name."""
    words = [w for w in re.split(r"[\s,]+", row["legal_name"])
             if w and w.lower().strip(".") not in LEGAL_FORMS and w not in _FILLER]
    if rng.random() < 0.5 and len(words) >= 3:
        alias = "".join(w[0] for w in words if w[0].isalpha()).upper()
    else:
        alias = f"{rng.choice(SURNAMES)} {rng.choice(('Enterprises', 'Holdings', 'Group', 'Ventures'))}"
    key = name_key(alias)
    return alias if key and key != row["name_key"] else None


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


async def _insert_employers(db: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk-insert employer rows and return their ids in row order.

    Ordered RETURNING makes SQLite insert row by row, so rows are inserted in unordered batches
    and matched back by (legal name, address), which the demo keeps unique.
    """
    table = _table(Employer)
    by_identity = {(r["legal_name"], r["address_line"]): i for i, r in enumerate(rows)}
    if len(by_identity) != len(rows):  # not expected; correct but slow
        result = await db.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
        return list(result.scalars())
    ids = [0] * len(rows)
    result = await db.execute(insert(table).returning(table.c.id, table.c.legal_name, table.c.address_line),
                              rows)
    for emp_id, legal_name, address in result:
        ids[by_identity[(legal_name, address)]] = emp_id
    return ids


async def _load_employers(db: AsyncSession, seed: int, region: Region, counties: list[tuple[int, str]],
                          n: int, unique: UniqueKeys, lead: User, spocs: list[User],
                          report: DemoReport) -> None:
    rng = random.Random(f"{seed}/{region.code}/employers")
    acme: list[dict[str, Any]] = []
    if region.code == "LA-BASIN":
        la_county = next(cid for cid, name in counties if name == "Los Angeles")
        acme = _acme_rows(region.id, la_county)
        unique.names.update(r["name_key"] for r in acme)
        unique.domains.add("acme.com")
        unique.feins.add(acme[0]["fein"])
    n_dup = round(n * DUPLICATE_SHARE)
    n_base = max(0, n - n_dup - len(acme))
    n_dup = min(n_dup, n_base, n - len(acme))
    base = list(employer_rows(rng, region.code, counties, n_base, region_id=region.id, unique=unique))
    dups = [_near_duplicate(rng, base[i]) for i in sorted(rng.sample(range(len(base)), n_dup))]
    rows = (acme + base + dups)[:n]
    channels = ("email", "call", "visit", "meeting")
    for row in base:
        if rng.random() < DO_NOT_CONTACT_SHARE:
            row["do_not_contact"] = True
            row["notes"] = "Owner asked not to be contacted by partner programs; route everything via the SPOC."
        elif rng.random() < PREFERRED_CHANNEL_SHARE:
            row["preferred_channel"] = rng.choice(channels)
    if base and not any(r["do_not_contact"] for r in base):
        base[-1]["do_not_contact"] = True
        base[-1]["notes"] = "Asked not to be contacted until further notice."

    ids = await _insert_employers(db, rows)
    report.employers += len(ids)
    report.near_duplicates += len(dups) + (1 if acme else 0)

    contacts: list[dict[str, Any]] = []
    aliases: list[dict[str, Any]] = []
    for emp_id, row in zip(ids, rows, strict=True):
        people: list[dict[str, Any]]
        if row["legal_name"] == "ACME Corporation":
            people = [{"name": "Sandra Whitaker", "title": "HR Director", "email": "sandra.whitaker@acme.com",
                       "phone": "+12135550101"},
                      {"name": "Tomas Reyes", "title": "Plant Manager", "email": "treyes@acme.com",
                       "phone": None}]
            aliases.append({"employer_id": emp_id, "name": "ACME Manufacturing",
                            "name_key": name_key("ACME Manufacturing")})
        elif row["status"] == EmployerStatus.provisional.value:
            people = contact_rows(rng, row, 1) if rng.random() < 0.5 else []
        else:
            people = contact_rows(rng, row)
            if rng.random() < ALIAS_SHARE and (alias := _alias_for(rng, row)):
                aliases.append({"employer_id": emp_id, "name": alias, "name_key": name_key(alias)})
        contacts += [dict(p, employer_id=emp_id) for p in people]
    if contacts:
        await db.execute(insert(_table(EmployerContact)), contacts)
    if aliases:
        await db.execute(insert(_table(EmployerAlias)), aliases)
    report.contacts += len(contacts)
    report.aliases += len(aliases)

    # SPOC assignments: most of the region's verified employers, weighted toward the first SPOC;
    # a few show history (an earlier SPOC, ended the day the current one started).
    assignments: list[dict[str, Any]] = []
    weights = [1.2, 1.0, 0.8][: len(spocs)]
    batch_day = _day(28)  # the region's initial assignment, 2025-02-03
    active = [(i, r) for i, r in zip(ids, rows, strict=True) if r["status"] == EmployerStatus.active.value]
    share = min(1.0, ASSIGNED_SHARE * len(rows) / max(1, len(active)))
    history_share = HISTORY_SHARE / ASSIGNED_SHARE
    for emp_id, _row in active:
        if rng.random() >= share or not spocs:
            continue
        spoc = rng.choices(spocs, weights=weights)[0]
        backup = rng.choice([s for s in spocs if s is not spoc]) if len(spocs) > 1 and rng.random() < 0.25 \
            else None
        common = {"employer_id": emp_id, "region_id": region.id, "assigned_by_id": lead.id}
        if rng.random() < history_share and len(spocs) > 1:
            before = rng.choice([s for s in spocs if s is not spoc])
            first = batch_day if rng.random() < 0.6 else _day(rng.randrange(40, 300))
            switch = first + dt.timedelta(days=rng.randrange(60, 400))
            started_old, switched = _at(first, rng), _at(switch, rng)
            assignments.append(dict(common, spoc_id=before.id, backup_spoc_id=None, started_at=started_old,
                                    ended_at=switched, reason="initial regional assignment"))
            assignments.append(dict(common, spoc_id=spoc.id, backup_spoc_id=backup.id if backup else None,
                                    started_at=switched, ended_at=None,
                                    reason=rng.choice(("caseload rebalanced", "SPOC territory change",
                                                       "employer asked for a different contact"))))
            report.ended_assignments += 1
        else:
            if rng.random() < 0.6:
                day, reason = batch_day, "initial regional assignment"
            else:
                day = _day(rng.randrange(40, 670))  # up to early November 2026
                reason = rng.choice(("new employer in territory", "assigned after first partner request",
                                     "sector alignment"))
            assignments.append(dict(common, spoc_id=spoc.id, backup_spoc_id=backup.id if backup else None,
                                    started_at=_at(day, rng), ended_at=None, reason=reason))
        report.assignments += 1
    if assignments:
        await db.execute(insert(_table(SpocAssignment)), assignments)
