"""`GET /api/employers/match`: live employer matching for typeaheads and API clients."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import Parameter

from crm.auth.guards import requires_crm_user
from crm.deps import Db
from crm.employers.candidates import Candidate, Query, match_candidates
from crm.employers.matching import MatchResult, normalize_fein
from crm.errors import FieldError
from crm.pagination import Limit, Offset

# Results a page can reach; the matcher ranks at most candidates.DEFAULT_LIMIT (12) retrieved
# candidates, so pages beyond those are empty.
MAX_RESULTS = 50


class MatchOut(msgspec.Struct):
    id: int
    legal_name: str
    city: str | None
    zip: str | None
    region: str | None
    status: str
    outcome: str  # match | review | distinct
    score: float
    explanation: str  # "same domain acme.com; name 92% similar"
    reasons: list[str]


class MatchPage(msgspec.Struct):
    items: list[MatchOut]
    total: int
    limit: int
    offset: int


def match_out(candidate: Candidate, result: MatchResult) -> MatchOut:
    return MatchOut(id=candidate.id, legal_name=candidate.legal_name, city=candidate.city, zip=candidate.zip,
                    region=candidate.region, status=candidate.status, outcome=result.outcome,
                    score=result.score, explanation=result.explanation, reasons=list(result.reasons))


def query_from(name: str | None, website: str | None, fein: str | None, zip: str | None,
               phone: str | None = None, city: str | None = None, *, strict_fein: bool = True) -> Query:
    """The match query; a malformed FEIN is a 422 for API clients (``strict_fein``), ignored while typing."""
    query = Query(name=name, website=website, fein=fein, zip=zip, phone=phone, city=city)
    if strict_fein and fein and fein.strip():
        try:
            normalize_fein(fein)
        except ValueError as exc:
            raise FieldError("fein", str(exc)) from None
    return query


class MatchApi(Controller):
    path = "/api/employers/match"
    tags = ["employers"]
    guards = [requires_crm_user]

    @get("/")
    async def match(
        self, db: Db, limit: Limit = 8, offset: Offset = 0,
        name: Annotated[str | None, Parameter(max_length=200)] = None,
        website: Annotated[str | None, Parameter(max_length=200)] = None,
        fein: Annotated[str | None, Parameter(max_length=20)] = None,
        zip: Annotated[str | None, Parameter(max_length=10)] = None,
        phone: Annotated[str | None, Parameter(max_length=32)] = None,
        city: Annotated[str | None, Parameter(max_length=80)] = None,
    ) -> MatchPage:
        """Existing employers that may be the one described, best first, each with the matcher's
        outcome (match / review / distinct), score and a readable explanation. At least one of
        name, website, fein or zip is required."""
        query = query_from(name, website, fein, zip, phone, city)
        if query.is_empty:
            raise FieldError("name", "give a name, website, FEIN or ZIP to match")
        ranked = await match_candidates(db, query, limit=MAX_RESULTS)
        items = [match_out(c, r) for c, r in ranked]
        return MatchPage(items=items[offset:offset + limit], total=len(items), limit=limit, offset=offset)
