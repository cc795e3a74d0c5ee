"""The leads' duplicate review queue, merge/undo forms, and the employer page's merge panel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from crm.auth.guards import requires_lead
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.deps import Db, Me, PathId
from crm.directory.models import Region
from crm.employers import duplicates, merge, merge_undo
from crm.employers.duplicate_models import DuplicateCandidate, EmployerMerge, MergeStatus
from crm.employers.merge_profile import GROUP_OF, ProfileTake, filled_said, profile_take, profile_takes, said
from crm.employers.models import Employer, EmployerStatus
from crm.employers.panels import employer_panel
from crm.employers.service import load_profiles
from crm.errors import FieldError
from crm.ids import parse_id
from crm.jobs.models import JobRun
from crm.web import current_page_query, flash, form_data, is_htmx, redirect, render

PAGE = 10
_REASON_MAX = 2000


def suggested_survivor(c: DuplicateCandidate) -> int:
    """A verified record beats a provisional one; otherwise the older record survives."""
    a, b = c.employer_a, c.employer_b
    if (a.status == EmployerStatus.provisional) != (b.status == EmployerStatus.provisional):
        return b.id if a.status == EmployerStatus.provisional else a.id
    return a.id


def _reason(form: dict[str, str], name: str = "reason") -> str | None:
    text = (form.get(name) or "").strip()
    if len(text) > _REASON_MAX:
        raise FieldError(name, f"at most {_REASON_MAX} characters")
    return text or None


def _survivor_choice(form: dict[str, str], c: DuplicateCandidate) -> tuple[int, int]:
    survivor = parse_id(form.get("survivor_id"))
    if survivor is None or survivor not in (c.employer_a_id, c.employer_b_id):
        raise FieldError("survivor_id", "choose which of the two records survives")
    loser = c.employer_b_id if survivor == c.employer_a_id else c.employer_a_id
    return loser, survivor


async def _takes(db: AsyncSession, pairs: list[DuplicateCandidate]) -> dict[int, dict[int, ProfileTake]]:
    """Per pair, what each record would take from the other's profile if it survived (keyed by its id)."""
    takes = iter(await profile_takes(db, [way for c in pairs for way in ((c.employer_b, c.employer_a),
                                                                          (c.employer_a, c.employer_b))]))
    return {c.id: {c.employer_a_id: next(takes), c.employer_b_id: next(takes)} for c in pairs}


async def _undo_state(db: AsyncSession, m: EmployerMerge) -> list[str]:
    return await merge_undo.undo_blockers(db, m) if m.status == MergeStatus.done else []


class ReviewPages(Controller):
    path = "/employers"
    guards = [requires_lead]
    include_in_schema = False

    @get("/review")
    async def queue(
        self, request: Request[Any, Any, Any], db: Db, principal: Me,
        region: Annotated[str | None, Parameter(max_length=32)] = None,
        page: Annotated[int, Parameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        return await self._queue(request, db, principal, region or None, page)

    async def _queue(self, request: Request[Any, Any, Any], db: Db, principal: Me, region: str | None, page: int,
                     errors: dict[int, dict[str, str]] | None = None, status_code: int = 200) -> Template:
        rows, total = await duplicates.list_candidates(db, principal, region=region, limit=PAGE,
                                                       offset=(page - 1) * PAGE)
        await load_profiles(db, [e for c in rows for e in (c.employer_a, c.employer_b)])  # names, contacts
        regions = [r for r in await db.scalars(select(Region).order_by(Region.code))
                   if principal.can_in_region(r.id, Role.lead)]
        # When the queue was last filled: an empty queue is news only if the scan has run.
        last_scan = await db.scalar(select(func.max(JobRun.finished_at)).where(JobRun.job_name == "scan_duplicates"))
        return render(request, "employers/review.html", status_code=status_code, pairs=rows, total=total,
                      page=page, pages=max(1, -(-total // PAGE)), region=region or "", regions=regions,
                      errors=errors or {}, suggested=suggested_survivor, last_scan=last_scan,
                      takes=await _takes(db, rows), group_of=GROUP_OF)

    async def _pair_error(self, request: Request[Any, Any, Any], db: Db, principal: Me, candidate_id: int,
                          exc: HTTPException) -> Template:
        await db.rollback()
        errors = dict(exc.fields) if isinstance(exc, FieldError) else {"pair": exc.detail}
        if is_htmx(request):
            c = await duplicates.get_candidate(db, principal, candidate_id)
            await load_profiles(db, [c.employer_a, c.employer_b])
            return render(request, "employers/_merge_pair.html", status_code=exc.status_code, c=c,
                          errors={c.id: errors}, suggested=suggested_survivor, takes=await _takes(db, [c]),
                          group_of=GROUP_OF)
        return await self._queue(request, db, principal, None, 1, {candidate_id: errors}, exc.status_code)

    @post("/review/{candidate_id:int}/merge")
    async def merge_pair(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                         candidate_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            c = await duplicates.get_candidate(db, principal, candidate_id)
            loser, survivor = _survivor_choice(form, c)
            m = await merge.merge_employers(db, principal, loser, survivor, _reason(form))
        except HTTPException as exc:
            if exc.status_code not in (409, 422):
                raise
            return await self._pair_error(request, db, principal, candidate_id, exc)
        if is_htmx(request):
            return render(request, "employers/_merge_result.html", m=m, blockers=await _undo_state(db, m),
                          touches_said=merge.touches_said(m), filled_said=filled_said(m.summary),
                          pair_count_oob=await _pair_count(request, db, principal))
        flash(request, _merged(m))
        return redirect(request, "/employers/review")

    @post("/review/{candidate_id:int}/dismiss")
    async def dismiss_pair(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                           candidate_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            c = await duplicates.dismiss(db, principal, candidate_id, _reason(form, "note"))
        except HTTPException as exc:
            if exc.status_code not in (409, 422):
                raise
            return await self._pair_error(request, db, principal, candidate_id, exc)
        if is_htmx(request):
            return render(request, "employers/_merge_dismissed.html", c=c,
                          pair_count_oob=await _pair_count(request, db, principal))
        flash(request, f"Remembered: {c.employer_a.legal_name} and {c.employer_b.legal_name} are not duplicates")
        return redirect(request, "/employers/review")

    @post("/{employer_id:int}/merge")
    async def merge_into(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                         employer_id: PathId) -> Template | Redirect:
        """The employer page's "merge into #N" form; it first shows both records to confirm (a mistyped
        digit would merge the employer into another company)."""
        form = await form_data(request)
        into = parse_id((form.get("into") or "").strip().lstrip("#"))
        try:
            if into is None:
                raise FieldError("into", "give the number of the employer that survives")
            if form.get("confirmed") != "yes":
                pair = {e.id: e for e in await db.scalars(select(Employer).where(Employer.id.in_([employer_id, into]))
                                                           .options(joinedload(Employer.region)))}
                try:
                    loser, survivor = merge.check_pair(principal, employer_id, into, pair)
                except PermissionDeniedException:  # said at the field, before confirming, not as a 403 after
                    raise FieldError("into", f"{pair[into].legal_name} is in a region you do not lead: a lead of "
                                             "both employers' regions merges them") from None
                take = await profile_take(db, loser, survivor)
                return render(request, "employers/merge_confirm.html", loser=loser, survivor=survivor,
                              reason=form.get("reason") or "", take=take, taken=said(take.labels))
            m = await merge.merge_employers(db, principal, employer_id, into, _reason(form))
        except HTTPException as exc:
            if exc.status_code not in (409, 422):
                raise
            await db.rollback()
            # A field error reads as a sentence here ("Merge into: …"), not "into: …".
            message = f"Merge into: {exc.fields[0][1]}" if isinstance(exc, FieldError) else exc.detail
            flash(request, message, "error")
            return redirect(request, f"/employers/{employer_id}")
        flash(request, _merged(m))
        return redirect(request, f"/employers/{m.survivor_id}")

    @post("/merges/{merge_id:int}/undo")
    async def undo(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                   merge_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            m = await merge_undo.undo_merge(db, principal, merge_id, _reason(form))
        except HTTPException as exc:
            if exc.status_code not in (409, 422):
                raise
            await db.rollback()
            if is_htmx(request):
                m = await merge_undo.get_merge(db, merge_id)
                return render(request, "employers/_merge_result.html", status_code=exc.status_code, m=m,
                              blockers=await _undo_state(db, m), error=exc.detail)
            flash(request, exc.detail, "error")
            found = await db.get(EmployerMerge, merge_id)
            return redirect(request, f"/employers/{found.survivor_id if found else ''}")
        if is_htmx(request):
            return render(request, "employers/_merge_result.html", m=m, blockers=[],
                          pair_count_oob=await _pair_count(request, db, principal))
        flash(request, f"Undid the merge: {m.loser.legal_name} is its own employer again")
        return redirect(request, f"/employers/{m.loser_id}")


@dataclass(frozen=True, slots=True)
class PairCount:
    total: int


async def _pair_count(request: Request[Any, Any, Any], db: AsyncSession, principal: Principal) -> PairCount:
    """The review page's count after an htmx merge, dismissal or undo (sent out of band), for the region
    the page was filtered by."""
    shown = current_page_query(request)
    region = (shown.get("region") or [""])[0].strip() or None
    try:
        _, total = await duplicates.list_candidates(db, principal, region=region, limit=1)
    except HTTPException:  # a region code the page no longer knows: the count of every region led
        _, total = await duplicates.list_candidates(db, principal, limit=1)
    return PairCount(total)


def _merged(m: EmployerMerge) -> str:
    said = [s for s in (filled_said(m.summary), merge.touches_said(m)) if s]
    return f"Merged {m.loser.legal_name} into {m.survivor.legal_name}" + "".join(f"; {s}" for s in said)


@employer_panel(order=30)
async def merge_panel(db: AsyncSession, viewer: Principal, employer: Employer) -> dict[str, Any] | None:
    """Possible duplicates of this employer, what was merged into it, and undo for leads."""
    if not viewer.has(Role.admin, Role.lead, Role.spoc):
        return None
    merges = await merge_undo.merges_of(db, employer.id)
    is_lead = merge.can_merge(viewer, employer)
    pairs: list[DuplicateCandidate] = []
    if is_lead and employer.status != EmployerStatus.merged:
        pairs, _ = await duplicates.list_candidates(db, viewer, employer_id=employer.id, limit=20)
    if not merges and not pairs and not is_lead:
        return None
    blockers = {m.id: await _undo_state(db, m) for m in merges} if is_lead else {}
    return {"template": "employers/_merge_panel.html", "merge_employer": employer, "merges": merges,
            "dup_pairs": pairs, "can_merge": is_lead and employer.status != EmployerStatus.merged,
            "undo_blockers": blockers, "is_lead": is_lead}
