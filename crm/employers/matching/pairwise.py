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
- a name that only extends the other ("Acme" / "Acme Logistics") or only shares
  part of it is a possible parent/subsidiary or sibling: review at most, unless
  the site itself agrees (same street address or phone);
- a name that adds a legal-vehicle word ("Holdings", "IP Assets") is a
  different legal employer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz

from .normalize import (
    StreetAddress,
    normalize_domain,
    normalize_fein,
    normalize_zip,
    parse_street,
    phone_for_matching,
    split_legal_name,
)
from .vocab import COMMON_WORDS, FREE_MAIL_DOMAINS, GENERIC_QUALIFIERS, PLACE_WORDS, STOPWORDS, VEHICLE_WORDS

Outcome = Literal["match", "review", "distinct"]
_OUTCOME_RANK: dict[str, int] = {"match": 2, "review": 1, "distinct": 0}

# Evidence weights (log-odds-like points). A total of MATCH_AT or more is a
# match, REVIEW_AT or more a review. Values were set from the meaning of each
# field, then checked on the benchmarks in bench/README.md (one configuration
# for every data set).
MATCH_AT = 5.0
REVIEW_AT = 2.0
W_NAME_SAME = 6.0
W_NAME_TYPO = 5.0
W_NAME_ACRONYM = 4.0
W_NAME_SUBSET = 2.0
W_NAME_OVERLAP = 2.0
W_NAME_PARTIAL = 0.0
W_NAME_VEHICLE = -4.0
W_NAME_DIFFERENT = -6.0
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
COMMON_WORD_WEIGHT = 0.3  # a shared common word ("services") is weak evidence


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


@dataclass(frozen=True, slots=True, eq=False)
class NameForm:
    """One name of a record, split into the roles its words play.

    Compared by identity: `_name_form` hands out one object per distinct
    content, so the name-pair cache below hashes a pointer, not the fields.
    """

    key: str
    strong: tuple[str, ...]  # words that identify the company, in order
    qualifier: tuple[str, ...]  # words after the legal form ("Delft", "Downtown")
    places: frozenset[str]
    joined: str  # strong words without spaces: survives "Philips Gloei lampen" splits
    sound: str  # phonetic form of `joined`: "filipselektroniks" for Philips Electronics
    acronym: str  # initials of a multi-word name ("international business machines" -> "ibm")


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


@lru_cache(maxsize=50_000)
def _is_generic(tok: str) -> bool:
    """Generic qualifier, also when abbreviated ("koninkl") or misspelt ("koniklijke")."""
    if tok in GENERIC_QUALIFIERS:
        return True
    if len(tok) < 5:
        return False
    for word in GENERIC_QUALIFIERS:
        if len(word) >= 8 and (word.startswith(tok) or fuzz.ratio(tok, word) >= 85):
            return True
    return False


@lru_cache(maxsize=200_000)
def _name_form(name: str) -> NameForm:
    legal, tail = split_legal_name(name)
    strong: list[str] = []
    qualifier: list[str] = []
    places: set[str] = set()
    for tokens, bucket in ((legal, strong), (tail, qualifier)):
        for tok in tokens:
            if tok in STOPWORDS or _is_generic(tok) or tok in strong or tok in qualifier:
                continue  # a repeated word ("Salvation Army - ... / Salvation Army") says nothing new
            if tok in PLACE_WORDS:
                places.add(tok)
            else:
                bucket.append(tok)
    if not strong:  # a name made only of place or generic words ("International")
        strong = [t for t in legal if t not in STOPWORDS] or legal
        places -= set(strong)
    initials = [t[0] for t in legal if t not in STOPWORDS and not t.isdigit()]
    acronym = "".join(initials) if len(initials) >= 3 else ""
    return _intern_form(" ".join(legal), tuple(strong), tuple(qualifier), frozenset(places), acronym)


@lru_cache(maxsize=200_000)
def _intern_form(
    key: str, strong: tuple[str, ...], qualifier: tuple[str, ...], places: frozenset[str], acronym: str
) -> NameForm:
    joined = "".join(strong)
    return NameForm(key, strong, qualifier, places, joined, phonetic(joined), acronym)


@lru_cache(maxsize=200_000)
def features(record: EmployerRecord) -> Features:
    """Parsed, comparable form of a record (cached: records are immutable)."""
    names = [record.name, *record.aliases]
    forms = tuple(_name_form(n) for n in dict.fromkeys(n for n in names if n and n.strip()))
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
        names=forms or (_name_form(""),),
        domain=domain,
        fein=record.fein,
        phone=record.phone,
        street=parse_street(record.address),
        zip=record.zip,
        city=" ".join((record.city or "").casefold().split()) or None,
        order_key=order_key,
    )


_PHONETIC_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"ph", "f"),
        (r"ck|q|c(?=[aoukrlt])|c$", "k"),
        (r"c", "s"),
        (r"(?<=[a-z])h", ""),
        (r"y", "i"),
        (r"z", "s"),
        (r"w", "v"),
        (r"(.)\1+", r"\1"),
    )
)


@lru_cache(maxsize=200_000)
def phonetic(word: str) -> str:
    """A light phonetic key (in the spirit of Metaphone) that makes spellings and
    transliterations of one name agree: "philips"/"filips", "electronics"/"ehlektroniks"."""
    for pattern, repl in _PHONETIC_RULES:
        word = pattern.sub(repl, word)
    return word


@lru_cache(maxsize=200_000)
def _token_similarity(a: str, b: str) -> float:
    """0..1 similarity of two words: typos, transliterations, abbreviations ("intl")."""
    if a == b:
        return 1.0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 3 and long_.startswith(short) and not short.isdigit():
        return 0.9  # "koninkl" / "koninklijke", "tech" / "technology"
    if len(short) < 4 or short.isdigit() or long_.isdigit():
        return 0.0  # short words and numbers must be exact ("II" is not "III")
    r = max(fuzz.ratio(a, b), fuzz.ratio(phonetic(a), phonetic(b)) - 5) / 100.0
    return r if r >= 0.8 else 0.0


def _word_weight(tok: str) -> float:
    return COMMON_WORD_WEIGHT if tok in COMMON_WORDS else 1.0


@dataclass(frozen=True, slots=True)
class NameEvidence:
    relation: Literal["same", "typo", "acronym", "subset", "vehicle", "overlap", "partial", "different"]
    similarity: float  # 0..1, for the explanation
    extras: tuple[str, ...]  # identifying words only one name has
    place_conflict: bool
    weight: float


def _align(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """Greedy best-first one-to-one alignment of words; returns unmatched indexes."""
    scored = []
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            s = _token_similarity(x, y)
            if s > 0:
                scored.append((s, -abs(i - j), i, j))
    scored.sort(reverse=True)
    used_a: set[int] = set()
    used_b: set[int] = set()
    for _s, _d, i, j in scored:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return [i for i in range(len(a)) if i not in used_a], [j for j in range(len(b)) if j not in used_b]


@lru_cache(maxsize=200_000)
def compare_names(x: NameForm, y: NameForm) -> NameEvidence:
    """How two names relate, independent of any address."""
    sim = fuzz.token_sort_ratio(" ".join(x.strong), " ".join(y.strong)) / 100.0
    place_conflict = bool(x.places and y.places and not (x.places & y.places))
    if x.joined == y.joined:
        return NameEvidence("same", 1.0, (), place_conflict, W_NAME_SAME)
    if min(len(x.joined), len(y.joined)) >= 6:
        joined_sim = max(fuzz.ratio(x.joined, y.joined), fuzz.ratio(x.sound, y.sound) - 5) / 100.0
        if joined_sim >= 0.9:
            return NameEvidence("typo", max(sim, joined_sim), (), place_conflict, W_NAME_TYPO)
    for one, other in ((x, y), (y, x)):
        if len(one.strong) == 1 and other.acronym and one.strong[0] == other.acronym:
            return NameEvidence("acronym", sim, (), place_conflict, W_NAME_ACRONYM)
    xs = x.strong + x.qualifier
    ys = y.strong + y.qualifier
    un_x, un_y = _align(xs, ys)
    extra_x = [xs[i] for i in un_x if i < len(x.strong)]
    extra_y = [ys[j] for j in un_y if j < len(y.strong)]
    # Qualifier words on one side only are neutral (a place or site after the
    # legal form); different qualifiers on both sides mean different sites.
    qual_x = [xs[i] for i in un_x if i >= len(x.strong)]
    qual_y = [ys[j] for j in un_y if j >= len(y.strong)]
    place_conflict = place_conflict or bool(qual_x and qual_y)
    if not extra_x and not extra_y:
        weight = W_NAME_SAME if sim >= 0.95 else W_NAME_TYPO
        return NameEvidence("same" if sim >= 0.95 else "typo", sim, (), place_conflict, weight)
    matched_x = [xs[i] for i in range(len(x.strong)) if i not in un_x]
    # Shared words that identify: not common ("services"), not a legal-vehicle word.
    telling = [t for t in matched_x if t not in COMMON_WORDS and t not in VEHICLE_WORDS]
    extras = tuple(extra_x + extra_y)
    if any(t in VEHICLE_WORDS for t in extras) and matched_x:
        return NameEvidence("vehicle", sim, extras, place_conflict, W_NAME_VEHICLE)
    if not extra_x or not extra_y:
        if telling or all(t in COMMON_WORDS for t in (y.strong if extra_x else x.strong)):
            return NameEvidence("subset", sim, extras, place_conflict, W_NAME_SUBSET)
        return NameEvidence("different", sim, extras, place_conflict, W_NAME_DIFFERENT)
    if not telling:
        return NameEvidence("different", sim, extras, place_conflict, W_NAME_DIFFERENT)
    # Names that share their leading word and at least half of the shorter name
    # ("Philips Electronics" / "Philips Gloeilampenfabrieken", "Acme Foods" /
    # "Acme Logistics") are possibly one company; a shared word elsewhere
    # ("Janssen Pharmaceutical" / "Millennium Pharmaceuticals") is weak evidence.
    shared = sum(_word_weight(t) for t in matched_x)
    smaller = min(sum(_word_weight(t) for t in x.strong), sum(_word_weight(t) for t in y.strong))
    leading = 0 not in un_x or 0 not in un_y
    if leading and shared / smaller >= 0.5:
        return NameEvidence("overlap", sim, extras, place_conflict, W_NAME_OVERLAP)
    return NameEvidence("partial", sim, extras, place_conflict, W_NAME_PARTIAL)


_RELATION_RANK = {
    "same": 7, "typo": 6, "acronym": 5, "subset": 4, "overlap": 3, "partial": 2, "vehicle": 1, "different": 0,
}


def best_name_evidence(fa: Features, fb: Features) -> tuple[NameEvidence, NameForm, NameForm]:
    """Best-agreeing pair among the names and aliases of two records."""
    best: tuple[float, float, int] | None = None
    result: tuple[NameEvidence, NameForm, NameForm] | None = None
    for x in fa.names:
        for y in fb.names:
            ev = compare_names(x, y)
            rank = (ev.weight + (W_PLACE_CONFLICT if ev.place_conflict else 0.0), ev.similarity,
                    _RELATION_RANK[ev.relation])
            if best is None or rank > best:
                best, result = rank, (ev, x, y)
    assert result is not None
    return result


def _phones_agree(a: str, b: str) -> bool:
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


def _streets(a: StreetAddress, b: StreetAddress) -> Literal["same", "near", "different"]:
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
    site_agrees = False

    ev, na, nb = best_name_evidence(fa, fb)
    total += ev.weight
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
        rel = _streets(fa.street, fb.street)
        if rel == "same":
            total += W_ADDRESS_SAME
            site_agrees = True
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
            site_agrees = True
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
            site_agrees = site_agrees or fa.street is None or fb.street is None
            reasons.insert(0, f"same domain {fa.domain}")
        else:
            total += W_DOMAIN_DIFFERENT
            cap = "review" if cap == "match" else cap
            reasons.append(f"different domains {fa.domain} / {fb.domain}")

    if ev.relation in ("subset", "overlap", "partial", "acronym") and not site_agrees and cap == "match":
        cap = "review"  # a name relation alone cannot tell parent from subsidiary
    if ev.relation == "vehicle" and cap == "match":
        cap = "review"

    if fa.fein and fb.fein:
        if fa.fein == fb.fein:
            if cap == "distinct":
                # One legal employer, another worksite: OneDoor counts worksites
                # (SPEC section 2), so these are two employers of one company.
                reasons.insert(0, f"same FEIN {fa.fein} but another worksite")
                return _result(REVIEW_AT - 0.5, reasons, "distinct")
            reasons.insert(0, f"same FEIN {fa.fein}")
            return _result(max(total + 6.0, MATCH_AT), reasons, "match")
        reasons.insert(0, f"different FEINs {fa.fein} / {fb.fein}")
        return _result(min(total, REVIEW_AT - 1.0), reasons, "distinct")
    return _result(total, reasons, cap)


def compare(a: EmployerRecord, b: EmployerRecord) -> MatchResult:
    """Decide whether two records are the same employer establishment (symmetric)."""
    return compare_features(features(a), features(b))
