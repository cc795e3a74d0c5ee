"""Typeahead ranking and the intake decision (SPEC section 3, step 1)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Literal

from .normalize import normalize_name
from .pairwise import EmployerRecord, MatchResult, compare_features, features
from .vocab import LEGAL_FORMS

_RANK = {"match": 2, "review": 1, "distinct": 0}
# A distinct candidate is still worth showing in a typeahead when its name
# is close ("Acme Foods" while typing "acme f"), never when nothing agrees.
MIN_TYPEAHEAD_SCORE = 0.05


def _last_word(query: EmployerRecord) -> str:
    """The query's last word, to be completed as if half-typed; none when it is a legal form after a name
    of two words or more ("Turner Roofing Co" is finished: reading "Co" as "Condor" finds another firm)."""
    words = query.name.split()
    last = normalize_name(words[-1]) if words else ""
    if last in LEGAL_FORMS and len(words) > 2:
        return ""
    return last if " " not in last else ""


def _completions(query: EmployerRecord, last: str, candidate: EmployerRecord) -> list[EmployerRecord]:
    """The query with its last, possibly half-typed word completed from the
    candidate's words: "acme lo" -> "acme logistics" for "Acme Logistics Corp"."""
    if not last:
        return []
    words = query.name.split()
    out: list[EmployerRecord] = []
    for form in features(candidate).names:
        for word in (*form.strong, *form.qualifier):
            if word != last and word.startswith(last):
                name = " ".join([*words[:-1], word])
                out.append(dataclasses.replace(query, name=name))
                break
    return out


def rank_candidates(
    query: EmployerRecord,
    candidates: Iterable[EmployerRecord],
    limit: int = 8,
) -> list[tuple[EmployerRecord, MatchResult]]:
    """Candidates best first, each with its MatchResult (outcome, score, explanation).

    Meant for ~50 rows the database pre-filtered by blocking key or name prefix.
    """
    fq = features(query)
    scored: list[tuple[tuple[int, float], EmployerRecord, MatchResult]] = []
    last = _last_word(query)
    for cand in candidates:
        fc = features(cand)
        result = compare_features(fq, fc)
        for completed in _completions(query, last, cand):
            alt = compare_features(features(completed), fc)
            if (_RANK[alt.outcome], alt.score) > (_RANK[result.outcome], result.score):
                typed, word = query.name.split()[-1], completed.name.split()[-1]
                result = dataclasses.replace(alt, reasons=(f"'{typed}' read as '{word}'", *alt.reasons))
        if result.score < MIN_TYPEAHEAD_SCORE and result.outcome == "distinct":
            continue
        scored.append(((_RANK[result.outcome], result.score), cand, result))
    scored.sort(key=lambda t: (-t[0][0], -t[0][1], str(t[1].name), str(t[1].id)))
    return [(cand, result) for _key, cand, result in scored[:limit]]


def resolve(
    query: EmployerRecord,
    candidates: Iterable[EmployerRecord],
) -> tuple[Literal["match", "review", "none"], EmployerRecord | None, list[tuple[EmployerRecord, MatchResult]]]:
    """The intake decision for a touch request.

    ("match", record, [(record, result)]) for one confident match;
    ("review", None, ranked) when several match or only review-level ones
    exist (the request goes to needs_match); ("none", None, []) otherwise
    (a provisional employer is created).
    """
    ranked = rank_candidates(query, candidates, limit=8)
    matches = [(c, r) for c, r in ranked if r.outcome == "match"]
    reviews = [(c, r) for c, r in ranked if r.outcome == "review"]
    if len(matches) == 1:
        return "match", matches[0][0], matches
    if matches or reviews:
        return "review", None, matches + reviews
    return "none", None, []
