"""`/api/employers/duplicates` (the review queue), `/api/employers/{id}/merge` and merge undo."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody, Parameter

from crm.auth.guards import requires_lead
from crm.deps import Db, Me, PathId, QueryId
from crm.employers import duplicates, merge, merge_undo
from crm.employers.api import employer_out, employer_summary
from crm.employers.duplicate_models import CandidateStatus, DuplicateCandidate, EmployerMerge
from crm.employers.schemas import EmployerOut, EmployerSummary
from crm.employers.service import load_profiles
from crm.ids import Id
from crm.openapi import choice_parameter
from crm.pagination import Limit, Offset

Reason = Annotated[str, msgspec.Meta(max_length=2000)]


class MergeIn(msgspec.Struct, forbid_unknown_fields=True):
    into: Id
    reason: Reason | None = None


class UndoIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason | None = None


class DismissIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Reason | None = None


class DuplicateOut(msgspec.Struct):
    id: int
    a: EmployerSummary
    b: EmployerSummary
    score: float
    outcome: str
    explanation: str
    status: str
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str | None


class DuplicatePage(msgspec.Struct):
    items: list[DuplicateOut]
    total: int
    limit: int
    offset: int


class MergeOut(msgspec.Struct):
    id: int
    status: str
    loser: EmployerOut
    survivor: EmployerOut
    reason: str | None
    merged_by: str | None
    merged_at: dt.datetime
    summary: dict[str, Any]
    undone_at: dt.datetime | None
    undoable: bool
    undo_blockers: list[str]


def duplicate_out(c: DuplicateCandidate) -> DuplicateOut:
    return DuplicateOut(id=c.id, a=employer_summary(c.employer_a), b=employer_summary(c.employer_b),
                        score=c.score, outcome=c.outcome, explanation=c.explanation, status=c.status,
                        decided_by=c.decided_by.name if c.decided_by else None, decided_at=c.decided_at,
                        decision_note=c.decision_note)


async def merge_out(db: Db, m: EmployerMerge) -> MergeOut:
    blockers = await merge_undo.undo_blockers(db, m)
    await load_profiles(db, [m.loser, m.survivor])
    return MergeOut(id=m.id, status=m.status, loser=employer_out(m.loser), survivor=employer_out(m.survivor),
                    reason=m.reason, merged_by=m.merged_by.name if m.merged_by else None, merged_at=m.created_at,
                    summary=m.summary, undone_at=m.undone_at, undoable=not blockers, undo_blockers=blockers)


class ReviewApi(Controller):
    path = "/api/employers"
    tags = ["employers"]
    # Merging and deciding pairs is a lead's job (SPEC §1); region scope is checked per pair.
    guards = [requires_lead]

    @get("/duplicates")
    async def list_duplicates(
        self, db: Db, principal: Me, limit: Limit = 25, offset: Offset = 0,
        status: Annotated[str | None, choice_parameter(CandidateStatus, max_length=16)] = None,
        region: Annotated[str | None, Parameter(max_length=32)] = None,
        employer_id: QueryId = None,
    ) -> DuplicatePage:
        """Likely duplicate pairs in the caller's regions, best score first; paginated."""
        rows, total = await duplicates.list_candidates(db, principal, status=status, region=region,
                                                       employer_id=employer_id, limit=limit, offset=offset)
        return DuplicatePage(items=[duplicate_out(c) for c in rows], total=total, limit=limit, offset=offset)

    @post("/duplicates/{candidate_id:int}/dismiss")
    async def dismiss(self, db: Db, principal: Me, candidate_id: PathId,
                      data: JSONBody[DismissIn]) -> DuplicateOut:
        """"Not a duplicate": remembered, the scan never proposes the pair again."""
        return duplicate_out(await duplicates.dismiss(db, principal, candidate_id, data.note))

    @post("/{employer_id:int}/merge")
    async def merge_employer(self, db: Db, principal: Me, employer_id: PathId,
                             data: JSONBody[MergeIn]) -> MergeOut:
        """Merge this employer into ``into``: every reference moves, this one becomes a tombstone."""
        m = await merge.merge_employers(db, principal, employer_id, data.into, data.reason)
        return await merge_out(db, m)

    @get("/merges/{merge_id:int}")
    async def get_merge(self, db: Db, principal: Me, merge_id: PathId) -> MergeOut:
        m = await merge_undo.get_merge(db, merge_id)
        merge_undo.check_can_view(principal, m)
        return await merge_out(db, m)

    @post("/merges/{merge_id:int}/undo")
    async def undo(self, db: Db, principal: Me, merge_id: PathId, data: JSONBody[UndoIn]) -> MergeOut:
        """Restore what the merge changed, while nothing new depends on it (409 says what does)."""
        return await merge_out(db, await merge_undo.undo_merge(db, principal, merge_id, data.reason))
