"""Employer matching: the pure core behind dedup, intake resolution and typeahead.

No database, no clock, no I/O: plain functions over plain values (STYLE.md,
"functional core"). The shell loads rows, builds `EmployerRecord`s and calls:

- normalizers: `normalize_name`, `name_key`, `normalize_domain`,
  `normalize_fein`, `normalize_phone`, `normalize_zip`;
- `compare(a, b)` -> `MatchResult` (match / review / distinct, score, reasons);
- `rank_candidates` (typeahead) and `resolve` (intake, SPEC section 3 step 1);
- `blocking_keys`, `find_duplicate_pairs` and `cluster` (the merge queue).

Modules: vocab (word lists and their sources), normalize, names (how two
names relate), pairwise (compare), scan (blocking, clustering), search
(typeahead, intake). Benchmark: `python -m bench.matching` (bench/README.md).
"""

from .normalize import (
    contact_is_new,
    name_key,
    normalize_domain,
    normalize_fein,
    normalize_name,
    normalize_phone,
    normalize_zip,
)
from .pairwise import EmployerRecord, MatchResult, Outcome, compare
from .scan import blocking_keys, cluster, find_duplicate_pairs
from .search import rank_candidates, resolve
from .vocab import LEGAL_FORMS

__all__ = [
    "contact_is_new",
    "LEGAL_FORMS",
    "EmployerRecord",
    "MatchResult",
    "Outcome",
    "blocking_keys",
    "cluster",
    "compare",
    "find_duplicate_pairs",
    "name_key",
    "normalize_domain",
    "normalize_fein",
    "normalize_name",
    "normalize_phone",
    "normalize_zip",
    "rank_candidates",
    "resolve",
]
