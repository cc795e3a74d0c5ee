"""Whole-database duplicate scan and the review queue it fills (the shell around the matcher).

The scan loads every employer that is not a merged tombstone as an ``EmployerRecord``, lets the
pure matcher find likely pairs (``find_duplicate_pairs``) and keeps only pairs that its guarded
clustering (``cluster``) also puts together, so one shared word or a chain's two sites do not
flood the queue with links between different establishments. Pairs are stored once (a < b):
open pairs are refreshed, pairs a lead dismissed ("not a duplicate") or merged are never
proposed again, open pairs the matcher no longer finds are dropped. A rerun changes nothing new.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import Select, Table, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from crm.audit import service as audit
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.db import begin_write
from crm.employers.duplicate_models import CandidateStatus, DuplicateCandidate
from crm.employers.matching import EmployerRecord, cluster, find_duplicate_pairs
from crm.employers.models import Employer, EmployerAlias, EmployerStatus
from crm.employers.service import region_id_for
from crm.errors import Conflict, FieldError

_BATCH = 5_000


@dataclass
class ScanReport:
    employers: int = 0
    pairs: int = 0  # pairs the matcher and clustering agree on
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    remembered: int = 0  # dismissed or merged before: not proposed again
    dropped: int = 0  # open pairs the matcher no longer finds
    seconds: float = 0.0

    def __str__(self) -> str:
        return (f"employers={self.employers} pairs={self.pairs} new={self.new} updated={self.updated} "
                f"unchanged={self.unchanged} remembered={self.remembered} dropped={self.dropped} "
                f"seconds={self.seconds:.1f}")


async def load_records(db: AsyncSession) -> tuple[list[EmployerRecord], dict[int, int | None]]:
    """Every employer that is not merged, as matcher records, and each one's region id."""
    aliases: dict[int, list[str]] = defaultdict(list)
    live = Employer.status != EmployerStatus.merged.value
    alias_rows = await db.execute(select(EmployerAlias.employer_id, EmployerAlias.name)
                                  .join(Employer, Employer.id == EmployerAlias.employer_id).where(live))
    for employer_id, name in alias_rows:
        aliases[employer_id].append(name)
    records: list[EmployerRecord] = []
    regions: dict[int, int | None] = {}
    rows = await db.execute(select(
        Employer.id, Employer.legal_name, Employer.dba, Employer.domain, Employer.fein, Employer.phone,
        Employer.address_line, Employer.city, Employer.zip, Employer.region_id).where(live).order_by(Employer.id))
    for r in rows:
        names = aliases.get(r.id, [])
        if r.dba:
            names = [*names, r.dba]
        records.append(EmployerRecord(id=r.id, name=r.legal_name, aliases=tuple(names), domain=r.domain,
                                      fein=r.fein, phone=r.phone, address=r.address_line, city=r.city, zip=r.zip))
        regions[r.id] = r.region_id
    return records, regions


def likely_pairs(records: list[EmployerRecord]) -> list[tuple[int, int, float, str, str]]:
    """(a, b, score, outcome, explanation) with a < b, for pairs both the pairwise matcher and the
    chain-guarded clustering accept."""
    pairs = find_duplicate_pairs(records)
    involved = {i for a, b, _ in pairs for i in (a, b)}
    groups = cluster(pairs, "review", records=[r for r in records if r.id in involved])
    group_of = {member: n for n, group in enumerate(groups) for member in group}
    out: list[tuple[int, int, float, str, str]] = []
    for a, b, result in pairs:
        if group_of.get(a) is None or group_of.get(a) != group_of.get(b):
            continue
        x, y = sorted((int(a), int(b)))
        out.append((x, y, round(result.score, 4), result.outcome, result.explanation))
    return out


async def scan_duplicates(db: AsyncSession, now: dt.datetime | None = None) -> ScanReport:
    """Fill the review queue from the whole database, in the caller's transaction."""
    started = time.perf_counter()
    report = ScanReport()
    records, regions = await load_records(db)
    report.employers = len(records)
    found = likely_pairs(records)
    report.pairs = len(found)
    t = cast(Table, DuplicateCandidate.__table__)
    existing = {(r.employer_a_id, r.employer_b_id): r for r in await db.execute(
        select(t.c.id, t.c.employer_a_id, t.c.employer_b_id, t.c.status, t.c.score, t.c.outcome,
               t.c.explanation, t.c.region_id))}
    new_rows = []
    seen: set[tuple[int, int]] = set()
    for a, b, score, outcome, explanation in found:
        if (a, b) in seen:
            continue
        seen.add((a, b))
        region = regions[a] if regions[a] == regions[b] else None
        old = existing.get((a, b))
        if old is None:
            new_rows.append({"employer_a_id": a, "employer_b_id": b, "region_id": region, "score": score,
                             "outcome": outcome, "explanation": explanation,
                             "status": CandidateStatus.open.value})
        elif old.status != CandidateStatus.open:
            report.remembered += 1
        elif (old.score, old.outcome, old.explanation, old.region_id) != (score, outcome, explanation, region):
            await db.execute(update(t).where(t.c.id == old.id).values(
                score=score, outcome=outcome, explanation=explanation, region_id=region))
            report.updated += 1
        else:
            report.unchanged += 1
    for start in range(0, len(new_rows), _BATCH):
        await db.execute(insert(t), new_rows[start:start + _BATCH])
    report.new = len(new_rows)
    # Only pairs of two live employers: a pair with a merged employer may come back on undo.
    stale = [r.id for key, r in existing.items() if r.status == CandidateStatus.open and key not in seen
             and key[0] in regions and key[1] in regions]
    for start in range(0, len(stale), _BATCH):
        await db.execute(delete(t).where(t.c.id.in_(stale[start:start + _BATCH])))
    report.dropped = len(stale)
    report.seconds = time.perf_counter() - started
    return report


async def scan_job(db: AsyncSession, now: dt.datetime) -> str:
    """Scheduled daily (crm.jobs.scheduler.JOBS)."""
    return str(await scan_duplicates(db, now))


# --- the review queue ---------------------------------------------------------------------------

def queue_query(principal: Principal, *, status: str = CandidateStatus.open.value, region_id: int | None = None,
                employer_id: int | None = None) -> Select[DuplicateCandidate]:
    """Pairs the principal may decide: both employers in regions they lead (admins: all).

    Open pairs where either employer has been merged meanwhile are hidden: they come back if
    that merge is undone.
    """
    a, b = aliased(Employer), aliased(Employer)
    stmt = (select(DuplicateCandidate).join(a, a.id == DuplicateCandidate.employer_a_id)
            .join(b, b.id == DuplicateCandidate.employer_b_id).where(DuplicateCandidate.status == status))
    if status == CandidateStatus.open:
        stmt = stmt.where(a.status != EmployerStatus.merged.value, b.status != EmployerStatus.merged.value)
    if not principal.is_admin:
        mine = sorted(principal.regions_for(Role.lead))
        stmt = stmt.where(a.region_id.in_(mine), b.region_id.in_(mine))
    if region_id is not None:
        stmt = stmt.where(or_(a.region_id == region_id, b.region_id == region_id))
    if employer_id is not None:
        stmt = stmt.where(or_(DuplicateCandidate.employer_a_id == employer_id,
                              DuplicateCandidate.employer_b_id == employer_id))
    return stmt


async def list_candidates(db: AsyncSession, principal: Principal, *, status: str | None = None,
                          region: str | None = None, employer_id: int | None = None, limit: int = 25,
                          offset: int = 0) -> tuple[list[DuplicateCandidate], int]:
    status = status or CandidateStatus.open.value
    if status not in {s.value for s in CandidateStatus}:
        raise FieldError("status", f"must be one of {', '.join(s.value for s in CandidateStatus)}")
    region_id = await region_id_for(db, region) if region else None
    stmt = queue_query(principal, status=status, region_id=region_id, employer_id=employer_id)
    total = await db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = await db.scalars(stmt.order_by(DuplicateCandidate.score.desc(), DuplicateCandidate.id)
                            .limit(limit).offset(offset))
    return list(rows.unique()), total


async def get_candidate(db: AsyncSession, principal: Principal, candidate_id: int) -> DuplicateCandidate:
    candidate = await db.get(DuplicateCandidate, candidate_id)
    if candidate is None:
        raise NotFoundException(f"Duplicate pair #{candidate_id} not found")
    if not can_decide(principal, candidate):
        raise PermissionDeniedException("Only a lead of both employers' regions may review this pair")
    return candidate


def can_decide(principal: Principal, candidate: DuplicateCandidate) -> bool:
    return all(principal.can_in_region(e.region_id, Role.lead) for e in (candidate.employer_a, candidate.employer_b))


async def dismiss(db: AsyncSession, principal: Principal, candidate_id: int, note: str | None = None,
                  now: dt.datetime | None = None) -> DuplicateCandidate:
    """Remember "not a duplicate": the scan never proposes this pair again (audited on both)."""
    await begin_write(db)
    # Row lock on PostgreSQL (SQLite holds the write lock already): two leads deciding the same
    # pair at once get one decision and one 409.
    await db.execute(select(DuplicateCandidate.id).where(DuplicateCandidate.id == candidate_id)
                     .with_for_update())
    candidate = await get_candidate(db, principal, candidate_id)
    await db.refresh(candidate)
    if candidate.status != CandidateStatus.open:
        raise Conflict(f"Pair #{candidate.id} was already decided ({candidate.status})")
    candidate.status = CandidateStatus.dismissed.value
    candidate.decided_by_id = principal.id
    candidate.decided_at = now or dt.datetime.now(dt.UTC)
    candidate.decision_note = (note or "").strip() or None
    for employer_id, other in ((candidate.employer_a_id, candidate.employer_b_id),
                               (candidate.employer_b_id, candidate.employer_a_id)):
        audit.record(db, principal, "employer.not_duplicate", "duplicate_candidate", candidate.id,
                     employer_id=employer_id, after={"other_employer_id": other, "status": "dismissed"},
                     note=candidate.decision_note)
    await db.flush()
    await db.refresh(candidate, ["decided_by"])
    return candidate


async def open_pair_count(db: AsyncSession, principal: Principal) -> int:
    stmt = queue_query(principal)
    return await db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0

