"""`GET /employers/match`: the htmx typeahead behind every employer field.

Two uses, one partial (`templates/employers/_matches.html`):

* ``mode=pick`` — the employer field group (`_match_field.html`) on request forms: candidates as
  buttons that fill ``employer_id`` and fire ``employer-chosen``;
* ``mode=create`` — the create-employer form: "use this one?" links when the employer being
  entered already exists.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.params import FromQuery, Parameter
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Template
from sqlalchemy import select

from crm.auth.guards import requires_crm_user
from crm.auth.models import Role
from crm.deps import Db
from crm.directory.service import region_id_for
from crm.employers.candidates import Candidate, match_candidates
from crm.employers.match_api import query_from
from crm.employers.matching import LEGAL_FORMS, MatchResult, normalize_name
from crm.employers.matching.vocab import STOPWORDS
from crm.employers.models import EmployerContact
from crm.employers.resolve import Resolution, resolve_employer
from crm.employers.zips import files_at, zip_place
from crm.errors import FieldError
from crm.ids import parse_id
from crm.web import principal_of

SHOWN = 8
Text = Annotated[str | None, Parameter(max_length=200)]
Short = Annotated[str | None, Parameter(max_length=80)]


def blocking_matches(matches: list[tuple[Candidate, MatchResult]]) -> list[tuple[Candidate, MatchResult]]:
    """The candidates confident enough that creating another employer needs "create anyway"."""
    return [(c, r) for c, r in matches if r.outcome == "match"]


def matches_context(matches: list[tuple[Candidate, MatchResult]], mode: str, *, asked: bool,
                    confirm: bool = False, resolved: Resolution | None = None) -> dict[str, Any]:
    return {"matches": matches, "mode": mode, "asked": asked, "confirm": confirm,
            "blocking": blocking_matches(matches), "resolved": resolved}


# The matcher's reasons about two names' words, in its normalized tokens ("names share words but differ in
# 'liu transport roof'"): right for staff comparing two records, not for someone typing a name.
_WORDS_REASON = re.compile(r"^(names share (a word|words) but differ in|one name adds) '")


@lru_cache(maxsize=1024)
def _words(name: str) -> tuple[tuple[str, str], ...]:
    """(word as written, its normalized form) of a name, legal forms and small words left out (cached: the
    typed name is compared with every suggestion)."""
    out = []
    for word in re.findall(r"[\w'&.-]+", name):
        key = normalize_name(word)
        if key and key not in LEGAL_FORMS and key not in STOPWORDS and key != "and":
            out.append((word.strip(".,-"), key))
    return tuple(out)


def as_typed(typed: str, candidate: Candidate, result: MatchResult) -> MatchResult:
    """``result`` with its reasons about name words said against what was typed: "its name also has 'Liu',
    'Transport', but not 'Roof'", in the words as written (a half-typed word begins a word of the name)."""
    if not any(_WORDS_REASON.match(reason) for reason in result.reasons):
        return result
    mine, theirs = _words(typed), _words(candidate.legal_name)
    extra = [w for w, key in theirs if not any(key.startswith(k) for _, k in mine)]
    missing = [w for w, key in mine if not any(k.startswith(key) for _, k in theirs)]
    has, lacks = (", ".join(f"'{w}'" for w in words) for words in (extra, missing))
    said = (f"its name also has {has}, but not {lacks}" if extra and missing else f"its name also has {has}"
            if extra else f"its name lacks {lacks}" if missing else "the same words")
    return replace(result, reasons=tuple(said if _WORDS_REASON.match(r) else r for r in result.reasons))


async def intake_resolution(db: Db, name: str | None, website: str | None, fein: str | None, zip: str | None,
                            region: str | None, *, city: str | None = None) -> Resolution | None:
    """What intake would make of the typed employer if the request were sent now without a pick (the same
    ``resolve_employer`` call, with the form's region when one is chosen); None when intake would refuse the
    typed values (a malformed FEIN) or there is nothing to resolve."""
    def typed(value: str | None) -> str | None:  # as the request form posts it (request_pages._form_to_body)
        return (value or "").strip() or None

    try:  # an unknown region or a malformed FEIN: intake would refuse the request, so no verdict
        region_id = await region_id_for(db, region) if region and region.strip() else None
        return await resolve_employer(db, name=typed(name), website=typed(website), fein=typed(fein), zip=typed(zip),
                                      city=typed(city), region_id=region_id)
    except FieldError:
        return None


class MatchPages(Controller):
    path = "/employers/match"
    guards = [requires_crm_user]
    include_in_schema = False

    @get("/")
    async def matches(
        self, request: Request[Any, Any, Any], db: Db,
        mode: FromQuery[Literal["pick", "create"]] = "pick",
        employer_name: Text = None, employer_website: Text = None,
        employer_fein: Short = None, employer_zip: Short = None, employer_city: Short = None,
        # The create form's own field names.
        legal_name: Text = None, website: Text = None, fein: Short = None, zip: Short = None,
        city: Short = None, phone: Short = None,
        # The request form's typeahead: say what intake would do with the typed employer (in this region).
        intake: FromQuery[bool] = False, region: Annotated[str | None, Parameter(max_length=32)] = None,
        # Staff forms that only take an employer of the user's own regions (logging a touch).
        own: FromQuery[bool] = False,
    ) -> Template:
        # A half-typed FEIN is normal while typing: it is ignored here, validated on submit.
        query = query_from(employer_name or legal_name, employer_website or website, employer_fein or fein,
                           employer_zip or zip, phone, employer_city or city, strict_fein=False)
        asked = not query.is_empty
        matches = await match_candidates(db, query, limit=SHOWN) if asked else []
        if mode == "pick" and (typed := employer_name or legal_name):
            matches = [(c, as_typed(typed, c, r)) for c, r in matches]
        if own:
            staff = principal_of(request)
            matches = [(c, r) for c, r in matches if staff.can_in_region(c.region_id, Role.lead, Role.spoc)]
        resolved = place = None
        if intake and mode == "pick" and asked:
            resolved = await intake_resolution(db, employer_name, employer_website, employer_fein, employer_zip,
                                               region, city=employer_city)
            if resolved is not None and resolved.kind == "none":
                # Where intake files the new employer (intake.employer_as_typed): staff who do not work the
                # ZIP's region file it in the request's.
                place = await zip_place(db, employer_zip)
                if place is not None and not files_at(principal_of(request), place):
                    place = None
        # The request form's panel follows the employer intake would choose while nothing is picked
        # (``employer-resolved``, templates/touches/_panel.html): a certain match needs no pick.
        certain = resolved.employer if resolved is not None and resolved.kind == "match" else None
        follow = intake and mode == "pick"
        return HTMXTemplate(template_name="employers/_matches.html",
                            context={**matches_context(matches, mode, asked=asked, resolved=resolved),
                                     "new_place": place},
                            trigger_event="employer-resolved" if follow else None, after="settle" if follow else None,
                            params={"id": certain.id if certain is not None else None} if follow else None)


class ContactOptionsPages(Controller):
    """``GET /employers/contact-options?employer_id=``: the people of the employer picked in an employer
    field group, as the options of a select (a partnership champion is one of them). Contacts are
    what every CRM user sees on the employer page."""

    path = "/employers/contact-options"
    include_in_schema = False
    guards = [requires_crm_user]
    include_in_schema = False

    @get("/")
    async def options(self, request: Request[Any, Any, Any], db: Db,
                      employer_id: Annotated[str | None, Parameter(max_length=20)] = None,
                      selected: Annotated[str | None, Parameter(max_length=20)] = None,
                      checks: FromQuery[bool] = False) -> Template:
        """``checks``: as the checkboxes of "who you spoke with" (``contact_ids``), not a select's options."""
        chosen = parse_id(employer_id)
        contacts = list(await db.scalars(select(EmployerContact).where(EmployerContact.employer_id == chosen)
                                         .order_by(EmployerContact.name))) if chosen else []
        if checks:
            return HTMXTemplate(template_name="employers/_contact_checks.html",
                                context={"contacts": contacts, "chosen": chosen, "ticked": []})
        return HTMXTemplate(template_name="employers/_contact_options.html",
                            context={"contacts": contacts, "chosen": chosen, "selected": parse_id(selected)})
