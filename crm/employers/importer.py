"""CSV import of employers, the pure part: read, map columns, validate rows, plan each row.

No database and no clock in here (STYLE.md, "functional core"). The shell
(``import_service``) loads what planning needs - the county/region reference, the keys of the
existing employers (``KeyIndex``), the candidate employers of a batch as ``EmployerRecord``s and
the row keys earlier imports recorded - and writes what the plan says.

Decisions a user of the import sees (documented in the upload page and the CLI help):

- Encodings: UTF-8 (with or without BOM) and Windows-1252 ("CSV" as Excel saves it on Windows).
  UTF-16 and anything containing NUL bytes is refused: "save as CSV UTF-8".
- Columns: the canonical ``COLUMNS``; other headers are *refused* unless mapped to a column or
  explicitly ignored (a misspelt "fien" must not silently drop every FEIN of the file).
- Matched rows are linked, not duplicated: the existing employer keeps every value it has; only
  its empty fields are filled from the row, the row's other name becomes an alias and a new
  contact is added. ``review``-level matches are reported and not imported.
- A row with the same name key and ZIP as an earlier row of the file is its duplicate: not a second
  employer, but its contact and aliases are added to the first row's employer (so a file with one
  row per contact, like the export, imports as one employer with several contacts).
- All-or-nothing per batch: a batch with any invalid row imports nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Literal, cast

import msgspec
from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from crm.csvfile import read_cell
from crm.emails import optional_email
from crm.employers.matching import (
    EmployerRecord,
    MatchResult,
    compare,
    name_key,
    normalize_domain,
    normalize_fein,
    normalize_phone,
    normalize_zip,
)
from crm.employers.models import SizeBand
from crm.employers.schemas import EmployerIn
from crm.employers.service import sector_for_naics  # the service's own NAICS rule (a pure function)
from crm.errors import FieldError, field_message, validation_path

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Rows per all-or-nothing batch (one transaction). 2,000 rather than 1,000 halves the per-batch
# flush and commit overhead (bench.import_bench, 100,000 rows: 29.5 s -> 24.2 s) while a bad row
# still holds back at most 2,000 others -- and the dry run lists every bad row before anything runs.
DEFAULT_BATCH_SIZE = 2000
MAX_CANDIDATES = 40  # per row; a name block bigger than this is a chain, the closest keys come first
# A candidate sharing no identifier (FEIN, domain, phone) reaches the matcher only when its name is
# this alike (rapidfuzz 0-100): set well below the matcher's own review level, so that only clear
# non-matches - neighbours sharing one common word - are dropped.
MIN_NAME_SIMILARITY = 70  # fuzz.ratio of the whole names
SUBSET_SIMILARITY = 90  # fuzz.token_set_ratio: one name's words (nearly) contained in the other's

EMPLOYER_COLUMNS = ("legal_name", "dba", "website", "fein", "phone", "naics_code", "size_band", "address_line",
                    "city", "zip", "county", "region", "aliases")
CONTACT_COLUMNS = ("contact_name", "contact_title", "contact_email", "contact_phone")
COLUMNS = EMPLOYER_COLUMNS + CONTACT_COLUMNS
IGNORE = "ignore"  # mapping target meaning "drop this column on purpose"

# Header spellings seen in partner spreadsheets, after _header_key (lower case, "_" for anything else).
_SYNONYMS: dict[str, str] = {
    **{c: c for c in COLUMNS},
    "name": "legal_name", "company": "legal_name", "company_name": "legal_name", "employer": "legal_name",
    "employer_name": "legal_name", "business_name": "legal_name", "legal_name": "legal_name",
    "organization": "legal_name", "organization_name": "legal_name", "account_name": "legal_name",
    "doing_business_as": "dba", "trade_name": "dba", "d_b_a": "dba",
    "web": "website", "url": "website", "web_site": "website", "homepage": "website", "domain": "website",
    "ein": "fein", "tax_id": "fein", "federal_ein": "fein", "fein_ein": "fein", "federal_tax_id": "fein",
    "telephone": "phone", "phone_number": "phone", "main_phone": "phone", "company_phone": "phone",
    "naics": "naics_code", "industry_code": "naics_code",
    "size": "size_band", "employees": "size_band", "employee_count_band": "size_band",
    "address": "address_line", "street": "address_line", "address1": "address_line",
    "address_1": "address_line", "street_address": "address_line", "address_line_1": "address_line",
    "town": "city", "zip_code": "zip", "zipcode": "zip", "postal_code": "zip", "postcode": "zip",
    "county_name": "county", "rpu": "region", "region_code": "region",
    "aka": "aliases", "other_names": "aliases", "alias": "aliases", "also_known_as": "aliases",
    "contact": "contact_name", "contact_person": "contact_name", "title": "contact_title",
    "job_title": "contact_title", "email": "contact_email", "e_mail": "contact_email",
    "contact_e_mail": "contact_email", "mobile": "contact_phone", "contact_telephone": "contact_phone",
}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not CSV, encoding, columns); nothing is written."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # spreadsheet row number: the header is row 1, the first data row is row 2
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


# --- the file --------------------------------------------------------------------------------

_BINARY_SIGNATURES = {b"PK\x03\x04": "a ZIP/XLSX workbook", b"%PDF": "a PDF", b"\xd0\xcf\x11\xe0": "an XLS workbook"}


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding) of an uploaded CSV; ImportFileError when it is not UTF-8 or cp1252 text."""
    for signature, what in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise ImportFileError(f"This is {what}, not a CSV file: save it as \"CSV UTF-8\" and upload that")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:65536]:
        raise ImportFileError("The file is UTF-16 or binary: save it as \"CSV UTF-8\" (UTF-8 and Windows-1252 "
                              "are accepted)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Windows saves "CSV" in cp1252; five byte values are undefined there, so
        # anything else (Latin-2, Shift-JIS...) usually fails here rather than turning to mojibake.
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise ImportFileError("The file is neither UTF-8 nor Windows-1252 text: save it as \"CSV UTF-8\"") from None


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    sample = text[:8192]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


@dataclass(frozen=True)
class CsvTable:
    headers: list[str]
    rows: list[list[str]]  # data rows; rows[i] is spreadsheet row i + 2
    encoding: str


def read_csv(data: bytes) -> CsvTable:
    """Decode and split a CSV file; ImportFileError when it has no usable header or is not CSV."""
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    try:
        headers = next(reader, None)
        rows = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise ImportFileError(f"Not a readable CSV file: {exc}") from None
    if not headers or not any(h.strip() for h in headers):
        raise ImportFileError("The file is empty: the first row must name the columns (legal_name, ...)")
    headers = [h.strip() for h in headers]
    if len(headers) == 1 and rows and any(len(r) > 1 for r in rows[:50]):
        raise ImportFileError("Not a CSV file: the rows have more fields than the header")
    return CsvTable(headers, rows, encoding)


def _header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def guess_mapping(headers: Sequence[str]) -> dict[str, str]:
    """Header → canonical column by name ("" when unknown); each column is taken once."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        target = _SYNONYMS.get(_header_key(header), "")
        if target in taken:
            target = ""
        taken.add(target)
        out[header] = target
    return out


def check_mapping(headers: Sequence[str], mapping: Mapping[str, str],
                  given: Mapping[str, str] | None = None) -> dict[int, str]:
    """Column index → canonical column, or one ImportFileError naming every problem of the mapping.

    ``given`` is what the user mapped by hand (``--map``, the mapping form); a header it names that
    the file does not have is a problem too (a typo there must not pass for "nothing to map").
    """
    problems: list[str] = []
    bad_targets: dict[str, list[str]] = {}
    for source, target in (given or {}).items():
        if source not in headers:
            swapped = source in COLUMNS and target in headers
            hint = f" (HEADER=COLUMN: did you mean {target}={source}?)" if swapped else ""
            problems.append(f"{source!r} is not a column of the file{hint}; its columns are {', '.join(headers)}")
            if target and target not in COLUMNS and target != IGNORE and not swapped:
                bad_targets.setdefault(target, []).append(source)
    unknown: list[str] = []
    out: dict[int, str] = {}
    seen: dict[str, str] = {}
    for i, header in enumerate(headers):
        target = mapping.get(header, "")
        if target == IGNORE:
            continue
        if target not in COLUMNS:
            if target:
                bad_targets.setdefault(target, []).append(header)
            else:
                unknown.append(header or f"(column {i + 1} without a name)")
            continue
        if target in seen:
            problems.append(f"Columns {seen[target]!r} and {header!r} are both mapped to {target}")
            continue
        seen[target] = header
        out[i] = target
    for target, sources in bad_targets.items():
        problems.append(f"{target!r} (mapped from {', '.join(map(repr, sources))}) is not a column to import into")
    if unknown:
        problems.append(f"Unknown column(s): {', '.join(unknown)}")
    if unknown or bad_targets:
        problems.append(f"Map each column to one of {', '.join(COLUMNS)} or ignore it explicitly "
                        "(CLI: --map 'Header=column' or --map 'Header=ignore')")
    if "legal_name" not in seen:
        problems.append("No legal_name column: map the column holding the employer's name to legal_name")
    if problems:
        raise ImportFileError(".\n".join(problems))  # one per line in the CLI; a space on the page
    return out


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def raw_rows(table: CsvTable, columns: Mapping[int, str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {column: value}) for every data row, each value as ``csvfile.read_cell`` reads it."""
    for n, cells in enumerate(table.rows, start=2):
        # read_cell: the apostrophe a spreadsheet-safe export put before "=…", "+…" (crm.csvfile).
        yield n, {name: read_cell(cells[i]) if i < len(cells) else "" for i, name in columns.items()}


# --- validating one row ----------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """What validation needs from the database, loaded once by the shell."""

    counties: Mapping[str, tuple[int, int]]  # lower-case county name → (county_id, region_id)
    county_names: Mapping[int, str]
    regions: Mapping[str, int]  # region code → id
    region_codes: Mapping[int, str]
    default_region_id: int | None = None  # rows without county/region land here (--region)
    allowed_region_ids: frozenset[int] | None = None  # None: any region (admin, CLI)


@dataclass(frozen=True)
class ValidRow:
    number: int
    values: dict[str, Any]  # Employer column values, normalized exactly as the employer service does
    aliases: tuple[tuple[str, str], ...]  # (alias, name_key), none equal to the legal name's key
    contact: dict[str, str | None] | None
    row_key: str  # fingerprint of the normalized row: rerunning a file recognizes it

    def record(self, record_id: str | int) -> EmployerRecord:
        return employer_record(record_id, self.values, [a for a, _ in self.aliases])

    @cached_property
    def lookups(self) -> tuple[tuple[int, str], ...]:
        """The row's keys in ``KeyIndex`` as (table: 0 FEIN, 1 domain, 2 name, 3 ZIP + name start, key)."""
        v = self.values
        keys = [(0, v.get("fein")), (1, v.get("domain")), (2, v["name_key"]), *((2, k) for _, k in self.aliases),
                (3, _zip_prefix(v.get("zip"), v["name_key"]))]
        return tuple((table, key) for table, key in keys if key)

    @cached_property
    def query(self) -> EmployerRecord:
        """The row as the matcher compares it (id ``row:N``), built once."""
        return self.record(f"row:{self.number}")


def employer_record(record_id: str | int, values: Mapping[str, Any], aliases: Iterable[str]) -> EmployerRecord:
    """The matcher's view of an employer from its (normalized) column values."""
    names = [*(aliases or ()), *([values["dba"]] if values.get("dba") else [])]
    return EmployerRecord(id=record_id, name=values["legal_name"], aliases=tuple(names),
                          domain=values.get("domain"), fein=values.get("fein"), phone=values.get("phone"),
                          address=values.get("address_line"), city=values.get("city"), zip=values.get("zip"))


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


_EIN = re.compile(r"^([0-9]{2})-?([0-9]{7})$")


@lru_cache(maxsize=128)
def _ein_prefix_ok(prefix: str) -> bool:
    # stdnum decides validity by the two-digit campus prefix alone; asking it once per prefix
    # keeps its rule while skipping its per-call data-file lookup (100,000 rows in the budget).
    try:
        return normalize_fein(prefix + "1234567") is not None
    except ValueError:
        return False


def fast_fein(value: str | None) -> str | None:
    """normalize_fein with the prefix verdict cached; same result, same errors."""
    if value is None or not value.strip():
        return None
    m = _EIN.match(value.replace(" ", "").strip())
    if m and _ein_prefix_ok(m.group(1)):
        return f"{m.group(1)}-{m.group(2)}"
    return normalize_fein(value)


_E164_US = re.compile(r"^\+1[2-9]\d{2}[2-9]\d{6}$")
_US_LOCAL = re.compile(r"^\(?([2-9]\d{2})\)?[ .-]?([2-9]\d{2})[ .-]?(\d{4})$")


def fast_phone(value: str) -> str | None:
    """normalize_phone, skipping its parser for the two shapes most rows have: US E.164 (as OneDoor
    stores and exports phones) and a plain ten-digit US number ("(213) 555-0101"). Both are
    "possible" numbers to phonenumbers by length alone, so the result is the same."""
    if _E164_US.match(value):
        return value
    if m := _US_LOCAL.match(value):
        return f"+1{m.group(1)}{m.group(2)}{m.group(3)}"
    return normalize_phone(value)


_SIMPLE_SITE = re.compile(r"^(?:https?://)?(?:www\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.(com|org|net|us|biz|info|"
                          r"edu|gov|io|co)/?(?:[/?#][^\s]*)?$")


def fast_domain(value: str) -> str | None:
    """normalize_domain, skipping the public-suffix lookup for "acme.com"-shaped sites under a
    one-label suffix (where the registrable domain is the last two labels)."""
    m = _SIMPLE_SITE.match(value.strip().lower())
    if m:
        return f"{m.group(1)}.{m.group(2)}"
    return normalize_domain(value)


def _struct_error(exc: msgspec.ValidationError) -> tuple[str, str]:
    text = str(exc)
    path = validation_path(exc)
    name = path.split("[")[0].split(".")[0] or "row"
    if name == "contacts":
        name = "contact_" + (path.rsplit(".", 1)[-1] if "." in path else "name")
    return name, field_message(text)  # in words, as the web forms say it


def _schema_problems(payload: Mapping[str, Any], exc: msgspec.ValidationError) -> dict[str, str]:
    """Every column of a row the API schema refuses, in words. msgspec stops at the first problem,
    so each filled column is checked again on its own - only for rows that failed, the rare case."""
    problems: dict[str, str] = {}
    for name, value in payload.items():
        if name == "contacts":
            for key, cell in value[0].items():
                if cell is not None:
                    contact = {"name": "-", key: cell}
                    _schema_check(problems, f"contact_{key}", {"legal_name": "-", "contacts": [contact]})
        elif name == "legal_name" or value:
            _schema_check(problems, name, {"legal_name": "-", name: value})
    if not problems:  # not one column alone: say what msgspec said of the whole
        name, message = _struct_error(exc)
        problems[name] = message
    return problems


def _schema_check(problems: dict[str, str], column: str, payload: Mapping[str, Any]) -> None:
    try:
        msgspec.convert(payload, EmployerIn)
    except msgspec.ValidationError as exc:
        problems[column] = field_message(str(exc))


_PAYLOAD_COLUMNS = tuple(c for c in EMPLOYER_COLUMNS if c != "aliases")
_COLUMN_ORDER = {c: i for i, c in enumerate(COLUMNS)}


def validate_row(number: int, raw: Mapping[str, str], ref: Reference) -> ValidRow | list[RowError]:
    """Normalize one row with the employer service's rules; every problem of the row is a RowError
    naming its column (all of them at once, in the order of ``COLUMNS``)."""
    errors: list[RowError] = []
    refused: dict[str, str] = {}  # column -> what the API schema says of it: the column's one error

    def err(field_name: str, message: str) -> None:
        if field_name not in refused:
            errors.append(RowError(number, field_name, message))

    aliases = [a for a in (_clean(x) for x in (raw.get("aliases") or "").split(";")) if a]
    # _clean inlined (17 cells a row, 100,000 rows): whitespace collapsed, blank is None.
    contact_values = {c: " ".join(v.split()) or None if (v := raw.get(c)) else None for c in CONTACT_COLUMNS}
    payload: dict[str, Any] = {c: " ".join(v.split()) or None if (v := raw.get(c)) else None
                               for c in _PAYLOAD_COLUMNS}
    payload["legal_name"] = payload["legal_name"] or ""
    payload["aliases"] = aliases
    if any(contact_values.values()):
        if not contact_values["contact_name"]:
            err("contact_name", "is required when other contact columns are filled")
        payload["contacts"] = [{"name": contact_values["contact_name"] or "-",
                                "title": contact_values["contact_title"], "email": contact_values["contact_email"],
                                "phone": contact_values["contact_phone"]}]
    try:
        msgspec.convert(payload, EmployerIn)  # the API's length and format limits
    except msgspec.ValidationError as exc:
        refused = _schema_problems(payload, exc)
        errors += [RowError(number, name, message) for name, message in refused.items()]

    values: dict[str, Any] = {}
    legal = payload["legal_name"]
    key = name_key(legal) if legal else ""
    if not legal:
        err("legal_name", "is required")
    elif not key:
        err("legal_name", "must contain letters or digits")
    values["legal_name"], values["name_key"] = legal, key
    values["dba"] = payload["dba"]
    website = payload["website"]
    domain = fast_domain(website) if website else None
    if website and not domain:
        err("website", f"{website!r} is not a web address")
    values["website"], values["domain"] = website, domain
    try:
        values["fein"] = fast_fein(payload["fein"])
    except ValueError as exc:
        err("fein", str(exc))
    phone = payload["phone"]
    values["phone"] = fast_phone(phone) if phone else None
    if phone and not values["phone"]:
        err("phone", f"{phone!r} is not a valid phone number")
    values["naics_code"] = payload["naics_code"]
    try:
        values["sector_code"] = sector_for_naics(values["naics_code"])
    except FieldError as exc:
        err("naics_code", exc.fields[0][1])
    band = payload["size_band"]
    if band and band not in _SIZE_BANDS:
        err("size_band", f"must be one of {', '.join(_SIZE_BANDS)}")
    values["size_band"] = band
    values["address_line"], values["city"] = payload["address_line"], payload["city"]
    zip_raw = payload["zip"]
    values["zip"] = normalize_zip(zip_raw) if zip_raw else None
    if zip_raw and not values["zip"]:
        err("zip", f"{zip_raw!r} is not a ZIP code")

    county_id = region_id = None
    if county_name := payload["county"]:
        found = ref.counties.get(county_name.lower().removesuffix(" county"))
        if found is None:
            err("county", f"unknown California county {county_name!r}")
        else:
            county_id, region_id = found
    if region_code := payload["region"]:
        rid = ref.regions.get(region_code.strip().upper())
        if rid is None:
            err("region", f"unknown region code {region_code!r}")
        elif county_id is not None and rid != region_id:
            err("region", "does not contain the given county")
        else:
            region_id = rid
    if region_id is None and not county_name and not region_code:
        region_id = ref.default_region_id
    # A wrong county or region leaves where the row belongs unknown: no region limit to say it breaks.
    placed = not any(e.field in ("county", "region") for e in errors)
    if placed and region_id is not None and ref.default_region_id is not None and region_id != ref.default_region_id:
        err("county" if county_name else "region",
            f"is in {ref.region_codes.get(region_id, region_id)}; this import is limited to "
            f"{ref.region_codes.get(ref.default_region_id)}")
    elif ref.allowed_region_ids is not None and region_id not in ref.allowed_region_ids:
        err("region", "you may only import employers into your own region(s)")
    values["county_id"], values["region_id"] = county_id, region_id

    contact = None
    if payload.get("contacts"):  # any contact column filled (a missing name is said above)
        email = typed_email = contact_values["contact_email"]
        try:
            email = optional_email(typed_email)
        except ValueError as exc:
            err("contact_email", f"{typed_email!r} {exc}")
        cphone = contact_values["contact_phone"]
        cphone_n = fast_phone(cphone) if cphone else None
        if cphone and not cphone_n:
            err("contact_phone", f"{cphone!r} is not a valid phone number")
        contact = {"name": contact_values["contact_name"], "title": contact_values["contact_title"],
                   "email": email, "phone": cphone_n}
    if errors:
        errors.sort(key=lambda e: _COLUMN_ORDER.get(e.field, len(COLUMNS)))
        return errors

    alias_pairs: list[tuple[str, str]] = []
    seen = {key}
    for alias in aliases:
        akey = name_key(alias)
        if akey and akey not in seen:
            seen.add(akey)
            alias_pairs.append((alias, akey))
    return ValidRow(number, values, tuple(alias_pairs), contact, row_key(values, alias_pairs, contact))


_SIZE_BANDS = tuple(b.value for b in SizeBand)
_KEY_FIELDS = ("legal_name", "dba", "website", "fein", "phone", "naics_code", "size_band", "address_line", "city",
               "zip", "county_id", "region_id")


def row_key(values: Mapping[str, Any], aliases: Iterable[tuple[str, str]], contact: Mapping[str, Any] | None) -> str:
    """Fingerprint of a normalized row (not of its spelling in the file)."""
    parts = [str(values.get(f) or "") for f in _KEY_FIELDS]
    parts.append(";".join(sorted(k for _, k in aliases)))
    if contact:
        parts += [str(contact.get(k) or "") for k in ("name", "title", "email", "phone")]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


# --- matching against existing employers and earlier rows ---------------------------------------

def _zip_prefix(zip_code: str | None, key: str) -> str | None:
    joined = key.replace(" ", "")
    return f"{zip_code}:{joined[:4]}" if zip_code and joined else None


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
        if zip_prefix := _zip_prefix(zip_code, name_key_):
            put_id(self.by_zip_prefix, zip_prefix, ident)
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
    (employer id or ``row:N``) to their row number. New rows are added to ``index``, ``records``
    and ``rows_of_file`` as ``row:N`` as they are planned, so later rows of the file meet them.
    """
    plans: list[RowPlan] = []
    for row in rows:
        v = row.values
        if (known := known_keys.get(row.row_key)) is not None:
            plans.append(RowPlan(row.number, "unchanged", row, target=known,
                                 explanation=f"imported before as employer #{known}"))
            continue
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


def contact_is_new(contact: Mapping[str, Any], existing: Iterable[Mapping[str, Any]]) -> bool:
    """A contact is already there when the e-mail (or, without e-mail, the name) is."""
    email = (contact.get("email") or "").lower()
    name = str(contact.get("name") or "").casefold()
    for other in existing:
        if email and (other.get("email") or "").lower() == email:
            return False
        if not email and str(other.get("name") or "").casefold() == name:
            return False
    return True
