"""CSV import of employers, the file: decode it, split it into rows, map its headers to columns.

Pure like the rest of the import's core (``import_rows``, ``import_matching``): no database and
no clock in here (STYLE.md, "functional core").

Decisions a user of the import sees (documented in the upload page and the CLI help):

- Encodings: UTF-8 (with or without BOM) and Windows-1252 ("CSV" as Excel saves it on Windows).
  UTF-16 and anything containing NUL bytes is refused: "save as CSV UTF-8".
- Columns: the canonical ``COLUMNS``; other headers are *refused* unless mapped to a column or
  explicitly ignored (a misspelt "fien" must not silently drop every FEIN of the file).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from crm.csvfile import read_cell

MAX_UPLOAD_BYTES = 20 * 1024 * 1024

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


_BINARY_SIGNATURES = {b"PK\x03\x04": "a ZIP/XLSX workbook", b"%PDF": "a PDF", b"\xd0\xcf\x11\xe0": "an XLS workbook"}


# A well-formed UTF-8 sequence of two to four bytes (accented letters, symbols, emoji).
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


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
    except UnicodeDecodeError as exc:
        if _UTF8_MULTIBYTE.search(data):
            # Some rows are UTF-8 and others not (rows pasted together from two files): read as
            # Windows-1252, the UTF-8 ones would turn to "CafÃ©" without anyone noticing.
            line = data[:exc.start].count(b"\n") + 1
            raise ImportFileError(f"The file mixes UTF-8 with another encoding (line {line} is not UTF-8): save "
                                  "it as \"CSV UTF-8\" and upload that") from None
    try:
        # Excel on Windows saves "CSV" in cp1252; five byte values are undefined there, so
        # anything else (Latin-2, Shift-JIS...) usually fails here rather than turning to mojibake.
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise ImportFileError("The file is neither UTF-8 nor Windows-1252 text: save it as \"CSV UTF-8\"") from None


# Excel's reading of a CSV file, and OneDoor's own export writes it so: '"' is the only quote character
# and a doubled '""' inside quotes is one quote. Only the separator varies between files (Excel writes
# ";" where the decimal mark is a comma). csv.Sniffer also guessed the quoting from the first 8 KB: it took
# "'" for the quote character when cells start with the apostrophe our export puts before "+1 ...", and
# turned doubled quotes off when that sample had none - both split rows wrongly and silently.
DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_SAMPLE = 8192


def delimiter(text: str) -> str:
    """The separator of a CSV text: of comma, semicolon and tab, the one that the most rows of the first
    8 KB fit (as many fields as the header, more only if empty), then the one giving the header more
    columns; a comma when none splits the header."""
    sample = text[:_SAMPLE]
    best, best_score = ",", (0, 0)
    for candidate in DELIMITERS:
        if candidate not in sample:
            continue
        try:
            rows = list(csv.reader(io.StringIO(sample, newline=""), csv.excel, delimiter=candidate))
        except csv.Error:
            continue
        if len(text) > len(sample):
            rows = rows[:-1]  # cut short by the sample's end
        rows = [r for r in rows if any(c.strip() for c in r)]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        fitting = sum(1 for r in rows[1:] if len(r) >= width and not any(c.strip() for c in r[width:]))
        if (fitting, width) > best_score:
            best, best_score = candidate, (fitting, width)
    return best


@dataclass(frozen=True)
class CsvTable:
    headers: list[str]
    rows: list[list[str]]  # data rows; rows[i] is spreadsheet row i + 2
    encoding: str
    delimiter: str = ","


def read_csv(data: bytes) -> CsvTable:
    """Decode and split a CSV file; ImportFileError when it has no usable header or is not CSV."""
    text, encoding = decode(data)
    separator = delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=separator)
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
    return CsvTable(headers, rows, encoding, separator)


def _header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def guess_mapping(headers: Sequence[str]) -> dict[str, str]:
    """Header → canonical column by name ("" when unknown); each column is taken once."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        if header in out:  # a second column of that name (check_mapping says what to do)
            continue
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
    # The mapping is keyed by header (``--map``, the job's stored mapping): same-named columns can only
    # be ignored together. Say so, rather than "Unknown column(s): Phone, Phone".
    named = Counter(h for h in headers if h)
    duplicated = [h for h, n in named.items() if n > 1 and mapping.get(h, "") != IGNORE]
    for header in duplicated:
        at = [str(i + 1) for i, h in enumerate(headers) if h == header]
        two = len(at) == 2
        problems.append(f"Columns {', '.join(at[:-1])} and {at[-1]} are {'both' if two else 'all'} headed {header!r}, "
                        f"and a column is mapped by its header: rename {'one' if two else 'all but one'} in the "
                        f"file's first row (say {header + ' 2'!r}) and try again, or ignore "
                        f"{'both' if two else 'all of them'} (CLI: --map '{header}=ignore')")
    unknown: list[str] = []
    out: dict[int, str] = {}
    seen: dict[str, str] = {}
    for i, header in enumerate(headers):
        target = mapping.get(header, "")
        if target == IGNORE or header in duplicated:
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
    if "legal_name" not in seen and not any(mapping.get(h) == "legal_name" for h in duplicated):
        problems.append("No legal_name column: map the column holding the employer's name to legal_name")
    if problems:
        raise ImportFileError(".\n".join(problems))  # one per line in the CLI; a space on the page
    return out


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# (spreadsheet row number, {column: value}, why the row cannot be read or None)
RawRow = tuple[int, dict[str, str], str | None]


def raw_rows(table: CsvTable, columns: Mapping[int, str]) -> Iterator[RawRow]:
    """Every data row, each value as ``csvfile.read_cell`` reads it.

    A row with text in more fields than the header has is not read: a value with an unquoted
    separator ("Acme, Inc") shifted every cell after it, and the last ones were dropped without a
    word. Empty fields past the header (a trailing separator) are nothing lost, and are let through.
    """
    width = len(table.headers)
    for n, cells in enumerate(table.rows, start=2):
        misfit = None
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            used = max(i for i, c in enumerate(cells) if c.strip()) + 1
            misfit = (f"has {used} fields; the header has {width}: quote a value that contains a "
                      f"{_DELIMITER_NAMES.get(table.delimiter, repr(table.delimiter))}")
        # read_cell: the apostrophe a spreadsheet-safe export put before "=…", "+…" (crm.csvfile).
        yield n, {name: read_cell(cells[i]) if i < len(cells) else "" for i, name in columns.items()}, misfit


def split_aliases(cell: str) -> list[str]:
    """The names of an ``aliases`` cell: separated by ";", one that contains ";" in double quotes
    ('HFI; "Smith; Jones LLC"', a doubled quote in it is one) - as ``join_aliases`` writes them.

    Quotes that are part of a name ('The "Best" Co', '"Best" Tools; BT') leave the cell split on every
    ";" as before quoting was read: a cell is read quoted only when all of it reads so."""
    if '"' in cell:
        try:
            return next(csv.reader([cell.strip()], delimiter=";", skipinitialspace=True, strict=True), [])
        except csv.Error:
            pass
    return cell.split(";")


def join_aliases(names: Iterable[str]) -> str:
    """An ``aliases`` cell that ``split_aliases`` reads back as ``names``."""
    return "; ".join('"' + n.replace('"', '""') + '"' if ";" in n or n.lstrip().startswith('"') else n
                     for n in names)
