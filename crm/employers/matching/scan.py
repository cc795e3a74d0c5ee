"""Whole-set duplicate scan: blocking, pairwise comparison, guarded clustering."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

from .normalize import StreetAddress
from .pairwise import EmployerRecord, Features, MatchResult, Outcome, compare_features, features, street_relation
from .vocab import COMMON_WORDS

RecordId = TypeVar("RecordId", bound=Hashable)

# A block bigger than this is a word (or phone, or address) too common to say
# anything - "services", a mall's street address, a chain's 800 number - and is
# dropped rather than compared all-against-all. It bounds the scan's cost at
# MAX_BLOCK^2/2 comparisons per surviving block.
MAX_BLOCK = 1000
# Name blocks bigger than this are split by ZIP before comparing (see
# _candidate_groups); below it, all pairs of a block are compared.
SMALL_BLOCK = 64
_NAME_KEY_KINDS = frozenset("ntjqz")
MAX_KEY_LENGTH = 40
# Two clusters join only when more than this share of their cross pairs are
# linked (average linkage). 0.5 stops the classic chain: A~X and X~B do not
# make A~B when A and B are not linked themselves.
MIN_LINKAGE = 0.5


def _name_keys(f: Features) -> set[str]:
    """Name keys: exact name, first letters, each rare word, halves of long words, acronym."""
    keys: set[str] = set()
    for form in f.names:
        words = [t for t in form.strong if not t.isdigit()]
        if form.joined:
            keys.add("n:" + form.joined[:24])  # spacing-insensitive exact name
            keys.add("j:" + form.joined[:5])  # typos after the first letters, split words
        if form.acronym:
            keys.add("t:" + form.acronym)  # meets the one-word name "ibm"
        rare = [t for t in words if t not in COMMON_WORDS and len(t) >= 2]
        for tok in rare:
            keys.add("t:" + tok)
            if len(tok) >= 6:
                # Either half survives a typo in the other ("phillips"/"philips",
                # "filips"/"philips").
                keys.add("q<" + tok[:4])
                keys.add("q>" + tok[-4:])
    return keys


def _street_key(s: StreetAddress) -> str:
    return f"a:{s.number}:{s.street[:8]}"


def feature_blocking_keys(f: Features) -> set[str]:
    """blocking_keys() on precomputed features."""
    keys = _name_keys(f)
    if f.fein:
        keys.add("f:" + f.fein)
    if f.domain:
        keys.add("d:" + f.domain)
    if f.phone:
        keys.add("p:" + f.phone[-7:])
    if f.street:
        keys.add(_street_key(f.street))
    if f.zip:
        for form in f.names:
            if form.joined:
                keys.add(f"z:{f.zip}:{form.joined[:4]}")
    # Capped so a database column can hold them; a clipped key only widens a block.
    return {k[:MAX_KEY_LENGTH] for k in keys}


def blocking_keys(r: EmployerRecord) -> set[str]:
    """Short strings (at most MAX_KEY_LENGTH characters, "kind:value") such that two records
    that may match share at least one. Store them in an indexed table to find
    candidates in the database the same way the scan does."""
    return feature_blocking_keys(features(r))


def _hard_distinct(fa: Features, fb: Features) -> bool:
    """Cheap pre-check: pairs the full comparison would call distinct anyway."""
    if fa.fein and fb.fein and fa.fein != fb.fein:
        return True
    if fa.street and fb.street:
        a, b = fa.street, fb.street
        return a.number != b.number and a.street[:3] != b.street[:3]
    return False


def _candidate_groups(key: str, members: list[int], feats: Sequence[Features]) -> list[list[int]]:
    """The groups of a block whose members are compared all-against-all.

    A big name block ("t:johnson") is split by ZIP: two establishments in
    different ZIPs are at best a review (same name, another site) and those
    still meet through their exact-name key. Records without a ZIP are
    compared with every ZIP group. Identifier blocks are never split.
    """
    if len(members) <= SMALL_BLOCK or key[0] not in _NAME_KEY_KINDS:
        return [members]
    by_zip: dict[str, list[int]] = defaultdict(list)
    wildcards: list[int] = []
    for i in members:
        z = feats[i].zip
        if z:
            by_zip[z].append(i)
        else:
            wildcards.append(i)
    if not by_zip:
        return [members]
    groups = [g + wildcards for g in by_zip.values()]
    if len(wildcards) > 1:
        groups.append(wildcards)
    return groups


def find_duplicate_pairs(
    records: Iterable[EmployerRecord],
) -> list[tuple[str | int, str | int, MatchResult]]:
    """Every pair of records that match or need review, found through blocking.

    Near-linear: each record meets only the records it shares a blocking key
    with; keys shared by more than MAX_BLOCK records are ignored and big name
    blocks are split by ZIP. Returns (id_a, id_b, result), best score first.
    """
    recs: list[EmployerRecord] = list(records)
    feats: list[Features] = [features(r) for r in recs]
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(feats):
        for key in feature_blocking_keys(f):
            blocks[key].append(i)
    seen: set[int] = set()
    n = len(recs)
    out: list[tuple[str | int, str | int, MatchResult]] = []
    for key, block in blocks.items():
        if len(block) < 2 or len(block) > MAX_BLOCK:
            continue
        for group in _candidate_groups(key, block, feats):
            for x in range(len(group)):
                i = group[x]
                fi = feats[i]
                for y in range(x + 1, len(group)):
                    j = group[y]
                    code = i * n + j if i < j else j * n + i
                    if code in seen:
                        continue
                    seen.add(code)
                    fj = feats[j]
                    if _hard_distinct(fi, fj):
                        continue
                    result = compare_features(fi, fj)
                    if result.outcome != "distinct":
                        a, b = (i, j) if i < j else (j, i)
                        out.append((recs[a].id, recs[b].id, result))
    out.sort(key=lambda p: -p[2].score)  # stable: ties keep the deterministic scan order
    return out


_LEVEL: dict[str, int] = {"match": 2, "review": 1, "distinct": 0}


class _Site:
    """What a cluster knows about where it is: FEINs and street addresses."""

    __slots__ = ("feins", "streets")

    def __init__(self, f: Features | None) -> None:
        self.feins: set[str] = {f.fein} if f and f.fein else set()
        self.streets: set[StreetAddress] = {f.street} if f and f.street else set()

    def conflicts(self, other: _Site) -> bool:
        if self.feins and other.feins and self.feins != other.feins:
            return True
        return any(street_relation(s, t) == "different" for s in self.streets for t in other.streets)

    def absorb(self, other: _Site) -> None:
        self.feins |= other.feins
        self.streets |= other.streets


def cluster(
    pairs: Iterable[tuple[RecordId, RecordId, MatchResult]],
    threshold_outcome: Outcome = "match",
    min_linkage: float = MIN_LINKAGE,
    *,
    records: Iterable[EmployerRecord] | None = None,
) -> list[set[RecordId]]:
    """Group records linked at `threshold_outcome` or better, without chaining.

    Links are taken strongest first; a link joins its two clusters only if
    more than `min_linkage` of all pairs between them are linked (average
    linkage; a pair never linked counts as not linked). Plain union-find would
    let "Acme Plumbing" ~ "Acme Services" ~ "Best Services" chain unrelated
    companies into one group. Passes repeat until nothing changes, because a
    link refused early may be consistent once its neighbours have joined.

    With `records` (the records the pairs came from), a merge is also refused
    when it would put different FEINs or clearly different street addresses in
    one group: a record without an address may look like either site of a
    chain, but it must not make the two sites one employer.
    Returns the clusters of two or more records, largest first.
    """
    level = _LEVEL[threshold_outcome]
    links = sorted(
        ((result.score, a, b) for a, b, result in pairs if a != b and _LEVEL[result.outcome] >= level),
        key=lambda t: (-t[0], _sort_key(t[1]), _sort_key(t[2])),
    )
    linked_ids = {x for _s, a, b in links for x in (a, b)}
    feats: dict[Hashable, Features] = (
        {r.id: features(r) for r in records if r.id in linked_ids} if records is not None else {}
    )
    root: dict[RecordId, RecordId] = {}
    members: dict[RecordId, set[RecordId]] = {}
    site: dict[RecordId, _Site] = {}
    # Number of linked record pairs between two clusters, keyed by cluster root.
    between: dict[RecordId, dict[RecordId, int]] = defaultdict(dict)
    for _score, a, b in links:
        for node in (a, b):
            if node not in root:
                root[node] = node
                members[node] = {node}
                site[node] = _Site(feats.get(node))
        if b not in between[a]:
            between[a][b] = between[b][a] = 1

    changed = True
    while changed:
        changed = False
        for _score, a, b in links:
            ra, rb = root[a], root[b]
            if ra == rb:
                continue
            linked = between[ra].get(rb, 0)
            if linked <= min_linkage * len(members[ra]) * len(members[rb]):
                continue
            if site[ra].conflicts(site[rb]):
                continue
            if len(members[ra]) < len(members[rb]):
                ra, rb = rb, ra
            site[ra].absorb(site.pop(rb))
            for node in members[rb]:
                root[node] = ra
            members[ra] |= members.pop(rb)
            for other, count in between.pop(rb).items():
                if other == ra:
                    continue
                del between[other][rb]
                between[ra][other] = between[other][ra] = between[ra].get(other, 0) + count
            between[ra].pop(rb, None)
            changed = True
    groups = [m for m in members.values() if len(m) > 1]
    groups.sort(key=lambda g: (-len(g), sorted(map(str, g))))
    return groups


def _sort_key(x: Hashable) -> tuple[str, str]:
    return (type(x).__name__, str(x))


def pair_ids(groups: Sequence[set[RecordId]]) -> set[tuple[RecordId, RecordId]]:
    """All unordered pairs implied by clusters (for evaluation)."""
    out: set[tuple[RecordId, RecordId]] = set()
    for g in groups:
        items = sorted(g, key=_sort_key)
        for x in range(len(items)):
            for y in range(x + 1, len(items)):
                out.add((items[x], items[y]))
    return out
