"""Pairwise decision: are two employer records the same establishment?

The decision adds up evidence weights in the spirit of Fellegi-Sunter record
linkage (agreement on a rare, identifying field counts more than agreement on a
common one; disagreement counts against), then applies a few hard rules that
come from what an establishment is:

- identical FEIN: match (one legal employer), unless the street addresses
  clearly differ - a FEIN covers every worksite of a company, and OneDoor
  counts worksites - then distinct (the score stays just under review, so a
  typeahead still shows the sibling site near the top);
- different FEINs: distinct;
- different web domains: never more than review;
- clearly different street addresses: distinct (two sites of a chain are two
  employers);
- a name that only extends the other ("Acme" / "Acme Logistics") is a possible
  parent/subsidiary: review at most, unless the site agrees (same street
  address, phone or domain); names that each have words the other lacks
  ("Acme Foods" / "Acme Logistics") need a shared phone or domain, since one
  building houses many employers;
- a near-miss house number on the same street (1718 / 1710 Loomis) is a typo
  or the neighbour: review at most;
- a name that adds a legal-vehicle word ("Holdings", "IP Assets") is a
  different legal employer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz

from .names import RELATION_RANK, W_NAME_SIMILARITY, NameEvidence, NameForm, compare_names, name_form
from .normalize import (
    StreetAddress,
    normalize_domain,
    normalize_fein,
    normalize_zip,
    parse_street,
    phone_for_matching,
)
from .vocab import FREE_MAIL_DOMAINS

Outcome = Literal["match", "review", "distinct"]
_OUTCOME_RANK: dict[str, int] = {"match": 2, "review": 1, "distinct": 0}

# Evidence weights (log-odds-like points). A total of MATCH_AT or more is a
# match, REVIEW_AT or more a review. Values were set from the meaning of each
# field, then checked on the benchmarks in bench/README.md (one configuration
# for every data set). The name weights (same name +6 ... different -6) are
# in names.py.
MATCH_AT = 5.0
REVIEW_AT = 2.0
W_PLACE_CONFLICT = -2.0
W_ADDRESS_SAME = 4.0
W_ADDRESS_NEAR = -1.0
W_ADDRESS_DIFFERENT = -8.0
W_PHONE_SAME = 3.0
W_PHONE_DIFFERENT = -0.5
W_ZIP_SAME = 0.5
W_ZIP_DIFFERENT = -1.5
W_CITY_SAME = 0.3
W_CITY_DIFFERENT = -1.5
W_DOMAIN_SAME = 3.0
W_DOMAIN_DIFFERENT = -1.0


@dataclass(frozen=True, slots=True)
class EmployerRecord:
    """What the matcher knows about one employer establishment.

    Fields hold *normalized* values - build records from user or file input
    with `EmployerRecord.from_raw`, which normalizes. `name`, `aliases`,
    `address` and `city` are kept as written (the matcher normalizes them
    itself); `domain` is a registrable domain ("acme.com"), `fein` is
    "12-3456789", `phone` is E.164 (or the 7 bare digits of a local number),
    `zip` is 5 digits.
    """

    id: str | int
    name: str
    aliases: tuple[str, ...] = ()
    domain: str | None = None
    fein: str | None = None
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    zip: str | None = None

    @classmethod
    def from_raw(
        cls,
        id: str | int,
        name: str,
        aliases: Iterable[str] = (),
        *,
        website: str | None = None,
        email: str | None = None,
        fein: str | None = None,
        phone: str | None = None,
        address: str | None = None,
        city: str | None = None,
        zip: object = None,
        region: str = "US",
    ) -> EmployerRecord:
        """Normalize raw input. Never raises: an invalid FEIN, domain or phone is
        dropped (validate user input with normalize_fein & co. to report errors)."""
        try:
            fein_n = normalize_fein(fein)
        except ValueError:
            fein_n = None
        domain = normalize_domain(website) or normalize_domain(email)
        return cls(
            id=id,
            name=(name or "").strip(),
            aliases=tuple(a.strip() for a in aliases if a and a.strip()),
            domain=domain,
            fein=fein_n,
            phone=phone_for_matching(phone, region),
            address=(address or "").strip() or None,
            city=(city or "").strip() or None,
            zip=normalize_zip(zip),
        )


@dataclass(frozen=True)
class MatchResult:
    """Outcome of comparing two records: score in 0..1 and the reasons."""

    outcome: Outcome
    score: float
    reasons: tuple[str, ...] = ()

    @property
    def explanation(self) -> str:
        """Reasons in plain words: "same domain acme.com; name 92% similar"."""
        return "; ".join(self.reasons)


@dataclass(frozen=True, slots=True)
class Features:
    """Everything compare() needs about one record, computed once."""

    names: tuple[NameForm, ...]
    domain: str | None
    fein: str | None
    phone: str | None
    street: StreetAddress | None
    zip: str | None
    city: str | None
    order_key: tuple[str, ...] = field(default=())


@lru_cache(maxsize=200_000)
def features(record: EmployerRecord) -> Features:
    """Parsed, comparable form of a record (cached: records are immutable)."""
    names = [record.name, *record.aliases]
    forms = tuple(name_form(n) for n in dict.fromkeys(n for n in names if n and n.strip()))
    domain = record.domain if record.domain not in FREE_MAIL_DOMAINS else None
    order_key = (
        record.name,
        "|".join(record.aliases),
        record.domain or "",
        record.fein or "",
        record.phone or "",
        record.address or "",
        record.city or "",
        record.zip or "",
        str(record.id),
    )
    return Features(
        names=forms or (name_form(""),),
        domain=domain,
        fein=record.fein,
        phone=record.phone,
        street=parse_street(record.address),
        zip=record.zip,
        city=" ".join((record.city or "").casefold().split()) or None,
        order_key=order_key,
    )


def best_name_evidence(fa: Features, fb: Features) -> tuple[NameEvidence, NameForm, NameForm]:
    """Best-agreeing pair among the names and aliases of two records."""
    best: tuple[float, float, int] | None = None
    result: tuple[NameEvidence, NameForm, NameForm] | None = None
    for x in fa.names:
        for y in fb.names:
            ev = compare_names(x, y)
            rank = (ev.weight + (W_PLACE_CONFLICT if ev.place_conflict else 0.0), ev.similarity,
                    RELATION_RANK[ev.relation])
            if best is None or rank > best:
                best, result = rank, (ev, x, y)
    assert result is not None
    return result


def _phones_agree(a: str, b: str) -> bool:
    """Equal E.164 numbers, or equal last 7 digits when one side is a bare local number."""
    if a.startswith("+") and b.startswith("+"):
        return a == b
    return a[-7:] == b[-7:]  # one side lacks the area code


def _same_street(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    # "king" / "drmartinlutherking", "washington" / "washingtonoakpark": one
    # writer spelled the name out or left the city glued on.
    return a.endswith(b) or b.endswith(a) or a.startswith(b) or b.startswith(a) or fuzz.ratio(a, b) >= 85


def _near_numbers(a: str, b: str) -> bool:
    """Same block, or one mistyped digit (1653 / 1633)."""
    if not (a.isdigit() and b.isdigit()):
        return False
    if abs(int(a) - int(b)) <= 10:
        return True
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def street_relation(a: StreetAddress, b: StreetAddress) -> Literal["same", "near", "different"]:
    """Same site, a near miss on the same street, or another worksite."""
    if not _same_street(a.street, b.street) or (a.direction and b.direction and a.direction != b.direction):
        return "different"
    if a.number == b.number:
        return "same"
    return "near" if _near_numbers(a.number, b.number) else "different"


def _score(total: float) -> float:
    return round(1.0 / (1.0 + math.exp(-(total - 3.5) / 1.5)), 3)


def _result(total: float, reasons: list[str], cap: Outcome = "match") -> MatchResult:
    outcome: Outcome = "match" if total >= MATCH_AT else "review" if total >= REVIEW_AT else "distinct"
    if _OUTCOME_RANK[outcome] > _OUTCOME_RANK[cap]:
        outcome = cap
    score = _score(total)
    # Keep score and outcome consistent, so sorting by score never puts a
    # review above a match.
    if outcome == "review":
        score = min(max(score, _score(REVIEW_AT)), _score(MATCH_AT) - 0.001)
    elif outcome == "distinct":
        score = min(score, _score(REVIEW_AT) - 0.001)
    return MatchResult(outcome, round(score, 3), tuple(reasons))


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def compare_features(fa: Features, fb: Features) -> MatchResult:
    """compare() on precomputed features (what the whole-set scan calls)."""
    if fb.order_key < fa.order_key:
        fa, fb = fb, fa  # symmetric by construction
    reasons: list[str] = []
    cap: Outcome = "match"
    total = 0.0
    same_address = same_contact = False

    ev, na, nb = best_name_evidence(fa, fb)
    # The relation sets the level; how alike the spellings are orders pairs
    # within it ("Acme Foods" ranks above "Acme Plumbing & Heating" for "Acme").
    total += ev.weight + W_NAME_SIMILARITY * (ev.similarity - 0.5)
    if ev.relation == "same":
        reasons.append("same name" if na.key == nb.key else f"same name apart from spelling ({_pct(ev.similarity)})")
    elif ev.relation == "typo":
        reasons.append(f"name {_pct(ev.similarity)} similar")
    elif ev.relation == "acronym":
        reasons.append(f"one name is the initials of the other ({na.key} / {nb.key})")
    elif ev.relation == "subset":
        reasons.append(f"one name adds '{' '.join(ev.extras)}' (parent, subsidiary or site?)")
    elif ev.relation == "overlap":
        reasons.append(f"names share words but differ in '{' '.join(ev.extras)}'")
    elif ev.relation == "partial":
        reasons.append(f"names share a word but differ in '{' '.join(ev.extras)}'")
    elif ev.relation == "vehicle":
        reasons.append(f"one name is a separate legal vehicle ('{' '.join(ev.extras)}')")
    else:
        reasons.append(f"names differ ({_pct(ev.similarity)} similar)")
    if ev.place_conflict:
        total += W_PLACE_CONFLICT
        reasons.append("names name different places or sites")

    if fa.street and fb.street:
        rel = street_relation(fa.street, fb.street)
        if rel == "same" and fa.zip and fb.zip and fa.zip != fb.zip:
            # "463 King Ave" in two ZIP codes: one of them is wrong, or these
            # are two towns' King Avenues. Not evidence either way.
            reasons.append("same street address but another ZIP")
        elif rel == "same":
            total += W_ADDRESS_SAME
            same_address = True
            reasons.append("same street address")
        elif rel == "near":
            total += W_ADDRESS_NEAR
            cap = "review"  # a typo or the neighbour: a person decides
            reasons.append("nearby street number on the same street")
        else:
            total += W_ADDRESS_DIFFERENT
            cap = "distinct"
            reasons.append("different street address (another worksite)")
    if fa.phone and fb.phone:
        if _phones_agree(fa.phone, fb.phone):
            total += W_PHONE_SAME
            same_contact = True
            reasons.append("same phone")
        else:
            total += W_PHONE_DIFFERENT
    if fa.zip and fb.zip:
        if fa.zip == fb.zip:
            total += W_ZIP_SAME
        else:
            total += W_ZIP_DIFFERENT
            reasons.append("different ZIP")
    elif fa.city and fb.city:
        if fa.city == fb.city:
            total += W_CITY_SAME
        else:
            total += W_CITY_DIFFERENT
            reasons.append("different city")
    if fa.domain and fb.domain:
        if fa.domain == fb.domain:
            total += W_DOMAIN_SAME
            same_contact = same_contact or fa.street is None or fb.street is None
            reasons.insert(0, f"same domain {fa.domain}")
        else:
            total += W_DOMAIN_DIFFERENT
            cap = "review" if cap == "match" else cap
            reasons.append(f"different domains {fa.domain} / {fb.domain}")

    # A name relation alone cannot tell parent from subsidiary: the site must
    # agree too. Names that each carry words the other lacks need more than a
    # shared building (offices and malls house many employers): a shared phone
    # or domain.
    if ev.relation in ("subset", "acronym"):
        site_agrees = same_address or same_contact
    else:
        site_agrees = same_contact
    if ev.relation in ("subset", "overlap", "partial", "acronym") and not site_agrees and cap == "match":
        cap = "review"
    if ev.relation == "vehicle" and cap == "match":
        cap = "review"

    if (fa.domain and fa.domain == fb.domain and (same_address or (fa.zip and fa.zip == fb.zip))
            and cap != "distinct" and total < REVIEW_AT):
        # One website at one site under names that do not agree: a legal name beside its trade name, a
        # renamed business. Not enough to use one for the other, too much to make a second one unasked.
        total = REVIEW_AT
        reasons.append("same website and site under another name (a trade name, a new name?)")

    if fa.fein and fb.fein:
        if fa.fein == fb.fein:
            if cap == "distinct":
                # One legal employer, another worksite: OneDoor counts worksites
                # (SPEC section 2), so these are two employers of one company.
                reasons.insert(0, f"same FEIN {fa.fein} but another worksite")
                return _result(REVIEW_AT - 0.5, reasons, "distinct")
            if (fa.zip and fb.zip and fa.zip != fb.zip) or (not (fa.zip and fb.zip) and fa.city and fb.city
                                                             and fa.city != fb.city):
                # The company's number, somewhere else: another of its worksites, or a mistyped ZIP.
                reasons.insert(0, f"same FEIN {fa.fein} in another place (another worksite?)")
                return _result(max(total, REVIEW_AT), reasons, "review")
            reasons.insert(0, f"same FEIN {fa.fein}")
            return _result(max(total + 6.0, MATCH_AT), reasons, "match")
        reasons.insert(0, f"different FEINs {fa.fein} / {fb.fein}")
        return _result(min(total, REVIEW_AT - 1.0), reasons, "distinct")
    return _result(total, reasons, cap)


def compare(a: EmployerRecord, b: EmployerRecord) -> MatchResult:
    """Decide whether two records are the same employer establishment (symmetric)."""
    return compare_features(features(a), features(b))
