"""How two employer names relate, word by word (pure functions).

A name is split into the roles its words play (NameForm): identifying words,
qualifiers after the legal form, places, an acronym and a phonetic key. Two
names then relate as the same, a typo, an acronym, a subset (one adds words),
an overlap (they share their leading word), a partial overlap, a legal
vehicle of the same group, or different - with a weight of evidence each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz, process

from .normalize import split_legal_tuple
from .vocab import COMMON_WORDS, GENERIC_QUALIFIERS, PLACE_WORDS, STOPWORDS, VEHICLE_WORDS

# Weights of evidence (see pairwise.py for the scale and the thresholds).
W_NAME_SAME = 6.0
W_NAME_TYPO = 5.0
W_NAME_ACRONYM = 4.0
W_NAME_SUBSET = 2.5
W_NAME_OVERLAP = 2.5
W_NAME_PARTIAL = 0.0
W_NAME_SIMILARITY = 1.0
W_NAME_VEHICLE = -4.0
W_NAME_DIFFERENT = -6.0
COMMON_WORD_WEIGHT = 0.3  # a shared common word ("services") is weak evidence


@dataclass(frozen=True, slots=True, eq=False)
class NameForm:
    """One name of a record, split into the roles its words play.

    Compared by identity: `name_form` hands out one object per distinct
    content, so the name-pair cache below hashes a pointer, not the fields.
    """

    key: str
    strong: tuple[str, ...]  # words that identify the company, in order
    qualifier: tuple[str, ...]  # words after the legal form ("Delft", "Downtown")
    places: frozenset[str]
    joined: str  # strong words without spaces: survives "Philips Gloei lampen" splits
    sound: str  # phonetic form of `joined`: "filipselektroniks" for Philips Electronics
    acronym: str  # initials of a multi-word name ("international business machines" -> "ibm")
    numbers: frozenset[str]  # store or site numbers, roman ones too ("12", "ii")


_ROMAN = frozenset("i ii iii iv v vi vii viii ix x xi xii".split())
_LONG_GENERIC = tuple(sorted(w for w in GENERIC_QUALIFIERS if len(w) >= 8))


@lru_cache(maxsize=50_000)
def _is_generic(tok: str) -> bool:
    """Generic qualifier, also when abbreviated ("koninkl") or misspelt ("koniklijke")."""
    if tok in GENERIC_QUALIFIERS:
        return True
    if len(tok) < 5:
        return False
    if len(tok) >= 6 and any(word.startswith(tok) for word in _LONG_GENERIC):
        return True
    return process.extractOne(tok, _LONG_GENERIC, scorer=fuzz.ratio, score_cutoff=85) is not None


@lru_cache(maxsize=200_000)
def name_form(name: str) -> NameForm:
    """Split a name into identifying words, qualifiers, places and an acronym."""
    legal, tail = split_legal_tuple(name)
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
        strong = [t for t in legal if t not in STOPWORDS] or list(legal)
        places -= set(strong)
    initials = [t[0] for t in legal if t not in STOPWORDS and not t.isdigit()]
    acronym = "".join(initials) if len(initials) >= 3 else ""
    return _intern_form(" ".join(legal), tuple(strong), tuple(qualifier), frozenset(places), acronym)


@lru_cache(maxsize=200_000)
def _intern_form(
    key: str, strong: tuple[str, ...], qualifier: tuple[str, ...], places: frozenset[str], acronym: str
) -> NameForm:
    joined = "".join(strong)
    numbers = frozenset(t for t in strong + qualifier if t.isdigit() or t in _ROMAN)
    return NameForm(key, strong, qualifier, places, joined, phonetic(joined), acronym, numbers)


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


_LITERAL_RULES = frozenset(("ph", "c", "y", "z", "w"))  # rules that are plain strings (no regex syntax)
_REPEATS = _PHONETIC_RULES[-1][0]  # "(.)\1+": most words have no doubled letter to collapse


@lru_cache(maxsize=200_000)
def phonetic(word: str) -> str:
    """A light phonetic key (in the spirit of Metaphone) that makes spellings and
    transliterations of one name agree: "philips"/"filips", "electronics"/"ehlektroniks"."""
    for pattern, repl in _PHONETIC_RULES:
        if pattern.pattern in _LITERAL_RULES:
            word = word.replace(pattern.pattern, repl)  # the same substitution, without the regex engine
        elif pattern is not _REPEATS or _REPEATS.search(word):
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
    """How two names relate, with the weight of evidence that relation carries."""

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
    # "Little Tykes I" / "Little Tykes II", "Store 12" / "Store 13": a number is
    # never a typo, so such names skip the spelling shortcut below.
    numbered = x.numbers != y.numbers
    place_conflict = place_conflict or bool(numbered and x.numbers and y.numbers)
    if min(len(x.joined), len(y.joined)) >= 6 and not numbered:
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


RELATION_RANK = {
    "same": 7, "typo": 6, "acronym": 5, "subset": 4, "overlap": 3, "partial": 2, "vehicle": 1, "different": 0,
}


