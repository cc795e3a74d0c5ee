"""CSV import of employers, planning: match each valid row against the existing employers and the
file's earlier rows.

No database and no clock in here (STYLE.md, "functional core"). The shell (``import_reads``) loads
what planning needs - the county/region reference, the keys of the existing employers
(``KeyIndex``), the candidate employers of a batch as ``EmployerRecord``s and the row keys earlier
imports recorded - and ``import_writes`` writes what the plan says.

Decisions a user of the import sees (documented in the upload page and the CLI help):

- Matched rows are linked, not duplicated: the existing employer keeps every value it has; only
  its empty fields are filled from the row, the row's other name becomes an alias and a new
  contact is added. ``review``-level matches are reported and not imported.
- A row with the same name key and ZIP as an earlier row of the file is its duplicate: not a second
  employer, but its contact and aliases are added to the first row's employer (so a file with one
  row per contact, like the export, imports as one employer with several contacts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from crm.employers.import_rows import RowError, ValidRow, zip_prefix
from crm.employers.matching import EmployerRecord, MatchResult, compare

MAX_CANDIDATES = 40  # per row; a name block bigger than this is a chain, the closest keys come first
# A candidate sharing no identifier (FEIN, domain, phone) reaches the matcher only when its name is
# this alike (rapidfuzz 0-100): set well below the matcher's own review level, so that only clear
# non-matches - neighbours sharing one common word - are dropped.
MIN_NAME_SIMILARITY = 70  # fuzz.ratio of the whole names
SUBSET_SIMILARITY = 90  # fuzz.token_set_ratio: one name's words (nearly) contained in the other's


Ids = int | str | list[int | str]  # one id, or a list of the several that share a key


def put_id(table: dict[str, Ids], key: str, ident: int | str) -> None:
    """Add ``ident`` under ``key``: a bare id while the key is unique (most keys are), a list once
    shared. Bare ints keep 250,000 entries out of the garbage collector's way; repeats are
    harmless (candidates() dedupes)."""
    found = table.get(key)
    if found is None:
        table[key] = ident
    elif found.__class__ is list:
        found.append(ident)  # type: ignore[union-attr]
    else:
        table[key] = [found, ident]  # type: ignore[list-item]


@dataclass
class KeyIndex:
    """Exact-key lookup of employers (existing ones and this file's rows) for candidate retrieval.

    Built once from the employer table's indexed columns, so that matching a 100,000-row file costs
    one scan plus one detail query per batch rather than several queries per row. Keys: FEIN, domain,
    name key (also of aliases and DBA), and ZIP + the first letters of the name key (catches typos
    further in the name). Ids are employer ids, or ``"row:N"`` for rows of this file not yet written.
    """

    by_fein: dict[str, Ids] = field(default_factory=dict)
    by_domain: dict[str, Ids] = field(default_factory=dict)
    by_name: dict[str, Ids] = field(default_factory=dict)
    by_zip_prefix: dict[str, Ids] = field(default_factory=dict)
    # (name key, ZIP) of this file's rows only: an exact repeat within the file is its duplicate.
    name_zip: dict[tuple[str, str | None], int | str] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)  # "row:N" → employer id once committed
    # Legal name and phone of existing employers that have no other name (DBA, alias): with the
    # FEIN and domain tables, all that ``worth_comparing`` reads, so a candidate the planner would
    # drop unseen need not be loaded (most of the ZIP + name-start block). An employer this run
    # changes leaves it (``forget``) and is loaded like any other.
    brief: dict[int, tuple[str, str | None]] = field(default_factory=dict)

    def add(self, ident: int | str, name_key_: str, zip_code: str | None, domain: str | None, fein: str | None,
            other_keys: Iterable[str] = ()) -> None:
        if fein:
            put_id(self.by_fein, fein, ident)
        if domain:
            put_id(self.by_domain, domain, ident)
        if name_key_:
            put_id(self.by_name, name_key_, ident)
        for k in other_keys:
            if k:
                put_id(self.by_name, k, ident)
        if zip_prefix_ := zip_prefix(zip_code, name_key_):
            put_id(self.by_zip_prefix, zip_prefix_, ident)
        self.name_zip.setdefault((name_key_, zip_code), ident)

    def forget(self, ident: int) -> None:
        """This run changed the employer: what ``brief`` knows of it is stale."""
        self.brief.pop(ident, None)

    def worth_loading(self, query: EmployerRecord, names: str, ident: int) -> bool:
        """False only when ``worth_comparing(query, <the employer's record>, names)`` is False, told
        from ``brief`` and the key tables without loading the employer."""
        brief = self.brief.get(ident)
        if brief is None:
            return True
        if query.fein and _holds(self.by_fein.get(query.fein), ident) \
                or query.domain and _holds(self.by_domain.get(query.domain), ident):
            return True
        legal_name, phone = brief
        return bool(query.phone and query.phone == phone) or names_alike(names, (legal_name,))

    def rename(self, old: str, new: int) -> None:
        """A pending row was written: its ``row:N`` id reads as the employer id from now on."""
        self.written[old] = new

    def _id(self, ident: int | str) -> int | str:
        return self.written.get(ident, ident) if isinstance(ident, str) else ident

    def exact(self, name_key_: str, zip_code: str | None) -> int | str | None:
        ident = self.name_zip.get((name_key_, zip_code))
        return None if ident is None else self._id(ident)

    def candidates(self, row: ValidRow) -> list[int | str]:
        """Ids sharing a key with the row: FEIN, domain, name key, alias keys, ZIP + name start, in
        that order, each table's ids in the order they came; at most MAX_CANDIDATES."""
        tables = (self.by_fein, self.by_domain, self.by_name, self.by_zip_prefix)
        out: dict[int | str, None] = {}
        written = self.written
        for table, key in row.lookups:
            if (found := tables[table].get(key)) is None:
                continue
            for ident in cast(list[int | str], found) if found.__class__ is list else (cast(int | str, found),):
                out[written.get(ident, ident) if ident.__class__ is str else ident] = None  # type: ignore[call-overload]
                if len(out) >= MAX_CANDIDATES:
                    return list(out)
        return list(out)


def _holds(found: Ids | None, ident: int | str) -> bool:
    return found is not None and (ident in found if found.__class__ is list else found == ident)  # type: ignore[operator]


def _same_site(a: EmployerRecord, b: EmployerRecord) -> bool:
    """Identical in every field the matcher reads (an exact copy, e.g. a re-imported export)."""
    return (a.name, a.domain, a.fein, a.phone, a.address, a.city, a.zip) == \
        (b.name, b.domain, b.fein, b.phone, b.address, b.city, b.zip) and set(a.aliases) == set(b.aliases)


def worth_comparing(query: EmployerRecord, cand: EmployerRecord, names: str) -> bool:
    """Cheap pre-filter of retrieved candidates: a shared identifier, or a name at least loosely alike.

    The ZIP + name-start block brings neighbours ("Pacific Dental" for "Pacific Trucking"); the
    matcher would call them distinct at ~100x the cost of this check. ``names`` is
    ``query_names(query)``.
    """
    if (query.fein and query.fein == cand.fein) or (query.domain and query.domain == cand.domain) \
            or (query.phone and query.phone == cand.phone):
        return True
    return names_alike(names, (cand.name, *cand.aliases))


def query_names(query: EmployerRecord) -> str:
    """The query's names as ``names_alike`` compares them (joined, rapidfuzz's default processing)."""
    return default_process(" ".join((query.name, *query.aliases)))


def names_alike(names: str, others: Iterable[str]) -> bool:
    """One of ``others`` inside ``names`` or the other way round ("Acme" / "Acme Logistics": parent or
    subsidiary, a review case), or close as a whole (typos, spacing, suffixes); a single shared
    word is neither. ``names`` comes processed (``query_names``), ``others`` as written."""
    for other in others:
        other = default_process(other)
        # score_cutoff: rapidfuzz stops early and returns 0 below it (the same verdict, sooner).
        if fuzz.ratio(names, other, score_cutoff=MIN_NAME_SIMILARITY) \
                or fuzz.token_set_ratio(names, other, score_cutoff=SUBSET_SIMILARITY):
            return True
    return False


def decide(query: EmployerRecord, candidates: Sequence[EmployerRecord]) -> tuple[
        Literal["match", "review", "none"], EmployerRecord | None, list[tuple[EmployerRecord, MatchResult]]]:
    """The matcher's intake decision (``matching.resolve``: one confident match, else review when
    anything matches or needs review, else none), on pre-filtered candidates; an exact copy of one
    candidate is that candidate without scoring."""
    copies = [c for c in candidates if _same_site(query, c)]
    if len(copies) == 1:
        return "match", copies[0], [(copies[0], MatchResult("match", 1.0, ("identical record",)))]
    names = query_names(query)
    ranked = [(c, compare(query, c)) for c in candidates if worth_comparing(query, c, names)]
    ranked = [(c, r) for c, r in ranked if r.outcome != "distinct"]
    ranked.sort(key=lambda cr: (cr[1].outcome != "match", -cr[1].score, str(cr[0].id)))
    matches = [cr for cr in ranked if cr[1].outcome == "match"]
    if len(matches) == 1:
        return "match", matches[0][0], matches
    if ranked:
        return "review", None, ranked
    return "none", None, []


Action = Literal["new", "matched", "duplicate", "review", "unchanged", "invalid", "skipped"]


@dataclass
class RowPlan:
    number: int
    action: Action
    row: ValidRow | None = None
    target: int | str | None = None  # employer id, or "row:N" for a row of this file
    duplicate_of: int | None = None  # row number of the first occurrence
    explanation: str = ""
    errors: list[RowError] = field(default_factory=list)
    candidates: list[tuple[int | str, str, str]] = field(default_factory=list)  # (id, name, explanation)
    record: EmployerRecord | None = None  # the row as the matcher saw it (its search keys come from it)


def plan_batch(rows: Sequence[ValidRow], index: KeyIndex, records: dict[int | str, EmployerRecord],
               known_keys: Mapping[str, int], rows_of_file: dict[int | str, int]) -> list[RowPlan]:
    """Decide every valid row of one batch: new, matched, duplicate, needs review, or unchanged.

    ``records`` holds every candidate the index can name; ``known_keys`` maps row keys that
    earlier imports wrote to their employer; ``rows_of_file`` maps ids created from this file
    (employer id or ``row:N``) to their row number, and ``key:<row key>`` to the first row with it. New
    rows are added to ``index``, ``records`` and ``rows_of_file`` as ``row:N`` as they are planned, so later
    rows of the file meet them.
    """
    plans: list[RowPlan] = []
    for row in rows:
        v = row.values
        # ``key:<row key>`` -> the row of this file that had it first: a repeat whose first copy an earlier
        # batch of this run wrote is its duplicate (as the preview says), not a row "imported before".
        first_copy = rows_of_file.get(f"key:{row.row_key}")
        if (known := known_keys.get(row.row_key)) is not None:
            if first_copy is not None:
                plans.append(RowPlan(row.number, "duplicate", row, target=known, duplicate_of=first_copy,
                                     explanation=f"same as row {first_copy}"))
            else:
                plans.append(RowPlan(row.number, "unchanged", row, target=known,
                                     explanation=f"imported before as employer #{known}"))
            continue
        rows_of_file.setdefault(f"key:{row.row_key}", row.number)
        exact = index.exact(v["name_key"], v.get("zip"))
        if exact is not None and exact in rows_of_file:
            first = rows_of_file[exact]
            plans.append(RowPlan(row.number, "duplicate", row, target=exact, duplicate_of=first,
                                 explanation=f"same name and ZIP as row {first}"))
            continue
        query = row.query
        outcome, match, ranked = decide(query, [rec for i in index.candidates(row)
                                                if (rec := records.get(i)) is not None])
        if outcome == "match" and match is not None:
            result = ranked[0][1]
            if match.id in rows_of_file:
                first = rows_of_file[match.id]
                plans.append(RowPlan(row.number, "duplicate", row, target=match.id, duplicate_of=first,
                                     explanation=f"row {first}: {result.explanation}"))
            else:
                plans.append(RowPlan(row.number, "matched", row, target=match.id, explanation=result.explanation))
            continue
        if outcome == "review":
            plans.append(RowPlan(row.number, "review", row, explanation="; ".join(
                f"{_candidate_label(c, rows_of_file)}: {r.outcome} ({r.explanation})" for c, r in ranked[:3]),
                candidates=[(c.id, c.name, r.explanation) for c, r in ranked[:5]]))
            continue
        ident = f"row:{row.number}"
        records[ident] = query
        index.add(ident, v["name_key"], v.get("zip"), v.get("domain"), v.get("fein"), (k for _, k in row.aliases))
        plans.append(RowPlan(row.number, "new", row, target=ident, record=query))
        rows_of_file[ident] = row.number
    return plans


def _candidate_label(candidate: EmployerRecord, rows_of_file: Mapping[int | str, int]) -> str:
    """"employer #12 (Acme Corp)", or "row 5 (Fresh Co)" for an employer this file creates."""
    if candidate.id in rows_of_file:
        return f"row {rows_of_file[candidate.id]} ({candidate.name})"
    return f"employer #{candidate.id} ({candidate.name})"


FILLABLE = ("dba", "website", "fein", "phone", "naics_code", "size_band", "address_line", "city", "zip")


def fill_empty(existing: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The column values a matched row adds to an employer: only where the employer has none."""
    changes: dict[str, Any] = {}
    for name in FILLABLE:
        if existing.get(name) in (None, "") and values.get(name) not in (None, ""):
            changes[name] = values[name]
            if name == "website":
                changes["domain"] = values.get("domain")
            if name == "naics_code":
                changes["sector_code"] = values.get("sector_code")
    if existing.get("county_id") is None and existing.get("region_id") is None and values.get("region_id"):
        changes["county_id"], changes["region_id"] = values.get("county_id"), values["region_id"]
    return changes
