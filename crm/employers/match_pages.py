"""`GET /employers/match`: the htmx typeahead behind every employer field.

Two uses, one partial (`templates/employers/_matches.html`):

* ``mode=pick`` — the employer field group (`_match_field.html`) on request forms: candidates as
  buttons that fill ``employer_id`` and fire ``employer-chosen``;
* ``mode=create`` — the create-employer form: "use this one?" links when the employer being
  entered already exists.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.params import FromQuery, Parameter
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Template

from crm.auth.guards import requires_crm_user
from crm.deps import Db
from crm.employers.candidates import Candidate, match_candidates
from crm.employers.match_api import query_from
from crm.employers.matching import MatchResult

SHOWN = 8
Text = Annotated[str | None, Parameter(max_length=200)]
Short = Annotated[str | None, Parameter(max_length=80)]


def blocking_matches(matches: list[tuple[Candidate, MatchResult]]) -> list[tuple[Candidate, MatchResult]]:
    """The candidates confident enough that creating another employer needs "create anyway"."""
    return [(c, r) for c, r in matches if r.outcome == "match"]


def matches_context(matches: list[tuple[Candidate, MatchResult]], mode: str, *, asked: bool,
                    confirm: bool = False) -> dict[str, Any]:
    return {"matches": matches, "mode": mode, "asked": asked, "confirm": confirm,
            "blocking": blocking_matches(matches)}


class MatchPages(Controller):
    path = "/employers/match"
    guards = [requires_crm_user]
    include_in_schema = False

    @get("/")
    async def matches(
        self, request: Request[Any, Any, Any], db: Db,
        mode: FromQuery[Literal["pick", "create"]] = "pick",
        employer_name: Text = None, employer_website: Text = None,
        employer_fein: Short = None, employer_zip: Short = None,
        # The create form's own field names.
        legal_name: Text = None, website: Text = None, fein: Short = None, zip: Short = None,
        city: Short = None, phone: Short = None,
    ) -> Template:
        # A half-typed FEIN is normal while typing: it is ignored here, validated on submit.
        query = query_from(employer_name or legal_name, employer_website or website, employer_fein or fein,
                           employer_zip or zip, phone, city, strict_fein=False)
        asked = not query.is_empty
        matches = await match_candidates(db, query, limit=SHOWN) if asked else []
        return HTMXTemplate(template_name="employers/_matches.html",
                            context=matches_context(matches, mode, asked=asked))
