"""Candidate retrieval: the few employers (12 by default) worth handing to the matcher for one query.

The matcher (``crm.employers.matching``) is pure and compares records pairwise; it cannot look at
250,000 employers per keystroke. This module is its database side: every employer's search keys
are stored in ``employer_search_key``, indexed by key, so a query is a handful of index probes.
Each probe is capped, so a common word cannot flood the set.

The keys (``record_keys``) are the matcher's blocking keys (``matching.blocking_keys``: exact
name, name-start, rare words, word halves for typos, phone, street address, ZIP + name start)
plus one key per word of a name of two or more words (its name key, stopwords left out): the
name with that word cut to its initial ("o:g plumbing" and "o:garcia p" for Garcia Plumbing).
A typo changes one word and (almost always) not its first letter, so one of these keys survives
it -- and unlike the misspelt word's other keys (its first letters, its halves, each shared by
hundreds of employers at 250,000) it is shared by a handful, so the probe's cap does not cut the
right one away.

Keys must be kept current: ``refresh_keys(db, employer_ids)`` after an employer or alias is
created, updated, merged or imported (merged employers get no keys: they are never candidates),
``reindex_all`` for a backfill (``crm employers reindex``; migration 0008 runs the same
``rebuild_keys``). Retrieval also probes the employer table's own indexes (name key and alias
key prefixes, FEIN, domain), so an employer inserted without keys is still found by its name,
FEIN or domain; only typo recall needs the keys.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

from rapidfuzz import fuzz
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    delete,
    insert,
    intersect,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

from crm.db import metadata
from crm.directory.models import Region
from crm.employers.matching import (
    LEGAL_FORMS,
    EmployerRecord,
    MatchResult,
    name_key,
    normalize_domain,
    normalize_name,
    rank_candidates,
)
from crm.employers.matching.normalize import split_legal_tuple
from crm.employers.matching.pairwise import Features, features
from crm.employers.matching.scan import feature_blocking_keys
from crm.employers.matching.vocab import STOPWORDS
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

# Rows read per probe, by kind. A key shared by more employers than its cap ("t:plumbing") says
# little, and reading all of them would make a keystroke cost grow with the database. Selective
# keys (whole names, identifiers, a name with one word cut to its initial) keep a wide cap; the
# weak ones (a word, the first letters, a word half, a half-typed word) are sampled: they only
# matter when nothing selective hits, and at 250,000 employers most of them are shared by
# hundreds, of which any fixed-size sample is arbitrary anyway.
_CAP = {"name": 64, "alias": 16, "n": 16, "o": 64, "f": 16, "d": 16, "p": 32, "a": 32, "z": 16,
        "t": 16, "j": 16, "q": 8, "prefix": 16}
# Candidates handed to the matcher (its ranking dominates a keystroke's cost; see bench/README.md).
DEFAULT_LIMIT = 12
_NAME_WEIGHT = 4.0
# Weight of a hit by probe kind: identifiers and whole names say much more than a word.
_KIND_WEIGHT = {"f": 8.0, "d": 6.0, "p": 4.0, "a": 4.0, "n": 5.0, "o": 5.0, "name": 4.0, "alias": 4.0,
                "z": 3.0, "t": 1.5, "j": 1.0, "q": 0.7, "prefix": 1.0}
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
    name_key: str = ""

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
        return _query_record(self)

    @property
    def is_empty(self) -> bool:
        return not any((v or "").strip() for v in (self.name, self.website, self.fein, self.phone, self.zip))


@lru_cache(maxsize=1024)
def _query_record(query: Query) -> EmployerRecord:
    # Cached: retrieval and ranking both need it, and normalizing a domain or phone is not free.
    name = (query.name or "").strip()
    website = query.website
    # Partners type "acme.com" into the name field: treat it as the website as well.
    if not website and name and "." in name and " " not in name and normalize_domain(name):
        website = name
    return EmployerRecord.from_raw("query", name, website=website, fein=query.fein, phone=query.phone,
                                   address=query.address, city=query.city, zip=query.zip)


# --- keys --------------------------------------------------------------------------------------

def _initial_keys(f: Features) -> set[str]:
    """For a name of two or more words (its name key without stopwords), the name with each word
    in turn cut to its initial: "o:g plumbing", "o:garcia p" (see the module docstring)."""
    keys: set[str] = set()
    for form in f.names:
        words = [w for w in form.key.split() if w not in STOPWORDS]
        if len(words) < 2:
            continue
        for i, word in enumerate(words):
            keys.add(("o:" + " ".join((*words[:i], word[0], *words[i + 1:])))[:KEY_LENGTH])
    return keys


def name_words(name: str) -> list[str]:
    """The words of a name the directory searches by: all but its legal forms ("Acme Tooling Inc - Downtown
    Branch": acme, tooling, downtown, branch), a leading "the" and a "dba …" part (``split_legal_tuple``)."""
    legal, tail = split_legal_tuple(name)
    return [word for word in (*legal, *tail) if word not in LEGAL_FORMS]


def _word_keys(record: EmployerRecord) -> set[str]:
    """Every word of every name (legal name, DBA, aliases): "w:robinson". Not the matcher's: the
    directory's search by words (``with_words``)."""
    return {("w:" + word)[:KEY_LENGTH] for name in (record.name, *record.aliases) if name
            for word in name_words(name)}


def record_keys(record: EmployerRecord) -> set[str]:
    """The stored search keys of one employer record (what ``refresh_keys`` writes for it)."""
    f = features(record)
    return {key[:KEY_LENGTH] for key in feature_blocking_keys(f)} | _initial_keys(f) | _word_keys(record)


def keys_for(candidate: Candidate) -> set[str]:
    """The stored keys of one employer."""
    return record_keys(candidate.record)


# --- retrieval ---------------------------------------------------------------------------------

def next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (range probes
    use the btree index on both databases, where LIKE 'x%' would not)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


MAX_SEARCH_WORDS = 8


def with_words(typed: str) -> Select[tuple[int]] | None:
    """Ids of the employers having, for each word typed (``name_words``), a name word it begins:
    "hill rob" finds "Hill and Robinson Veterinary Hospital" and "Robinson Hill Farms". An index range
    per word on the stored word keys, intersected (words past the eighth are not looked up); a last word
    still being typed that begins a legal form is left out ("Iyer Trucking In"); None when nothing but
    legal forms was typed."""
    column = employer_search_key.c
    words = list(dict.fromkeys(name_words(typed)))[:MAX_SEARCH_WORDS]
    if len(words) > 1 and words[-1] == (last := _last_word(typed)) and _begins_legal_form(last):
        words.pop()  # "Iyer Trucking In": the "Inc" being typed, not a word of the name
    if not words:
        return None
    probes = [select(column.employer_id).where(column.key >= low, column.key < next_prefix(low))
              for low in (("w:" + word)[:KEY_LENGTH] for word in words)]
    if len(probes) == 1:
        return probes[0]
    both = intersect(*probes).subquery()  # a subquery: SQLite cannot nest a compound select in another
    return select(both.c.employer_id)


def _begins_legal_form(word: str) -> bool:
    """Whether a half-typed word may be a legal form still being typed ("in", "compa"): legal forms are
    no stored words, so searching for it would find nothing until the form is whole."""
    return bool(word) and any(form.startswith(word) for form in LEGAL_FORMS)


def _last_word(name: str) -> str:
    """The word being typed, when the text does not end with a space."""
    if not name or name[-1:].isspace():
        return ""
    words = normalize_name(name).split()
    return words[-1] if words else ""


@dataclass(frozen=True, slots=True)
class _Probes:
    """What one query looks up: stored keys (by equality), then index ranges and identifiers."""

    keys: tuple[str, ...]  # "o:garcia p", "t:garcia", "j:garci", ... (the kind is the first letter)
    word: tuple[str, str] | None  # [low, high) of the stored word keys the half-typed last word begins
    name: tuple[str, str] | None  # [low, high) of the employer and alias name keys the name begins
    fein: str | None
    domain: str | None


# Tags of the probes that are not stored-key equalities (those are tagged 1, 2, ... in order).
_FIXED = {-1: "prefix", -2: "name", -3: "alias", -4: "f", -5: "d"}
_COLUMNS = ("e.legal_name, e.dba, e.domain, e.fein, e.phone, e.address_line, e.city, e.zip, e.status, r.code, "
            "e.region_id, e.name_key, a.name")
# Every probe is an equality or a range on an indexed column, each under its own LIMIT and tagged;
# the hits are joined to their employers' rows (merged ones dropped), region and aliases, so one
# statement brings everything ranking needs: a round trip to the database (a thread hop on SQLite)
# costs about as much as the probes themselves. Plain SQL: built as a SQLAlchemy expression
# (subquery column proxies, cache keys) it cost more CPU than running it.
_ROWS_OF_HITS = (f"SELECT h.employer_id, h.probe, {_COLUMNS} FROM ({{hits}}) AS h "
                 "JOIN employer AS e ON e.id = h.employer_id "
                 "LEFT JOIN region AS r ON r.id = e.region_id "
                 "LEFT JOIN employer_alias AS a ON a.employer_id = e.id "
                 "WHERE e.status <> 'merged'")
_FIXED_HITS = (
    ("prefix", -1, "SELECT employer_id FROM employer_search_key WHERE key >= :wlo AND key < :whi"),
    ("name", -2, "SELECT id AS employer_id FROM employer WHERE name_key >= :nlo AND name_key < :nhi ORDER BY name_key"),
    ("alias", -3, "SELECT employer_id FROM employer_alias WHERE name_key >= :nlo AND name_key < :nhi "
                  "ORDER BY name_key"),
    ("f", -4, "SELECT id AS employer_id FROM employer WHERE fein = :fein"),
    ("d", -5, "SELECT id AS employer_id FROM employer WHERE domain = :domain"),
)
# PostgreSQL: one statement for every query -- the stored keys as an array probed through a
# LATERAL subquery each, the other probes always present (an empty range or a NULL when unused).
# One shape is prepared once and its plan reused; the per-query UNION of SQLite below made
# PostgreSQL plan a statement of ~20 branches on every keystroke (~0.7 ms of ~4).
_PG_HITS = text(_ROWS_OF_HITS.format(hits=" UNION ALL ".join([
    "SELECT s.employer_id, k.probe FROM unnest(CAST(:keys AS VARCHAR[]), CAST(:caps AS INTEGER[])) "
    "WITH ORDINALITY AS k(key, cap, probe) "
    "CROSS JOIN LATERAL (SELECT employer_id FROM employer_search_key WHERE key = k.key LIMIT k.cap) AS s",
    *(f"SELECT employer_id, {tag} FROM ({sql} LIMIT {_CAP[kind]}) AS q{-tag}" for kind, tag, sql in _FIXED_HITS),
])))


@lru_cache(maxsize=256)
def _sqlite_hits(kinds: tuple[str, ...], fixed: tuple[bool, ...]) -> TextClause:
    """The probe statement for SQLite, which has no LATERAL: a UNION ALL of one subquery per probe.
    A few dozen shapes recur (they differ in the kinds of key a query has), so they are cached."""
    parts = [f"SELECT employer_id, {i + 1} AS probe FROM (SELECT employer_id FROM employer_search_key "
             f"WHERE key = :k{i} LIMIT {_CAP[kind]}) AS k{i}" for i, kind in enumerate(kinds)]
    parts += [f"SELECT employer_id, {tag} AS probe FROM ({sql} LIMIT {_CAP[kind]}) AS q{-tag}"
              for (kind, tag, sql), used in zip(_FIXED_HITS, fixed, strict=True) if used]
    return text(_ROWS_OF_HITS.format(hits=" UNION ALL ".join(parts)))


def _statement(dialect: str, probes: _Probes) -> tuple[TextClause, dict[str, object]]:
    word, name = probes.word or ("", ""), probes.name or ("", "")
    params: dict[str, object] = {"wlo": word[0], "whi": word[1], "nlo": name[0], "nhi": name[1],
                                 "fein": probes.fein, "domain": probes.domain}
    if dialect == "postgresql":
        return _PG_HITS, {**params, "keys": list(probes.keys), "caps": [_CAP[key[0]] for key in probes.keys]}
    used = (bool(probes.word), bool(probes.name), bool(probes.name), bool(probes.fein), bool(probes.domain))
    stmt = _sqlite_hits(tuple(key[0] for key in probes.keys), used)
    return stmt, {**params, **{f"k{i}": key for i, key in enumerate(probes.keys)}}


async def candidate_ids(db: AsyncSession, query: Query, limit: int | None = None) -> list[int]:
    """Ids of up to ``limit`` employers sharing the most (and most telling) keys with the query,
    best first."""
    return [c.id for c in await find_candidates(db, query, limit)]


async def find_candidates(db: AsyncSession, query: Query, limit: int | None = None) -> list[Candidate]:
    """The employers worth comparing with ``query`` (``DEFAULT_LIMIT`` by default), best first:
    one statement of indexed probes, scored by what they share with the query."""
    probes = _probes(query)
    if not (probes.keys or probes.word or probes.name or probes.fein or probes.domain):
        return []
    conn = await db.connection()
    stmt, params = _statement(conn.dialect.name, probes)
    hits: dict[int, set[int]] = defaultdict(set)
    rows: dict[int, tuple] = {}  # type: ignore[type-arg]
    aliases: dict[int, set[str]] = defaultdict(set)
    for employer_id, tag, *columns, alias in await conn.execute(stmt, params):
        hits[tag].add(employer_id)
        rows[employer_id] = (employer_id, *columns)
        if alias is not None:
            aliases[employer_id].add(alias)
    # The one-word-cut-to-its-initial keys are there for typos. A name that begins stored names is
    # not one (or the user is typing towards those names): then they would only add every
    # "garcia p..." to "garcia pl", which the matcher may rank above the names being typed.
    completes = -2 in hits or -3 in hits
    score: dict[int, float] = defaultdict(float)
    for tag, ids in hits.items():
        kind = probes.keys[tag - 1][0] if tag > 0 else _FIXED[tag]
        if kind == "o" and completes:
            continue
        # A key shared by few employers tells more than one shared by many (an IDF-like weight).
        weight = _KIND_WEIGHT[kind] / math.log2(2 + len(ids))
        for employer_id in ids:
            score[employer_id] += weight
    nkey = probes.name[0] if probes.name else ""
    if nkey:
        # The matcher costs ~0.07 ms per candidate, so only the most promising few reach it:
        # add how alike the name keys are (C-speed rapidfuzz; a key the query begins counts fully).
        for employer_id, row in rows.items():
            key = row[_NAME_KEY]
            alike = 1.0 if key.startswith(nkey) else fuzz.ratio(nkey, key, score_cutoff=50) / 100.0
            score[employer_id] += _NAME_WEIGHT * alike
    ranked = sorted(score.items())  # by id, then (stable) by score, best first: ties go to the older employer
    ranked.sort(key=itemgetter(1), reverse=True)
    return [_candidate(rows[employer_id], sorted(aliases[employer_id]))
            for employer_id, _ in ranked[:limit or DEFAULT_LIMIT]]


def _probes(query: Query) -> _Probes:
    """What to look up for one query."""
    record = query.record
    f = features(record)
    keys = {key[:KEY_LENGTH] for key in feature_blocking_keys(f) if key[0] not in "fd"} | _initial_keys(f)
    last = _last_word(query.name or "")
    # The half-typed last word: every stored word it begins ("acme lo" -> "t:logistics").
    word = ("t:" + last, next_prefix("t:" + last)) if len(last) >= 2 else None
    # Name and alias keys straight from the employer tables: exact and prefix hits need no stored
    # keys, so rows inserted without them (bulk loads, fixtures) are still found.
    nkey = name_key(query.name or "") if query.name else ""
    return _Probes(keys=tuple(sorted(keys)), word=word, name=(nkey, next_prefix(nkey)) if nkey else None,
                   fein=record.fein, domain=record.domain)


_E = Employer.__table__.c
_A = EmployerAlias.__table__.c
# One statement for the rows and their aliases (one row per alias): each round trip to the
# database thread costs about as much as the query itself. Aliases are sorted in Python (here and in
# find_candidates), so both give an employer the same record whatever the database's collation.
_ROWS = (select(_E.id, _E.legal_name, _E.dba, _E.domain, _E.fein, _E.phone, _E.address_line, _E.city, _E.zip,
                _E.status, Region.__table__.c.code, _E.region_id, _E.name_key, _A.name)
         .outerjoin(Region.__table__, Region.__table__.c.id == _E.region_id)
         .outerjoin(EmployerAlias.__table__, _A.employer_id == _E.id)
         .where(_E.id.in_(bindparam("ids", expanding=True)), _E.status != EmployerStatus.merged.value)
         .order_by(_E.id, _A.name))


def _candidates_from_rows(rows: Iterable[Sequence[object]], order: Sequence[int]) -> list[Candidate]:
    by_id: dict[int, tuple] = {}  # type: ignore[type-arg]
    aliases: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        employer_id = int(row[0])  # type: ignore[call-overload]
        by_id[employer_id] = tuple(row[:-1])
        if row[-1] is not None:
            aliases[employer_id].append(str(row[-1]))
    out = []
    for employer_id in order:
        found = by_id.get(int(employer_id))
        if found is not None:
            out.append(_candidate(found, sorted(aliases.get(int(employer_id), []))))
    return out


async def load_candidates(db: AsyncSession, ids: Sequence[int]) -> list[Candidate]:
    """Candidates for ``ids`` (merged employers left out), in the order of ``ids``."""
    if not ids:
        return []
    conn = await db.connection()  # Core rows: no ORM identity map or objects needed here
    rows: list[Sequence[object]] = []
    for chunk in _chunks(list(ids)):
        rows += (await conn.execute(_ROWS, {"ids": chunk})).all()
    return _candidates_from_rows(rows, ids)


_NAME_KEY = 12  # position of name_key in a row of _ROWS (and of the probe statement, past its probe tag)


def _candidate(row: tuple, aliases: list[str]) -> Candidate:  # type: ignore[type-arg]
    employer_id, legal_name, dba, domain, fein, phone, address, city, zip_, status, region, region_id, key = row
    names = ([dba] if dba else []) + aliases
    record = EmployerRecord(id=int(employer_id), name=legal_name, aliases=tuple(names), domain=domain, fein=fein,
                            phone=phone, address=address, city=city, zip=zip_)
    return Candidate(record=record, legal_name=legal_name, city=city, zip=zip_, region=region, region_id=region_id,
                     status=status, name_key=key)


def _chunks(ids: list[int], size: int = _CHUNK) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


# --- maintenance -------------------------------------------------------------------------------

def _key_rows(candidates: Iterable[Candidate]) -> list[tuple[str, int]]:
    rows = [(key, c.id) for c in candidates for key in record_keys(c.record)]
    # Inserted in index order: neighbouring keys land on the same btree pages.
    rows.sort()
    return rows


def _insert_keys(conn: Connection, rows: list[tuple[str, int]]) -> None:
    # Positional rows through the driver's executemany: SQLAlchemy's per-row parameter handling
    # cost more than the database's insert (a full rebuild writes ~17 keys per employer).
    conn.exec_driver_sql(_insert_sql(conn.dialect), rows)  # type: ignore[arg-type]


@lru_cache(maxsize=4)
def _insert_sql(dialect: Dialect) -> str:
    return str(insert(employer_search_key).compile(dialect=dialect))


async def refresh_keys(db: AsyncSession, employer_ids: Iterable[int]) -> int:
    """Recompute the search keys of these employers (call after create, update, alias, merge,
    import). Merged or deleted employers lose their keys. Returns the number of keys written.

    Runs in the caller's transaction, so keys change together with the rows they describe.
    """
    ids = sorted({int(i) for i in employer_ids})
    written = 0
    for chunk in _chunks(ids):
        await db.execute(delete(employer_search_key).where(employer_search_key.c.employer_id.in_(chunk)))
        rows = _key_rows(await load_candidates(db, chunk))
        if rows:
            conn = await db.connection()
            await conn.run_sync(_insert_keys, rows)
            written += len(rows)
    return written


def rebuild_keys(conn: Connection, batch: int = 5_000) -> tuple[int, int]:
    """Replace every search key with the current scheme's, on a plain (sync) connection: what
    ``crm employers reindex`` and the key-scheme migrations run. Returns (employers, keys)."""
    conn.execute(delete(employer_search_key))
    employers = keys = 0
    last_id = 0
    while True:
        ids = list(conn.scalars(select(_E.id).where(_E.id > last_id, _E.status != EmployerStatus.merged.value)
                                .order_by(_E.id).limit(batch)))
        if not ids:
            break
        last_id = ids[-1]
        rows = _key_rows(_candidates_from_rows(
            [row for chunk in _chunks(ids) for row in conn.execute(_ROWS, {"ids": chunk})], ids))
        if rows:
            _insert_keys(conn, rows)
        employers += len(ids)
        keys += len(rows)
    return employers, keys


async def reindex_all(db: AsyncSession, batch: int = 5_000) -> tuple[int, int]:
    """Rebuild every employer's keys (backfill), in the session's transaction. Returns
    (employers, keys)."""
    conn = await db.connection()
    return await conn.run_sync(rebuild_keys, batch)


async def match_candidates(db: AsyncSession, query: Query, limit: int = 8,
                           exclude: Iterable[int] = ()) -> list[tuple[Candidate, MatchResult]]:
    """Typeahead: retrieved candidates ranked by the matcher, best first (the full query path)."""
    skip = set(exclude)
    pool = [c for c in await find_candidates(db, query) if c.id not in skip]
    by_id = {c.id: c for c in pool}
    ranked = rank_candidates(query.record, [c.record for c in pool], limit=limit)
    return [(by_id[int(record.id)], result) for record, result in ranked]
