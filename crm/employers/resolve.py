"""Employer resolution for intake (SPEC section 3, step 1): which employer does a request mean?

Order of evidence, strongest first: an explicit id (a merged employer resolves to its survivor),
then FEIN equality, then normalized web-domain equality, then the fuzzy matcher over the
candidates ``candidates.py`` retrieves. A merged employer is never returned. The decision between
several records is the pure matcher's (``matching.resolve``); this module only loads rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from sqlalchemy import Row, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import joinedload, raiseload

from crm.directory.models import Region
from crm.employers import matching
from crm.employers.candidates import Candidate, Query, find_candidates, load_candidates
from crm.employers.matching import EmployerRecord, MatchResult, name_key
from crm.employers.matching.vocab import FREE_MAIL_DOMAINS
from crm.employers.models import Employer, EmployerStatus
from crm.errors import Conflict, FieldError

Kind = Literal["match", "review", "none"]
# Merge chains are short (A -> B -> C when B was merged later); the bound only guards a cycle.
_MAX_MERGE_HOPS = 20


@dataclass
class Resolution:
    """The intake decision: ``match`` (use ``employer``), ``review`` (a person picks among
    ``candidates``, best first) or ``none`` (create a provisional employer)."""

    kind: Kind
    employer: Employer | None
    candidates: list[tuple[Employer, MatchResult]] = field(default_factory=list)


def _lean(stmt: Select[Employer]) -> Select[Employer]:
    """Employer rows as resolution needs them: columns and the region (its code), no collections.

    Explicit options rather than the relationships' defaults: aliases and contacts (and the
    county) would each cost a statement per load and resolution reads none of them.
    """
    return stmt.options(joinedload(Employer.region).load_only(Region.code).raiseload("*"),
                        raiseload(Employer.county), raiseload(Employer.aliases), raiseload(Employer.contacts))


@cache
def _by_id() -> Select[Employer]:
    return _lean(select(Employer).where(Employer.id == bindparam("employer_id")))


async def _employer(db: AsyncSession, employer_id: int) -> Employer | None:
    return await db.scalar(_by_id(), {"employer_id": employer_id})


@dataclass(frozen=True, slots=True)
class EmployerRef:
    """An employer as intake routes it: the columns its decision, routing and answer read."""

    id: int
    legal_name: str
    dba: str | None
    region_id: int | None
    region_code: str | None
    county_id: int | None
    naics_code: str | None

    @property
    def display_name(self) -> str:
        return f"{self.legal_name} (dba {self.dba})" if self.dba else self.legal_name

    @classmethod
    def of(cls, employer: Employer) -> EmployerRef:
        """From a loaded row (its region loaded, as resolution and creation load it)."""
        return cls(employer.id, employer.legal_name, employer.dba, employer.region_id,
                   employer.region.code if employer.region is not None else None, employer.county_id,
                   employer.naics_code)


@cache
def _ref_stmt(for_update: bool) -> Select[*tuple[Any, ...]]:
    e, r = Employer.__table__, Region.__table__
    stmt = (select(e.c.id, e.c.legal_name, e.c.dba, e.c.status, e.c.merged_into_id, e.c.region_id,
                   r.c.code.label("region_code"), e.c.county_id, e.c.naics_code)
            .select_from(e.outerjoin(r, r.c.id == e.c.region_id))
            .where(e.c.id == bindparam("employer_id")))
    if not for_update:
        return stmt
    # Only a live row is locked: PostgreSQL re-checks the condition on a row another transaction changed
    # while this one waited, and locks nothing when it no longer holds (a merge committed meanwhile).
    # OF employer: the joined region stays unlocked (PostgreSQL refuses to lock an outer join's
    # nullable side); SQLite renders no FOR UPDATE.
    return stmt.where(e.c.status != EmployerStatus.merged.value).with_for_update(of=e)


_MAX_RETRIES = 5


async def _survivor(conn: AsyncConnection, employer_id: int) -> Row[Any]:
    """The live end of ``employer_id``'s merge chain, read without locks. FieldError for an unknown id or a
    survivor that is gone."""
    stmt = _ref_stmt(False)
    row = (await conn.execute(stmt, {"employer_id": employer_id})).first()
    if row is None:
        raise FieldError("employer_id", f"no employer #{employer_id}")
    seen = {row.id}
    while row.status == EmployerStatus.merged and row.merged_into_id is not None:
        nxt = (await conn.execute(stmt, {"employer_id": row.merged_into_id})).first()
        if nxt is None or nxt.id in seen or len(seen) > _MAX_MERGE_HOPS:
            break
        seen.add(nxt.id)
        row = nxt
    if row.status == EmployerStatus.merged:
        raise FieldError("employer_id", f"employer #{employer_id} was merged and its survivor is gone")
    return row


def _ref(row: Row[Any]) -> EmployerRef:
    return EmployerRef(row.id, row.legal_name, row.dba, row.region_id, row.region_code, row.county_id,
                       row.naics_code)


async def employer_ref(db: AsyncSession, employer_id: int, *, for_update: bool = False) -> EmployerRef:
    """The live employer an id means: a merged one resolves to its survivor (following later merges).

    ``for_update`` (PostgreSQL) locks the live employer's row and only it, so the caller needs no separate
    locking statement: one statement for a live id. A merged id's chain is read without locks and its
    survivor locked after: holding the merged row's lock while asking for the survivor's would take them
    in the opposite order to a merge or its undo (``merge.lock_pair``, by id) and deadlock with them. Once
    the survivor is locked the chain is read again: a merge undone meanwhile sends the caller to the
    employer it named. Raises FieldError naming ``employer_id`` for an unknown id or a survivor that is gone.
    """
    conn = await db.connection()
    if not for_update:
        return _ref(await _survivor(conn, employer_id))
    locking = _ref_stmt(True)
    row = (await conn.execute(locking, {"employer_id": employer_id})).first()
    if row is not None:
        return _ref(row)
    for _ in range(_MAX_RETRIES):
        survivor = await _survivor(conn, employer_id)
        if survivor.id == employer_id:  # live again (a merge undone): lock it as named
            row = (await conn.execute(locking, {"employer_id": employer_id})).first()
        else:
            row = (await conn.execute(locking, {"employer_id": survivor.id})).first()
            if row is not None and (await _survivor(conn, employer_id)).id != row.id:
                row = None  # the chain moved while this waited; the lock taken is harmless, try again
        if row is not None:
            return _ref(row)
    raise Conflict(f"Employer #{employer_id} is being merged or unmerged right now; try again")


async def _employers(db: AsyncSession, ranked: list[tuple[EmployerRecord, MatchResult]]
                     ) -> list[tuple[Employer, MatchResult]]:
    ids = [int(record.id) for record, _ in ranked]
    if not ids:
        return []
    rows = {e.id: e for e in await db.scalars(_lean(select(Employer).where(Employer.id.in_(ids))))}
    return [(rows[int(record.id)], result) for record, result in ranked if int(record.id) in rows]


def _decide(query: EmployerRecord, pool: list[Candidate], region_id: int | None
            ) -> tuple[Kind, EmployerRecord | None, list[tuple[EmployerRecord, MatchResult]]]:
    kind, chosen, ranked = matching.resolve(query, [c.record for c in pool])
    if kind == "review" and region_id is not None:
        # Several confident matches, one in the request's region: a worksite elsewhere is another
        # establishment (employers are counted per worksite), so the local one is meant.
        region_of = {c.id: c.region_id for c in pool}
        local = [(r, m) for r, m in ranked if m.outcome == "match" and region_of.get(int(r.id)) == region_id]
        if len(local) == 1 and sum(m.outcome == "match" for _, m in ranked) > 1:
            return "match", local[0][0], local
    return kind, chosen, ranked


async def _by_identifier(db: AsyncSession, query: EmployerRecord, column: str, value: str,
                         region_id: int | None, reason: str) -> Resolution | None:
    """Resolution among the live employers sharing an identifier (FEIN or domain), or None."""
    ids = list(await db.scalars(select(Employer.id).where(
        getattr(Employer, column) == value, Employer.status != EmployerStatus.merged.value
    ).order_by(Employer.id).limit(50)))
    if not ids:
        return None
    pool = await load_candidates(db, ids)
    if len(pool) == 1:
        employer = await _employer(db, pool[0].id)
        assert employer is not None
        result = matching.compare(query, pool[0].record)
        # The identifier decides here (SPEC: "by FEIN; or by normalized domain"), whatever the
        # names say; the matcher's reasons still tell the person why.
        reasons = result.reasons if reason in result.explanation else (reason, *result.reasons)
        return Resolution("match", employer, [(employer, MatchResult("match", max(result.score, 0.99), reasons))])
    # One company, several worksites: the matcher (address, ZIP, name) picks the site.
    kind, chosen, ranked = _decide(query, pool, region_id)
    if not ranked:
        ranked = [(c.record, matching.compare(query, c.record)) for c in pool]
        ranked.sort(key=lambda t: (-t[1].score, int(t[0].id)))
    candidates = await _employers(db, ranked)
    if kind == "match" and chosen is not None:
        employer = next(e for e, _ in candidates if e.id == int(chosen.id))
        return Resolution("match", employer, candidates)
    return Resolution("review", None, candidates)


def identity_keys(name: str | None, website: str | None, fein: str | None) -> list[str]:
    """Lock names (``crm.db.lock_keys``) for the employer a description would create: its name key,
    domain and FEIN, so that two writers creating the same new employer take turns."""
    record = Query(name=name, website=website, fein=fein).record
    keys = [f"employer-name:{name_key(record.name)}"] if record.name else []
    if record.domain and record.domain not in FREE_MAIL_DOMAINS:
        keys.append(f"employer-domain:{record.domain}")
    if record.fein:
        keys.append(f"employer-fein:{record.fein}")
    return keys


async def resolve_employer(
    db: AsyncSession,
    *,
    employer_id: int | None = None,
    name: str | None = None,
    website: str | None = None,
    fein: str | None = None,
    phone: str | None = None,
    city: str | None = None,
    zip: str | None = None,
    region_id: int | None = None,
) -> Resolution:
    """Which live employer the given id or description means (see the module docstring).

    Raises FieldError for an unknown ``employer_id`` or a malformed FEIN; deterministic for the
    same database state. Resolved employers come without aliases, contacts or county loaded
    (intake, the hot caller, reads none of them; by id it uses ``employer_ref`` directly).
    """
    if employer_id is not None:
        ref = await employer_ref(db, employer_id)
        employer = await _employer(db, ref.id)
        assert employer is not None
        return Resolution("match", employer, [(employer, MatchResult("match", 1.0, ("chosen by id",)))])

    if fein and fein.strip():
        try:
            matching.normalize_fein(fein)
        except ValueError as exc:
            raise FieldError("fein", str(exc)) from None
    query = Query(name=name, website=website, fein=fein, phone=phone, city=city, zip=zip)
    record = query.record
    if record.fein:
        found = await _by_identifier(db, record, "fein", record.fein, region_id, f"same FEIN {record.fein}")
        if found is not None:
            return found
    if record.domain and record.domain not in FREE_MAIL_DOMAINS:
        found = await _by_identifier(db, record, "domain", record.domain, region_id,
                                     f"same domain {record.domain}")
        if found is not None:
            return found
    if not record.name:
        return Resolution("none", None, [])
    pool = await find_candidates(db, query)
    kind, chosen, ranked = _decide(record, pool, region_id)
    candidates = await _employers(db, ranked)
    if kind == "match" and chosen is not None:
        employer = next(e for e, _ in candidates if e.id == int(chosen.id))
        return Resolution("match", employer, candidates)
    if kind == "review":
        return Resolution("review", None, candidates)
    return Resolution("none", None, [])
