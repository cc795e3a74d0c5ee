"""Typeahead ranking and the intake decision (SPEC section 3, step 1)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from .pairwise import EmployerRecord, MatchResult, compare_features, features

_RANK = {"match": 2, "review": 1, "distinct": 0}
# A distinct candidate is still worth showing in a typeahead when its name
# is close ("Acme Foods" while typing "acme f"), never when nothing agrees.
MIN_TYPEAHEAD_SCORE = 0.05


def _prefix_bonus(query: EmployerRecord, candidate: EmployerRecord) -> float:
    """Small tie-breaker while the user is still typing the last word."""
    q = features(query).names[0]
    if not q.strong:
        return 0.0
    last = q.strong[-1]
    head = q.strong[:-1]
    best = 0.0
    for form in features(candidate).names:
        words = form.strong
        if all(w in words for w in head) and any(w.startswith(last) for w in words):
            best = max(best, 0.01 if words[: len(q.strong)] == q.strong else 0.005)
    return best


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
    for cand in candidates:
        result = compare_features(fq, features(cand))
        if result.score < MIN_TYPEAHEAD_SCORE and result.outcome == "distinct":
            continue
        key = (_RANK[result.outcome], result.score + _prefix_bonus(query, cand))
        scored.append((key, cand, result))
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
