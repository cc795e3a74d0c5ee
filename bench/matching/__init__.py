"""Benchmark of the employer matcher on any CSV with a ground-truth cluster column.

Runs exactly what the product runs - `find_duplicate_pairs` then `cluster` from
crm.employers.matching, one fixed configuration - and scores it pairwise
against the truth. See bench/README.md for commands and results.
"""

from __future__ import annotations

import csv
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crm.employers.matching import EmployerRecord, MatchResult, cluster, find_duplicate_pairs
from crm.employers.matching.scan import pair_ids

Pair = tuple[str, str]


@dataclass(frozen=True)
class Columns:
    id: str
    truth: str
    name: str
    address: str | None = None
    zip: str | None = None
    phone: str | None = None
    website: str | None = None
    city: str | None = None


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    predicted: int
    true: int

    def line(self, label: str) -> str:
        return (
            f"{label:<34} P={self.precision:.4f} R={self.recall:.4f} F1={self.f1:.4f}"
            f"  (pairs predicted {self.predicted}, true {self.true})"
        )


def read_rows(path: Path) -> list[dict[str, str]]:
    """CSV rows; UTF-8 (with or without BOM), falling back to Latin-1."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return list(csv.DictReader(text.splitlines(keepends=True)))


def to_records(rows: Sequence[dict[str, str]], cols: Columns) -> tuple[list[EmployerRecord], dict[str, str]]:
    """Records built with EmployerRecord.from_raw (the product's normalization) and id -> truth."""
    missing = [c for c in (cols.id, cols.truth, cols.name) if rows and c not in rows[0]]
    if missing:
        raise SystemExit(f"column(s) not in the file: {', '.join(missing)}; have: {', '.join(rows[0])}")
    records: list[EmployerRecord] = []
    truth: dict[str, str] = {}

    def get(row: dict[str, str], col: str | None) -> str | None:
        return (row.get(col) or None) if col else None

    for row in rows:
        rid = str(row[cols.id]).strip()
        truth[rid] = str(row[cols.truth]).strip()
        records.append(
            EmployerRecord.from_raw(
                rid,
                row[cols.name] or "",
                website=get(row, cols.website),
                phone=get(row, cols.phone),
                address=get(row, cols.address),
                city=get(row, cols.city),
                zip=get(row, cols.zip),
            )
        )
    return records, truth


def true_pairs(truth: dict[str, str]) -> set[Pair]:
    groups: dict[str, list[str]] = defaultdict(list)
    for rid, tid in truth.items():
        groups[tid].append(rid)
    return pair_ids([set(g) for g in groups.values() if len(g) > 1])


def score(predicted: set[Pair], truth_pairs: set[Pair]) -> Scores:
    tp = len(predicted & truth_pairs)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(truth_pairs) if truth_pairs else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return Scores(p, r, f1, len(predicted), len(truth_pairs))


def _norm(pairs: list[tuple[str | int, str | int, MatchResult]], outcomes: set[str]) -> set[Pair]:
    out: set[Pair] = set()
    for a, b, result in pairs:
        if result.outcome in outcomes:
            x, y = str(a), str(b)
            out.add((x, y) if (type(x).__name__, x) < (type(y).__name__, y) else (y, x))
    return out


def run(path: Path | None, cols: Columns, synthetic: int = 0) -> list[str]:
    """Run the benchmark on a CSV file (or `synthetic` generated rows); return the report lines."""
    t_load, cpu_load = time.perf_counter(), time.process_time()
    rows = read_rows(path) if path is not None else synthetic_rows(synthetic)
    records, truth = to_records(rows, cols)
    tp = true_pairs(truth)
    sizes: dict[str, int] = defaultdict(int)
    for tid in truth.values():
        sizes[tid] += 1

    t0, c0 = time.perf_counter(), time.process_time()
    pairs = find_duplicate_pairs(records)
    t1, c1 = time.perf_counter(), time.process_time()
    clusters = {level: cluster(pairs, level, records=records) for level in ("match", "review")}
    t2, c2 = time.perf_counter(), time.process_time()

    source = path.name if path is not None else f"synthetic({synthetic})"
    lines = [f"file: {source}  records: {len(records)}  true clusters >1: "
             f"{sum(1 for s in sizes.values() if s > 1)}  largest true cluster: {max(sizes.values())}"]
    lines.append(score(_norm(pairs, {"match"}), tp).line("direct links, match"))
    lines.append(score(_norm(pairs, {"match", "review"}), tp).line("direct links, match+review"))
    for level, groups in clusters.items():
        largest = max((len(g) for g in groups), default=1)
        predicted = pair_ids([{str(x) for x in g} for g in groups])
        lines.append(score(predicted, tp).line(f"clustered at {level}") + f"  largest cluster {largest}")
    lines.append(
        f"wall time: load+normalize {t0 - t_load:.2f} s, scan {t1 - t0:.2f} s,"
        f" clustering (both levels) {t2 - t1:.2f} s, total {t2 - t_load:.2f} s"
    )
    lines.append(
        f"CPU time:  load+normalize {c0 - cpu_load:.2f} s, scan {c1 - c0:.2f} s,"
        f" clustering (both levels) {c2 - c1:.2f} s, total {c2 - cpu_load:.2f} s"
    )
    return lines


# --- synthetic scale test -------------------------------------------------------
# Deterministic, dependency-free employers for timing the scan at the size of
# a state's establishment list. Names reuse a few hundred words on purpose, so
# name blocks are crowded the way surname-based business names make them.
_SURNAMES = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez "
    "wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark "
    "ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green adams "
    "nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker "
    "cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper "
    "peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks chavez wood james"
).split()
_FIRST = (
    "golden pacific summit sierra coastal bay valley redwood sunset harbor central premier quality "
    "reliable united allied apex eagle pioneer western northern southern evergreen oak cedar pine "
    "silver blue green north star diamond crown liberty heritage frontier mission vista canyon"
).split()
_TRADE = (
    "plumbing construction dental auto repair restaurant consulting logistics landscaping electric "
    "cafe bakery medical realty insurance staffing manufacturing foods trucking roofing cleaning "
    "security printing design marketing pharmacy nursery farms winery brewing fitness salon"
).split()
_SUFFIX = ("", "", " Inc", " LLC", " Corp", " Co", " Company", " Inc.")
_STREETS = [f"{w} {t}" for w in _FIRST + _SURNAMES[:40] for t in ("St", "Ave", "Blvd", "Rd", "Dr", "Way")]


def synthetic_rows(n: int, seed: int = 7) -> list[dict[str, str]]:
    """About n establishments plus 10% noisy duplicates; truth = the original's id."""
    rng = random.Random(seed)

    def name() -> str:
        r = rng.random()
        if r < 0.4:
            return f"{rng.choice(_SURNAMES).title()} {rng.choice(_TRADE).title()}{rng.choice(_SUFFIX)}"
        if r < 0.7:
            return f"{rng.choice(_FIRST).title()} {rng.choice(_FIRST).title()} {rng.choice(_TRADE).title()}"
        a, b = rng.sample(_SURNAMES, 2)
        return f"{a.title()} & {b.title()}{rng.choice(_SUFFIX)}"

    chains = [name() for _ in range(300)]
    rows: list[dict[str, str]] = []
    for i in range(n):
        nm = rng.choice(chains) if rng.random() < 0.1 else name()  # chains: same name, many sites
        rows.append({
            "id": str(i), "truth": str(i), "name": nm,
            "address": f"{rng.randint(1, 19999)} {rng.choice(_STREETS)}",
            "zip": str(rng.randint(90001, 96162)),
            "phone": f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
        })
    for k in range(n // 10):
        dup = dict(rows[rng.randrange(n)], id=f"d{k}")
        if rng.random() < 0.5:
            dup["name"] = dup["name"].upper()
        if rng.random() < 0.3:
            j = rng.randrange(len(dup["name"]))
            dup["name"] = dup["name"][:j] + dup["name"][j + 1 :]  # a typo
        if rng.random() < 0.3:
            dup["phone"] = ""
        if rng.random() < 0.3:
            dup["address"] = dup["address"].replace(" St", " Street").replace(" Ave", " Avenue")
        rows.append(dup)
    return rows


SYNTHETIC_COLUMNS = Columns(id="id", truth="truth", name="name", address="address", zip="zip", phone="phone")
