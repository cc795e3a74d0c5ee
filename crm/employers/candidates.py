"""Candidate retrieval: the few employers (20 by default) worth handing to the matcher for one query.

The matcher (``crm.employers.matching``) is pure and compares records pairwise; it cannot look at
250,000 employers per keystroke. This module is its database side: every employer's blocking keys
(``matching.blocking_keys``: exact name, name-start, rare words, word halves for typos, phone,
street address, ZIP + name start) are stored in ``employer_search_key``, indexed by key, so a
query is a handful of index probes. Each probe is capped, so a common word cannot flood the set.

Keys must be kept current: ``refresh_keys(db, employer_ids)`` after an employer or alias is
created, updated, merged or imported (merged employers get no keys: they are never candidates),
``reindex_all`` for a backfill (``crm employers reindex``). Retrieval also probes the employer
table's own indexes (name key and alias key prefixes, FEIN, domain), so an employer inserted
without keys is still found by its name, FEIN or domain; only typo recall needs the keys.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db import metadata
from crm.directory.models import Region
from crm.employers.matching import (
    EmployerRecord,
    MatchResult,
    blocking_keys,
    name_key,
    normalize_domain,
    normalize_name,
    rank_candidates,
)
from crm.employers.models import Employer, EmployerAlias, EmployerStatus

KEY_LENGTH = 48

employer_search_key = Table(
    "employer_search_key",
    metadata,
    # (key, employer_id) is the primary key: the index every probe is answered from, and on
    # SQLite a covering one (no table lookup per hit).
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("employer_id", BigInteger().with_variant(Integer(), "sqlite"),
           ForeignKey("employer.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_employer_search_key_employer_id", "employer_id"),
)

# Rows read per probe. A key shared by more employers than this ("t:plumbing") says little;
# reading all of them would make a keystroke cost grow with the database.
PER_KEY = 64
# Candidates handed to the matcher (its ranking dominates a keystroke's cost; see bench/README.md).
DEFAULT_LIMIT = 20
_NAME_WEIGHT = 4.0
# Weight of a hit by probe kind: identifiers and whole names say much more than a word.
_KIND_WEIGHT = {"f": 8.0, "d": 6.0, "p": 4.0, "a": 4.0, "n": 5.0, "name": 4.0, "z": 3.0, "t": 1.5,
                "j": 1.0, "q": 0.7, "prefix": 1.0}
_CHUNK = 500  # ids per IN (...) list: well under SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class Candidate:
    """One employer as retrieval returns it: the matcher's record plus what a list shows."""

    record: EmployerRecord
    legal_name: str
    city: str | None
    zip: str | None
    region: str | None
    region_id: int | None
    status: str

    @property
    def id(self) -> int:
        return int(self.record.id)


@dataclass(frozen=True, slots=True)
class Query:
    """What the user typed or sent, raw; ``record`` is the normalized form the matcher compares."""

    name: str | None = None
    website: str | None = None
    fein: str | None = None
    phone: str | None = None
    city: str | None = None
    zip: str | None = None
    address: str | None = None

    @property
    def record(self) -> EmployerRecord:
        name = (self.name or "").strip()
        website = self.website
        # Partners type "acme.com" into the name field: treat it as the website as well.
        if not website and name and "." in name and " " not in name and normalize_domain(name):
            website = name
        return EmployerRecord.from_raw("query", name, website=website, fein=self.fein, phone=self.phone,
                                       address=self.address, city=self.city, zip=self.zip)

    @property
    def is_empty(self) -> bool:
        return not any((v or "").strip() for v in (self.name, self.website, self.fein, self.phone, self.zip))


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (range probes
    use the btree index on both databases, where LIKE 'x%' would not)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _last_word(name: str) -> str:
    """The word being typed, when the text does not end with a space."""
    if not name or name[-1:].isspace():
        return ""
    words = normalize_name(name).split()
    return words[-1] if words else ""


# Probe templates. Plain SQL: a keystroke runs one statement of up to ~20 of these, and building
# that as a SQLAlchemy expression (subquery column proxies, cache keys) cost more CPU than running
# it. Every probe is an equality or a range on an indexed column, each under its own LIMIT.
_KEY_EQ = "SELECT employer_id FROM employer_search_key WHERE key = :{p}"
_KEY_RANGE = "SELECT employer_id FROM employer_search_key WHERE key >= :{p}lo AND key < :{p}hi"
_NAME_RANGE = "SELECT id AS employer_id FROM employer WHERE name_key >= :{p}lo AND name_key < :{p}hi ORDER BY name_key"
_ALIAS_RANGE = ("SELECT employer_id FROM employer_alias WHERE name_key >= :{p}lo AND name_key < :{p}hi "
                "ORDER BY name_key")
_FEIN_EQ = "SELECT id AS employer_id FROM employer WHERE fein = :{p}"
_DOMAIN_EQ = "SELECT id AS employer_id FROM employer WHERE domain = :{p}"


async def candidate_ids(db: AsyncSession, query: Query, limit: int = DEFAULT_LIMIT) -> list[int]:
    """Ids of up to ``limit`` employers sharing the most (and most telling) keys with the query."""
    record = query.record
    probes: list[tuple[str, str]] = []  # (kind, SQL)
    params: dict[str, object] = {}

    def probe(kind: str, sql: str, **values: object) -> None:
        p = f"p{len(probes)}"
        probes.append((kind, sql.format(p=p)))
        params.update({p + suffix: value for suffix, value in values.items()})

    for key in sorted(key[:KEY_LENGTH] for key in blocking_keys(record) if key[0] not in "fd"):
        probe(key[0], _KEY_EQ, **{"": key})
    last = _last_word(query.name or "")
    if len(last) >= 2:
        # The half-typed last word: every stored word it begins ("acme lo" -> "t:logistics").
        low = "t:" + last
        probe("prefix", _KEY_RANGE, lo=low, hi=_next_prefix(low))
    nkey = name_key(query.name or "") if query.name else ""
    if nkey:
        # Name and alias keys straight from the employer tables: exact and prefix hits need no
        # stored keys, so rows inserted without them (bulk loads, fixtures) are still found.
        probe("name", _NAME_RANGE, lo=nkey, hi=_next_prefix(nkey))
        probe("name", _ALIAS_RANGE, lo=nkey, hi=_next_prefix(nkey))
    if record.fein:
        probe("f", _FEIN_EQ, **{"": record.fein})
    if record.domain:
        probe("d", _DOMAIN_EQ, **{"": record.domain})
    if not probes:
        return []

    # One round trip: each probe keeps its own LIMIT inside a subquery, tagged by its position;
    # the join drops merged employers and brings each hit's name key for the pre-ranking below.
    union = " UNION ALL ".join(f"SELECT employer_id, {i} AS probe FROM ({stmt} LIMIT {PER_KEY}) AS q{i}"
                               for i, (_kind, stmt) in enumerate(probes))
    sql = (f"SELECT h.employer_id, h.probe, e.name_key FROM ({union}) AS h JOIN employer AS e "
           f"ON e.id = h.employer_id WHERE e.status <> 'merged'")
    conn = await db.connection()
    rows = (await conn.execute(text(sql), params)).all()
    hits: dict[int, set[int]] = defaultdict(set)
    keys: dict[int, str] = {}
    for employer_id, i, key in rows:
        hits[int(i)].add(int(employer_id))
        keys[int(employer_id)] = key
    score: dict[int, float] = defaultdict(float)
    for i, ids in hits.items():
        # A key shared by few employers tells more than one shared by many (an IDF-like weight).
        weight = _KIND_WEIGHT.get(probes[i][0], 1.0) / math.log2(2 + len(ids))
        for employer_id in ids:
            score[employer_id] += weight
    if nkey:
        # The matcher costs ~0.1-0.3 ms per candidate, so only the most promising few reach it:
        # add how alike the name keys are (C-speed rapidfuzz; a key the query begins counts fully).
        for employer_id, key in keys.items():
            alike = 1.0 if key.startswith(nkey) else fuzz.ratio(nkey, key, score_cutoff=50) / 100.0
            score[employer_id] += _NAME_WEIGHT * alike
    ranked = sorted(score.items(), key=lambda item: (-item[1], item[0]))
    return [employer_id for employer_id, _ in ranked[:limit]]


_E = Employer.__table__.c
_A = EmployerAlias.__table__.c
# One statement for the rows and their aliases (one row per alias): each round trip to the
# database thread costs about as much as the query itself.
_ROWS = (select(_E.id, _E.legal_name, _E.dba, _E.domain, _E.fein, _E.phone, _E.address_line, _E.city, _E.zip,
                _E.status, Region.__table__.c.code, _E.region_id, _A.name)
         .outerjoin(Region.__table__, Region.__table__.c.id == _E.region_id)
         .outerjoin(EmployerAlias.__table__, _A.employer_id == _E.id)
         .where(_E.id.in_(bindparam("ids", expanding=True)), _E.status != EmployerStatus.merged.value)
         .order_by(_E.id, _A.name))


async def load_candidates(db: AsyncSession, ids: Sequence[int]) -> list[Candidate]:
    """Candidates for ``ids`` (merged employers left out), in the order of ``ids``."""
    if not ids:
        return []
    conn = await db.connection()  # Core rows: no ORM identity map or objects needed here
    by_id: dict[int, tuple] = {}  # type: ignore[type-arg]
    aliases: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(list(ids)):
        for row in await conn.execute(_ROWS, {"ids": chunk}):
            employer_id = int(row[0])
            by_id[employer_id] = tuple(row[:-1])
            if row[-1] is not None:
                aliases[employer_id].append(row[-1])
    out = []
    for employer_id in ids:
        row = by_id.get(int(employer_id))
        if row is not None:
            out.append(_candidate(row, aliases.get(int(employer_id), [])))
    return out


def _candidate(row: tuple, aliases: list[str]) -> Candidate:  # type: ignore[type-arg]
    employer_id, legal_name, dba, domain, fein, phone, address, city, zip_, status, region, region_id = row
    names = ([dba] if dba else []) + aliases
    record = EmployerRecord(id=int(employer_id), name=legal_name, aliases=tuple(names), domain=domain, fein=fein,
                            phone=phone, address=address, city=city, zip=zip_)
    return Candidate(record=record, legal_name=legal_name, city=city, zip=zip_, region=region, region_id=region_id,
                     status=status)


async def find_candidates(db: AsyncSession, query: Query, limit: int = DEFAULT_LIMIT) -> list[Candidate]:
    """The employers worth comparing with ``query``: indexed probes, then their rows."""
    return await load_candidates(db, await candidate_ids(db, query, limit))


def _chunks(ids: list[int], size: int = _CHUNK) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def keys_for(candidate: Candidate) -> set[str]:
    """The stored keys of one employer (the matcher's blocking keys, bounded in length)."""
    return {key[:KEY_LENGTH] for key in blocking_keys(candidate.record)}


async def refresh_keys(db: AsyncSession, employer_ids: Iterable[int]) -> int:
    """Recompute the search keys of these employers (call after create, update, alias, merge,
    import). Merged or deleted employers lose their keys. Returns the number of keys written.

    Runs in the caller's transaction, so keys change together with the rows they describe.
    """
    ids = sorted({int(i) for i in employer_ids})
    written = 0
    for chunk in _chunks(ids):
        await db.execute(delete(employer_search_key).where(employer_search_key.c.employer_id.in_(chunk)))
        rows = [{"key": key, "employer_id": c.id}
                for c in await load_candidates(db, chunk) for key in sorted(keys_for(c))]
        if rows:
            await db.execute(insert(employer_search_key), rows)
            written += len(rows)
    return written


async def reindex_all(db: AsyncSession, batch: int = 5_000) -> tuple[int, int]:
    """Rebuild every employer's keys (backfill). Returns (employers, keys)."""
    await db.execute(delete(employer_search_key))
    employers = keys = 0
    last_id = 0
    while True:
        ids = list(await db.scalars(select(Employer.id).where(
            Employer.id > last_id, Employer.status != EmployerStatus.merged.value).order_by(Employer.id).limit(batch)))
        if not ids:
            break
        last_id = ids[-1]
        rows = [{"key": key, "employer_id": c.id}
                for chunk in _chunks(ids) for c in await load_candidates(db, chunk) for key in sorted(keys_for(c))]
        if rows:
            await db.execute(insert(employer_search_key), rows)
        employers += len(ids)
        keys += len(rows)
    return employers, keys


async def match_candidates(db: AsyncSession, query: Query, limit: int = 8,
                           exclude: Iterable[int] = ()) -> list[tuple[Candidate, MatchResult]]:
    """Typeahead: retrieved candidates ranked by the matcher, best first (the full query path)."""
    skip = set(exclude)
    pool = [c for c in await find_candidates(db, query) if c.id not in skip]
    by_id = {c.id: c for c in pool}
    ranked = rank_candidates(query.record, [c.record for c in pool], limit=limit)
    return [(by_id[int(record.id)], result) for record, result in ranked]
